"""The vocabulary is data (content/vocabulary.yaml): editors extend it without touching Python,
and the validator, the link stage, the schemas, `kb new` and the pages follow it. Judgments may
be `unknown`, which is shown as such and counted as missing."""
import datetime as dt
import json

from generator import pipeline, render, score
from generator.cli import main


TODAY = dt.date(2026, 1, 1)

SOURCE = """\
id: talk-2024
name: A talk
title: A talk on risks
summary: A recorded talk.
kind: {kind}
"""
RISK = """\
id: drift
name: Drift
summary: Goals drift.
description: |
  First paragraph of how it comes about.

  Second paragraph, with more detail.
evidence: Seen in tests.
severity: {severity}
likelihood: {{level: {level}, status: emerging, confidence: low}}
"""


def _problems(root):
    return [(d.file.split("/content/")[-1], d.line, d.code, d.field, d.message, d.hint)
            for d in pipeline.check(root).diagnostics]


def test_the_default_vocabulary_has_the_kinds_real_bases_need(write_records):
    root = write_records({"sources/talk-2024.yaml": SOURCE.format(kind="podcast"),
                          "risks/drift.yaml": RISK.format(severity="catastrophic", level="likely")})
    assert _problems(root) == []


def test_an_extended_vocabulary_lets_records_use_the_new_value(write_records):
    files = {"sources/talk-2024.yaml": SOURCE.format(kind="court-filing")}
    (problem,) = _problems(write_records(files))
    assert problem[2:4] == ("choice", "kind")
    assert "add it under 'source_kinds:' in the content folder's vocabulary.yaml" in problem[5]
    root = write_records({"vocabulary.yaml": "source_kinds: [paper, court-filing]\n"})
    assert _problems(root) == []


def test_a_typo_against_the_vocabulary_gets_a_did_you_mean(write_records):
    root = write_records({"risks/drift.yaml": RISK.format(severity="catastrophc", level="likely")})
    (problem,) = _problems(root)
    assert problem[:4] == ("risks/drift.yaml", 9, "choice", "severity")
    assert problem[5].startswith("did you mean 'catastrophic'?")


def test_a_relation_type_declared_in_the_vocabulary_reads_with_its_inverse(write_records):
    root = write_records({
        "vocabulary.yaml": "relation_types:\n  inspires: inspired by\n",
        "sources/talk-2024.yaml": SOURCE.format(kind="talk"),
        "risks/drift.yaml": RISK.format(severity="high", level="likely")
        + "relations: [{type: inspires, target: talk-2024}]\n"})
    checked = pipeline.check(root)
    assert checked.ok, checked.diagnostics
    (edge,) = checked.graph.backlinks("talk-2024")
    assert (edge.label, edge.inverse) == ("inspires", "inspired by")


def test_a_mistake_in_the_vocabulary_is_one_error_not_one_per_record(write_records):
    root = write_records({
        "vocabulary.yaml": "source_kinds: [paper, Court Filing]\nentity_types: [risk, risk]\n",
        "sources/talk-2024.yaml": SOURCE.format(kind="court-filing")})
    problems = _problems(root)
    assert [(p[0], p[1], p[3]) for p in problems] == [("vocabulary.yaml", 1, "source_kinds[1]"),
                                                       ("vocabulary.yaml", 2, "entity_types[1]")]
    assert "listed twice" in problems[1][4]


def test_unknown_is_not_a_value_to_declare(write_records):
    root = write_records({"vocabulary.yaml": "scales:\n  severity: [low, unknown, high]\n"})
    (problem,) = _problems(root)
    assert problem[:2] == ("vocabulary.yaml", 2) and "is reserved" in problem[4]


def test_the_schemas_follow_the_vocabulary(write_records, tmp_path):
    root = write_records({"vocabulary.yaml": "source_kinds: [paper, court-filing]\n"})
    assert main(["schema", "--content", str(root), "--out", str(tmp_path / "schemas")]) == 0
    sources = json.loads((tmp_path / "schemas" / "sources.schema.json").read_text())
    assert sources["properties"]["kind"]["enum"] == ["paper", "court-filing"]
    risks = json.loads((tmp_path / "schemas" / "risks.schema.json").read_text())
    assert risks["properties"]["severity"]["enum"][-2:] == ["existential", "unknown"]
    assert (tmp_path / "schemas" / "vocabulary.schema.json").exists()


