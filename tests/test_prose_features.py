"""Prose features of a real wiki, offline and safe: footnotes, inline citations joining the
page's numbered references, formulas drawn at build time as MathML, images of the content tree,
admonitions, tables with empty cells. Each hostile input stays inert or is an error with its
line. The fixture is tests/fixtures/prose-features/content; the browser proof is
tests/browser/test_prose_features_browser.py."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from generator import formulas, pipeline, render, sanitize, score
from generator.prose import to_page_markdown
from generator.score import measure
from test_prose import live

FEATURES = Path(__file__).parent / "fixtures" / "prose-features" / "content"
DAY = dt.date(2026, 1, 7)
TOPIC = FEATURES / "topics" / "feedback-loops.md"


def built_page(content: Path, page: str = "topics/feedback-loops.md") -> str:
    checked = pipeline.check(content)
    assert checked.ok, checked.diagnostics
    return render.render(checked.graph, score.score(checked.graph, DAY), DAY).pages[page].markdown


@pytest.fixture
def base(tmp_path, monkeypatch):
    """A copy of the fixture base to break, and a function checking it after a change of the topic."""
    shutil.copytree(FEATURES, tmp_path / "content")
    monkeypatch.chdir(tmp_path)

    def check(old: str | None = None, new: str = "", append: str = ""):
        topic = Path("content/topics/feedback-loops.md")
        text = topic.read_text(encoding="utf-8")
        if old is not None:
            assert old in text
            text = text.replace(old, new, 1)
        topic.write_text(text + append, encoding="utf-8")
        return pipeline.check(Path("content")).diagnostics

    return check


def line_of(text: str) -> int:
    return TOPIC.read_text(encoding="utf-8").split("\n").index(text) + 1


def test_the_features_render(monkeypatch):
    monkeypatch.chdir(FEATURES.parent)
    page = built_page(Path("content"))
    # footnotes: numbered marks and notes with back-links, across the directive lines
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in page
    assert '<sup id="fnref:estimate"><a class="footnote-ref" href="#fn:estimate">2</a></sup>' in page
    assert page.count('<div class="footnote">') == 1 and 'href="#fnref:estimate"' in page
    # citations: numbered as the references, which carry the anchors
    assert '<sup class="kb-cite"><a href="#ref-metr-2024">[1]</a><a href="#ref-second-source">[2]</a></sup>' in page
    references = page[page.index("## References"):]
    assert references.index('<li id="ref-metr-2024">') < references.index('<li id="ref-second-source">')
    # formulas, and dollars that are none
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mi>r</mi>' in page
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in page and "<mfrac>" in page
    assert "It costs $5 and $10, written $3, and\n<code>$code$</code> stays code." in page
    # the image, from the page's place in the docs tree, and the admonition
    assert '<img alt="A curve rising faster and faster" src="../images/figure.png" title="The feedback curve">' in page
    assert '<div class="admonition warning">\n<p class="admonition-title">Read with care</p>' in page
    # empty cells, in a Markdown table and in a data table of the front matter
    assert "<tr>\n<td>A</td>\n<td></td>\n</tr>" in page
    assert "<tr><td>A</td><td>1.2</td><td></td></tr>" in page and "<tr><td>B</td><td></td><td>missing</td></tr>" in page
    assert sanitize.page(page.split("## What links here")[0]).count("<math") == 2


def test_an_inline_citation_is_a_citation_edge(monkeypatch):
    monkeypatch.chdir(FEATURES.parent)
    checked = pipeline.check(Path("content"))
    edges = [(e.target, e.origin, e.label) for e in checked.graph.outgoing["feedback-loops"]]
    assert ("second-source", "citation", "cites") in edges and ("metr-2024", "citation", "cites") in edges
    assert checked.graph.cited("feedback-loops") == ["metr-2024", "second-source"]
    assert "feedback-loops" in checked.graph.backlink_sources("second-source")


@pytest.mark.parametrize("old, new, code, message", [
    ("[[cite:metr-2024]]", "[[cite:metr-2042]]", "unknown-reference", "[[cite:metr-2042]] cites no record"),
    ("[[cite:metr-2024]]", "[[cite:some-system]]", "wrong-kind", "'some-system' is a system"),
    ("[[cite:metr-2024]]", "[[cite: ,]]", "directive", "names no source"),
    ("when $r > 1$", "when $\\href{javascript:alert(1)}{x}$", "formula", "cannot hold a link"),
    ("when $r > 1$", "when $\\style{color:red}{x}$", "formula", "'style'"),
    ("when $r > 1$", "when $\\text{<script>alert(1)</script>}$", "formula", "<script>"),
    ("when $r > 1$", "when $\\frac{" + "{" * 60 + "$", "formula", "nests"),
    ("when $r > 1$", "when $" + "x" * 3000 + "$", "formula", "at most 2,000"),
    ("when $r > 1$", "when $\\nosuchcommand$", "formula", "unknown command \\nosuchcommand"),
    ("![A curve rising faster and faster]", "![ ]", "image", "has no alt text"),
    ("(../images/figure.png", "(https://example.org/pixel.png", "image", "on another site"),
    ("(../images/figure.png", "(javascript:alert(1)", "image", "on another site"),
    ("(../images/figure.png", "(//example.org/x.png", "image", "on another site"),
    ("(../images/figure.png", "(../../../etc/passwd.png", "image", "not in content/images/"),
    ("(../images/figure.png", "(/etc/x.png", "image", "not a path within the content folder"),
    ("(../images/figure.png", "(../images/missing.png", "image", "there is no image content/images/missing.png"),
    ("(../images/figure.png", "(../images/figure.svg", "image", "SVG"),
    ("!!! warning", "!!! warnign", "admonition", "not an admonition"),
    ("!!! warning", "!!! warning danger", "admonition", "not an admonition"),
    ("1$[^1]", "1$[^2]", "footnote", "footnote [^2] has no note"),
    ("1$[^1]", "1$[^a b]", "footnote", "letters, digits"),
])
def test_a_bad_feature_is_an_error_at_its_line(base, old, new, code, message):
    text = TOPIC.read_text(encoding="utf-8")
    line = next(number for number, row in enumerate(text.split("\n"), start=1) if old in row)
    diagnostics = base(old, new)
    found = [d for d in diagnostics if d.code == code and message in d.message]
    assert found, diagnostics
    assert found[0].line == line and found[0].file.endswith("topics/feedback-loops.md") and found[0].hint


def test_a_note_never_referred_to_is_an_error(base):
    found = base(append="\n[^lonely]: A note without a mark.\n")
    assert [d.message for d in found] == ["the note [^lonely] is never referred to"]


def test_files_under_content_images_are_images_or_errors(base):
    Path("content/images/drawing.svg").write_text("<svg onload='alert(1)'/>", encoding="utf-8")
    Path("content/images/huge.png").write_bytes(b"\x89PNG" + b"\0" * (2 * 1024 * 1024 + 1))
    Path("content/stray.txt").write_text("x", encoding="utf-8")
    found = {(Path(d.file).name, d.code) for d in base()}
    assert found == {("drawing.svg", "image"), ("huge.png", "image"), ("stray.txt", "layout")}


def test_hostile_input_stays_inert_in_the_converter():
    """Without validation (which refuses each): nothing live comes out of the converter."""
    hostile = ("$\\href{javascript:alert(1)}{x}$ $\\style{x}{y}$ $\\text{<img src=x onerror=alert(1)>}$ "
               "![x](javascript:alert(1)) ![y](https://example.org/p.png) ![z](../images/a.png)\n\n"
               "!!! note onclick\n    x\n\n[^x\"onmouseover=alert(1)]\n\n[^x\"onmouseover=alert(1)]: n")
    page = to_page_markdown(hostile, lambda t, x: None, lambda t: None, lambda src: None)
    assert live(page) == [] and "<math" not in page and "<img" not in page
    assert re.findall(r"<[a-z]+ [^>]*>", page) == ['<p class="admonition-title">', '<a class="footnote-ref" href="#fn:x&quot;onmouseover=alert(1)">',
                                                   '<div class="footnote">',
                                                   '<a class="footnote-backref" href="#fnref:x&quot;onmouseover=alert(1)" title="Back to note 1 in the text">']


def test_the_sanitizer_keeps_only_the_features_own_ids_classes_and_images():
    html = ('<p id="x" class="y"><sup id="fnref:1" class="evil">1</sup><sup id="oops">2</sup></p>'
            '<li id="fn:1">n</li><li id="content">x</li><div class="admonition warning">w</div>'
            '<div class="md-sidebar">s</div><a class="footnote-backref md-button">b</a>'
            '<img src="../images/a.png" alt="a"><img src="https://example.org/t.png" alt="t">'
            '<img src="../../../../etc/images/x.png" alt="u"><img src="images/../../x.png" alt="v">')
    clean = sanitize.prose(html)
    assert clean == ('<p><sup id="fnref:1">1</sup><sup>2</sup></p><li id="fn:1">n</li><li>x</li>'
                     '<div class="admonition warning">w</div><div>s</div><a>b</a>'
                     '<img src="../images/a.png" alt="a"><img alt="t"><img alt="u">'
                     '<img alt="v">')
    assert sanitize.page('<img src="https://example.org/t.png" alt="t"><img src="../images/a.png">') == \
        '<img alt="t"><img src="../images/a.png">'


def test_mathml_cannot_smuggle_links_scripts_or_styles_past_the_sanitizer():
    html = ('<math><mrow href="javascript:alert(1)" style="x" onclick="y"><mi>x</mi></mrow>'
            '<mtext><script>alert(1)</script><style>*{}</style></mtext><maction actiontype="toggle">a</maction></math>')
    for clean in (sanitize.prose(html), sanitize.page(html)):
        assert "href" not in clean and "script" not in clean and "onclick" not in clean and "maction" not in clean
        assert "<mi>x</mi>" in clean


@pytest.mark.parametrize("text, found", [
    ("costs $5 and $10", []),
    ("$r > 1$", ["r > 1"]),
    ("\\$5 and $x$", ["x"]),
    ("$x$5", []),
    ("$ x$", []),
    ("$$a\nb$$", ["a\nb"]),
])
def test_dollars_follow_pandocs_rule(text, found):
    assert [tex for _, _, tex, _ in formulas.find(text)] == found


def test_a_formula_costs_a_fraction_of_a_millisecond():
    import time

    formulas.mathml.cache_clear()
    started = time.perf_counter()
    for n in range(200):
        formulas.mathml(f"\\sum_{{i=1}}^{{{n}}} \\frac{{r^i}}{{i!}}", True)
    assert (time.perf_counter() - started) / 200 < 0.005


def test_footnotes_count_as_words_and_marks_formulas_and_citations_do_not_break_the_count():
    plain = measure(to_page_markdown("One two three.", lambda t, x: None))
    noted = measure(to_page_markdown("One two three[^1] $\\frac{a}{b}$.\n\n[^1]: Four five.", lambda t, x: None))
    assert plain.words == 3 and noted.words == 3 + 1 + 2  # the formula is a word, the note two
    assert noted.bullet_ratio == 0.0  # the notes' list is no bullet list


# ---------------------------------------------------------------------------- after review

@pytest.mark.parametrize("append, code, message", [
    ("\nMore.[^1]\n\n[^1]: Again.\n", "footnote", "is already written on line"),
    ("\n[See]($x$) and ![$y$](../images/figure.png).\n", "formula", "a link's address or title"),
    ("\n| a | b |\n| --- | --- |\n| $x | y$ | z |\n", "formula", "ends the table's cell"),
    ("\n$\\rule{300em}{300em}$\n", "formula", "at most 10 em"),
    ("\n## Ref metr 2024\n", "heading", "'#ref-metr-2024' is one the page uses itself"),
    ("\n~~~\n```\n~~~\n\nAfter the fence [[cite:no-such-source]].\n", "unknown-reference", "no-such-source"),
])
def test_what_review_found_is_an_error_at_its_line(base, append, code, message):
    found = [d for d in base(append=append) if d.code == code and message in d.message]
    assert found and found[0].hint, base(append=append)


def test_code_with_double_backticks_and_quoted_notes_are_read_as_the_converter_reads_them(base):
    assert base(append="\nCode: ``[[cite:nothing]] `x` `` ends.\n\n> Quoted.[^q]\n>\n> [^q]: A quoted note.\n") == []


def test_a_drawing_loads_nothing_from_elsewhere():
    svg = ('<svg><style>.n { fill: url(https://evil.example/x.png) } .a { marker: url(#arrow) } @import url(x.css);'
           '</style><g style="fill:url(https://e.example/g)"><foreignObject><div><img src="https://e.example/p.png">'
           'url(text)</div></foreignObject></g></svg>')
    clean = sanitize.drawing(svg)
    assert "example" not in clean and "@import" not in clean
    assert "url(#arrow)" in clean and "url(text)" in clean  # a reference within the drawing, and text, stay


def test_an_image_is_what_it_holds_and_not_too_many_pixels(base):
    figure = Path("content/images/figure.png")
    png = figure.read_bytes()
    figure.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    assert any("is not a PNG image" in d.message for d in base())
    figure.write_bytes(png[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big") + png[24:])
    assert any("30,000 x 30,000 pixels" in d.message for d in base())
