"""Part of render: an editor's Markdown to safe HTML, by Python-Markdown itself.

Editors write Markdown, never HTML. Their text is converted here, by the same Python-Markdown
the site is built with, in a configuration that has only what prose may use: tables, fenced
code (```mermaid fences become diagram blocks), footnotes, admonitions, images of the content
tree, formulas (``$...$``, ``$$...$$``: MathML drawn at build time, see ``formulas``), ``[[id]]``
links and ``[[cite:id]]`` citations, inline patterns of the parser, so code spans and fences
are left alone by the parser's own rules. What prose must not
have is not there at all: raw HTML (the block preprocessor and the inline pattern are removed,
so ``<script>`` is text) and attribute lists (not loaded, so ``{: onfocus=... }`` is text). The
HTML then passes the prose allow-list (``sanitize.prose``), which also drops any link whose
scheme is not http, https or mailto, however the URL was split or spelled.

The result goes into the page's Markdown as HTML blocks that every Markdown engine passes
through unparsed. Headings at the top level of the prose are the exception: they stay Markdown
headings (their text escaped), so the site's table of contents lists them.
"""
from __future__ import annotations

import html as html_lib
import re
import secrets
import xml.etree.ElementTree as etree
from typing import Callable, Iterable

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import IMAGE_LINK_RE, ImageInlineProcessor, InlineProcessor
from markdown import treeprocessors, util
from markdown.treeprocessors import Treeprocessor

from . import diagrams, formulas, sanitize
from .core import CITATION, RECORD_LINK, citation_targets, html_block

# (record id, text or None) -> (href, text shown), or None for an id that names no record.
LinkFor = Callable[[str, "str | None"], "tuple[str, str] | None"]
# source id -> (href of its entry in the page's references, its number), or None.
CiteFor = Callable[[str], "tuple[str, int] | None"]
# an image's address as written -> its address from the page, or None when it is not one of the
# content tree's images (validation says why).
ImageFor = Callable[[str], "str | None"]


def _no_link(target: str, text: str | None) -> None:
    return None


def _no_cite(target: str) -> None:
    return None


def _no_image(src: str) -> None:
    return None



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
        if m.group(2) is None:  # the record's name, shown as it is written: not read as Markdown,
            # and an '&' stays one (the serializer keeps what looks like an entity as an entity)
            element.text = util.AtomicString(resolved[1].replace("&", "&amp;"))
        else:  # the editor's own text of the link: Markdown, as any link's text
            element.text = resolved[1]
        return element, m.start(0), m.end(0)


class _Citations(InlineProcessor):
    """``[[cite:a]]``, ``[[cite:a, b]]``: superscript numbers linking to the sources' entries in
    the page's numbered references."""

    def __init__(self, converter: "_Converter"):
        super().__init__(CITATION)
        self.converter = converter

    def handleMatch(self, m, data):  # noqa: N802
        found = [self.converter.cite_for(target) for target in citation_targets(m.group(1))]
        if not found or None in found:  # validation reports it; shown as written
            return m.group(0), m.start(0), m.end(0)
        element = etree.Element("sup", {"class": "kb-cite"})
        for href, index in found:
            link = etree.SubElement(element, "a", href=href)
            link.text = f"[{index}]"
        return element, m.start(0), m.end(0)


class _Formulas(InlineProcessor):
    """``$...$`` and ``$$...$$``: MathML, put aside in the stash (no later pattern reads it)."""

    def handleMatch(self, m, data):  # noqa: N802
        display = m.group("display") is not None
        try:
            drawn = formulas.mathml(m.group("display" if display else "inline"), display)
        except formulas.FormulaError:  # validation reports it; shown as written
            return None, None, None
        return self.md.htmlStash.store(drawn), m.start(0), m.end(0)


class _Images(ImageInlineProcessor):
    """``![alt](../images/x.png)``: an image of the content tree, its address as the page sees it;
    any other address stays the text typed (validation says why)."""

    def __init__(self, converter: "_Converter", md):
        super().__init__(IMAGE_LINK_RE, md)
        self.converter = converter

    def handleMatch(self, m, data):  # noqa: N802
        element, start, end = super().handleMatch(m, data)
        if element is None:
            return element, start, end
        src = self.converter.image_for(element.get("src", ""))
        if src is None or not element.get("alt", "").strip():
            return self.md.htmlStash.store(html_lib.escape(data[start:end])), start, end
        element.set("src", src)
        return element, start, end


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


