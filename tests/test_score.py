"""The score rules of shared/notes/reference-wiki.md, pinned at every threshold."""
import pytest

from generator import score
from generator.prose import to_page_markdown
from generator.score import Structure, age_text, band, measure, points, structure_score, suggested_quality


def structure(**changes):
    base = dict(words=0, tables=0, diagrams=0, internal_links=0, external_links=0, bullet_ratio=1.0,
                has_overview=False)
    base.update(changes)
    return Structure(**base)


@pytest.mark.parametrize("words, expected", [(0, 0), (299, 0), (300, 1), (799, 1), (800, 2), (5000, 2)])
def test_words_points(words, expected):
    assert points(structure(words=words))["words"] == expected


@pytest.mark.parametrize("tables, expected", [(0, 0), (1, 1), (2, 2), (3, 3), (11, 3)])
def test_tables_points(tables, expected):
    assert points(structure(tables=tables))["tables"] == expected


@pytest.mark.parametrize("diagrams, expected", [(0, 0), (1, 1), (2, 2), (5, 2)])
def test_diagrams_points(diagrams, expected):
    assert points(structure(diagrams=diagrams))["diagrams"] == expected


@pytest.mark.parametrize("links, expected", [(0, 0), (1, 1), (3, 1), (4, 2), (30, 2)])
def test_internal_links_points(links, expected):
    assert points(structure(internal_links=links))["internal_links"] == expected


@pytest.mark.parametrize("links, expected", [(0, 0), (1, 1), (2, 1), (3, 2), (5, 2), (6, 3)])
def test_external_links_points(links, expected):
    assert points(structure(external_links=links))["external_links"] == expected


@pytest.mark.parametrize("ratio, expected", [(0.0, 2), (0.299, 2), (0.3, 1), (0.499, 1), (0.5, 0), (1.0, 0)])
def test_bullet_ratio_points_are_strictly_below_the_bound(ratio, expected):
    assert points(structure(bullet_ratio=ratio))["bullet_ratio"] == expected


def test_overview_section_is_worth_one_point():
    assert points(structure(has_overview=True))["overview"] == 1
    assert points(structure())["overview"] == 0


def test_full_marks_are_fifteen():
    best = structure(words=800, tables=3, diagrams=2, internal_links=4, external_links=6, bullet_ratio=0.1,
                     has_overview=True)
    assert structure_score(best) == 15
    assert suggested_quality(15) == 100


def test_seed_page_measures_score_twelve():
    # The seed page: 3,960 words, 11 tables, 2 diagrams, 30 internal, 0 external, bullets 0.096.
    seed = structure(words=3960, tables=11, diagrams=2, internal_links=30, external_links=0, bullet_ratio=0.096,
                     has_overview=True)
    assert structure_score(seed) == 12
    assert suggested_quality(12) == 80


@pytest.mark.parametrize("value, expected", [(100, "Comprehensive"), (80, "Comprehensive"), (79, "Good"),
                                             (60, "Good"), (59, "Adequate"), (40, "Adequate"), (39, "Draft"),
                                             (20, "Draft"), (19, "Stub"), (0, "Stub")])
def test_quality_bands(value, expected):
    assert band(value) == expected


@pytest.mark.parametrize("value, expected", [(90, "Essential"), (89, "High"), (70, "High"), (69, "Useful"),
                                             (50, "Useful"), (49, "Reference"), (30, "Reference"),
                                             (29, "Peripheral"), (0, "Peripheral")])
def test_importance_bands(value, expected):
    assert band(value, score.IMPORTANCE_BANDS) == expected


@pytest.mark.parametrize("days, expected", [(0, "today"), (1, "1 day ago"), (10, "10 days ago"),
                                            (14, "14 days ago"), (15, "2 weeks ago"), (60, "8 weeks ago"),
                                            (61, "2 months ago"), (365, "12 months ago")])
def test_age_text_days_then_weeks_then_months(days, expected):
    assert age_text(days) == expected


def test_measure_counts_tables_diagrams_links_and_bullets():
    page = "\n".join([
        "## Overview", "", "Some words here with a [link](../systems/a.html) and [web](https://example.org).", "",
        "| a | b |", "| --- | --- |", "| 1 | 2 |", "",
        "```mermaid", "flowchart LR", "  A --> B", "```", "",
        "- one bullet", "- two bullet", "",
        "```python", "| --- | --- |", "[not](counted.html)", "<table>", "```",
    ])
    # measured on the article as render writes it: prose converted by Python-Markdown
    measured = measure(to_page_markdown(page, lambda target, text: None))
    assert (measured.tables, measured.diagrams, measured.internal_links, measured.external_links) == (1, 1, 1, 1)
    assert measured.has_overview
    # lines of text outside code: the heading, the paragraph, 2 table rows, 2 bullets = 6; bullets 2
    assert measured.bullet_ratio == round(2 / 6, 3)
    assert measured.words == len("Overview Some words here with a link and web a b 1 2 one bullet two bullet".split())


def test_advice_names_the_cheapest_additions():
    page = structure(words=900, tables=3, diagrams=0, internal_links=5, external_links=0, bullet_ratio=0.1,
                     has_overview=True)
    assert structure_score(page) == 10
    assert score.advice(page, 11) == ["add 1 diagram"]
    assert score.advice(page, 12) == ["add 1 diagram", "add 1 external link"]
    assert score.advice(page, 10) == []


def _headings_by_regex(article: str) -> tuple[list[str], str]:
    """What measure did before score._headings: the regex engine over the whole article."""
    return ([score._ESCAPE.sub(r"\1", text) for text in score._HEADING.findall(article)],
            score._HEADING.sub(" ", article))


def test_headings_are_found_as_the_regex_finds_them():
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import benchmark

    pieces = ["#", "##", "#######", " ", "\t", "\n", "\n\n", "\n#", "\n# ", "# h", "## Overview", "\\#", "\\*",
              "text", "<p>a # b</p>", "<pre><code># comment\n</code></pre>", "#x", "# \n", "#\n#\n", " #", "## h ##"]
    rng = random.Random(11)
    texts = ["", "#", "# a", "\n# a", "# a\n# b", "#\n\n# b\n", "no heading at all"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    synth = benchmark.Synth(200, seed=5)
    texts += [to_page_markdown(synth.article(record_id), lambda target, shown: (f"{target}.html", shown or target))
              for kind, ids in synth.ids.items() if kind != "topics" for record_id in ids[:3]]
    differing = [text for text in texts if score._headings(text) != _headings_by_regex(text)]
    assert not differing, f"{len(differing)} of {len(texts)} differ, e.g. {differing[0][:300]!r}"
    assert sum(bool(_headings_by_regex(text)[0]) for text in texts) > 1000  # the texts do hold headings
