"""The allow-lists every piece of HTML passes before it reaches a reader (nh3, Rust's ammonia).

Two lists:

* ``prose``: what an editor's Markdown may become (see ``generator.prose``): text formatting,
  lists, quotes, code, tables, links to http(s), mailto or within the site, and the Mermaid
  blocks of ```mermaid fences. No attributes but a link's ``href``/``title``, a table cell's
  alignment and code's classes (Pygments tokens).
* ``page``: the body of every built page, the last line of defence that holds whatever the
  Markdown engine did: the prose list plus the generator's own markup (infobox, status header,
  index tables with their sort buttons and tag filter, pager, search box, drawn SVGs) and the
  theme's heading anchors. ``data-*`` and ``aria-*`` attributes are kept; event handlers,
  ``<script>``, ``<style>`` outside a drawing, ``<iframe>``, forms and any URL scheme other than
  http, https and mailto are not.

* ``drawing``: a diagram Mermaid drew at build time: the page list plus the ``<style>`` element
  Mermaid writes into each drawing. It runs once, when the drawing is cached, and the drawing is
  put into the page after the page list has run, so no ``<style>`` can come from anywhere else.
"""
from __future__ import annotations

import base64
import hashlib
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import nh3

from . import formulas
from .core import ADMONITIONS

URL_SCHEMES = frozenset({"http", "https", "mailto"})

_PROSE_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "code",
               "pre", "span", "div", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody",
               "tr", "th", "td", "del", "sup", "sub", "dl", "dt", "dd", "abbr", "kbd", "img"} | formulas.TAGS
_PROSE_ATTRIBUTES = {"a": {"href", "title", "class"}, "th": {"style"}, "td": {"style"}, "ol": {"start"},
                     "abbr": {"title"}, "span": {"class"}, "code": {"class"}, "div": {"class"},
                     "pre": {"class"}, "p": {"class"}, "sup": {"id", "class"}, "li": {"id"},
                     "img": {"src", "alt", "title"},
                     **{tag: set(formulas.ATTRIBUTES) for tag in formulas.TAGS}}

# Ids and classes prose may carry: those the footnotes, admonition and citation markup make, with
# the footnote labels validation allows (letters, digits, '-' and '_'). Nothing an editor types
# sets an id or a class (attribute lists are not loaded); this holds whatever got through anyway.
_PROSE_IDS = {"sup": re.compile(r"fnref[0-9]*:[A-Za-z0-9_-]+"), "li": re.compile(r"fn:[A-Za-z0-9_-]+")}
_PROSE_CLASSES = {"a": re.compile(r"footnote-ref|footnote-backref"), "sup": re.compile(r"kb-cite"),
                  "p": re.compile(r"admonition-title"),
                  "div": re.compile(r"footnote|admonition (?:%s)|kb-mermaid|highlight|mermaid" % "|".join(ADMONITIONS))}
# An image of the site: a relative address into its images/ folder, no scheme, host or query.
_IMAGE_SRC = re.compile(r"(?:\.\./)*images/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _prose_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "id":
        pattern = _PROSE_IDS.get(tag)
        return value if pattern is not None and pattern.fullmatch(value) else None
    if name == "class" and tag in _PROSE_CLASSES:
        return value if _PROSE_CLASSES[tag].fullmatch(value) else None
    if tag == "img" and name == "src":
        return value if _IMAGE_SRC.fullmatch(value) and "/../" not in value.lstrip("./") else None
    return value

# SVG as the generator draws it (generator/neighbourhood.py) and as Mermaid 11 draws a diagram
# (node labels are HTML inside <foreignObject>).
_SVG_TAGS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
             "tspan", "title", "desc", "defs", "marker", "foreignObject", "filter", "feDropShadow",
             "linearGradient", "radialGradient", "stop", "clipPath", "use", "switch"}
_SVG_ATTRIBUTES = {"viewBox", "xmlns", "width", "height", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy",
                   "r", "rx", "ry", "d", "points", "transform", "fill", "fill-opacity", "stroke",
                   "stroke-width", "stroke-dasharray", "stroke-linecap", "stroke-linejoin", "opacity",
                   "marker-end", "marker-start", "markerWidth", "markerHeight", "markerUnits", "refX",
                   "refY", "orient", "text-anchor", "dominant-baseline", "alignment-baseline",
                   "font-size", "font-family", "font-weight", "dx", "dy", "flood-color", "flood-opacity",
                   "stdDeviation", "offset", "stop-color", "preserveAspectRatio", "xlink:href",
                   "clip-path", "filter", "role", "aria-roledescription"}