# For each inline pattern of the converter, strings one of which its expression cannot match
# without (one or two): where a text holds none of them, the pattern would find nothing there.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",), "kb_formula": ("$",), "escape": ("\\",), "kb_citation": ("[[",), "footnote": ("[^",),
    "kb_record_link": ("[[",), "reference": ("[",), "link": ("[",), "image_link": ("![",),
    "short_reference": ("[",), "autolink": ("<",), "automail": ("<",), "linebreak": ("  \n",),
    "entity": ("&",), "em_strong": ("*", "_"),
}


class _SkippingInline(treeprocessors.InlineProcessor):
    """Python-Markdown's inline stage, which tries every inline pattern on every piece of text
    (a call, an expression search, for each of 15 patterns on each of a page's ~100 texts), with
    the patterns that cannot match a text skipped by a substring test first (:data:`TRIGGERS`).
    Skipping is what the stage does with a pattern that finds nothing (the next pattern, from
    the text's start), so the HTML is the same, byte for byte (tests/test_prose_speed.py); an
    article converts in about half the time. A pattern not in the table is always tried."""

    def run(self, tree, ancestors=None):
        self._triggers = [self._by_pattern.get(id(pattern)) for pattern in self.inlinePatterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        # InlineProcessor.__handleInline (markdown 3.11) with the skip; the base class calls it by this name
        if isinstance(data, util.AtomicString):
            return data
        apply, patterns, triggers = self._InlineProcessor__applyPattern, self.inlinePatterns, self._triggers
        start, count = 0, len(patterns)
        while patternIndex < count:
            needs = triggers[patternIndex]
            if needs is not None and needs[0] not in data and (len(needs) == 1 or needs[1] not in data):
                patternIndex, start = patternIndex + 1, 0
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


# Block processors of the converter that try an expression on every block of text: for each, the
# strings one of which the expression cannot match without, and whether it is tried in ``test``
# (answering False) or in ``run`` (which, finding nothing, puts the block back and answers False).
BLOCK_TRIGGERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hashheader": ("test", ("#",)), "hr": ("test", ("-", "_", "*")),
    "footnote": ("run", ("[^",)), "reference": ("run", ("]:",)),
}
# Not the quotes': their test also asks how deep the stack is, and a wrapper is one frame deeper.
_BLOCK_CLASSES = {"hashheader": "HashHeaderProcessor", "hr": "HRProcessor",
                  "footnote": "FootnoteBlockProcessor", "reference": "ReferenceProcessor"}


def _install_block_skips(md) -> None:
    """Let the block processors of :data:`BLOCK_TRIGGERS` answer at once for a block that holds
    none of their strings, as their expression would (Python-Markdown searches each paragraph of
    an article with each of them). Only processors of the expected class are touched."""
    processors = md.parser.blockprocessors
    for name, (method, needs) in BLOCK_TRIGGERS.items():
        if name not in processors or type(processors[name]).__name__ != _BLOCK_CLASSES[name]:
            continue
        processor = processors[name]
        original = getattr(processor, method)
        if method == "test":
            def test(parent, block, _original=original, _needs=needs):
                return any(needed in block for needed in _needs) and _original(parent, block)
            processor.test = test
        else:
            def run(parent, blocks, _original=original, _needs=needs):
                if not any(needed in blocks[0] for needed in _needs):
                    return False  # what run does when its expression finds nothing, the block left in place
                return _original(parent, blocks)
            processor.run = run


def _install_skipping_inline(md) -> None:
    """Put :class:`_SkippingInline` in the place of the inline stage (where this Python-Markdown
    has the methods it replaces; else the stock stage stays, slower and the same)."""
    base = treeprocessors.InlineProcessor
    if not (hasattr(base, "_InlineProcessor__handleInline") and hasattr(base, "_InlineProcessor__applyPattern")):
        return
    inline = _SkippingInline(md)
    inline._by_pattern = {id(md.inlinePatterns[name]): needs for name, needs in TRIGGERS.items()
                          if name in md.inlinePatterns}
    md.treeprocessors.register(inline, "inline", 20)


