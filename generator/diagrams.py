"""Part of the build stage: draw every Mermaid diagram to SVG before the reader arrives.

The source wiki shows "Loading diagram..." until a 3.5 MB script has run. Here, when Chromium
is on the build machine, each ```mermaid block of the rendered Markdown is drawn once by the
same pinned Mermaid in headless Chromium (``draw``), and the MkDocs hook puts the SVG in place
of the block in the page's HTML (``inline``), or, for an engine run without the hook
(generator/engines.py), ``inline_markdown`` puts it into the page's Markdown: readable at once,
no script to download, links in generated diagrams work without JavaScript. Drawings are
cached by a hash of Mermaid's version, the drawing settings, kb.css's diagram section and the
source, so a rebuild draws only new or changed diagrams.

Without Chromium (or with KB_DIAGRAMS=client) the blocks stay as they are and kb.js draws
them in the reader's browser with the same Mermaid, shipped with the site.

Mermaid writes its whole stylesheet (some 9 KB, every selector scoped by the drawing's id) into
every SVG it draws. The rules all flowcharts share are kept once in kb.css instead, between the
``kb:diagrams`` marks (written by ``python -m generator.diagrams --write-css``), and ``_slim``
takes them out of each drawing before it is cached (see there).
"""
from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from . import sanitize
from .core import html_block

log = logging.getLogger("kb")

MERMAID_VERSION = "11.17.2"
MERMAID_JS = Path(__file__).parent / "static" / "assets" / "vendor" / f"mermaid-{MERMAID_VERSION}.min.js"
KB_CSS = Path(__file__).parent / "static" / "assets" / "kb.css"
KB_JS = Path(__file__).parent / "static" / "assets" / "kb.js"
CHUNK = 20  # diagrams per call into the page: progress shows, the pages finish close together
# A chunk that takes longer than CHUNK_TIMEOUT seconds is drawn again one diagram at a time, in a
# new page (the old one is closed, whatever its script is doing); a diagram that takes longer
# than DIAGRAM_TIMEOUT alone is not drawn (``Drawn.timed_out``). Drawings take 0.02-0.2 s each.
CHUNK_TIMEOUT = 60.0
DIAGRAM_TIMEOUT = 20.0
TIMED_OUT = "ERROR:TIMEOUT:"  # the start of what a drawing that ran out of time comes back as
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


DRAWING = "7"  # bump when the drawing settings change: every cache key changes with it


@dataclass
class Drawn:
    drawn: int  # diagrams drawn in this run (cache misses)
    cached: int
    left: int  # diagrams left to the reader's browser
    failed: list[str]
    seconds: dict[str, float] = field(default_factory=dict)  # where a drawing run's time went (_drawings)
    # the (source, linked) diagrams Mermaid did not finish drawing in DIAGRAM_TIMEOUT seconds
    # (also in ``failed``): one that hangs Mermaid here would hang a reader's browser too
    timed_out: list[tuple[str, bool]] = field(default_factory=list)
    failed_diagrams: list[tuple[str, bool]] = field(default_factory=list)  # the (source, linked) of each of ``failed``


def _key(source: str, linked: bool) -> str:
    # kb.css's diagram section too: a cached drawing relies on the blocks it was slimmed against.
    text = f"{MERMAID_VERSION}\n{DRAWING}\n{_shared_digest()}\n{'linked' if linked else 'strict'}\n{source.strip()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def block(source: str, linked: bool = False) -> str:
    """A diagram as it stands in a page: its Mermaid source, escaped, in a ``<pre>`` that
    ``inline`` replaces with the drawing or kb.js draws in the browser.

    Only the generator passes ``linked``: its maps' nodes link to records, which needs Mermaid's
    loose security level. Every diagram an editor wrote is drawn at the strict level, whatever
    its text says; nothing an editor can type sets the attribute (the sanitizer removes it)."""
    attribute = ' data-kb-links="true"' if linked else ""
    return html_block(f'<pre class="kb-mermaid"{attribute}><code>{html.escape(source.strip(), quote=False)}</code></pre>')


# A diagram block in a page, in the Markdown and in the HTML made of it (after the sanitizer).
_BLOCK = re.compile(r'<pre class="kb-mermaid"( data-kb-links="true")?><code>(.*?)</code></pre>', re.S)


def _diagram(match: re.Match) -> tuple[str, bool]:
    return html.unescape(match.group(2)).strip(), bool(match.group(1))


MARK = b'class="kb-mermaid"'  # in the UTF-8 of every page that has a diagram block (present.Page.data)


