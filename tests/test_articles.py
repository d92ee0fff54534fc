"""Any record may be a Markdown file: its fields as front matter, then an article that is the
body of its page, linked, scored, searched and exported like a topic's."""
import datetime as dt
import json

from generator import pipeline, render, score
from generator.cli import main
from generator.scaffold import new_record

TODAY = dt.date(2026, 1, 1)

RISK_PAGE = """\
---
id: goal-drift
name: Goal drift
summary: Objectives shift away from what was intended.
description: An AI system's goals change over successive training runs.
evidence: Observed in small agents.
severity: high
---
## Overview

Goal drift was discussed by [[stuart-russell]] at length, and well beyond the infobox.
"""
EXPERT = """\
id: stuart-russell
name: Stuart Russell
summary: A professor of computer science.
"""


def _checked(root):
    checked = pipeline.check(root)
    assert checked.ok, checked.diagnostics
    return checked


def test_a_risk_written_as_markdown_has_its_article_on_its_page(write_records):
    checked = _checked(write_records({"risks/goal-drift.md": RISK_PAGE, "experts/stuart-russell.yaml": EXPERT}))
    scores = score.score(checked.graph, TODAY)
    pages = render.render(checked.graph, scores, TODAY).pages
    page = pages["risks/goal-drift.md"].markdown
    assert "well beyond the infobox" in page
    assert '<a href="../experts/stuart-russell.html">Stuart Russell</a>' in page
    assert "goals change over successive training runs" in page  # the fields still show
    # the article is scored like a topic's, and its link is a backlink of the expert
    assert scores["goal-drift"].structure is not None and scores["goal-drift"].structure.words > 10
    assert "goal-drift" in checked.graph.backlink_sources("stuart-russell")
    assert "Goal drift" in pages["experts/stuart-russell.md"].markdown


def test_a_record_written_as_yaml_and_as_markdown_is_one_record_twice(write_records):
    root = write_records({"risks/goal-drift.md": RISK_PAGE,
                          "risks/goal-drift.yaml": RISK_PAGE.split("---\n")[1]})
    problems = [d for d in pipeline.check(root).diagnostics if d.code == "duplicate-id"]
    assert sorted(d.file.split("/content/")[-1] for d in problems) == ["risks/goal-drift.md", "risks/goal-drift.yaml"]
    assert all("a record is one file" in d.hint for d in problems)


def test_a_markdown_record_without_front_matter_names_the_fix(write_records):
    root = write_records({"systems/gpt-4.md": "# GPT-4\n\nA model.\n"})
    (problem,) = pipeline.check(root).diagnostics
    assert (problem.file.split("/content/")[-1], problem.line, problem.code) == ("systems/gpt-4.md", 1, "front-matter")
    assert "then the article" in problem.hint


def test_a_bad_link_in_any_records_article_is_an_error_with_its_line(write_records):
    root = write_records({"risks/goal-drift.md": RISK_PAGE})
    (problem,) = pipeline.check(root).diagnostics
    assert (problem.file.split("/content/")[-1], problem.line, problem.code) == ("risks/goal-drift.md", 11, "unknown-reference")


def test_the_export_carries_every_records_article(write_records, tmp_path, monkeypatch):
    root = write_records({"risks/goal-drift.md": RISK_PAGE, "experts/stuart-russell.yaml": EXPERT})
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--content", str(root), "--out", "data", "--format", "json"]) == 0
    risks = json.loads((tmp_path / "data" / "risks.json").read_text())
    experts = json.loads((tmp_path / "data" / "experts.json").read_text())
    assert "well beyond the infobox" in risks[0]["body"]
    assert experts[0]["body"] is None


def test_kb_new_writes_an_article_page_for_any_kind_on_request(tmp_path):
    path = new_record(tmp_path / "content", "risks", "Goal drift", article=True)
    assert path.name == "goal-drift.md"
    assert path.read_text().startswith("---\n# yaml-language-server: $schema=../../schemas/risks.schema.json\n")
    assert new_record(tmp_path / "content", "experts", "Ada").name == "ada.yaml"
    assert new_record(tmp_path / "content", "topics", "Takeoff", article=False).name == "takeoff.yaml"


def test_front_matter_never_closed_says_so(write_records):
    root = write_records({"risks/goal-drift.md": "---\nid: goal-drift\nname: Goal drift\n"})
    (problem,) = pipeline.check(root).diagnostics
    assert problem.message == "the front matter opened on line 1 is never closed by a '---' line"
