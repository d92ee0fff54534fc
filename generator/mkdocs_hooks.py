"""MkDocs hooks: `mkdocs build` and `mkdocs serve` run the generator as part of the build.

on_config validates and generates (a bad record stops the build before MkDocs cleans the
site folder), on_files hands MkDocs the generated pages, on_page_content puts the drawn
diagrams in place, on_post_build indexes the search and exports the data,
on_serve watches the records and templates so an edit rebuilds the site.
"""
from __future__ import annotations

import os
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from generator import diagrams
from generator.build import DIAGRAM_CACHE, GENERATED_DIR, Progress, generate, index_search, publish_data
from generator.core import format_text

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


_graph = None  # the linked base of this build, for on_post_build's export


def on_config(config):
    global _graph
    if config.extra.get("kb_pregenerated"):
        return config
    generated = generate(_root(config) / "content", _root(config) / GENERATED_DIR)
    if not generated.ok:
        raise PluginError("the knowledge base has errors; the site was not touched\n"
                          + format_text(generated.checked.diagnostics))
    _graph = generated.checked.graph
    return config


_pages = {"done": 0, "total": 0, "progress": None}


def on_files(files: Files, config) -> Files:
    out = _root(config) / GENERATED_DIR
    for path in sorted(out.rglob("*.md")):
        files.append(File.generated(config, path.relative_to(out).as_posix(), abs_src_path=str(path)))
    _pages.update(done=0, total=len(files.documentation_pages()), progress=Progress("pages"))
    return files


def on_page_content(html, page, config, files):
    """Diagrams drawn at build time replace their Mermaid blocks; a page with a block left
    over loads Mermaid (see theme/main.html)."""
    html, left = diagrams.inline(html, _root(config) / DIAGRAM_CACHE)
    page.meta["kb_diagrams"] = left
    return html


def on_post_page(output, page, config):
    _pages["done"] += 1
    _pages["progress"](_pages["done"], _pages["total"])
    return output


def on_post_build(config):
    """Export after MkDocs has written the site (it empties site_dir when it starts)."""
    if _graph is not None and not config.extra.get("kb_pregenerated"):
        index_search(Path(config.site_dir))
        publish_data(_graph, Path(config.site_dir))


def on_serve(server, config, builder):
    root = _root(config)
    for watched in ("content", "generator/templates", "generator/theme"):
        server.watch(str(root / watched))
    return server