def found_in(text: str) -> list[tuple[str, bool]]:
    """Every diagram block of a page (Markdown or HTML), as (source, linked)."""
    return [_diagram(match) for match in _BLOCK.finditer(text)] if 'class="kb-mermaid"' in text else []


def cached(cache: Path, diagram: tuple[str, bool]) -> Path:
    """Where the drawing of a (source, linked) diagram is kept."""
    return cache / f"{_key(*diagram)}.svg"


def _chromium() -> str | None:
    return None if unavailable() else (shutil.which("chromium") or "/usr/bin/chromium")


def unavailable() -> str | None:
    """Why diagrams are not drawn at build time here, or None when they are."""
    if os.environ.get("KB_DIAGRAMS", "auto") == "client":
        return "KB_DIAGRAMS=client"
    if not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        return "no Chromium on this machine (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed here (pip install 'kb-wiki[site]')"
    return None


def draw(pages: dict[str, str], cache: Path, progress=None) -> Drawn:
    """Make sure the cache holds a drawing of every diagram block of the rendered pages.

    The Markdown itself keeps its blocks (portable to any engine); ``inline`` puts the drawings
    into the HTML that MkDocs makes of them. Each drawing passes the sanitizer once, here.
    """
    return draw_found({diagram for text in pages.values() for diagram in found_in(text)}, cache, progress)


def draw_found(diagrams: set[tuple[str, bool]], cache: Path, progress=None) -> Drawn:
    """``draw`` of the (source, linked) diagrams found in the pages."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [d for d in sorted(diagrams) if not cached(cache, d).exists()]
    errors: dict[tuple[str, bool], str] = {}
    timed_out: list[tuple[str, bool]] = []
    seconds: dict[str, float] = {}
    chromium = _chromium() if missing else None
    if missing and chromium:
        post = 0.0
        for (source, linked), svg in _drawings(chromium, missing, progress, seconds):  # as they come
            if svg.startswith(TIMED_OUT):
                timed_out.append((source, linked))
                svg = "ERROR:" + svg[len(TIMED_OUT):]
            if svg.startswith("ERROR:"):
                errors[(source, linked)] = f"{svg[6:]}: {source.splitlines()[0] if source else ''}"
                continue
            start = time.perf_counter()
            cached(cache, (source, linked)).write_text(sanitize.drawing(_slim(svg)), encoding="utf-8")
            post += time.perf_counter() - start
        seconds["post"] = post
    # In the order the diagrams were handed to Chromium, whatever order they came back in.
    failed_diagrams = [d for d in sorted(missing, key=lambda diagram: diagram[1]) if d in errors]
    failed = [errors[d] for d in failed_diagrams]
    drawn = len(missing) - len(failed) if chromium else 0
    return Drawn(drawn, len(diagrams) - len(missing), len(missing) - drawn, failed, seconds,
                 sorted(timed_out, key=lambda diagram: diagram[1]), failed_diagrams)


def inline(page_html: str, cache: Path) -> tuple[str, bool]:
    """Replace each diagram block of a page's HTML with its drawing from the cache.

    Returns the HTML and whether a block is left for the browser to draw (then the page loads
    Mermaid). Done on HTML, after Markdown, by the MkDocs hook; a build without the hook puts
    the drawings into the Markdown instead (``inline_markdown``), as HTML blocks no engine parses.
    """
    left = False

    def replace(match: re.Match) -> str:
        nonlocal left
        path = cached(cache, _diagram(match))
        if not path.exists():
            left = True
            return match.group(0)
        return figure(path.read_text(encoding="utf-8"))

    return _BLOCK.sub(replace, page_html), left


# ------------------------------------------------------------------------------ drawings in the Markdown
#
# For an engine run with no hook (MkDocs or ProperDocs without generator/mkdocs_hooks.py,
# Zensical), the drawings go into the Markdown itself, so that the docs tree is complete. Each
# becomes one HTML block that every Markdown engine passes through as it is: a block-level
# opening tag at the start of a line (Python-Markdown takes an <svg> for inline HTML, wraps it in
# a <p> and parses the `*` and `_` in it) and no blank line inside (core.html_block).


def figure(svg: str) -> str:
    """A cached drawing as the page shows it: what ``inline`` writes into the HTML, and, as one
    HTML block, what ``inline_markdown`` writes into the Markdown. Focusable: a wide drawing
    scrolls sideways, and keyboard users must reach it too."""
    return f'<div class="kb-diagram kb-diagram--static" tabindex="0">{svg}</div>'


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*$", re.S | re.M)
_LINKED_PAGE = re.compile(r"^kb_linked_diagrams:[ \t]*(?:true|True|TRUE)[ \t]*$", re.M)
_DIAGRAMS_LINE = re.compile(r"^kb_diagrams:.*\n", re.M)


def linked_page(markdown: str) -> bool:
    """Whether a page's front matter says its diagrams may link (the generator's maps only)."""
    front = _FRONT_MATTER.match(markdown)
    return bool(front and _LINKED_PAGE.search(front.group(1)))


def inline_markdown(markdown: str, cache: Path) -> tuple[str, int]:
    """A rendered page's Markdown with each diagram block whose drawing is in ``cache`` replaced
    by that drawing, and the number of blocks left to the reader's browser.

    Contract (a plain function of its inputs; the caller writes the result):

    * ``markdown`` is a page as ``render`` writes it (front matter between ``---`` lines, then
      the body); ``cache`` is the folder ``draw`` filled (``build/diagrams``). Call ``draw``
      first: a block whose drawing is not cached stays as it is, for kb.js to draw.
    * Each drawn block becomes ``figure(svg)`` as one HTML block (``core.html_block``), the same
      markup ``inline`` puts into the HTML, so the reader gets the same page from either path.
      The drawings were sanitized when cached (``draw``); nothing else in the page changes.
    * Only a page whose front matter has ``kb_linked_diagrams: true`` (the maps) gets the
      linked drawing of a ``data-kb-links`` block; on any other page such a block is treated as
      a strict one, and a block left there loses the attribute, as the hook's sanitizer does.
    * The front matter of a page that has a diagram block gets ``kb_diagrams: <left>``
      (replacing one there already), which theme/main.html reads to load Mermaid only where a
      block is left. A page without a block comes back unchanged, with 0; so does a page
      already inlined (it is idempotent).
    """
    if 'class="kb-mermaid"' not in markdown:
        return markdown, 0
    linked_allowed = linked_page(markdown)
    left = 0

    def replace(match: re.Match) -> str:
        nonlocal left
        source, linked = _diagram(match)
        linked = linked and linked_allowed
        path = cached(cache, (source, linked))
        if not path.exists():
            left += 1
            if match.group(1) and not linked:  # drawn strict by kb.js, as the hook would have it
                return match.group(0).replace(match.group(1), "", 1)
            return match.group(0)
        return html_block(figure(path.read_text(encoding="utf-8")))

    body, blocks = _BLOCK.subn(replace, markdown)
    if not blocks:
        return markdown, 0
    return _with_diagram_count(body, left), left


def _with_diagram_count(markdown: str, left: int) -> str:
    """``kb_diagrams: <left>`` in the page's front matter (a page without one gets one)."""
    line = f"kb_diagrams: {left}\n"
    front = _FRONT_MATTER.match(markdown)
    if front is None:
        return f"---\n{line}---\n\n{markdown}"
    inner = _DIAGRAMS_LINE.sub("", front.group(1)) + line
    return markdown[:front.start(1)] + inner + markdown[front.end(1):]


