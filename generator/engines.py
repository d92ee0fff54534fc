"""Part of the draw, write and site stages: build the site with any engine that reads mkdocs.yml.

MkDocs 1.6.1 is unmaintained and Material for MkDocs feature-frozen; ProperDocs (a maintained
fork of MkDocs 1.x) and Zensical (Material's successor, by the same team) read the same
mkdocs.yml. None of them runs generator/mkdocs_hooks.py here: the docs tree the generator writes
is complete on its own, and what the hooks did besides is done after the engine, the same way
for each. A stage runner calls, in this order:

1. ``inline_docs`` (or ``diagrams.inline_markdown`` on each page before it is written): the
   drawings of the diagram cache in place of their Mermaid blocks, in the Markdown;
2. ``copy_assets``: the hand-made assets of generator/static (kb.css, kb.js, the pinned Mermaid)
   into the docs tree, so the tree needs nothing else;
3. ``build``: a derived configuration (docs_dir the docs tree, site_dir the site, paths absolute,
   no hooks) and the engine run on it, in a process of its own;
4. ``secure_site``: every page's article through the page allow-list (``sanitize.page``, the
   drawings set aside) and the Content-Security-Policy into every page, as the hooks did;
5. ``generator.build.index_search(site)``: Pagefind, which serves search on every engine.

Every function is a plain function of its arguments and reports a failure as a
``core.Diagnostic`` (never a traceback). The CLI's choice is one of ``ENGINES``.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from . import diagrams, processes, sanitize
from .core import Diagnostic, files_under

STATIC = Path(__file__).parent / "static"
THEME = Path(__file__).parent / "theme"  # Material's overrides (custom_dir)
MKDOCS_HOOKS = Path(__file__).with_name("mkdocs_hooks.py")  # the hooks of `mkdocs build`/`kb serve`

# ------------------------------------------------------------------------------ the docs tree


def inline_docs(docs: Path, cache: Path) -> dict[str, int]:
    """Put the drawings of ``cache`` in place of the diagram blocks of every page of ``docs``
    (``diagrams.inline_markdown``), rewriting only the pages that change.

    Returns, for each page with a diagram block (relative path), how many blocks are left to
    the reader's browser. A runner that holds the rendered pages can call
    ``diagrams.inline_markdown`` on each before writing it instead (then a rebuild rewrites no
    page that did not change)."""
    left = {}
    for path in sorted(docs.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if 'class="kb-mermaid"' not in text:
            continue
        inlined, remaining = diagrams.inline_markdown(text, cache)
        left[path.relative_to(docs).as_posix()] = remaining
        if inlined != text:
            path.write_text(inlined, encoding="utf-8")
    return left


def copy_assets(docs: Path, static: Path = STATIC, extra: dict[str, Path] | None = None) -> tuple[list[str], list[str]]:
    """Copy every file of ``static`` (generator/static: kb.css, kb.js, vendor/) into ``docs``
    at the same relative path, so that ``docs`` is a complete docs tree.

    Only files whose bytes differ are written (a rebuild writes none, and an engine's dirty
    build sees no change). A file of ``docs`` that is not a page (``*.md``, which the
    generator's ``write_changed`` owns) and is not in ``static`` or ``extra`` (more files, by their
    path in ``docs``: the content's images) is stale, a former asset, and
    is removed, with the folders it leaves empty. Returns (written, removed), paths relative to
    ``docs``, as ``build.write_changed`` does. ``static`` must hold no ``*.md``: pages are the
    generator's. Raises OSError when ``docs`` cannot be written (the runner reports it)."""
    docs.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for source in sorted(static.rglob("*")):
        if source.is_file():
            relative = source.relative_to(static).as_posix()
            if relative.endswith(".md"):
                raise ValueError(f"{source}: generator/static may hold no page (*.md): pages are generated")
            wanted[relative] = source
    for relative, source in (extra or {}).items():  # the content's images (images.under)
        wanted.setdefault(relative, source)
    written = []
    for relative, source in wanted.items():
        target = docs / relative
        data = source.read_bytes()
        try:
            if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
                continue
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            _remove(target)
        target.write_bytes(data)
        written.append(relative)
    removed = []
    for relative in sorted(files_under(docs)):
        if relative.endswith(".md") or relative in wanted:
            continue
        (docs / relative).unlink()
        removed.append(relative)
    for folder in sorted({(docs / r).parent for r in removed}, key=lambda p: len(p.parts), reverse=True):
        while folder != docs and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return written, sorted(removed)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


# ------------------------------------------------------------------------------ the engines


@dataclass(frozen=True)
class Engine:
    name: str
    module: str  # run as `python -m <module> build -f <config>`
    strict_flag: bool  # strict mode is a command-line flag, not a configuration key
    inside_only: bool  # builds only into a folder inside its configuration's folder
    adapt: Callable[[dict], dict] = lambda config: config  # what this engine needs changed in the configuration
    env: dict = field(default_factory=dict)

    def command(self, config_file: Path) -> list[str]:
        return [sys.executable, "-m", self.module, "build", "-f", str(config_file),
                *(["--strict"] if self.strict_flag else [])]


def _toc_options(config: dict) -> dict | None:
    """The options of the toc extension in ``config['markdown_extensions']`` (an entry given by
    its name alone gets a mapping), or None when the configuration names no toc."""
    extensions = config.get("markdown_extensions")
    if not isinstance(extensions, list):
        return None
    for number, entry in enumerate(extensions):
        if entry == "toc":
            extensions[number] = entry = {"toc": {}}
        if isinstance(entry, dict) and "toc" in entry:
            if not isinstance(entry["toc"], dict):
                entry["toc"] = {}
            return entry["toc"]
    return None


def _safe_headings(config: dict, slugify) -> None:
    """No heading's anchor is an id the page uses itself (core.safe_anchor), as page_hooks.py sees
    to under MkDocs: the engine runs no hook, so its toc is given core's slugify, unless
    mkdocs.yml names one of its own."""
    toc = _toc_options(config)
    if toc is not None and "slugify" not in toc:
        toc["slugify"] = slugify


def _mkdocs(config: dict) -> dict:
    config["strict"] = True  # warnings (a broken link, a missing page) stop the build
    _safe_headings(config, _Tagged("tag:yaml.org,2002:python/name:generator.core.safe_slugify",
                                   yaml.ScalarNode("tag:yaml.org,2002:python/name:generator.core.safe_slugify", "")))
    return config


def _zensical(config: dict) -> dict:
    """Zensical 0.0.73 reads mkdocs.yml, with these differences (zensical/config.py):

    * ``strict`` is a command-line flag (``--strict``), not a key;
    * ``plugins`` are Zensical's own (MkDocs plugins are dropped); its search is on unless
      configured off, and its index is one file of every page (the build aborts on a page
      listing a few thousand records): off here, Pagefind serves search;
    * ``validation``: only the ``links`` settings are read (``nav.omitted_files`` is not);
    * ``hooks`` are not run; ``theme.custom_dir`` overrides are rendered by MiniJinja, which
      theme/main.html keeps to; toc's ``slugify`` names a factory (``{object: ..., kwds: ...}``),
      so the safe anchors come from ``core.safe_slugify_factory``;
    * ``docs_dir`` and ``site_dir`` must lie inside the folder of the configuration file, and
      be written relative to it (an absolute one makes 0.0.73 panic); it keeps a cache there
      (``.cache``). ``build`` builds into that folder and moves the site where it belongs."""
    config.pop("strict", None)
    config["plugins"] = [{"search": {"enabled": False}}]
    _safe_headings(config, {"object": "generator.core.safe_slugify_factory"})
    return config


_QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}

