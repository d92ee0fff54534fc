"""Hostile prose (tests/fixtures/hostile-prose/content, one topic per trick) runs nothing in a
reader's browser: not on load, not on clicking any link or diagram node, not on focusing any
element, in both diagram modes, under the site's Content-Security-Policy.

Every payload calls alert(), so a dialog is the proof that something ran; the crawl counts
every dialog of every page (Playwright dismisses none by itself: a handler records and
dismisses each).
"""
from __future__ import annotations

import re

import pytest

from conftest import REPO, FACTS_JS, build_site, serve, wait_for_diagrams

HOSTILE_PROSE = REPO / "tests" / "fixtures" / "hostile-prose" / "content"
TRICKS = sorted(path.stem for path in (HOSTILE_PROSE / "topics").glob("*.md"))

# Click everything in the page body that can be clicked: links (a javascript: link runs on
# its default action, so that is not prevented; an ordinary link's navigation is, so the crawl
# stays on the page), diagram nodes, buttons; then focus and hover every element.
POKE_JS = """async () => {
  const body = document.querySelector('article') || document.body;
  const stay = (event) => {
    const link = event.target.closest && event.target.closest('a');
    const href = link && (link.getAttribute('href') || link.getAttribute('xlink:href') || '');
    if (link && !/^\\s*(javascript|vbscript|data):/i.test(href)) event.preventDefault();
  };
  document.addEventListener('click', stay, true);
  let clicked = 0, focused = 0;
  for (const el of body.querySelectorAll('a, button, summary, .node, .kb-diagram svg g, [tabindex], [onclick]')) {
    el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
    clicked += 1;
  }
  for (const el of body.querySelectorAll('*')) {
    if (typeof el.focus === 'function') { el.focus(); focused += 1; }
    el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  }
  document.removeEventListener('click', stay, true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  return {clicked, focused};
}"""


@pytest.fixture(scope="module", params=["build", "client"])
def hostile_prose_server(request, tmp_path_factory):
    """The fixture base built in each diagram mode, served on 127.0.0.1."""
    extra = {"KB_DIAGRAMS": "client"} if request.param == "client" else {}
    built = build_site(HOSTILE_PROSE, tmp_path_factory.mktemp(f"hostile-prose-{request.param}"), **extra)
    with serve(built.root) as running:
        yield request.param, built, running


def test_every_trick_has_its_topic_and_the_base_is_valid():
    assert len(TRICKS) >= 9
    assert {"attribute-list", "unclosed-tilde-fence", "indented-fence", "backtick-lengths", "reference-links",
            "yaml-diagram-breakout", "mermaid-marker", "raw-html", "record-links", "fence-in-code",
            "yaml-diagram-fence-attributes", "heading-link"} <= set(TRICKS)


def test_no_script_runs_on_load_click_or_focus(browser, hostile_prose_server):
    mode, built, server = hostile_prose_server
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(f"{page.url}: {dialog.message}"), dialog.dismiss()))
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    poked = {}
    for path in built.pages():
        page.goto(server(path), wait_until="load")
        if page.locator("pre.kb-mermaid").count() and page.evaluate("() => !!window.mermaid"):
            wait_for_diagrams(page, 15_000)
        facts = page.evaluate(FACTS_JS)
        assert facts["handlers"] == [], (path, facts["handlers"])
        assert facts["jsLinks"] == [], (path, facts["jsLinks"])
        assert facts["articleScripts"] == [] and facts["diagramInjected"] == [], path
        poked[path] = page.evaluate(POKE_JS)
        page.wait_for_timeout(30)
    context.close()
    assert dialogs == []
    # Every trick's page was crawled and poked, diagrams included.
    assert {f"topics/{trick}.html" for trick in TRICKS} <= set(poked)
    assert all(poked[f"topics/{trick}.html"]["focused"] > 20 for trick in TRICKS)
    # The theme's own scripts and the site's run under the policy: it blocked nothing of theirs.
    assert violations == [], violations[:5]


def test_the_hostile_text_is_shown_as_text(browser, hostile_prose_server):
    """What was refused is not lost: raw HTML and attribute lists show as the text typed."""
    mode, built, server = hostile_prose_server
    page = browser.new_page()
    page.goto(server("topics/raw-html.html"))
    text = page.locator("article").inner_text()
    assert 'Inline <img src=x onerror="alert(1)"> and <a href="javascript:alert(1)">a link</a>' in text
    page.goto(server("topics/attribute-list.html"))
    text = page.locator("article").inner_text()
    assert '{: tabindex="0" autofocus onfocus="alert(1)" onmouseover="alert(1)" }' in text
    page.goto(server("topics/record-links.html"))
    link = page.locator('article a[href="../systems/target-system.html"]').first
    assert link.inner_text() == '<img src=x onerror="alert(1)">'
    page.close()


def test_an_editors_diagram_never_gets_clickable_nodes(browser, hostile_prose_server):
    """The old generator mark typed into a prose diagram changes nothing: it is drawn at the
    strict level (no link, no click handler), in the browser and at build time alike."""
    mode, built, server = hostile_prose_server
    html = built.html("topics/mermaid-marker.html")
    assert "data-kb-links" not in html
    page = browser.new_page()
    page.goto(server("topics/mermaid-marker.html"))
    if page.locator("pre.kb-mermaid").count():
        wait_for_diagrams(page, 15_000)
    drawn = page.locator("div.kb-diagram svg")
    assert drawn.count() == 2
    # Mermaid keeps an <a> around a node with a click line, but strict drawing gives it no address.
    assert page.locator("div.kb-diagram svg a[href], div.kb-diagram svg a[*|href]").count() == 0
    page.close()


def test_only_the_generators_maps_have_linked_diagrams(hostile_prose_server):
    """Fence lines inside code, quotes and YAML diagrams open no fence with attributes: no page
    but the maps carries the mark that draws a diagram with links."""
    mode, built, server = hostile_prose_server
    marked = sorted(path for path in built.pages() if re.search(r"<[a-zA-Z][^>]*\sdata-kb-links=", built.html(path)))
    # drawn at build time, the maps' diagrams are SVG by now; left to the browser, they keep the mark
    assert set(marked) <= {"maps/risks.html", "maps/topics.html"}, marked
    assert mode == "build" or "maps/topics.html" in marked
    for path in ("topics/fence-in-code.html", "topics/yaml-diagram-fence-attributes.html"):
        assert not re.search(r'<[a-zA-Z][^>]*="\s*javascript:', built.html(path)), path  # as text only


def test_every_page_carries_the_content_security_policy(hostile_prose_server):
    mode, built, server = hostile_prose_server
    for path in built.pages():
        if path == "404.html":
            continue
        head = built.html(path).split("</head>", 1)[0]
        assert 'http-equiv="Content-Security-Policy"' in head, path
        policy = head.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
        assert "script-src 'self' 'wasm-unsafe-eval' 'sha256-" in policy and "unsafe-inline" not in policy.split(
            "style-src")[0], path
        assert head.index("Content-Security-Policy") < head.index("<script"), path
