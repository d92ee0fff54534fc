"""Part of render: an editor's Markdown to safe HTML, by Python-Markdown itself.

Editors write Markdown, never HTML. Their text is converted here, by the same Python-Markdown
the site is built with, in a configuration that has only what prose may use: tables, fenced
code (```mermaid fences become diagram blocks) and ``[[id]]`` links, an inline pattern of the
parser, so code spans and fences are left alone by the parser's own rules. What prose must not
have is not there at all: raw HTML (the block preprocessor and the inline pattern are removed,
so ``<script>`` is text) and attribute lists (not loaded, so ``{: onfocus=... }`` is text). The
HTML then passes the prose allow-list (``sanitize.prose``), which also drops any link whose
scheme is not http, https or mailto, however the URL was split or spelled.

The result goes into the page's Markdown as HTML blocks that every Markdown engine passes
through unparsed. Headings at the top level of the prose are the exception: they stay Markdown
headings (their text escaped), so the site's table of contents lists them.
"""
from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as etree
from typing import Callable

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from . import diagrams, sanitize
from .core import RECORD_LINK, html_block

# (record id, text or None) -> (href, text shown), or None for an id that names no record.
LinkFor = Callable[[str, "str | None"], "tuple[str, str] | None"]



class _RecordLinks(InlineProcessor):
    """``[[id]]`` and ``[[id|text]]``: a link to the record's page."""

    def __init__(self, converter: "_Converter"):
        super().__init__(RECORD_LINK)
        self.converter = converter

    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        resolved = self.converter.link_for(m.group(1).strip(), m.group(2))
        if resolved is None:  # validation reports such a link; shown as written, never dropped
            return m.group(0), m.start(0), m.end(0)
        element = etree.Element("a", href=resolved[0])
        element.text = resolved[1]
        return element, m.start(0), m.end(0)


class _MarkTopHeadings(Treeprocessor):
    """Put a marker paragraph before every heading at the top level, so the converted page can
    be cut there (after the postprocessors) without reading the HTML again."""

    def __init__(self, md, token: str):
        super().__init__(md)
        self.token = token

    def run(self, root):
        for index in range(len(root) - 1, -1, -1):
            if root[index].tag in _HEADINGS:
                marker = etree.Element("p")
                marker.text, marker.tail = self.token, "\n"
                root.insert(index, marker)


_HEADINGS = {f"h{n}" for n in range(1, 7)}


class _ProseExtension(Extension):
    def __init__(self, converter: "_Converter"):
        super().__init__()
        self.converter = converter

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(_RecordLinks(self.converter), "kb_record_link", 175)
        md.treeprocessors.register(_MarkTopHeadings(md, self.converter.token), "kb_top_headings", 5)


def _mermaid_fence(source, language, css_class, options, md, **kwargs) -> str:
    return diagrams.block(source)


class _Converter:
    def __init__(self) -> None:
        self.token = f"kbheading{secrets.token_hex(8)}"
        self.link_for: LinkFor = lambda target, text: None
        self.md = markdown.Markdown(extensions=[
            "tables",
            "pymdownx.superfences",
            _ProseExtension(self),
        ], extension_configs={"pymdownx.superfences": {"custom_fences": [
            {"name": "mermaid", "class": "kb-mermaid", "format": _mermaid_fence}]}})

    def convert(self, text: str, link_for: LinkFor) -> str:
        self.link_for = link_for
        try:
            return self.md.reset().convert(text)
        finally:
            self.link_for = lambda target, text: None


_converter: _Converter | None = None


def diagram_sources(text: str) -> list[str]:
    """The source of each diagram an editor's Markdown draws (its ```mermaid fences), as the
    converter takes them: validation parses exactly these (generator/diagram_check.py)."""
    page = to_page_markdown(text, lambda target, shown: None)
    return [source for source, _ in diagrams.found_in(page)]


def _heading_line(level: int, inner: str) -> str:
    """``<h2>The <em>real</em> risk</h2>`` -> ``## The <em>real</em> risk``, on one line, its text
    escaped so that the page's Markdown engine reads it as text (``{: …}`` stays text, ``#`` stays)."""
    inner = " ".join(sanitize.prose(inner).split())
    return "#" * level + " " + "".join(part if part.startswith("<") else _MD_PUNCTUATION.sub(r"\\\1", part)
                                       for part in _TAGS.split(inner) if part)


# The heading that follows a marker: Python-Markdown writes it as <hN>…</hN> and a newline.
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>\n?", re.S)
_TAGS = re.compile(r"(<[^>]*>)")  # the sanitizer's own output: '>' inside an attribute is escaped
# What Python-Markdown would read as inline markup in a heading's text (a heading holds no
# blocks), escaped with a backslash: emphasis, code, links, attribute lists, closing hashes.
_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]#|])")


def to_page_markdown(text: str, link_for: LinkFor) -> str:
    """An editor's Markdown as the page's Markdown: sanitized HTML blocks, Markdown headings."""
    global _converter
    if _converter is None:
        _converter = _Converter()
    converted = _converter.convert(text, link_for)
    parts = []
    for number, chunk in enumerate(converted.split(f"<p>{_converter.token}</p>\n")):
        heading = _HEADING.match(chunk) if number else None
        if heading is not None:
            parts.append(_heading_line(int(heading.group(1)), heading.group(2)))
            chunk = chunk[heading.end():]
        chunk = sanitize.prose(chunk).strip("\n")
        if chunk:
            parts.append(html_block(chunk))
    return "\n\n".join(parts)
