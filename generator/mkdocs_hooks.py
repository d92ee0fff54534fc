"""MkDocs hooks of mkdocs.yml: `mkdocs build`, `mkdocs serve` and `kb serve` run the generator.

`kb build` does not use this file: it runs every stage itself and MkDocs with generator/page_hooks.py
alone. Here the stage runner (generator/pipeline.py) runs around MkDocs: on_config runs load to
write (a bad record stops the build before MkDocs cleans the site folder; when served, the build
goes on without pages and the preview shows the errors: generator/serve_errors.py), on_files hands
MkDocs the generated pages, on_post_build runs export and index into the built site, on_serve
watches the records and templates so an edit rebuilds the site. The page-level hooks (passthrough,
allow-list, policy) are page_hooks.py's.

Dirty builds (`kb serve`, which is `mkdocs serve --dirty`; `mkdocs build --dirty`): MkDocs
renders only the pages whose Markdown is newer than their HTML, which after one edit are the
pages the generator rewrote. on_files deletes the HTML of pages that are gone and, when the
theme or mkdocs.yml changed since the folder was built, empties it so that every page is
rebuilt. A reload of a served site leaves export and index to the background, from the graph
this build already has (generator.build.Refresher), and the log says when search shows the new build.

`kb serve` keeps more between reloads: the memo of the generator (generator/incremental.py), and
MkDocs' files, navigation and theme of the build before, with which a reload renders the pages the
generator rewrote without MkDocs going through every file again (generator/reload.py; the reloads
that cannot, such as one after an edit of mkdocs.yml or one with errors, are MkDocs' own). It
hears of a save in its folders from inotify where it can, with a slow poll behind it
(generator/watching.py).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from mkdocs import utils
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from generator import images, incremental, page_hooks, pipeline, reload, sanitize, serve_errors, watching
from generator.build import Refresher, built_with, remember_build, site_fingerprint, watch_dirty_builds
from generator.core import errors_of, files_under, format_text
from generator.page_hooks import on_page_content, on_page_markdown  # noqa: F401 (hooks MkDocs calls)

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

log = logging.getLogger("mkdocs.plugins.kb")
_dirty = watch_dirty_builds()  # .seen: MkDocs is running this build dirty


class _StageLines(logging.Handler):
    """The runner's line per stage in MkDocs' log. Only INFO: a warning there would count in
    strict mode (a diagram Chromium could not draw is not an error of the site)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            log.info("%s", record.getMessage())


_runner_log = logging.getLogger("kb")
if not any(isinstance(handler, _StageLines) for handler in _runner_log.handlers):
    _runner_log.addHandler(_StageLines())
    _runner_log.setLevel(logging.INFO)


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


_run: pipeline.Run | None = None  # this build's run, after write; export and index follow MkDocs
_pages = {"all": 0, "fingerprint": None}
_serving = {"serve": False}  # set by on_startup: `mkdocs serve` (reloads refresh search in the background)
_refresher = Refresher(log)
_errors = serve_errors.ServeErrors(log)  # a served build with errors shows them (generator/serve_errors.py)
# what the last reload scored and rendered, and what each page read: a reload makes again only what
# read something that changed (generator/incremental.py)
_memo = incremental.Memo()
# kb serve: the files, navigation and theme of the last build, with which the next reload renders
# the pages the generator rewrote and no more (generator/reload.py); "files", "nav" and "env" of
# the running build, "kept" once it is built
_kept: dict = {}
_polling: dict = {}  # "files": what polls the watched files of kb serve (watching.watch_natively)
_handed: dict = {}  # "run": a reload's run that MkDocs' own build is to take (it had errors, or did not fit)


def on_startup(command, dirty):
    _serving["serve"] = command == "serve"
    if command == "serve" and not dirty:
        log.info("Every reload rebuilds every page, the search index and the data; `kb serve` "
                 "(mkdocs serve --dirty) rebuilds only the pages an edit changes")


def on_shutdown():
    _refresher.stop(wait=True)
    if (polling := _polling.pop("files", None)) is not None:
        polling.stop()
    _serving["serve"] = False


