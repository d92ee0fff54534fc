"""A base written the way real editors write one (tests/fixtures/real-base/content): risks,
responses, people and organizations with long articles holding footnotes, inline source
citations, math, an image, admonitions and tables with empty cells; an extended vocabulary;
unknown judgments; diagrams of several Mermaid types. It validates, builds, and every page is
checked in Chromium, with no network: nothing fails, nothing is blocked, nothing leaves the site.
"""
from __future__ import annotations

import pytest

from conftest import REPO, build_site, crawl, serve, wait_for_diagrams

REAL_BASE = REPO / "tests" / "fixtures" / "real-base" / "content"


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    built = build_site(REAL_BASE, tmp_path_factory.mktemp("real-base"))
    with serve(built.root) as running:
        yield built, running


def test_every_page_loads_clean_in_chromium(browser, real_site):
    built, server = real_site
    pages = built.pages()
    violations: list[str] = []
    context = browser.new_context()
    context.on("console", lambda message: violations.append(message.text)
               if "Content Security Policy" in message.text else None)
    visits = crawl(browser, server, pages, tabs=2)
    context.close()
    assert len(visits) == len(pages) > 20
    for path, visit in visits.items():
        assert visit.console_errors == [] and visit.page_errors == [], (path, visit.console_errors, visit.page_errors)
        assert visit.failed == [] and visit.foreign == [], (path, visit.failed, visit.foreign)
        assert not visit.stuck and visit.facts["failed"] == 0, path
        assert visit.facts["handlers"] == [] and visit.facts["articleScripts"] == [], path
    assert violations == []


def _open(browser, server, path):
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(server(path), wait_until="load")
    if page.locator("pre.kb-mermaid").count():
        wait_for_diagrams(page, 15_000)
    return page, messages


def test_a_risks_article_shows_every_prose_feature(browser, real_site):
    built, server = real_site
    page, messages = _open(browser, server, "risks/deceptive-alignment.html")
    article = page.locator("article")
    # the long field is a section of the page, both paragraphs, and not in the infobox
    assert page.locator("h2#description").count() == 1
    assert "no gradient pressure left" in article.inner_text()
    assert "no gradient pressure left" not in page.locator("aside.kb-infobox").inner_text()
    # unknown judgments are shown as such; the extended scale's step too
    infobox = page.locator("aside.kb-infobox").inner_text()
    assert "Catastrophic" in infobox and "Unknown" in infobox
    # footnotes: numbered notes, each with a back-link that returns to its reference
    notes = page.locator("div.footnote li")
    assert notes.count() == 2
    page.locator("sup a.footnote-ref").first.click()
    assert page.evaluate("() => location.hash").startswith("#fn")
    page.locator("div.footnote a.footnote-backref").first.click()
    assert page.evaluate("() => location.hash").startswith("#fnref")
    # inline citations join the numbered references and link to them
    citation = page.locator("article sup.kb-cite a").first
    target = citation.get_attribute("href")
    assert target.startswith("#") and page.locator(target).count() == 1
    assert "When training goals and deployed goals come apart" in page.locator(target).inner_text()
    # math: inline and display, drawn at build time with no script
    assert page.locator("article math").count() >= 4
    assert page.locator("article math[display='block']").count() == 1
    box = page.locator("article math[display='block']").bounding_box()
    assert box and box["width"] > 40 and box["height"] > 10
    # the image comes from the site and loads
    image = page.locator("article img")
    assert image.get_attribute("alt").startswith("A loop")
    assert page.evaluate("() => document.querySelector('article img').naturalWidth") == 64
    # an admonition, and a table with an empty cell
    assert page.locator("article .admonition.warning .admonition-title").inner_text() == "Not yet observed in the wild"
    assert page.locator("article table td:empty").count() >= 1
    # the prose diagram is drawn
    assert page.locator("article div.kb-diagram svg").count() == 1
    assert not [m for m in messages if "Content Security Policy" in m]
    page.close()


def test_diagrams_of_several_types_are_drawn_and_a_title_is_optional(browser, real_site):
    built, server = real_site
    page, _ = _open(browser, server, "topics/mesa-optimization.html")
    assert page.locator("article div.kb-diagram svg").count() == 4
    roles = page.evaluate("() => [...document.querySelectorAll('article div.kb-diagram svg')]"
                          ".map(s => s.getAttribute('aria-roledescription'))")
    assert {"er", "classDiagram", "stateDiagram", "pie"} <= set(roles)
    # the data table keeps its empty cells
    estimates = page.locator("article p.kb-table-caption:has-text('Estimates of the share') + *")  # (the theme wraps tables)
    assert estimates.locator("td:empty").count() == 2
    page.close()


def test_people_and_organizations_have_articles_too(browser, real_site):
    built, server = real_site
    page, _ = _open(browser, server, "experts/amara-okafor.html")
    text = page.locator("article").inner_text()
    assert "learned optimiser" in text and page.locator("article math").count() == 1
    assert "estimate: 30%, uncited" in text
    page.goto(server("organizations/northbridge-institute.html"))
    assert page.locator("article .admonition.note").count() == 1
    assert page.locator("article table td:empty").count() == 1
    page.close()