# An inlined drawing in a built page, as ``figure`` wrote it (its <svg>'s id is "kb-" + its key).
_FIGURE = re.compile(r'<div class="kb-diagram kb-diagram--static" tabindex="0">(<svg id="kb-([0-9a-f]{16})".*?</svg>)</div>',
                     re.S)


_LINK_ELEMENT = re.compile(r"<a\b[^>]*?\s(?:xlink:)?href\s*=", re.I)  # an <a> that links somewhere


def set_aside(page_html: str, cache: Path, linked_allowed: bool = False) -> tuple[str, dict[str, str]]:
    """A built page's HTML with each inlined drawing that is exactly a drawing of ``cache``
    replaced by a placeholder, and the drawings by placeholder (``put_back`` restores them).

    For a sanitizer that runs over the whole page body after an engine has rendered it: the
    drawings keep the ``<style>`` and styles the page allow-list would take out, and they
    passed the drawing allow-list when they were cached, so only a drawing whose text is the
    cached file's, byte for byte (found by the key in its id), is set aside; anything else that
    looks like one stays in the page for the sanitizer. On a page whose diagrams may not link
    (``linked_allowed`` false: every page but the maps) a drawing with a link is not set aside
    either (strict drawings have none)."""
    if 'kb-diagram--static' not in page_html:
        return page_html, {}
    token = os.urandom(4).hex()
    kept: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        if not linked_allowed and _LINK_ELEMENT.search(match.group(1)):
            return match.group(0)
        try:
            drawing = (cache / f"{match.group(2)}.svg").read_text(encoding="utf-8")
        except OSError:
            return match.group(0)
        if match.group(0) not in (figure(drawing), html_block(figure(drawing))):  # the hook's, the Markdown's
            return match.group(0)
        placeholder = f"kbdrawing{token}x{len(kept)}"
        kept[placeholder] = match.group(0)
        return placeholder

    return _FIGURE.sub(replace, page_html), kept