_PAGE_TAGS = _PROSE_TAGS | _SVG_TAGS | {"aside", "nav", "section", "header", "footer", "figure",
                                        "figcaption", "time", "button", "select", "option", "label",
                                        "caption", "colgroup", "col", "tfoot", "small", "mark", "u", "s",
                                        "details", "summary"}
_GENERIC = {"class", "id", "title", "role", "tabindex", "lang", "dir", "style", "hidden"}
_PAGE_ATTRIBUTES = {
    "*": _GENERIC,
    "a": {"href", "rel", "target", "transform", "xlink:href"},  # and a link inside an SVG
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
    "button": {"type", "name", "value"},
    "select": {"name"},
    "option": {"value", "selected"},
    "label": {"for"},
    "img": {"src", "alt", "width", "height"},  # src: only into the site's images/ (see page())
    **{tag: _SVG_ATTRIBUTES for tag in _SVG_TAGS},
    **{tag: set(formulas.ATTRIBUTES) for tag in formulas.TAGS},
}
# Inline styles on pages: the infobox's kind colour, table alignment, and what Mermaid writes
# on its drawings' nodes and edges.
_STYLE_PROPERTIES = {"--kb-kind", "text-align", "fill", "stroke", "stroke-width", "stroke-dasharray",
                     "color", "background-color", "display", "max-width", "text-anchor", "white-space",
                     "line-height", "opacity", "font-weight", "font-size", "border", "padding",
                     "width", "height", "table-layout", "margin", "visibility"}


@lru_cache(maxsize=None)
def _prose_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(tags=_PROSE_TAGS, attributes=_PROSE_ATTRIBUTES, url_schemes=set(URL_SCHEMES),
                       link_rel=None, strip_comments=True, filter_style_properties={"text-align"},
                       attribute_filter=_prose_attribute)


# A drawing's own ids start with its root's (Mermaid's render() id, kb-<key>); its own classes
# starting kb- are the ones _slim adds. Any other id, a class of the theme's or kb.js's, and a
# data- attribute of Pagefind's, Material's or kb.js's, come from an editor's label or diagram
# (Mermaid's strict level keeps them) and would reach what the page's scripts look up.
_DRAWING_ROOT = re.compile(r'<svg id="(kb-[0-9a-f]{16})"')
_drawing_root: ContextVar[str] = ContextVar("drawing_root", default="")
_DRAWING_CLASSES = frozenset({"kb-flowchart", "kb-palette"})
_SCRIPTED_DATA = ("data-pagefind", "data-md", "data-kb")


def _drawing_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "id":
        root = _drawing_root.get()
        return value if root and (value == root or value.startswith((root + "-", root + "_"))) else None
    if name == "class" and ("kb-" in value or "md-" in value):
        return " ".join(word for word in value.split()
                        if not word.startswith(("kb-", "md-")) or word in _DRAWING_CLASSES) or None
    if name.startswith(_SCRIPTED_DATA):
        return None
    return value


@lru_cache(maxsize=None)
def _page_cleaner(drawing: bool = False) -> nh3.Cleaner:
    return nh3.Cleaner(tags=_PAGE_TAGS | ({"style"} if drawing else set()), attributes=_PAGE_ATTRIBUTES,
                       url_schemes=set(URL_SCHEMES), link_rel=None, strip_comments=True,
                       generic_attribute_prefixes={"data-", "aria-"},
                       attribute_filter=_drawing_attribute if drawing else None,
                       clean_content_tags={"script"} if drawing else {"script", "style"},
                       # Mermaid's inline styles are kept as drawn (CSS runs no script, and the
                       # Content-Security-Policy stops any url() from loading).
                       filter_style_properties=None if drawing else _STYLE_PROPERTIES)


def prose(html: str) -> str:
    """HTML made from an editor's Markdown, with nothing left that is not on the prose list."""
    return _prose_cleaner().clean(html)


def page(html: str, linked_diagrams: bool = False) -> str:
    """A built page's body, with nothing left that is not on the page list.

    ``data-kb-links`` (a diagram whose nodes link, drawn at Mermaid's loose level) stays only
    on a page the generator says has such diagrams (its maps, by their front matter), so no
    other page can carry one, however the attribute got into its HTML."""
    cleaned = _page_cleaner().clean(html)
    if not linked_diagrams and "data-kb-links" in cleaned:
        cleaned = _LINKED_DIAGRAM.sub(r"\1", cleaned)
    if "<img" in cleaned:  # an image's address leads into the site's images/ or is removed
        cleaned = _IMAGE_TAG.sub(_own_image, cleaned)
    return cleaned


_IMAGE_TAG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r' src="([^"]*)"')