def on_config(config):
    global _run
    page_hooks.safe_headings(config)  # (mkdocs build and kb serve build the site whole, never in parts)
    _refresher.stop("a new build started")  # its Pagefind would read pages this build rewrites
    _dirty.seen = False
    _run = None
    _kept.clear()
    _pages.update(fingerprint=None)
    page_hooks.PAGES.start(0)
    run = _handed.pop("run", None) or _generate(config)  # a reload that could not render it hands it on
    if _serving["serve"] and _errors.held(config, run.diagnostics):
        return config  # no page is rendered: the preview shows the errors instead
    if not run.ok:
        raise PluginError("the knowledge base has errors; the site was not touched\n" + format_text(run.diagnostics))
    _run = run
    return config


def _generate(config) -> pipeline.Run:
    """load to write, with kb serve's memo when serving."""
    root = _root(config)
    return pipeline.run(pipeline.Run(root / "content", docs=root / pipeline.GENERATED_DIR,
                                     cache=root / pipeline.DIAGRAM_CACHE,
                                     memo=_memo if _serving["serve"] else None), pipeline.GENERATE)


def on_files(files: Files, config) -> Files:
    """The generated pages, and the content's images the write stage put beside them (the other
    files of the docs tree are generator/static's, which is docs_dir)."""
    out = _root(config) / pipeline.GENERATED_DIR
    for relative in sorted(files_under(out), key=lambda r: r.split("/")):  # as Paths sort
        if relative.endswith(".md") or files.get_file_from_path(relative) is None:
            files.append(File.generated(config, relative, abs_src_path=str(out / relative)))
    pages = files.documentation_pages()
    if _dirty.seen:
        _prepare_dirty_build(config, pages)
    _pages["all"] = len(pages)
    page_hooks.PAGES.start(sum(1 for f in pages if f.is_modified()) if _dirty.seen else len(pages))
    _kept["files"] = files
    return files


def on_nav(nav, config, files):
    _kept["nav"] = nav
    return nav


def on_env(env, config, files):
    _kept["env"] = env
    return env


def _prepare_dirty_build(config, pages) -> None:
    """Delete the HTML of pages the generator removed; empty a folder built with another theme,
    mkdocs.yml or address, so that every page is rebuilt."""
    site = Path(config.site_dir)
    _remove_pages(config)
    _remove_images(config)
    _pages["fingerprint"] = site_fingerprint(config)
    if site.is_dir() and any(site.iterdir()) and built_with(_root(config), site) != _pages["fingerprint"]:
        log.info("The theme, mkdocs.yml or the site address changed since %s was built (or this is its "
                 "first dirty build): rebuilding every page", site)
        utils.clean_directory(str(site))


def _remove_pages(config) -> None:
    """Delete the HTML of the pages the generator removed; they and the pages MkDocs builds
    (on_post_build) are what search indexes again."""
    if _run is not None:
        _run.pages_changed = set()
        for relative in _run.removed:
            removed = File(relative, None, config.site_dir, config.use_directory_urls)
            Path(removed.abs_dest_path).unlink(missing_ok=True)
            _run.pages_changed.add(removed.dest_uri)


def _remove_images(config) -> None:
    """Delete the site's copies of the content's images that are gone (a dirty build copies the
    files that changed and deletes none)."""
    folder = Path(config.site_dir) / images.FOLDER
    kept = _root(config) / pipeline.GENERATED_DIR / images.FOLDER
    for relative in files_under(folder) if folder.is_dir() else ():
        if not (kept / relative).is_file():
            (folder / relative).unlink(missing_ok=True)


def on_post_page(output, page, config):
    page_hooks.PAGES.step(page)
    if _serving["serve"]:  # the policy must name MkDocs' live-reload script: serve_errors sends it
        return output
    return sanitize.content_security_policy(output)


def on_post_template(output_content, template_name, config):
    if _serving["serve"]:  # as on_post_page: the server sends the policy
        return output_content
    return page_hooks.on_post_template(output_content, template_name, config)