def put_back(page_html: str, kept: dict[str, str]) -> str:
    """The drawings ``set_aside`` took out, back in their places."""
    for placeholder, drawing in kept.items():
        page_html = page_html.replace(placeholder, drawing, 1)
    return page_html


# ------------------------------------------------------------------------------ lighter drawings
#
# Every drawing carries Mermaid's stylesheet in a <style> of its own, each selector prefixed with
# the drawing's id ("#kb-1b2c… .node rect{…}"): 59 rules (8 KB) that are the same in every
# flowchart, then one rule per classDef (the generated diagrams' palette, 27 rules, 3 KB). kb.css
# holds each such block once, under a class of its own ("kb-flowchart", "kb-palette"), in a
# section written by ``write_shared_css``. When a drawing has every rule of a block, ``_slim``
# takes them out of its <style> and adds the block's class to the <svg>; a drawing that lacks
# one (another diagram type, a theme set by an %%{init}%% directive, classDefs of its own) keeps
# those rules as Mermaid wrote them, scoped by its id. So a shared rule only ever reaches a
# drawing that had it, and the id-scoped rules left beat the shared ones as they did before.

_CSS_BEGIN = "/* ==== kb:diagrams begin"
_CSS_END = "/* ==== kb:diagrams end ==== */"
_CSS_BLOCK = re.compile(r"/\* kb:diagrams block ([a-z]+) \*/")
_SCOPE = "&"  # stands for the drawing's "#id" while rules are compared
_STATIC = ".kb-diagram--static svg"  # what inline() wraps each drawing in (then kb-<block>)


_BRACE = re.compile(r"[{}]")


def _css_rules(css: str) -> list[str]:
    """Top-level rules of Mermaid's minified CSS ("sel{…}", "@keyframes x{from{…}}")."""
    rules, depth, start = [], 0, 0
    for brace in _BRACE.finditer(css):
        if brace.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                rules.append(css[start:brace.end()].strip())
                start = brace.end()
    if css[start:].strip():  # unbalanced (a brace in a string?): kept whole, never shared
        rules.append(css[start:].strip())
    return rules


def _section(path: Path) -> str:
    """kb.css's diagram section ("" if it has none)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(_CSS_BEGIN), text.find(_CSS_END)
    return text[start:end] if 0 <= start < end else ""


@lru_cache(maxsize=None)
def _shared_digest(path: Path = KB_CSS) -> str:
    return hashlib.sha256(_section(path).encode()).hexdigest()[:16]


@lru_cache(maxsize=None)
def _shared_blocks(path: Path = KB_CSS) -> dict[str, frozenset[str]]:
    """The blocks of kb.css's diagram section, each as the set of its rules written with
    ``_SCOPE`` for the drawing's id, as ``_slim`` compares them. No section: no blocks."""
    parts = _CSS_BLOCK.split(_section(path))  # [preamble, name, rules, name, rules, ...]
    blocks = {}
    for name, css in zip(parts[1::2], parts[2::2]):
        scope = f"{_STATIC}.kb-{name}"
        blocks[name] = frozenset(rule.replace(scope, _SCOPE) for rule in _css_rules(css))
    return blocks


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_SVG_TAG = re.compile(r'^<svg\b[^>]*?\sid="([^"]+)"[^>]*>')
_MARKER = re.compile(r'<marker\b[^>]*?\sid="([^"]+)"[^>]*>.*?</marker>', re.S)
_DATA_POINTS = re.compile(r'(<path\b[^>]*?) data-points="[^"]*"')