def _own_image(match: re.Match) -> str:
    tag = match.group(0)
    src = _SRC.search(tag)
    if src is not None and _prose_attribute("img", "src", src.group(1)) is None:
        tag = tag[:src.start()] + tag[src.end():]
    return tag


# In the cleaner's output a tag's attribute values have '<', '>' and '"' escaped, and text has
# '<' escaped: this finds the attribute in tags only.
_LINKED_DIAGRAM = re.compile(r'(<[a-zA-Z][^>]*?) data-kb-links="[^"]*"')


def drawing(svg: str) -> str:
    """A diagram drawn at build time, with nothing left that is not on the drawing list, no id
    but its own (``<svg id="kb-<key>"`` and those starting with it), no class or data- attribute
    the page's scripts look up (``_drawing_attribute``), and nothing that loads from elsewhere: an image's address leads into the site's images/ or is
    removed, and in its styles a ``url()`` other than a reference within the drawing (``#id``),
    any ``image-set()`` and ``@import`` are removed, CSS escapes first (an editor's
    ``%%{init}%%`` may set the theme's CSS)."""
    root = _DRAWING_ROOT.match(svg)
    token = _drawing_root.set(root.group(1) if root else "")
    try:
        cleaned = _page_cleaner(drawing=True).clean(svg)
    finally:
        _drawing_root.reset(token)
    if "<img" in cleaned:
        cleaned = _IMAGE_TAG.sub(_own_image, cleaned)
    return _STYLE_ELEMENT.sub(_own_urls, _STYLE_ATTRIBUTE.sub(_own_urls, cleaned))


_STYLE_ELEMENT = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
_STYLE_ATTRIBUTE = re.compile(r'( style=")([^"]*)(")')
_FOREIGN_URL = re.compile(r"url\(\s*(?![\"'&#;]*#)[^)]*\)", re.I)  # url(#a), url('#a'), url(&quot;#a&quot;) stay
_IMPORT = re.compile(r"@import\b[^;]*;?", re.I)
_IMAGE_SET = re.compile(r"(?:-webkit-)?image-set\([^)]*\)", re.I)  # image-set("a.png" 1x) loads with no url()
_CSS_ESCAPE = re.compile(r"\\(?:[0-9a-fA-F]{1,6}[ \t\n\r\f]?|.)", re.S)


def _own_urls(match: re.Match) -> str:
    css = match.group(2)
    if "\\" in css:  # a CSS escape spells url, image-set or @import in other characters (u\72l),
        css = _CSS_ESCAPE.sub(" ", css)  # and Mermaid's own CSS has none: each becomes a space, which
        # joins nothing into a name or a tag (removed, 'ur\41 l(' would read 'url(')
    lowered = css.lower()
    if "url(" in lowered or "@import" in lowered or "image-set(" in lowered:
        css = _IMAGE_SET.sub("none", _IMPORT.sub(" ", _FOREIGN_URL.sub("none", css)))  # (a space: see above)
    return match.group(1) + css + match.group(3)


# ---------------------------------------------------------------------------- Content-Security-Policy

_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
_CHARSET = re.compile(r"<meta charset=[^>]*>")