def on_post_build(config):
    """Export and index after MkDocs has written the site (it empties site_dir when it starts).

    A dirty reload of a served site keeps the index and data of the previous build in place and
    refreshes them in the background; every other build does both before it ends."""
    if _run is None:
        return
    site = Path(config.site_dir)
    _run.site = site
    if _dirty.seen:
        log.info("Dirty build: MkDocs rebuilt %d of %d pages", len(page_hooks.PAGES.built), _pages["all"])
        if _run.pages_changed is not None:
            _run.pages_changed.update(Path(built).relative_to(site).as_posix() for built in page_hooks.PAGES.built)
            if _serving["serve"]:  # changed since the whole index: the next refresh that ends indexes them
                _memo.search.since |= _run.pages_changed
    if _serving["serve"] and _dirty.seen and (site / "pagefind").is_dir():
        if _run.written or _run.removed or not _refresher.current:
            _refresher.start(_run)
        else:
            log.info("No page changed: the search index and data are up to date")
    else:
        pipeline.run(_run, ("export", "index"))
        if not _run.ok:
            raise PluginError("the site was built, but not its data or search index\n"
                              + format_text(errors_of(_run.diagnostics)))
        _refresher.current = True
    remember_build(_root(config), site, _pages["fingerprint"] or site_fingerprint(config))
    if _serving["serve"] and _dirty.seen and {"files", "nav", "env"} <= _kept.keys():
        _kept["kept"] = reload.keep(config, _kept.pop("files"), _kept.pop("nav"), _kept.pop("env"),
                                    _pages["fingerprint"] or site_fingerprint(config),
                                    _root(config) / pipeline.GENERATED_DIR)


def on_build_error(error):
    """A build that fails after writing some pages (a strict-mode warning aborts after the last
    one): those pages are marked stale, so that the next dirty build renders them again and shows
    the same problems until they are fixed, instead of keeping their HTML as if it were good."""
    _kept.clear()  # the next reload is MkDocs' own, which renders the pages marked stale again
    for written in page_hooks.PAGES.built:
        try:
            os.utime(written, (0, 0))
        except OSError:
            pass


def on_serve(server, config, builder):
    root = _root(config)
    package = Path(__file__).parent  # the generator's templates and theme, wherever it is installed
    for watched in (root / "content", package / "templates", package / "theme"):
        server.watch(str(watched))
    whole = server.builder

    def build(*args, **kwargs):
        try:
            if args or kwargs or not _reload():
                whole(*args, **kwargs)
        finally:
            _handed.pop("run", None)  # a build that failed before on_config took it: the next runs again

    server.builder = build
    _polling["files"] = watching.watch_natively(server)
    return _errors.serve(server)


def _reload() -> bool:
    """kb serve's reload with what the build before kept (generator/reload.py): the generator,
    then MkDocs for the pages it rewrote alone. False when MkDocs' own build is to run instead
    (nothing kept, or mkdocs.yml, the theme or the static files changed, or the run has errors
    for the preview to show, or a page of the navigation is gone); it then takes this run."""
    global _run
    kept = _kept.pop("kept", None)
    if kept is None or not _dirty.seen:
        return False
    config = kept.config
    fingerprint = site_fingerprint(config)
    if fingerprint != kept.fingerprint:
        return False
    log.info("Building documentation...")
    _refresher.stop("a new build started")
    _run = None
    _kept.clear()
    page_hooks.PAGES.start(0)
    run = _generate(config)
    if not run.ok or not reload.fits(kept, fingerprint, _root(config) / pipeline.GENERATED_DIR, run.written,
                                         run.removed):
        _handed["run"] = run
        return False
    _run = run
    page_hooks.PAGES.start(len(run.written))
    _kept.update(files=kept.files, nav=kept.nav, env=kept.env)
    added = sum(1 for relative in run.written if kept.files.get_file_from_path(relative) is None)
    _pages.update(all=len(kept.files.documentation_pages()) - len(run.removed) + added, fingerprint=fingerprint)
    _remove_pages(config)
    reload.rebuild(kept, _root(config) / pipeline.GENERATED_DIR, run.written, run.removed)
    return True
