"""MkDocs hooks of one page, for a docs tree the generator has made complete (generator/pipeline.py).

`kb build` runs MkDocs with this file as its only hook (the site stage); generator/mkdocs_hooks.py,
the hook of mkdocs.yml for plain `mkdocs build`, `mkdocs serve` and `kb serve`, uses these too and
drives the generator around them. Nothing here generates anything:

* on_config: no heading's anchor is an id the page uses itself (``core.safe_anchor``);
* on_page_markdown: a generated page whose front matter MkDocs could not read stops the build;
  the generated HTML blocks are set aside so that Python-Markdown skips them
  (generator/passthrough.py: most of MkDocs' time, before);
* on_page_content: the blocks go back; the page body passes the page allow-list
  (generator/sanitize.py), the drawings of the diagram cache set aside as they are (they passed
  the drawing allow-list when they were cached, and keep the styles the page list would remove);
* on_post_page: the page's Content-Security-Policy; a progress bar of the pages on a terminal;
* on_post_template: the same policy on the theme's own pages (404.html);
* on_nav, on_env, on_post_build: a site built in parts takes its share of the pages and reports
  what its links need of the other parts' (generator/site_parts.py).
"""
from __future__ import annotations

from pathlib import Path

from markdown.extensions.toc import slugify
from mkdocs.exceptions import PluginError

from generator import diagrams, passthrough, sanitize, site_parts
from generator.core import safe_anchor
from generator.pipeline import DIAGRAM_CACHE, GENERATED_DIR, Progress


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


class Pages:
    """The pages of the running MkDocs build: how many are to be built, which were."""

    def __init__(self) -> None:
        self.start(0)

    def start(self, total: int) -> None:
        self.total, self.built, self.progress = total, [], Progress("pages")

    def step(self, page) -> None:
        self.built.append(page.file.abs_dest_path)
        self.progress(len(self.built), self.total)


PAGES = Pages()
_stashed: dict[str, dict[str, str]] = {}  # page -> the HTML blocks Markdown need not parse
_parts: dict = {}  # a site built in parts: this part's files, for its report after the build


def on_config(config):
    """The safe anchors (:func:`safe_headings`); a part of a site built in parts leaves the
    theme's own pages to part 0 (generator/site_parts.py)."""
    site_parts.theme_templates(config)
    return safe_headings(config)


def safe_headings(config):
    """Every heading's anchor as the table of contents makes it, but never an id the page uses
    itself (``core.safe_anchor``: a heading "__config" or "Kb search", a record named so, would
    otherwise take the id Material's bundle or kb.js looks up, and stop it)."""
    toc = config.mdx_configs.setdefault("toc", {})
    base = toc.get("slugify") or slugify
    if not getattr(base, "kb_safe", False):
        def safe(value: str, separator: str) -> str:
            return safe_anchor(base(value, separator))
        safe.kb_safe = True
        toc["slugify"] = safe
    return config


def on_files(files, config):
    PAGES.start(len(files.documentation_pages()))
    return files


def on_nav(nav, config, files):
    """A site built in parts (generator/site_parts.py): this part takes its share of the pages."""
    if site_parts.part()[1] > 1:
        PAGES.start(site_parts.claim(files, nav))
    return nav


def on_env(env, config, files):
    if site_parts.part()[1] > 1:
        site_parts.release(files)
        _parts["files"] = files
    return env


def on_post_build(config):
    if "files" in _parts:
        site_parts.report(_parts.pop("files"))


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
    """The generated HTML blocks go back in place, and the body passes the page allow-list: the
    last line of defence, whatever Markdown made of the page. Only the maps keep linked diagrams;
    a page with a diagram block left over loads Mermaid (``kb_diagrams`` in its front matter,
    see theme/main.html)."""
    html = passthrough.restore(html, _stashed.pop(page.file.src_uri, {}))
    linked = bool(page.meta.get("kb_linked_diagrams"))
    html, drawings = diagrams.set_aside(html, _root(config) / DIAGRAM_CACHE, linked)
    return diagrams.put_back(sanitize.page(html, linked_diagrams=linked), drawings)


def on_post_page(output, page, config):
    PAGES.step(page)
    return sanitize.content_security_policy(output)


def on_post_template(output_content, template_name, config):
    """The theme's own pages (404.html) carry the same policy as every other page; the sitemap
    is no page."""
    if template_name.endswith(".html"):
        return sanitize.content_security_policy(output_content)
    return output_content