def source_hash(source: bytes) -> str:
    """A script's or style's source as a Content-Security-Policy names it."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source).digest()).decode() + "'"


def _script_shapes(text: str, hole: re.Pattern, filling: str) -> list[str]:
    """The inline scripts of a template as expressions: its literal text, and for each of its
    holes (``hole``: a Jinja ``{{ ... }}``, a ``${...}``) ``filling``, what the hole can hold
    (a URL's characters, digits), which never quotes, calls or ends anything."""
    return ["".join(re.escape(piece) if i % 2 == 0 else filling for i, piece in enumerate(hole.split(body)))
            for body in _INLINE_SCRIPT_TEXT.findall(text)]


_INLINE_SCRIPT_TEXT = re.compile(r"<script>(.*?)</script>", re.S)
_JINJA_HOLE = re.compile(r"(\{\{.*?\}\})", re.S)
_TEMPLATE_HOLE = re.compile(r"(\$\{\w+\})")
THEME_PACKAGES = ("material", "zensical")  # their templates/partials/javascripts/*.html
LIVE_RELOAD_PACKAGES = ("mkdocs", "properdocs")  # their livereload module's _SCRIPT_TEMPLATE_STR


@lru_cache(maxsize=2)
def _trusted_script(live_reload: bool) -> re.Pattern:
    """Every inline script a page may run: the ones the installed themes' templates write
    (Material's and Zensical's ``partials/javascripts``), and with ``live_reload`` the script
    MkDocs and ProperDocs add to a page they serve (`kb serve`), read from those packages' own
    files, so that an upgrade brings its scripts with it. The generator's own templates write
    none."""
    import importlib.util
    shapes = []
    for name in THEME_PACKAGES + (LIVE_RELOAD_PACKAGES if live_reload else ()):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted((root / "templates" / "partials" / "javascripts").glob("*.html")):
            shapes += _script_shapes(path.read_text(encoding="utf-8"), _JINJA_HOLE, r"[\w./:#?=&%~+-]*")
        live = root / "livereload" / "__init__.py"
        if live_reload and live.is_file():
            found = re.search(r'_SCRIPT_TEMPLATE_STR = """(.*?)"""', live.read_text(encoding="utf-8"), re.S)
            if found:
                shapes += _script_shapes(f"<script>{found.group(1)}</script>", _TEMPLATE_HOLE, r"[0-9.]+")
    return re.compile("|".join(f"(?:{shape})" for shape in shapes) or r"(?!)", re.S)


def trusted_script(source: str, live_reload: bool = False) -> bool:
    """Whether an inline script is one the theme wrote, or with ``live_reload`` (a page `kb
    serve` answers with) the live-reload server (see :func:`_trusted_script`), not text that
    reached the page some other way."""
    return _trusted_script(live_reload).fullmatch(source) is not None


def policy(page_html: str, live_reload: bool = False) -> str:
    """The Content-Security-Policy of a built page, a second wall behind the sanitizer: scripts
    only from the site itself and those of the page's inline scripts that the theme's templates
    wrote, or with ``live_reload`` (a page `kb serve` answers with) the live-reload server
    (:func:`trusted_script`), named by their hashes. So no inline
    event handler runs and no other inline script, even one that got past every other check
    (with a hash in the list, browsers ignore 'unsafe-inline' for scripts). WebAssembly for
    Pagefind's search; nothing loaded from any other address; no plugins, frames or <base>.
    Styles stay open to inline CSS: Mermaid's drawings and the theme set them, and CSS runs no
    script."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(page_html):
        attributes = match.group(1)
        if "src=" in attributes or 'type="application/json"' in attributes:  # not inline code
            continue
        if trusted_script(match.group(2), live_reload):
            hashes.append(source_hash(match.group(2).encode("utf-8")))
    return "; ".join([
        "default-src 'self'",
        "script-src " + " ".join(["'self'", "'wasm-unsafe-eval'", *dict.fromkeys(hashes)]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ])


def content_security_policy(page_html: str) -> str:
    """The built page with its :func:`policy` in a meta tag, before any script of its head.
    (`kb serve` sends it as a header instead, once MkDocs has injected its live-reload script:
    see serve_errors.)"""
    policy_text = policy(page_html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy_text}">'
    charset = _CHARSET.search(page_html)
    if charset is not None:
        return page_html[:charset.end()] + "\n    " + meta + page_html[charset.end():]
    return page_html.replace("<head>", "<head>\n    " + meta, 1)


# ---------------------------------------------------------------------------- a page an engine built

_ARTICLE = '<article class="md-content__inner md-typeset">'
_POLICY_META = re.compile(r'\n?[ \t]*<meta http-equiv="Content-Security-Policy" content="[^"]*">')


def article(page_html: str, linked_diagrams: bool = False, set_aside=None) -> str | None:
    """A whole built page with the body of its article passed through :func:`page`, for an
    engine that ran no hook (see generator/engines.py). Material and Zensical both put the page
    body in ``<article class="md-content__inner md-typeset">``; everything from the end of the
    first such tag to the last ``</article>`` is cleaned, so that nothing the body holds (a
    ``</article>`` of its own included) can end up outside. The theme's frame around it is the
    theme's and is kept as it is. ``set_aside(body) -> (body, kept)`` may take parts out before
    cleaning, which are put back after (the drawings: ``diagrams.set_aside``). Returns None when
    the page has no such article."""
    start = page_html.find(_ARTICLE)
    end = page_html.rfind("</article>")
    if start < 0 or end < start:
        return None
    start += len(_ARTICLE)
    body, kept = set_aside(page_html[start:end]) if set_aside else (page_html[start:end], {})
    cleaned = page(body, linked_diagrams=linked_diagrams)
    for placeholder, part in kept.items():
        cleaned = cleaned.replace(placeholder, part, 1)
    return page_html[:start] + cleaned + page_html[end:]


def without_policy(page_html: str) -> str:
    """The page without the Content-Security-Policy meta tags of its head (before a new one is
    added: two policies would both apply)."""
    head_end = page_html.find("</head>")
    if head_end < 0 or "Content-Security-Policy" not in page_html[:head_end]:
        return page_html
    return _POLICY_META.sub("", page_html[:head_end]) + page_html[head_end:]