ENGINES: dict[str, Engine] = {
    "mkdocs": Engine("mkdocs", "mkdocs", False, False, _mkdocs, _QUIET),
    "properdocs": Engine("properdocs", "properdocs", False, False, _mkdocs, _QUIET),
    "zensical": Engine("zensical", "zensical", True, True, _zensical, _QUIET),
}


# mkdocs.yml as YAML data, with its tags (!!python/name:..., !ENV ...) kept as they were written,
# so that the derived configuration hands each engine the same values.

class _Tagged:
    def __init__(self, tag: str, node: yaml.Node):
        self.tag, self.node = tag, node


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _keep_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> _Tagged:
    return _Tagged(node.tag, node)


_Loader.add_multi_constructor("!", lambda loader, suffix, node: _keep_tag(loader, suffix, node))
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _keep_tag)
_Dumper.add_representer(_Tagged, lambda dumper, tagged: _represent(dumper, tagged))


def _represent(dumper: yaml.Dumper, tagged: _Tagged) -> yaml.Node:
    node = tagged.node
    if isinstance(node, yaml.ScalarNode):
        return dumper.represent_scalar(tagged.tag, node.value)
    if isinstance(node, yaml.SequenceNode):
        return dumper.represent_sequence(tagged.tag, [yaml.load(yaml.serialize(n), Loader=_Loader) for n in node.value])
    return dumper.represent_mapping(tagged.tag, {yaml.load(yaml.serialize(k), Loader=_Loader):
                                                 yaml.load(yaml.serialize(v), Loader=_Loader) for k, v in node.value})


