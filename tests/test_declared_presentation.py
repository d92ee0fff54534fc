"""What a model declares reaches the page, for the kinds we have and for a kind added later:
a relation's strength and note, a list of figures, a listed reference of any kind, a rating's
band; and what would lose an editor's text is refused (a data table named like a declared one).
Each of these was found missing by a hostile review of the emitters."""
import datetime as dt
import re
import textwrap
from typing import Annotated, Optional

import pytest

from generator import kinds, models, pipeline, render, score

TODAY = dt.date(2026, 12, 2)

ORG = """
id: lab
name: Lab
type: frontier-lab
summary: A lab.
"""
SOURCE = """
id: paper
name: Paper 2024
title: The paper
summary: A paper.
kind: paper
"""


def _checked(root):
    checked = pipeline.check(root)
    assert checked.ok, checked.diagnostics
    return checked


def _pages(root):
    checked = _checked(root)
    scores = score.score(checked.graph, TODAY)
    return {path: page.markdown for path, page in render.render(checked.graph, scores, TODAY).pages.items()}


SYSTEM_B = "id: b\nname: B\nsummary: s\ncapability: c\nachievement: x\n"


def system_a(relations: str, achievement: str = "x") -> str:
    """System 'a' with these items under ``relations:`` (YAML, at any indentation)."""
    return (f"id: a\nname: A\nsummary: s\ncapability: c\nachievement: {achievement}\nrelations:\n"
            + textwrap.indent(textwrap.dedent(relations).strip("\n"), "  ") + "\n")


def line_of(page: str, label: str) -> str:
    """The page's line that lists what the record names as ``label`` ("Builds on")."""
    return next(line for line in page.splitlines() if f"<strong>{label}:</strong>" in line)


def test_a_relations_strength_and_note_show_beside_its_target(write_records):
    root = write_records({
        "organizations/lab.yaml": ORG,
        "systems/a.yaml": system_a("""
              - type: builds-on
                target: b
                strength: strong
                note: Reuses the <tokenizer> of B.
              - type: related-to
                target: lab
        """),
        "systems/b.yaml": SYSTEM_B,
    })
    page = _pages(root)["systems/a.md"]
    line = line_of(page, "Builds on")
    assert 'href="b.html">B</a> (Strong): Reuses the &lt;tokenizer&gt; of B.' in line
    related = line_of(page, "Related to")
    assert re.search(r'>Lab</a>\s*(</li>|$)', related), related  # no strength, no note: nothing after it


def test_a_cites_relation_to_a_source_is_a_citation(write_records):
    """It is listed under References, not again under Relations, and exported as a citation."""
    root = write_records({
        "sources/paper.yaml": SOURCE,
        "systems/b.yaml": SYSTEM_B,
        "systems/a.yaml": system_a("""
              - type: cites
                target: paper
              - type: cites
                target: b
        """),
    })
    page = _pages(root)["systems/a.md"]
    assert "The paper" in page.split("## References")[1]
    cites = line_of(page, "Cites")
    assert ">B</a>" in cites and "paper" not in cites  # citing a system stays a relation
    origins = {(e.target, e.origin) for e in _checked(root).graph.outgoing["a"]}
    assert origins == {("paper", "citation"), ("b", "relation")}


def test_a_data_table_named_like_a_declared_table_is_refused(write_records):
    """[[table:assessment]] places the declared assessment table: a data table of that name
    would be lost, so the editor is told to rename it, at its key."""
    root = write_records({
        "sources/paper.yaml": SOURCE,
        "topics/t.md": """
            ---
            id: t
            title: T
            summary: s
            sources: [paper]
            tables:
              assessment:
                title: My own table
                columns: [Exam, Score]
                rows:
                  - [Bar exam, Ninety]
            ---
            ## Overview

            [[table:assessment]]
        """,
    })
    checked = pipeline.check(root)
    [problem] = [d for d in checked.diagnostics if d.severity == "error"]
    assert problem.file.endswith("topics/t.md") and problem.line == 7 and problem.field == "tables.assessment"
    assert "already the name of a table" in problem.message and "assessment-data" in problem.hint


