"""MkDocs hooks: `mkdocs build` and `mkdocs serve` run the generator as part of the build.

on_config validates and generates (a bad record stops the build before MkDocs cleans the
site folder; when served, the build goes on without pages and the preview shows the errors:
generator/serve_errors.py), on_files hands MkDocs the generated pages, on_page_content
sanitizes each page body and puts the drawn diagrams in place, on_post_page adds the
Content-Security-Policy, on_post_build indexes the search and exports the data, on_serve
watches the records and templates so an edit rebuilds the site.

Dirty builds (`kb serve`, which is `mkdocs serve --dirty`; `mkdocs build --dirty`): MkDocs
renders only the pages whose Markdown is newer than their HTML, which after one edit are the
pages the generator rewrote. on_files deletes the HTML of pages that are gone and, when the
theme or mkdocs.yml changed since the folder was built, empties it so that every page is
rebuilt. A reload of a served site leaves the search index and the data export to a background
refresh (generator.build.Refresher), and the log says when search shows the new build.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from mkdocs import utils
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from generator import diagrams, passthrough, sanitize, serve_errors
from generator.build import (DIAGRAM_CACHE, GENERATED_DIR, Progress, Refresher, built_with, generate,
                             index_search, publish_data, remember_build, site_fingerprint,
                             watch_dirty_builds)
from generator.core import format_text

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")

log = logging.getLogger("mkdocs.plugins.kb")
_dirty = watch_dirty_builds()  # .seen: MkDocs is running this build dirty


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


_graph = None  # the linked base of this build, for on_post_build's export
_generated = None  # this build's generate() result
_pages = {"done": 0, "total": 0, "all": 0, "progress": None, "fingerprint": None, "built": []}
_serving = {"serve": False}  # set by on_startup: `mkdocs serve` (reloads refresh search in the background)
_refresher = Refresher(log)
_errors = serve_errors.ServeErrors(log)  # a served build with errors shows them (generator/serve_errors.py)


def on_startup(command, dirty):
    _serving["serve"] = command == "serve"
    if command == "serve" and not dirty:
        log.info("Every reload rebuilds every page, the search index and the data; `kb serve` "
                 "(mkdocs serve --dirty) rebuilds only the pages an edit changes")


def on_shutdown():
    _refresher.stop()
    _serving["serve"] = False


def on_config(config):
    global _graph, _generated
    _refresher.stop("a new build started")  # it would read pages this build rewrites
    _dirty.seen = False
    _graph = _generated = None
    _pages.update(fingerprint=None, built=[])
    if config.extra.get("kb_pregenerated"):
        return config
    generated = generate(_root(config) / "content", _root(config) / GENERATED_DIR)
    if _serving["serve"] and _errors.held(config, generated.checked.diagnostics):
        return config  # no page is rendered: the preview shows the errors instead
    if not generated.ok:
        raise PluginError("the knowledge base has errors; the site was not touched\n"
                          + format_text(generated.checked.diagnostics))
    log.info("Generated %d pages: %d changed, %d removed", len(generated.rendered.pages),
             len(generated.written), len(generated.removed))
    _graph, _generated = generated.checked.graph, generated
    return config


def on_files(files: Files, config) -> Files:
    out = _root(config) / GENERATED_DIR
    for path in sorted(out.rglob("*.md")):
        files.append(File.generated(config, path.relative_to(out).as_posix(), abs_src_path=str(path)))
    pages = files.documentation_pages()
    if _dirty.seen:
        _prepare_dirty_build(config, pages)
    total = sum(1 for f in pages if f.is_modified()) if _dirty.seen else len(pages)
    _pages.update(done=0, total=total, all=len(pages), progress=Progress("pages"), built=[])
    return files


def _prepare_dirty_build(config, pages) -> None:
    """Delete the HTML of pages the generator removed; empty a folder built with another theme,
    mkdocs.yml or address, so that every page is rebuilt."""
    site = Path(config.site_dir)
    if _generated is not None:
        for relative in _generated.removed:
            removed = File(relative, None, config.site_dir, config.use_directory_urls)
            Path(removed.abs_dest_path).unlink(missing_ok=True)
    _pages["fingerprint"] = site_fingerprint(config)
    if site.is_dir() and any(site.iterdir()) and built_with(_root(config), site) != _pages["fingerprint"]:
        log.info("The theme, mkdocs.yml or the site address changed since %s was built (or this is its "
                 "first dirty build): rebuilding every page", site)
        utils.clean_directory(str(site))


_stashed: dict[str, dict[str, str]] = {}  # page -> the HTML blocks Markdown need not parse


def on_page_markdown(markdown, page, config, files):
    """The generated HTML blocks skip Python-Markdown (see generator/passthrough.py).

    Every generated page has a title in its front matter. A page without one is a front matter
    MkDocs could not read (it then drops it silently and renders it as Markdown): that must stop
    the build, not reach a reader."""
    generated = Path(page.file.abs_src_path or "").is_relative_to(_root(config) / GENERATED_DIR)
    if generated and "title" not in page.meta:
        raise PluginError(f"{page.file.src_uri}: the front matter the generator wrote could not be read")
    markdown, _stashed[page.file.src_uri] = passthrough.stash(markdown)
    return markdown


def on_page_content(html, page, config, files):
    """The generated HTML blocks go back in place; the body passes the page allow-list
    (generator/sanitize.py); diagrams drawn at build time replace their Mermaid blocks; a page
    with a block left over loads Mermaid (see theme/main.html)."""
    html = passthrough.restore(html, _stashed.pop(page.file.src_uri, {}))
    # The last line of defence, whatever Markdown made of the page; only the maps keep linked diagrams.
    html = sanitize.page(html, linked_diagrams=bool(page.meta.get("kb_linked_diagrams")))
    html, left = diagrams.inline(html, _root(config) / DIAGRAM_CACHE)  # drawings: sanitized when cached
    page.meta["kb_diagrams"] = left
    return html


def on_post_page(output, page, config):
    _pages["done"] += 1
    _pages["built"].append(page.file.abs_dest_path)
    _pages["progress"](_pages["done"], _pages["total"])
    if _serving["serve"]:  # the policy must name MkDocs' live-reload script: serve_errors sends it
        return output
    return sanitize.content_security_policy(output)


def on_post_build(config):
    """Export after MkDocs has written the site (it empties site_dir when it starts).

    A dirty reload of a served site keeps the index and data of the previous build in place and
    refreshes them in the background; every other build does both before it ends."""
    if _graph is None or config.extra.get("kb_pregenerated"):
        return
    site = Path(config.site_dir)
    if _dirty.seen:
        log.info("Dirty build: MkDocs rebuilt %d of %d pages", _pages["done"], _pages["all"])
    if _serving["serve"] and _dirty.seen and (site / "pagefind").is_dir():
        if _generated.written or _generated.removed or not _refresher.current:
            _refresher.start(_root(config), site)
        else:
            log.info("No page changed: the search index and data are up to date")
    else:
        index_search(site)
        publish_data(_graph, site)
        _refresher.current = True
    remember_build(_root(config), site, _pages["fingerprint"] or site_fingerprint(config))


def on_build_error(error):
    """A build that fails after writing some pages (a strict-mode warning aborts after the last
    one): those pages are marked stale, so that the next dirty build renders them again and shows
    the same problems until they are fixed, instead of keeping their HTML as if it were good."""
    for written in _pages["built"]:
        try:
            os.utime(written, (0, 0))
        except OSError:
            pass


def on_serve(server, config, builder):
    root = _root(config)
    for watched in ("content", "generator/templates", "generator/theme"):
        server.watch(str(root / watched))
    return _errors.serve(server)
