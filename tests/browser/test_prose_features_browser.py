"""The prose features in a real browser, offline (tests/fixtures/prose-features/content): the
footnote mark leads to its note and the back-link back, a citation to its numbered reference,
formulas are drawn as MathML (no script), the image loads from the site itself, the admonition
is styled by the theme, and the Content-Security-Policy reports nothing."""
from __future__ import annotations

import pytest

from conftest import REPO, build_site, serve, watched  # noqa: F401 (watched is a fixture)

FEATURES = REPO / "tests" / "fixtures" / "prose-features" / "content"


@pytest.fixture(scope="module")
def features_server(tmp_path_factory):
    built = build_site(FEATURES, tmp_path_factory.mktemp("prose-features"))
    with serve(built.root) as running:
        yield built, running


def test_the_features_work_in_the_browser(watched, features_server):
    page, watch = watched
    built, server = features_server
    assert (built.root / "images" / "figure.png").read_bytes() == (FEATURES / "images" / "figure.png").read_bytes()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server("topics/feedback-loops.html"), wait_until="load")
    article = page.locator("article")

    # footnotes: the mark leads to the note, the back-link back to the mark
    page.locator('article sup#fnref\\:1 a').click()
    assert page.evaluate("() => location.hash") == "#fn:1"
    assert "each step makes the next one faster" in page.locator("li#fn\\:1").inner_text()
    page.locator('li#fn\\:1 a.footnote-backref').click()
    assert page.evaluate("() => location.hash") == "#fnref:1"

    # the citations lead to the numbered references
    cites = article.locator("sup.kb-cite a")
    assert cites.all_inner_texts() == ["[1]", "[1]", "[2]"]
    cites.nth(2).click()
    assert page.evaluate("() => location.hash") == "#ref-second-source"
    assert page.locator("ol.kb-references > li").nth(1).get_attribute("id") == "ref-second-source"

    # formulas: MathML, drawn by the browser (a fraction has height), no script of ours
    assert article.locator("math").count() == 2
    assert article.locator('math[display="block"] mfrac').bounding_box()["height"] > 15
    assert "$5 and $10" in article.inner_text()

    # the image loads from the site, and only from it
    image = article.locator('img[alt="A curve rising faster and faster"]')
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 40
    # the admonition is the theme's
    assert article.locator("div.admonition.warning > p.admonition-title").inner_text() == "Read with care"
    assert page.evaluate("() => getComputedStyle(document.querySelector('div.admonition')).borderLeftWidth") != "0px"

    page.screenshot(path=str(REPO / "test-artifacts" / "prose-features.png"), full_page=True)
    assert violations == []
    assert [url for url in watch.requests if not url.startswith(server.url)] == []
    watch.assert_clean()