class Benchmark(models.Named):
    """A kind a developer adds, declared only in models and the registry."""

    results: list[models.Quantity] = []
    evaluates: list[models.Ref(label="evaluates", inverse="evaluated by", listed=models.Section(
        "Benchmarks that evaluate it", (models.Column("Benchmark", "name"),)))] = []
    difficulty: Annotated[Optional[models.Rating], models.Shown(show="rating", bands="importance")] = None
    homepage: Annotated[Optional[str], models.Shown(show="url")] = None


@pytest.fixture
def benchmark_pages(write_records, monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "benchmarks",
                        kinds.Kind("benchmarks", "benchmark", "Benchmarks", Benchmark, "#000000", ("results",)))
    root = write_records({
        "organizations/lab.yaml": ORG,
        "organizations/other.yaml": ORG.replace("id: lab", "id: other").replace("Lab", "Other"),
        "benchmarks/bench.yaml": """
            id: bench
            name: Bench
            summary: s
            results:
              - {value: 42, unit: "%"}
              - {value: 7, unit: " points"}
            evaluates: [lab]
            difficulty: 91
            homepage: javascript:alert(1)
        """,
    })
    return _pages(root)


def test_a_list_of_figures_shows_in_the_infobox_and_the_index(benchmark_pages):
    assert re.search(r"<td>42%, 7 points</td>", benchmark_pages["benchmarks/bench.md"])
    assert "42%, 7 points" in benchmark_pages["benchmarks/index.md"]


def test_a_listed_reference_of_any_kind_lists_on_the_record_it_names(benchmark_pages):
    assert "## Benchmarks that evaluate it" in benchmark_pages["organizations/lab.md"]
    assert 'href="../benchmarks/bench.html">Bench</a>' in benchmark_pages["organizations/lab.md"]
    # Named by nothing, and the section declares no text for that: no empty section.
    assert "Benchmarks that evaluate it" not in benchmark_pages["organizations/other.md"]


def test_a_declared_rating_shows_with_its_declared_band(benchmark_pages):
    assert "<td>91 (Essential)</td>" in benchmark_pages["benchmarks/bench.md"]


def test_a_url_field_links_only_a_web_address(benchmark_pages):
    page = benchmark_pages["benchmarks/bench.md"]
    assert "javascript:alert(1)" in page  # the editor's text, as text
    assert 'href="javascript' not in page


class Essay(models.Record):
    """A kind with an article that places tables and diagrams from fields of its own names."""

    title: Annotated[models.Text, models.HIDDEN]
    figures: Annotated[dict[models.TableId, models.DataTable], models.Shown(infobox="no", placed="table")] = {}
    charts: Annotated[dict[models.TableId, models.Diagram], models.Shown(infobox="no", placed="diagram")] = {}


@pytest.fixture
def essays(monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "essays",
                        kinds.Kind("essays", "essay", "Essays", Essay, "#000000", (), markdown=True))


ESSAY = """
    ---
    id: e
    title: E
    summary: s
    figures:
      scores:
        title: Scores
        columns: [Exam, Score]
        rows:
          - [Bar exam, Ninety]
    charts:
      flow:
        title: Flow
        mermaid: |
          flowchart LR
            A --> B
    ---
    ## Overview

    [[table:scores]]

    [[diagram:flow]]
"""


def test_an_article_places_what_its_model_declares_placed(write_records, essays):
    pages = _pages(write_records({"essays/e.md": ESSAY}))
    page = pages["essays/e.md"]
    assert '<p class="kb-table-caption"><strong>Scores</strong></p>' in page and "<td>Bar exam</td>" in page
    assert 'class="kb-mermaid"' in page and "Flow" in page


def test_what_is_declared_placed_but_not_placed_is_an_error_at_its_field(write_records, essays):
    root = write_records({"essays/e.md": ESSAY.replace("[[table:scores]]", "").replace("[[diagram:flow]]",
                                                                                        "[[diagram:flwo]]")})
    problems = sorted((d.field, d.message, d.hint) for d in pipeline.check(root).diagnostics)
    assert ("figures.scores", "table 'scores' is never placed in the page",
            "add a line [[table:scores]] where it belongs") in problems
    assert any(field == "body" and "no diagram named 'flwo'" in message and "flow" in hint
               for field, message, hint in problems), problems
    assert any(field == "charts.flow" and "never placed" in message for field, message, _ in problems), problems