def package_defaults(config: dict) -> dict:
    """The settings the generator ships and ``config`` (a mkdocs.yml) leaves out, from the
    installed package: Material with generator/theme as ``custom_dir``, generator/static as
    ``docs_dir``, generator/mkdocs_hooks.py as ``hooks``. A knowledge base in its own
    repository names only its own settings; this repository's mkdocs.yml names them all, for
    plain ``mkdocs build``."""
    defaults = {}
    theme = config.get("theme")
    theme = {"name": theme} if isinstance(theme, str) else dict(theme) if isinstance(theme, dict) else {}
    if "custom_dir" not in theme:
        defaults["theme"] = {"name": "material", **theme, "custom_dir": str(THEME)}
    if "docs_dir" not in config:
        defaults["docs_dir"] = str(STATIC)
    if "hooks" not in config:
        defaults["hooks"] = [str(MKDOCS_HOOKS)]
    return defaults


def package_paths(config_file: Path) -> dict:
    """``package_defaults`` of the file, as overrides of MkDocs' ``load_config``; none when it
    cannot be read (MkDocs then reports that)."""
    try:
        config = yaml.load(Path(config_file).read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return package_defaults(config) if isinstance(config, dict) else {}


def derived_config(engine: str, project_config: Path, docs: Path, site: Path) -> dict:
    """The project's configuration as ``engine`` is to read it from ``config_path``:
    ``docs_dir`` the complete docs tree, ``site_dir`` the site (both relative to the derived
    file's folder when inside it: Zensical 0.0.73 panics on an absolute one), every other path
    of it absolute (``theme.custom_dir``, ``watch``, ``INHERIT``), no ``hooks``, and what the
    engine needs changed (``ENGINES``). Raises OSError or yaml.YAMLError when the project's
    file cannot be read."""
    root = project_config.resolve().parent
    config = yaml.load(project_config.read_text(encoding="utf-8"), Loader=_Loader) or {}
    if not isinstance(config, dict):
        raise yaml.YAMLError("the configuration is not a mapping")
    config.update(package_defaults(config))
    home = config_path(engine, docs).parent
    config.pop("hooks", None)
    config["docs_dir"] = _relative(docs.resolve(), home)
    config["site_dir"] = _relative(site.resolve(), home)
    theme = config.get("theme")
    if isinstance(theme, dict) and isinstance(theme.get("custom_dir"), str):
        theme["custom_dir"] = str((root / theme["custom_dir"]).resolve())
    if isinstance(config.get("watch"), list):
        config["watch"] = [str((root / w).resolve()) for w in config["watch"] if isinstance(w, str)]
    if isinstance(config.get("INHERIT"), str):
        config["INHERIT"] = str((root / config["INHERIT"]).resolve())
    return ENGINES[engine].adapt(config)


def _relative(path: Path, home: Path) -> str:
    return path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def config_path(engine: str, docs: Path) -> Path:
    """Where ``build`` writes the derived configuration: beside the docs tree, as
    ``<engine>.yml`` (``build/mkdocs.yml``, ``build/zensical.yml`` beside ``build/docs``).
    Zensical keeps its cache in that folder too (``build/.cache``)."""
    return docs.resolve().parent / f"{engine}.yml"


def build(engine: str, project_config: Path, docs: Path, site: Path, timeout: float | None = None) -> Diagnostic | None:
    """Build ``site`` from the complete docs tree ``docs`` with ``engine`` (a key of ``ENGINES``)
    and the project's configuration ``project_config`` (mkdocs.yml), with no hook.

    Writes the derived configuration (``derived_config``, at ``config_path``) and runs the
    engine in a process of its own (``python -m <engine> build -f <file>``; it dies with this
    process, however that dies). MkDocs and ProperDocs run strict (a warning fails the build),
    Zensical with ``--strict``. What was in ``site`` is replaced: MkDocs and ProperDocs empty it
    when they start; Zensical builds only inside its configuration's folder, so it builds into
    ``<docs' parent>/zensical-site``, which replaces ``site`` once the build has succeeded
    (renamed there, or copied across filesystems).

    Returns None when the site was built, else a Diagnostic naming the derived configuration
    file, with the engine's last lines of output. The pages are not yet safe to serve:
    ``secure_site`` must run next."""
    if engine not in ENGINES:
        return Diagnostic(str(project_config), 1, 1, f"unknown engine {engine!r}", field="engine",
                          hint="one of: " + ", ".join(ENGINES), code="engine")
    spec = ENGINES[engine]
    target = config_path(engine, docs)
    built = target.parent / f"{engine}-site" if spec.inside_only else site
    try:
        config = derived_config(engine, project_config, docs, built)
    except (OSError, yaml.YAMLError) as exc:
        return Diagnostic(str(project_config), 1, 1, f"cannot read the configuration: {exc}", code="engine")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# Written by generator/engines.py from " + str(project_config.resolve())
                          + f" for {engine}: do not edit.\n"
                          + yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")
        if built != site and built.exists():
            _remove(built)
    except OSError as exc:
        return Diagnostic(str(target), 1, 1, f"cannot write the configuration for {engine}: {exc.strerror or exc}",
                          code="engine")
    env = {**os.environ, **spec.env}
    try:
        done = subprocess.run(spec.command(target), capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=target.parent, preexec_fn=processes.dies_with_parent())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Diagnostic(str(target), 1, 1, f"{engine} could not be run: {exc}", code="engine",
                          hint=f"is {engine} installed? pip install -e '.[engines]'")
    if done.returncode:
        output = "\n".join((done.stderr + done.stdout).strip().splitlines()[-25:])
        return Diagnostic(str(target), 1, 1, f"{engine} build failed (exit {done.returncode}): {output}",
                          code="engine", hint=f"the configuration {engine} read was derived from {project_config}")
    if built != site:
        try:
            _move(built, site)
        except OSError as exc:
            return Diagnostic(str(site), 1, 1, f"cannot move the site {engine} built into {site}: "
                              f"{exc.strerror or exc}", code="engine")
    return None


def _move(built: Path, site: Path) -> None:
    """``built`` to ``site``, replacing it: a rename on one filesystem, else a copy."""
    if site.exists() or site.is_symlink():
        _remove(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(built, site)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(built, site, symlinks=True)
        shutil.rmtree(built)


# ------------------------------------------------------------------------------ after the engine


@dataclass
class Secured:
    pages: int  # pages sanitized and given their policy
    seconds: float
    diagnostics: list[Diagnostic]


_SKIPPED = ("pagefind/", "data/", "schemas/")  # Pagefind's, the export's: no page of the engine


def secure_site(site: Path, docs: Path, cache: Path, workers: int | None = None) -> Secured:
    """What the hooks did to every page, done to a site an engine built without them:

    * the article of each page (``<article class="md-content__inner md-typeset">``, which
      Material and Zensical both wrap the page body in) passes the page allow-list
      (``sanitize.article``), the drawings of ``cache`` set aside as they are
      (``diagrams.set_aside``); linked diagrams are kept only on pages whose Markdown in
      ``docs`` says ``kb_linked_diagrams: true`` in its front matter (the maps);
    * each page gets its Content-Security-Policy (``sanitize.content_security_policy``), with
      the hashes of the inline scripts the engine's template wrote, replacing any policy there.

    Every ``*.html`` of ``site`` but Pagefind's and the export's is a page here; one with no
    article is reported, not served unsanitized (a Diagnostic naming it, and it is emptied).
    Pages are rewritten only when they change, in ``workers`` threads (nh3 releases the GIL).
    Run it after the engine and before ``index_search``; it is idempotent."""
    started = time.perf_counter()
    linked = _linked_pages(docs)
    pages = [p for p in sorted(site.rglob("*.html"))
             if not p.relative_to(site).as_posix().startswith(_SKIPPED)]

    def secure(path: Path) -> Diagnostic | None:
        relative = path.relative_to(site).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return Diagnostic(str(path), 1, 1, f"cannot read the built page: {exc}", code="sanitize")
        cleaned = sanitize.article(text, linked_diagrams=relative in linked,
                                   set_aside=lambda body: diagrams.set_aside(body, cache, relative in linked))
        problem = None
        if cleaned is None:
            problem = Diagnostic(str(path), 1, 1, "the built page has no <article class=\"md-content__inner "
                                 "md-typeset\">, so its body could not pass the allow-list: it was emptied",
                                 code="sanitize", hint="a theme or engine that wraps the page body otherwise "
                                 "needs sanitize.article taught where it is")
            cleaned = ""
        else:
            cleaned = sanitize.content_security_policy(sanitize.without_policy(cleaned))
        if cleaned != text:
            try:
                path.write_text(cleaned, encoding="utf-8")
            except OSError as exc:
                return Diagnostic(str(path), 1, 1, f"cannot write {path}: {exc.strerror or exc}", code="sanitize")
        return problem

    count = workers or min(4, os.cpu_count() or 1)
    if count > 1 and len(pages) > 50:
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(secure, pages))
    else:
        results = [secure(page) for page in pages]
    return Secured(len(pages), time.perf_counter() - started, [r for r in results if r is not None])


def _linked_pages(docs: Path) -> set[str]:
    """The built pages (``X.html`` for ``X.md``) whose front matter allows linked diagrams."""
    linked = set()
    for path in docs.rglob("*.md"):
        with path.open(encoding="utf-8", errors="replace") as file:
            head = file.read(2048)
        if "kb_linked_diagrams" in head and diagrams.linked_page(head):
            linked.add(path.relative_to(docs).with_suffix(".html").as_posix())
    return linked
