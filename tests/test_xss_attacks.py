"""Attacks by a hostile editor that got through, found by a hostile review (each test failed on
the code it was written against, d58db85):

* Drawing a diagram at build time fetches what the diagram names from the network: the build's
  headless Chromium loads an <img> of a label and the url() of an %%{init}%% themeCSS.
* A heading's anchor can be an id the theme, kb.js or Mermaid look up: ``__config`` (Material's
  configuration: its whole bundle stops on JSON.parse), ``kb-search`` (kb.js mounts the search
  page there and the header loses its search box), ``dkb-diagram-0`` / a setext ``kb-diagram-1``
  (Mermaid's render() removes the element with that id: the heading vanishes from the page), a
  setext ``ref-<source>`` (validation only reads '#' headings: the citation links land on it).
* A label of a diagram drawn at build time keeps the ids, data-* attributes and classes an editor
  types: ``id="__config"`` (Material stops), ``<time class="kb-age">`` (kb.js stops: no sorting,
  no diagrams drawn), ``data-pagefind-meta="url:..."`` (the page's search result links elsewhere).
"""
from __future__ import annotations

import gzip
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from generator import diagrams, sanitize

REPO = Path(__file__).resolve().parent.parent

needs_chromium = pytest.mark.skipif(
    os.environ.get("KB_DIAGRAMS") == "client" or not Path("/usr/bin/chromium").exists()
    or __import__("importlib").util.find_spec("playwright") is None,
    reason="needs Chromium and Playwright (diagrams drawn at build time)")


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")
    shutil.copytree(REPO / "tests" / "fixtures" / "valid" / "content", tmp_path / "content")
    for relative, text in files.items():
        (tmp_path / "content" / relative).write_text(text, encoding="utf-8")
    return tmp_path


def _build(project: Path, diagrams_mode: str = "client") -> subprocess.CompletedProcess:
    env = {**os.environ, "KB_TODAY": "2026-01-07", "PYTHONPATH": str(REPO),
           "XDG_CACHE_HOME": str(project / ".cache")}
    if diagrams_mode == "client":
        env["KB_DIAGRAMS"] = "client"
    else:
        env.pop("KB_DIAGRAMS", None)
    return subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def _article(page_html: str) -> str:
    start = page_html.index('<article class="md-content__inner md-typeset">')
    return page_html[start:page_html.rindex("</article>")]