# Found by a second hostile review: a cited relation's note, listings on article pages, a list of
# scale values as an index column, one line per target, citations by relation in the score.

TOPIC = """
---
id: t
title: T
summary: s
---
## Overview

Some text.
"""


# A 'cites' relation to a source: its note and strength reached no page.
def test_note_of_a_cites_relation_to_a_source_reaches_the_page(write_records):
    root = write_records({
        "sources/paper.yaml": SOURCE,
        "systems/a.yaml": system_a("""
              - type: cites
                target: paper
                strength: strong
                note: Table 3 is where the benchmark numbers come from.
        """),
    })
    page = _pages(root)["systems/a.md"]
    assert "Table 3 is where the benchmark numbers come from." in page


# A listed reference of any kind (kinds=()) naming a topic: topic.md.j2 did not render sections.
class ListingBenchmark(models.Named):
    evaluates: list[models.Ref(label="evaluates", inverse="evaluated by", listed=models.Section(
        "Benchmarks that evaluate it", (models.Column("Benchmark", "name"),)))] = []


def test_listed_reference_of_any_kind_lists_on_a_topic_page(write_records, monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "benchmarks",
                        kinds.Kind("benchmarks", "benchmark", "Benchmarks", ListingBenchmark, "#000000", ()))
    root = write_records({
        "topics/t.md": TOPIC,
        "benchmarks/bench.yaml": "id: bench\nname: Bench\nsummary: s\nevaluates: [t]\n",
    })
    page = _pages(root)["topics/t.md"]
    assert "Benchmarks that evaluate it" in page


# A list of scale values (list[Severity]) as an index column: sort_key() raised ValueError.
class Survey(models.Named):
    levels: list[models.Severity] = []


def test_a_list_of_scale_values_in_an_index_column_renders(write_records, monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "surveys",
                        kinds.Kind("surveys", "survey", "Surveys", Survey, "#000000", ("levels",)))
    root = write_records({"surveys/s.yaml": "id: s\nname: S\nsummary: s\nlevels: [low, high]\n"})
    pages = _pages(root)
    assert "Low, High" in pages["surveys/index.md"]


# A field reference and a typed relation with the same label and target (a topic's
# related: [b] and a related-to relation to b) showed the target twice.
def test_a_target_named_by_a_field_and_a_relation_shows_once(write_records):
    root = write_records({
        "systems/b.yaml": SYSTEM_B,
        "topics/t.md": """
            ---
            id: t
            title: T
            summary: s
            related: [b]
            relations:
              - type: related-to
                target: b
                note: Shares a tokenizer.
            ---
            ## Overview

            Some text.
        """,
    })
    page = _pages(root)["topics/t.md"]
    line = line_of(page, "Related to")
    assert line.count(">B</a>") == 1, line


# A 'cites' relation to a source is a citation: the record's figures count as cited
# (the page said "Figures with a source: 0/1").
def test_figures_of_a_record_citing_a_source_by_relation_count_as_cited(write_records):
    root = write_records({
        "sources/paper.yaml": SOURCE,
        "systems/a.yaml": system_a("""
              - type: cites
                target: paper
        """, achievement="Scores 90% on the bar exam."),
    })
    checked = _checked(root)
    scored = score.score(checked.graph, TODAY)["a"]
    assert scored.figures >= 1 and scored.cited_figures == scored.figures


def test_a_non_citing_relation_to_a_source_says_its_note_once(write_records):
    """A 'supports' relation to a source is a relation: its note shows under Relations, and the
    source's reference (it is a source) does not repeat it."""
    root = write_records({
        "sources/paper.yaml": SOURCE,
        "systems/a.yaml": system_a("""
              - type: supports
                target: paper
                note: Its section 4 backs the claim.
        """),
    })
    page = _pages(root)["systems/a.md"]
    assert page.count("Its section 4 backs the claim.") == 1
    assert "Its section 4 backs the claim." in line_of(page, "Supports")