class _ProseExtension(Extension):
    def __init__(self, converter: "_Converter"):
        super().__init__()
        self.converter = converter

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # images by reference ("![alt][x]") stay text: an image is written with its path
        md.inlinePatterns.deregister("image_reference")
        md.inlinePatterns.deregister("short_image_ref")
        md.inlinePatterns.register(_Images(self.converter, md), "image_link", 150)
        md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "$"]  # "\$" is a dollar sign
        # after code spans (190), before escapes (180: a formula keeps its backslashes)
        md.inlinePatterns.register(_Formulas(formulas.PATTERN, md), "kb_formula", 185)
        md.inlinePatterns.register(_Citations(self.converter), "kb_citation", 176)
        md.inlinePatterns.register(_RecordLinks(self.converter), "kb_record_link", 175)
        md.treeprocessors.register(_MarkTopHeadings(md, self.converter.token), "kb_top_headings", 5)
        if self.converter.skipping:
            _install_skipping_inline(md)
            _install_block_skips(md)


def _mermaid_fence(source, language, css_class, options, md, **kwargs) -> str:
    return diagrams.block(source)


class _Converter:
    def __init__(self, skipping: bool = True) -> None:
        self.skipping = skipping  # the quicker inline stage (False: Python-Markdown's own, for tests)
        self.token = f"kbheading{secrets.token_hex(8)}"
        self.link_for: LinkFor = _no_link
        self.cite_for: CiteFor = _no_cite
        self.image_for: ImageFor = _no_image
        self.md = markdown.Markdown(extensions=[
            "tables",
            "pymdownx.superfences",
            "footnotes",
            "admonition",
            _ProseExtension(self),
        ], extension_configs={
            "pymdownx.superfences": {"custom_fences": [
                {"name": "mermaid", "class": "kb-mermaid", "format": _mermaid_fence}]},
            "footnotes": {"BACKLINK_TITLE": "Back to note %d in the text"},
        })

    def convert(self, text: str, link_for: LinkFor, cite_for: CiteFor = _no_cite,
                image_for: ImageFor = _no_image) -> str:
        self.link_for, self.cite_for, self.image_for = link_for, cite_for, image_for
        try:
            return self.md.reset().convert(text)
        finally:
            self.link_for, self.cite_for, self.image_for = _no_link, _no_cite, _no_image


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


def to_page_markdown(text: str, link_for: LinkFor, cite_for: CiteFor = _no_cite,
                     image_for: ImageFor = _no_image) -> str:
    """An editor's Markdown as the page's Markdown: sanitized HTML blocks, Markdown headings."""
    return "\n\n".join(part for part in to_page_parts([text], link_for, cite_for, image_for) if part)


def to_page_parts(blocks: Iterable, link_for: LinkFor, cite_for: CiteFor = _no_cite,
                  image_for: ImageFor = _no_image) -> list:
    """A whole article converted at once (footnotes are numbered and listed across all of it):
    ``blocks`` are Markdown texts and other objects (the directives placing a table or a
    diagram), and the result is the page's Markdown of each text, cut where the objects stand,
    with each object in its place."""
    global _converter
    if _converter is None:
        _converter = _Converter()
    token = _converter.token
    blocks = list(blocks)
    # an object stands as a paragraph of its own, a marker the converted page is cut at
    text = "\n\n".join(block if isinstance(block, str) else f"{token}d{number}"
                         for number, block in enumerate(blocks))
    converted = _converter.convert(text, link_for, cite_for, image_for)
    pieces = re.split(f"<p>{token}(?:d([0-9]+))?</p>\n?", converted)
    parts: list = []
    chunk_parts: list[str] = []

    def chunk_done() -> None:
        if chunk_parts:
            parts.append("\n\n".join(chunk_parts))
            chunk_parts.clear()

    for number, chunk in enumerate(pieces):
        if number % 2:  # a marker: None before a heading, else an object's number
            if chunk is not None:
                chunk_done()
                parts.append(blocks[int(chunk)])
            continue
        heading = _HEADING.match(chunk) if number and pieces[number - 1] is None else None
        if heading is not None:
            chunk_parts.append(_heading_line(int(heading.group(1)), heading.group(2)))
            chunk = chunk[heading.end():]
        chunk = sanitize.prose(chunk).strip("\n")
        if chunk:
            chunk_parts.append(html_block(chunk))
    chunk_done()
    return parts