# ---------------------------------------------------------------------------- 1. network at build time


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@needs_chromium
def test_drawing_an_editors_diagram_at_build_time_fetches_nothing(tmp_path, monkeypatch):
    """An editor's diagram (strict level) with an <img> in a label and a themeCSS url(): the
    build's Chromium must not fetch either (the parse page is offline; the drawing page is not).
    Seen: GET /label.png, /theme.png and /poster.png on the recorder."""
    monkeypatch.delenv("KB_DIAGRAMS", raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sources = [
            f"flowchart LR\n  A[\"<img src='{base}/label.png'> x\"] --> B",
            '%%{init: {"themeCSS": "rect { background-image: url(' + base + '/theme.png) }"}}%%\n'
            "flowchart LR\n  C --> D",
            f"flowchart LR\n  E[\"<video poster='{base}/poster.png'></video>\"] --> F",
        ]
        drawn = diagrams.draw({"p.md": "\n\n".join(diagrams.block(s) for s in sources)}, tmp_path / "cache")
        assert not drawn.failed
    finally:
        server.shutdown()
    assert _Recorder.seen == [], f"the build fetched {_Recorder.seen} while drawing an editor's diagrams"


# ---------------------------------------------------------------------------- 2. heading anchors

_CLOBBERED = {"__config", "kb-search"}  # read by Material (JSON config) and by kb.js
_MERMAID_REMOVES = re.compile(r"[di]?kb-diagram-[0-9]+")  # render("kb-diagram-N") removes id, "d"+id, "i"+id


@pytest.mark.parametrize("heading, anchor", [
    ("## __config", "__config"),
    ("## Kb search", "kb-search"),
    ("## Dkb diagram 0", "dkb-diagram-0"),
    ("Kb diagram 0\n============", "kb-diagram-0"),  # setext: validation reads only '#' headings
    ("Ref human compatible\n--------------------", "ref-human-compatible"),
])
def test_a_heading_anchor_never_takes_an_id_the_page_uses(tmp_path, heading, anchor):
    """A heading's anchor is made from its text. When it is an id the page's scripts look up, or
    one the page already has, the build must refuse it (an error naming the file) or give the
    heading another anchor. Seen: the id in the article, before the theme's own (Material's bundle
    stops on JSON.parse of the heading; kb.js drops the header search box and mounts Pagefind in
    the heading; Mermaid deletes the heading when it draws the page's diagram; a citation jumps to
    the heading instead of the reference)."""
    project = _project(tmp_path, {"topics/clobber.md": (
        "---\nid: clobber\ntitle: Clobbering\nsummary: A heading whose anchor is an id the page uses.\n"
        "sources: [human-compatible]\n---\n"
        f"Intro [[cite:human-compatible]].\n\n{heading}\n\nText.\n\n"
        "```mermaid\nflowchart LR\n  A --> B\n```\n")})
    result = _build(project)
    if result.returncode != 0:  # refused: said, with the file
        assert "clobber.md" in result.stderr + result.stdout
        return
    page = (project / "site" / "topics" / "clobber.html").read_text(encoding="utf-8")
    ids = re.findall(r'\sid="([^"]*)"', page)
    article_ids = re.findall(r'\sid="([^"]*)"', _article(page))
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"ids used twice on the page: {duplicated}"
    assert not _CLOBBERED & set(article_ids), f"the article holds {_CLOBBERED & set(article_ids)}"
    assert not [i for i in article_ids if _MERMAID_REMOVES.fullmatch(i)], \
        f"Mermaid removes the element with id {[i for i in article_ids if _MERMAID_REMOVES.fullmatch(i)]}"


# ---------------------------------------------------------------------------- 3. labels of drawn diagrams


@needs_chromium
def test_a_drawn_diagram_label_sets_no_id_data_attribute_or_script_class(tmp_path):
    """Mermaid's strict level keeps ids, data-* and classes in HTML labels, and so do the drawing
    and page allow-lists. Seen in the built page: <b id="__config"> (Material: "x" is not valid
    JSON, its bundle stops), <time class="kb-age"> without datetime (kb.js: null.split, so no
    sortable table and no diagram drawn), and in Pagefind's fragment of the page
    "meta": {"url": "https://evil.example/phish"}: the page's search result links there."""
    project = _project(tmp_path, {"topics/labels.md": (
        "---\nid: labels\ntitle: Labels\nsummary: A diagram whose label carries ids and data attributes.\n---\n"
        "## Overview\n\n```mermaid\nflowchart LR\n"
        "  A[\"<b id='__config'>x</b> <time class='kb-age'>t</time> "
        "<span data-pagefind-meta='url:https://evil.example/phish'>m</span>\"] --> B\n```\n")})
    result = _build(project, diagrams_mode="build")
    assert result.returncode == 0, result.stderr
    page = (project / "site" / "topics" / "labels.html").read_text(encoding="utf-8")
    assert "kb-diagram--static" in page  # drawn at build time
    article = _article(page)
    assert 'id="__config"' not in article
    assert not re.search(r"<time\b[^>]*\bkb-age\b", article) or re.search(
        r"<time\b[^>]*\bdatetime=", article), "a time.kb-age without datetime stops kb.js"
    assert "evil.example" not in article and "data-pagefind-meta" not in article  # the page's own data-pagefind-body stays
    for fragment in (project / "site" / "pagefind" / "fragment").iterdir():
        assert b"evil.example" not in gzip.decompress(fragment.read_bytes()), \
            f"Pagefind took the label's meta for {fragment.name}"


@pytest.mark.parametrize("title", ["__config", "Kb search", "Dkb diagram 0"])
def test_a_records_title_anchor_never_takes_an_id_the_page_uses(tmp_path, title):
    """The same through a record's title: an article page's h1 takes its anchor from the title
    (``# __config`` gives ``id="__config"``, before Material's own configuration script)."""
    project = _project(tmp_path, {"topics/clobber.md": (
        f"---\nid: clobber\ntitle: {title}\nsummary: A title whose anchor is an id the page uses.\n---\n"
        "## Overview\n\nText.\n\n```mermaid\nflowchart LR\n  A --> B\n```\n")})
    result = _build(project)
    if result.returncode != 0:
        assert "clobber.md" in result.stderr + result.stdout
        return
    page = (project / "site" / "topics" / "clobber.html").read_text(encoding="utf-8")
    ids = re.findall(r'\sid="([^"]*)"', page)
    article_ids = re.findall(r'\sid="([^"]*)"', _article(page))
    assert not sorted({i for i in ids if ids.count(i) > 1})
    assert not _CLOBBERED & set(article_ids)
    assert not [i for i in article_ids if _MERMAID_REMOVES.fullmatch(i)]


# ---------------------------------------------------------------------------- 5. drawings' styles

@pytest.mark.parametrize("css", [
    "rect { background-image: url(https://x.example/a.png) }",
    "rect { background-image: URL( 'https://x.example/a.png' ) }",
    "@import 'https://x.example/a.css'; rect { fill: red }",
    'rect { background-image: image-set("https://x.example/a.png" 1x) }',
    'rect { background-image: -webkit-image-set(url(https://x.example/a.png) 1x) }',
    r"rect { background-image: u\72l(https://x.example/a.png) }",  # a CSS escape spells url(
    r"rect { background-image: \75 rl(https://x.example/a.png) }",
    r"@im\70 ort 'https://x.example/a.css';",
    r"rect { background-image: image-s\65t('https://x.example/a.png' 1x) }",
    r"rect { background-image: ur\41 l(https://x.example/a.png) }",  # an escape taken out would join 'url('
    "rect { background-image: ur@import 'a.css';l(https://x.example/a.png) }",  # so would an @import
])
def test_a_drawings_styles_load_nothing_from_elsewhere(css):
    """A diagram drawn at build time keeps its styles (an editor's %%{init}%% may set the theme's
    CSS), but nothing in them that loads from an address: url(), @import, image-set() (which needs
    no url()), or any of them spelt with CSS escapes. A reference within the drawing stays."""
    svg = (f'<svg id="kb-0123456789abcdef" xmlns="http://www.w3.org/2000/svg"><style>{css} '
           '#kb-0123456789abcdef .m { marker-end: url(#kb-0123456789abcdef_end) }</style>'
           f'<g style="{html.escape(css, quote=True)}"><rect class="m"></rect></g></svg>')
    cleaned = sanitize.drawing(svg)
    assert "url(#kb-0123456789abcdef_end)" in cleaned
    assert "\\" not in cleaned and not re.search(r"url\((?!#)|image-set\(|@import", cleaned, re.I), cleaned