def test_kb_new_lists_the_bases_values(write_records, capsys):
    root = write_records({"vocabulary.yaml": "source_kinds: [paper, court-filing]\n"})
    assert main(["new", "sources", "A filing", "--content", str(root)]) == 0
    assert "One of: paper, court-filing." in (root / "sources" / "a-filing.yaml").read_text()
    (root / "vocabulary.yaml").write_text("source_kinds: [paper, paper]\n")
    assert main(["new", "sources", "Another", "--content", str(root)]) == 0  # started all the same
    err = capsys.readouterr().err
    assert "listed twice" in err and "default values where the vocabulary has errors" in err


def test_a_word_holds_a_letter_and_an_inverse_is_one_line(write_records):
    root = write_records({"vocabulary.yaml": 'source_kinds: [paper, 2024]\n'
                                             'relation_types: {haunts: "line one\\u2028line two"}\n'})
    problems = _problems(root)
    assert [(p[1], p[3]) for p in problems] == [(1, "source_kinds[1]"), (2, "relation_types.haunts")]
    assert "at least one letter" in problems[0][4] and "one line of visible text" in problems[1][4]


def test_unknown_where_no_judgment_is_made_says_to_leave_it_out(write_records):
    root = write_records({"sources/talk-2024.yaml": SOURCE.format(kind="unknown")
                          + "relations: [{type: related-to, target: talk-2024, strength: unknown}]\n"})
    messages = {p[3]: (p[4], p[5]) for p in _problems(root) if p[2] == "choice"}
    assert messages["kind"] == ("'unknown' is not allowed for kind: only a judgment (severity, effectiveness, "
                                "likelihood, safety relevance) may be unknown", "write the value that fits best")
    assert messages["relations[0].strength"][1] == "leave strength out if it is not known"


def test_a_vocabulary_of_comments_keeps_every_default(write_records):
    root = write_records({"vocabulary.yaml": "# nothing changed yet\n",
                          "sources/talk-2024.yaml": SOURCE.format(kind="talk")})
    assert _problems(root) == []