def _slim(svg: str, blocks: dict[str, frozenset[str]] | None = None) -> str:
    """A drawing without what every drawing repeats; it looks the same on the page.

    * the rules of each kb.css block the drawing has in full (see above);
    * the eight arrowhead <marker>s Mermaid defines in every flowchart, but for those an edge
      uses (most use one);
    * ``data-points``: each edge's points again, base64 JSON, which only Mermaid's own
      rendering reads.
    """
    tag = _SVG_TAG.match(svg)
    if tag is None:
        return svg
    svg = _DATA_POINTS.sub(r"\1", svg)
    used = set(re.findall(r'#([^)"\'\s]+)[)"\']', svg))  # url(#…), href="#…"
    svg = _MARKER.sub(lambda m: m.group(0) if m.group(1) in used else "", svg)
    style = _STYLE.search(svg)
    if style is None:
        return svg
    scope = "#" + tag.group(1)
    rules = _css_rules(style.group(1))
    general = [rule.replace(scope, _SCOPE) for rule in rules]
    have, shared, marks = set(general), set(), []
    for name, block in (_shared_blocks() if blocks is None else blocks).items():
        if block and block <= have:
            shared |= block
            marks.append(f"kb-{name}")
    if not marks:
        return svg
    kept = "".join(rule for rule, rule_general in zip(rules, general) if rule_general not in shared)
    svg = svg[:style.start()] + (f"<style>{kept}</style>" if kept else "") + svg[style.end():]
    opening = _SVG_TAG.match(svg).group(0)
    classes = re.search(r'\sclass="([^"]*)"', opening)
    marked = (opening[:classes.start(1)] + " ".join([classes.group(1), *marks]) + opening[classes.end(1):]
              if classes else opening[:-1] + f' class="{" ".join(marks)}">')
    return marked + svg[len(opening):]


# A plain flowchart and one the generator writes, drawn to learn the two blocks of kb.css.
_REFERENCE = "flowchart LR\n  a --> b"


def shared_css() -> str:
    """kb.css's diagram section, from drawings by the pinned Mermaid (needs Chromium).

    "flowchart": the rules of a plain flowchart; "palette": what a generated diagram (with the
    classDefs of ``render._class_defs``) has more. A rule that names the drawing's id anywhere
    but at the start of a selector would not carry over to other drawings and is left out."""
    from .emitters.maps import class_defs as _class_defs

    chromium = _chromium()
    if chromium is None:
        raise RuntimeError("drawing the reference diagrams needs chromium and playwright")
    generated = "\n".join(["flowchart LR", '  a["A"]:::topics --> b["B"]', *_class_defs()])
    drawn = _draw_in_chromium(chromium, [(_REFERENCE, False), (generated, True)])
    rules = {}
    for name, diagram in (("plain", (_REFERENCE, False)), ("generated", (generated, True))):
        svg = drawn[diagram]
        scope = "#" + _SVG_TAG.match(svg).group(1)
        rules[name] = [rule.replace(scope, _SCOPE) for rule in _css_rules(_STYLE.search(svg).group(1))]
    blocks = {"flowchart": rules["plain"],
              "palette": [rule for rule in rules["generated"] if rule not in rules["plain"]]}
    lines = [_CSS_BEGIN + " ====",
             f"   Mermaid {MERMAID_VERSION}'s stylesheet for the diagrams drawn at build time, once for the",
             "   whole site instead of once in every drawing (see generator/diagrams.py, _slim). Written by",
             "   `.venv/bin/python -m generator.diagrams --write-css`: do not edit by hand. */"]
    for name, block in blocks.items():
        lines.append(f"/* kb:diagrams block {name} */")
        for rule in block:
            head, body = rule.split("{", 1)
            selectors = [] if rule.startswith("@") else head.split(",")
            if _SCOPE in body or any(not s.startswith(_SCOPE) or s.count(_SCOPE) != 1 for s in selectors):
                continue
            lines.append(rule.replace(_SCOPE, f"{_STATIC}.kb-{name}"))
    lines.append(_CSS_END)
    return "\n".join(lines) + "\n"


