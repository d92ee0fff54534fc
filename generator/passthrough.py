"""Part of the build stage: let MkDocs skip the HTML the generator already wrote.

Most of a generated page is HTML blocks (the infobox, status header, relations, backlinks,
references, index and dashboard tables), written by the templates with final addresses. Left
in the Markdown, Python-Markdown feeds every one of their tags through ``html.parser`` to find
where each block ends, and that was most of the MkDocs build (about 60 microseconds a tag,
160,000 tags at 1,000 records). They need nothing from Markdown, so the page hooks
(generator/page_hooks.py) take them out before conversion (``stash``: each becomes a one-line
placeholder paragraph) and put them back, unchanged, in the converted page (``restore``).

The Markdown files themselves stay complete and portable: these are ordinary CommonMark HTML
blocks (an opening block-level tag at the start of a line, no blank line inside), which any
engine passes through as they are. Which blocks qualify is decided by the same rule:

* the block starts at column 0 with an opening tag from ``BLOCK_TAGS`` and runs to the next
  blank line, outside fenced code;
* its first tag has no ``markdown`` attribute (md_in_html containers hold Markdown);
* its tags are balanced, so a lone ``</div>`` closing a container is never taken.

An editor's prose reaches the page as such blocks too, already converted and sanitized by
``generator.prose``; and whatever is restored here then passes the page allow-list
(``generator.sanitize``) in the same hook.
"""
from __future__ import annotations

import re
import secrets
from html import escape as html_escape

BLOCK_TAGS = ("aside", "blockquote", "div", "dl", "hr", "nav", "ol", "p", "pre", "table", "ul")
_OPENING = re.compile(r"<(%s)(?=[\s>])([^>]*)>" % "|".join(BLOCK_TAGS))
_MARKDOWN_ATTRIBUTE = re.compile(r"\smarkdown(?:\s*=|\s|$)")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # at any indentation: fences nest in list items
# A tag: '/' if closing, its name, the rest up to its '>' (ending in '/' if it closes itself).
# Possessive runs: each stops where the tag's name or the tag ends anyway, without the step-by-
# step tries of a lazy run (for a '/>' after each character). On the 14,225 blocks of the
# benchmark's 1,000-record base: 0.70 s before, 0.31 s after.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*+)([^>]*+)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _balanced(block: str) -> bool:
    depth = 0
    for closing, name, rest in _TAG.findall(block):
        if rest.endswith("/") or name.lower() in _VOID:
            continue
        depth += -1 if closing else 1
        if depth < 0:
            return False
    return depth == 0


def stash(markdown: str) -> tuple[str, dict[str, str]]:
    """The Markdown with each passthrough block replaced by a placeholder, and the blocks."""
    token = secrets.token_hex(4)
    blocks: dict[str, str] = {}
    out: list[str] = []
    lines = markdown.split("\n")
    i, fence = 0, None
    while i < len(lines):
        line = lines[i]
        marker = _FENCE.match(line)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            out.append(line)
            i += 1
            continue
        if marker:
            fence = marker.group(1)
            out.append(line)
            i += 1
            continue
        opening = _OPENING.match(line)
        previous_blank = not out or not out[-1].strip()
        if opening and previous_blank and not _MARKDOWN_ATTRIBUTE.search(opening.group(2)):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            block = "\n".join(lines[i:end])
            if _balanced(block):
                key = f"kbpass{token}x{len(blocks)}"
                blocks[key] = block
                out.append(key)
                i = end
                continue
        out.append(line)
        i += 1
    return "\n".join(out), blocks


def restore(html: str, blocks: dict[str, str]) -> str:
    """Put each block back where Python-Markdown left its placeholder (a paragraph of its own).

    A placeholder found anywhere else (inside code, say) would mean ``stash`` took something
    that was not a block of its own: it gets the block's text, escaped, so that nothing is lost
    and nothing is turned into markup that was not meant as markup."""
    if not blocks:
        return html
    restored = _PLACEHOLDER.sub(lambda m: blocks.get(m.group(1), m.group(0)), html)
    prefix = next(iter(blocks)).rpartition("x")[0]  # kbpass<token>: a page's keys share it
    if prefix in restored:
        for key in sorted(blocks, key=len, reverse=True):  # ...x12 before ...x1, which it contains
            if key in restored:
                restored = restored.replace(key, html_escape(blocks[key], quote=False))
    return restored


# Any page's placeholder paragraph (one expression for every page: a page's own alternation of
# its keys was compiled anew for each page, a tenth of MkDocs' time).
_PLACEHOLDER = re.compile(r"<p>(kbpass[0-9a-f]*x[0-9]+)</p>")