def test_a_linked_vocabulary_is_one_error(write_records, tmp_path):
    root = write_records({"sources/talk-2024.yaml": SOURCE.format(kind="talk")})
    (tmp_path / "elsewhere.yaml").write_text("source_kinds: [talk]\n")
    (root / "vocabulary.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    (problem,) = _problems(root)
    assert problem[0] == "vocabulary.yaml" and "symbolic link" in problem[4]


def test_unknown_judgments_show_as_such_and_count_as_missing(write_records):
    root = write_records({"risks/drift.yaml": RISK.format(severity="unknown", level="unknown")})
    checked = pipeline.check(root)
    assert checked.ok, checked.diagnostics
    scores = score.score(checked.graph, TODAY)
    assert {"severity", "likelihood"} <= set(scores["drift"].missing_fields)
    page = render.render(checked.graph, scores, TODAY).pages["risks/drift.md"].markdown
    assert "<td>Unknown</td>" in page
    assert "missing Severity" in page or "Severity" in page.split("Completeness: missing")[1].split("·")[0]


def test_a_page_of_unknowns_never_scores_comprehensive(write_records):
    known = RISK.format(severity="high", level="likely") + "tags: [t]\nsources: [s]\nimportance: 50\n" \
        "last_edited: 2025-12\ntopics: [t]\n"
    base = {"sources/s.yaml": SOURCE.format(kind="paper").replace("talk-2024", "s"),
            "topics/t.md": "---\nid: t\ntitle: T\nsummary: A topic.\n---\nText about [[drift]].\n"}
    checked = pipeline.check(write_records({**base, "risks/drift.yaml": known}))
    assert checked.ok, checked.diagnostics
    assert score.score(checked.graph, TODAY)["drift"].bands["quality"] == "Comprehensive"
    unknown = known.replace("severity: high", "severity: unknown")
    checked = pipeline.check(write_records({**base, "risks/drift.yaml": unknown}))
    assert score.score(checked.graph, TODAY)["drift"].bands["quality"] != "Comprehensive"


def test_long_fields_are_sections_of_the_page_not_infobox_cells(write_records):
    checked = pipeline.check(write_records({"risks/drift.yaml": RISK.format(severity="high", level="likely")}))
    scores = score.score(checked.graph, TODAY)
    page = render.render(checked.graph, scores, TODAY).pages["risks/drift.md"].markdown
    assert "## Description\n\n<p>First paragraph of how it comes about.</p>\n\n<p>Second paragraph" in page
    infobox = page.split('<aside class="kb-infobox"')[1].split("</aside>")[0]
    assert "First paragraph" not in infobox
    assert "Likely (emerging; confidence: low)" in infobox


def test_ratings_take_one_decimal_and_last_edited_a_month(write_records):
    risk = RISK.format(severity="high", level="likely") + "importance: 78.5\nlast_edited: 2025-03\n"
    checked = pipeline.check(write_records({"risks/drift.yaml": risk}))
    assert checked.ok, checked.diagnostics
    scores = score.score(checked.graph, dt.date(2026, 3, 30))
    assert not scores["drift"].stale  # March 2025 may mean its last day: not yet a year
    page = render.render(checked.graph, scores, TODAY).pages["risks/drift.md"].markdown
    assert "Importance: <strong>78.5</strong>" in page
    assert '<time class="kb-age" datetime="2025-03">2025-03</time>' in page
    (problem,) = _problems(write_records({"risks/drift.yaml": risk.replace("78.5", "78.25")}))
    assert problem[2:4] == ("invalid", "importance") and "at most one decimal" in problem[4]


EXPERT = """\
id: ada
name: Ada
summary: A researcher.
sources: [s]
positions:
  - topic: t
    claim: Takeoff is likely within a decade.
    estimate: {value: 10, unit: "%"}
    confidence: high
"""


def test_an_estimate_without_a_source_is_allowed_and_flagged_uncited(write_records):
    root = write_records({"experts/ada.yaml": EXPERT, "sources/s.yaml": SOURCE.format(kind="paper").replace(
        "talk-2024", "s"), "topics/t.md": "---\nid: t\ntitle: T\nsummary: A topic.\n---\nText.\n"})
    checked = pipeline.check(root)
    assert checked.ok, checked.diagnostics
    scores = score.score(checked.graph, TODAY)
    ada = scores["ada"]
    assert ada.uncited_estimates == 1 and "uncited estimate" in ada.flags
    assert ada.cited_figures < ada.figures  # the record's own sources do not source what Ada estimated
    pages = render.render(checked.graph, scores, TODAY).pages
    assert "(estimate: 10%, uncited; confidence: High)" in pages["experts/ada.md"].markdown
    assert "Uncited estimates: 1" in pages["experts/ada.md"].markdown
    dashboard = pages["quality.md"].markdown
    assert "Estimates stated without a source" in dashboard and "Ada</a> (1)" in dashboard


def test_a_quotation_still_needs_its_source(write_records):
    expert = EXPERT.replace("claim: Takeoff is likely within a decade.", 'quote: "Soon."')
    root = write_records({"experts/ada.yaml": expert})
    assert any("a quotation needs a 'source'" in p[4] for p in _problems(root))


def test_a_new_base_starts_with_the_default_vocabulary_as_a_file_to_extend(tmp_path):
    assert main(["init", str(tmp_path / "base")]) == 0
    text = (tmp_path / "base" / "content" / "vocabulary.yaml").read_text()
    assert "  catastrophic" not in text and "catastrophic" in text  # a flow list, one line per list
    checked = pipeline.check(tmp_path / "base" / "content")
    assert checked.ok, checked.diagnostics
    assert checked.vocabulary.values("source_kinds")[-1] == "reference-work"


def test_kb_validate_takes_the_vocabulary_file_as_pre_commit_passes_it(write_records, capsys):
    root = write_records({"vocabulary.yaml": "source_kinds: [paper, talk]\n",
                          "sources/talk-2024.yaml": SOURCE.format(kind="talk")})
    assert main(["validate", str(root / "vocabulary.yaml")]) == 0
    (root / "vocabulary.yaml").write_text("source_kinds: [paper]\n")  # the talk is no longer a kind
    assert main(["validate", str(root / "vocabulary.yaml")]) == 1
    assert "'talk' is not an allowed kind" in capsys.readouterr().out