def write_shared_css(path: Path = KB_CSS) -> bool:
    """Put ``shared_css()`` into kb.css in place of its diagram section (at the end if it has
    none). Returns whether the file changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(_CSS_BEGIN), text.find(_CSS_END)
    if start >= 0 and end > start:
        updated = text[:start] + shared_css() + text[end + len(_CSS_END):].lstrip("\n")
    else:
        updated = text.rstrip("\n") + "\n\n" + shared_css()
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    _shared_blocks.cache_clear()
    _shared_digest.cache_clear()
    return True


# ------------------------------------------------------------------------------ drawing in Chromium
#
# One headless Chromium, a page per core (at most four), each loaded once with the bundle, takes
# chunks of CHUNK diagrams from one queue; mermaid.initialize() is called only when the security
# level changes. The drawings of a chunk come back as soon as it is done, and ``draw`` slims,
# sanitizes and writes them while the pages go on drawing.
#
# The pages run the pinned bundle with one change, made in memory when it is loaded (the file
# stays as shipped; readers' browsers get it unchanged): Mermaid's getConfig(), called 5 to 170
# times per drawing, copies Mermaid's whole configuration every time with assignWithDepth(),
# which defines each key with Object.defineProperty() after Object.entries(): about 40% of the
# page's time in a profile of 200 diagrams of ten types. _FAST_GET_CONFIG makes the same copy
# (the same keys in the same order, objects copied to the same depth, arrays without repeats,
# nulls left out, "__proto__" as an own key) with plain loops; a page then draws in 0.6-0.7 of
# the time. tests/test_diagrams_cold.py checks that it applies to the pinned bundle, that it
# copies as assignWithDepth() does, and that the drawings are the same, byte for byte, as the
# shipped bundle's.


def inert_handlers_js() -> str:
    """kb.js's inertHandlers(), as window.kbInertHandlers for the build's drawing and parsing
    pages: an editor's diagram reaches Mermaid there exactly as kb.js hands it over in a
    reader's browser, no on* attribute name left in any start tag (see kb.js)."""
    text = KB_JS.read_text(encoding="utf-8")
    body = text.split("/* kb:inert-handlers", 1)[1].split("/* kb:inert-handlers end */", 1)[0]
    return body[body.index("function inertHandlers"):] + "window.kbInertHandlers = inertHandlers;\n"


_SCRIPT = """async (items) => {
  const out = {};
  let level = null;
  for (const [key, source, linked] of items) {
    const securityLevel = linked ? "loose" : "strict";
    if (securityLevel !== level) {  // render() starts from this configuration every time
      mermaid.initialize({startOnLoad: false, securityLevel, theme: "default", flowchart: {useMaxWidth: true}});
      level = securityLevel;
    }
    try {
      const result = await mermaid.render("kb-" + key, linked ? source : kbInertHandlers(source));
      out[key] = result.svg;
    } catch (error) {
      out[key] = "ERROR:" + (error && error.message ? error.message : String(error));
      document.querySelectorAll("[id^='dkb-" + key + "']").forEach((node) => node.remove());
    }
  }
  return out;
}"""


_GET_CONFIG = 'Lt=s(()=>ii({},$x),"getConfig")'  # assignWithDepth({}, config, {depth: 2})
_FAST_GET_CONFIG = ('Lt=s((()=>{function c(t,r){'
                    'if(Array.isArray(t)){let e=[];return t.forEach(i=>{e.includes(i)||e.push(i)}),e}'
                    'if(r<=0)return Object.assign({},t);'
                    'let e={};for(let a in t){if(!Object.hasOwn(t,a))continue;let o=t[a];'
                    'if(typeof o=="object"){if(o===null)continue;o=c(o,r-1)}'
                    'a==="__proto__"?Object.defineProperty(e,a,{value:o,writable:!0,enumerable:!0,configurable:!0}):e[a]=o}'
                    'return e}return()=>c($x,2)})(),"getConfig")')


@lru_cache(maxsize=1)
def drawing_bundle() -> str:
    """The pinned Mermaid as the build's drawing pages run it: with ``_FAST_GET_CONFIG`` when the
    bundle holds the getConfig() it replaces exactly once; any other bundle runs as shipped."""
    text = MERMAID_JS.read_text(encoding="utf-8")
    return text.replace(_GET_CONFIG, _FAST_GET_CONFIG) if text.count(_GET_CONFIG) == 1 else text


def _page_scripts() -> list[str]:
    """What a drawing page runs after the bundle."""
    return [inert_handlers_js()]


def _draw_in_chromium(executable: str, diagrams: list[tuple[str, bool]], progress=None) -> dict[tuple[str, bool], str]:
    """Each (source, linked) diagram drawn by Mermaid in Chromium: its SVG, or "ERROR:<message>"."""
    drawn = dict(_drawings(executable, diagrams, progress))
    return {diagram: drawn[diagram] for diagram in sorted(diagrams, key=lambda diagram: diagram[1])}


