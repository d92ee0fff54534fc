"""The quality dashboard and the status header say what a page lacks, from the graph."""
import datetime as dt

from generator import pipeline, render, score

TODAY = dt.date(2026, 1, 7)

FILES = {
    "sources/cited.yaml": """
        id: cited
        name: Cited 2024
        title: A cited report
        kind: report
        summary: Cited by the risk.
    """,
    "sources/lonely.yaml": """
        id: lonely
        name: Lonely 2020
        title: Nobody cites this
        kind: paper
        summary: An orphan source.
    """,
    "risks/drift.yaml": """
        id: drift
        name: Drift
        summary: Goals drift in 12% of runs.
        description: Objectives shift.
        evidence: Seen in 12-78% of tests.
        severity: high
        sources: [cited]
        quality: 10
        last_edited: 2024-06-01
        review_by: 2025-12-01
    """,
    "topics/thin.md": """
        ---
        id: thin
        title: Thin topic
        summary: Short.
        related: [drift]
        ---
        Only a line of prose about [[drift]].
    """,
}


def _render(write_records):
    checked = pipeline.check(write_records(FILES))
    assert checked.ok, checked.diagnostics
    assessments = score.assess(checked.graph, TODAY)
    return assessments, render.render(checked.graph, assessments, TODAY)


def test_assessments_find_orphans_overdue_stale_and_uncited(write_records):
    assessments, _ = _render(write_records)
    assert assessments["lonely"].uncited_source and not assessments["cited"].uncited_source
    assert assessments["drift"].past_review and assessments["drift"].stale
    assert assessments["lonely"].backlinks == 0 and assessments["drift"].backlinks == 1
    assert (assessments["drift"].figures, assessments["drift"].cited_figures) == (2, 2)


def test_dashboard_lists_what_each_page_lacks(write_records):
    _, rendered = _render(write_records)
    page = rendered.pages["quality.md"].markdown
    thin_row = next(line for line in page.splitlines() if "[Thin topic]" in line)
    # score 3/15 (one internal link, no bullets): quality 20, Draft; Adequate (40) needs 6 points
    assert "| 3/15 | 20\\* (Draft) |" in thin_row or "| 3/15 | 20* (Draft) |" in thin_row
    assert thin_row.endswith("| Adequate: add an Overview section; add 1 diagram; add 1 external link |")
    overdue = page.split("## Past their review date", 1)[1].split("##", 1)[0]
    assert "[Drift]" in overdue and "2025-12-01" in overdue
    assert "[Lonely 2020]" in page.split("## Sources nobody cites", 1)[1]
    assert "[Lonely 2020]" in page.split("## Orphans", 1)[1].split("##", 1)[0]


def test_editorial_quality_far_from_the_suggestion_is_flagged(write_records):
    _, rendered = _render(write_records)
    risk = rendered.pages["risks/drift.md"].markdown
    assert "Quality: **10** (Stub)" in risk
    assert "differs from the suggested" in risk
    topic = rendered.pages["topics/thin.md"].markdown
    assert "suggested" in topic and "Score: **" in topic