def _drawings(executable: str, diagrams: list[tuple[str, bool]], progress=None,
              seconds: dict[str, float] | None = None) -> Iterator[tuple[tuple[str, bool], str]]:
    """Draw (source, linked) diagrams in a page per core of one headless Chromium, CHUNK at a
    time, and yield each (diagram, SVG or "ERROR:<message>") as its chunk comes back, while the
    pages go on drawing. Closing the generator stops the drawing after the chunks under way.
    ``seconds`` gets where the time went: "launch" (Chromium started), "pages" (until the last
    page has loaded the bundle), "drawing" (from the first page ready to the last chunk back)."""
    import asyncio
    import collections
    import queue
    import threading

    from playwright.async_api import async_playwright

    # Editors' diagrams (strict) apart from generated ones (loose): fewer initialize() calls.
    items = [[_key(source, linked), source, linked]
             for source, linked in sorted(diagrams, key=lambda diagram: diagram[1])]
    by_key = {key: (source, linked) for key, source, linked in items}
    chunks = collections.deque(items[i:i + CHUNK] for i in range(0, len(items), CHUNK))
    workers = min(len(chunks), max(1, os.cpu_count() or 1), 4)
    bundle, scripts = drawing_bundle(), _page_scripts()
    results: queue.Queue = queue.Queue()  # a chunk's drawings by key; then None, or what went wrong
    stop = threading.Event()
    marks: dict[str, float] = {"start": time.perf_counter()}

    async def new_page(browser):
        page = await browser.new_page()
        # offline: nothing a diagram names (an <img> of a label, a url() of its themeCSS) is fetched
        await page.route("**/*", lambda route: route.abort())
        await page.set_content("<!doctype html><html><body></body></html>")
        await page.add_script_tag(content=bundle)
        for script in scripts:
            await page.add_script_tag(content=script)
        return page

    async def one_by_one(browser, chunk: list) -> dict[str, str]:
        # A chunk ran out of time: each of its diagrams alone, in a new page after one that ran out.
        out: dict[str, str] = {}
        page = None
        try:
            for item in chunk:
                if stop.is_set():
                    break
                page = page or await new_page(browser)
                try:
                    out.update(await asyncio.wait_for(page.evaluate(_SCRIPT, [item]), DIAGRAM_TIMEOUT))
                except asyncio.TimeoutError:
                    out[item[0]] = f"{TIMED_OUT}Mermaid did not finish drawing it in {DIAGRAM_TIMEOUT:g} s"
                    await page.close()
                    page = None
        finally:
            if page is not None:
                await page.close()
        return out

    async def worker(browser) -> None:
        page = await new_page(browser)
        now = time.perf_counter()
        marks["first"], marks["ready"] = min(marks.get("first", now), now), now
        while chunks and not stop.is_set():
            chunk = chunks.popleft()
            try:
                results.put(await asyncio.wait_for(page.evaluate(_SCRIPT, chunk), CHUNK_TIMEOUT))
            except asyncio.TimeoutError:
                await page.close()  # its script may still run: the page goes, whatever it is doing
                results.put(await one_by_one(browser, chunk))
                page = await new_page(browser)
            marks["last"] = time.perf_counter()
        await page.close()

    async def run() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            marks["launched"] = time.perf_counter()
            try:
                await asyncio.gather(*(worker(browser) for _ in range(workers)))
            finally:
                await browser.close()

    def thread() -> None:
        # A thread of its own: the caller may already run an event loop (pytest-playwright does,
        # and so would any async host), and asyncio.run() refuses to nest.
        try:
            asyncio.run(run())
        except BaseException as exc:  # raised again in the caller's thread
            results.put(exc)
        else:
            results.put(None)

    runner = threading.Thread(target=thread, name="kb-draw", daemon=True)
    runner.start()
    done = 0
    try:
        while (chunk := results.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            for key, svg in chunk.items():
                yield by_key[key], svg
            done += len(chunk)
            if progress:
                progress(done, len(items))
    finally:
        stop.set()
        runner.join()
        if seconds is not None and "launched" in marks:
            seconds.update(launch=marks["launched"] - marks["start"],
                           pages=marks.get("ready", marks["launched"]) - marks["launched"],
                           drawing=marks.get("last", marks.get("first", 0)) - marks.get("first", 0))


# ------------------------------------------------------------------------------ parsing in Chromium
#
# Validation asks Mermaid itself whether each diagram an editor wrote parses (see
# generator/diagram_check.py): mermaid.parse() in one blank page of headless Chromium, offline,
# the pinned bundle loaded from its file. Parsing draws nothing and runs nothing of the text.
# Verdicts are cached by a hash of Mermaid's version and the source, in memory (kb serve asks
# again after every save) and in a file in the user's cache folder, so that a second run
# launches no browser when no diagram changed. The verdicts hold for any base, and a folder
# outside the project keeps validation from writing into a checked-out tree.

PARSE_CHUNK = 100  # diagrams per call into the page
PARSE_TIMEOUT = 120  # seconds for one chunk: past it, the diagrams are left unparsed (a warning), not waited for
_PARSE = """async (sources) => {
  const out = [];
  for (const source of sources) {
    try {
      await mermaid.parse(kbInertHandlers(source));
      out.push(null);
    } catch (error) {
      out.push(String(error && error.message ? error.message : error));
    }
  }
  return out;
}"""
_verdicts: dict[str, str | None] = {}  # key -> Mermaid's message, or None: it parses
_KEPT = 20000  # verdicts the file keeps, the latest


def parse_cache() -> Path:
    """The file of verdicts: $XDG_CACHE_HOME (or ~/.cache) / kb-wiki / mermaid-parsed.json."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kb-wiki" / "mermaid-parsed.json"


def _parse_key(source: str) -> str:
    return hashlib.sha256(f"{MERMAID_VERSION}\nparse-inert\n{source}".encode()).hexdigest()[:24]


def parse(sources: list[str], cache: Path | None = None) -> tuple[dict[str, str | None], int, str | None]:
    """Mermaid's verdict on each source: (source -> its error message or None, how many were
    parsed in Chromium now, why none could be when Chromium could not be run, else None).

    ``cache`` is the file of verdicts (default ``parse_cache()``); one that cannot be read or
    written only costs a browser launch."""
    import json

    cache = cache or parse_cache()
    keys = {source: _parse_key(source) for source in sources}
    if any(key not in _verdicts for key in keys.values()):
        try:
            stored = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(stored, dict):
                _verdicts.update({k: v for k, v in stored.items() if k not in _verdicts})
        except (OSError, ValueError):
            pass
    missing = sorted({source for source, key in keys.items() if key not in _verdicts})
    if missing:
        chromium = _chromium()
        if chromium is None:
            return {}, 0, unavailable() or "no Chromium"
        try:
            messages = _parse_in_chromium(chromium, missing)
        except TimeoutError:
            return {}, 0, f"Mermaid took more than {PARSE_TIMEOUT} s over {min(len(missing), PARSE_CHUNK)} diagrams"
        except Exception as exc:  # a browser that does not start or dies: said, not a traceback
            return {}, 0, f"Chromium could not be run ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        _verdicts.update({keys[source]: message for source, message in zip(missing, messages)})
        _store_verdicts(cache)
    return {source: _verdicts[key] for source, key in keys.items()}, len(missing), None


def _store_verdicts(cache: Path) -> None:
    """Write the verdicts into the cache file, the latest ``_KEPT`` of them, atomically (another
    run writing at the same time loses nothing but a few verdicts)."""
    import json
    import tempfile

    kept = dict(list(_verdicts.items())[-_KEPT:])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache.parent, delete=False,
                                         prefix=".mermaid-parsed-") as out:
            json.dump(kept, out)
        os.replace(out.name, cache)
    except OSError:
        try:
            os.unlink(out.name)
        except (OSError, UnboundLocalError):
            pass


def _parse_in_chromium(executable: str, sources: list[str]) -> list[str | None]:
    """mermaid.parse() of each source in one page of one headless Chromium, in chunks."""
    import asyncio
    import concurrent.futures

    from playwright.async_api import async_playwright

    out: list[str | None] = []

    async def run() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.route("**/*", lambda route: route.abort())  # offline: the bundle comes from its file
                await page.set_content("<!doctype html><html><body></body></html>")
                await page.add_script_tag(path=str(MERMAID_JS))
                await page.add_script_tag(content=inert_handlers_js())
                await page.evaluate('mermaid.initialize({startOnLoad: false, securityLevel: "strict"})')
                for start in range(0, len(sources), PARSE_CHUNK):  # a diagram that hangs Mermaid stops the run
                    out.extend(await asyncio.wait_for(page.evaluate(_PARSE, sources[start:start + PARSE_CHUNK]),
                                                      PARSE_TIMEOUT))
            finally:
                await browser.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # see _draw_in_chromium
        pool.submit(asyncio.run, run()).result()
    return out


if __name__ == "__main__":
    # python -m generator.diagrams --write-css: refresh kb.css's diagram section (after a Mermaid
    # upgrade or a change of the generated diagrams' classDefs).
    if sys.argv[1:] != ["--write-css"]:
        raise SystemExit("usage: python -m generator.diagrams --write-css")
    print(f"{KB_CSS}: {'updated' if write_shared_css() else 'already up to date'}")
