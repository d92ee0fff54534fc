"""The quality dashboard and the status header say what a page lacks, from the graph."""
import datetime as dt

from generator import emitters, pipeline, present, render, score

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
    assessments = score.score(checked.graph, TODAY)
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
    thin_row = next(line for line in page.splitlines() if "<tr><td>" in line and ">Thin topic</a>" in line)
    # score 3/15 (one internal link, no bullets): quality 20, Draft; Adequate (40) needs 6 points
    assert "<td>3/15</td><td>20* (Draft)</td>" in thin_row
    assert "<td>Adequate: add an Overview section; add 1 diagram; add 1 external link</td>" in thin_row
    drift_row = next(line for line in page.splitlines() if "<tr><td>" in line and ">Drift</a>" in line)
    assert drift_row.endswith("<td>quality differs, overdue, stale</td></tr>")
    overdue = page.split("## Past their review date", 1)[1].split("##", 1)[0]
    assert ">Drift</a>" in overdue and "2025-12-01" in overdue
    assert ">Lonely 2020</a>" in page.split("## Sources nobody cites", 1)[1].split("##", 1)[0]
    assert ">Lonely 2020</a>" in page.split("## Orphans", 1)[1].split("##", 1)[0]


def test_long_lists_are_split_into_pages_and_capped(monkeypatch, write_records):
    """No page grows with the base: tables go to pages of PAGE_ROWS rows, lists stop at LIST_CAP."""
    monkeypatch.setattr(present, "PAGE_ROWS", 2)
    monkeypatch.setattr(present, "LIST_CAP", 1)
    _, rendered = _render(write_records)
    pages = rendered.pages
    # 4 records: quality.md and quality/2.md, each with 2 rows and a pager naming both
    assert [p for p in pages if p.startswith("quality")] == ["quality.md", "quality/2.md"]
    first, second = pages["quality.md"].markdown, pages["quality/2.md"].markdown
    for markdown in (first, second):
        assert markdown.count("<tr><td><a ") == 2
        assert "Page " in markdown and "(4 in all)" in markdown
    assert '<a href="quality/2.html">3–4</a>' in first and '<strong aria-current="page">1–2</strong>' in first
    assert '<a href="../quality.html">1–2</a>' in second
    # the flagged lists stay on the first page, cut at LIST_CAP with the count of the rest
    orphans = first.split("## Orphans", 1)[1].split("##", 1)[0]
    assert "… and 1 more (the Flags column marks every one)" in orphans
    assert "## Orphans" not in second
    # the index of sources: 2 records fit one page; links from a second page climb out of its folder
    assert "sources/index/2.md" not in pages and "risks/index.md" in pages
    monkeypatch.setattr(present, "PAGE_ROWS", 1)
    pages = _render(write_records)[1].pages
    assert '<a href="../../sources/lonely.html">' in pages["sources/index/2.md"].markdown


def test_editorial_quality_far_from_the_suggestion_is_flagged(write_records):
    _, rendered = _render(write_records)
    risk = rendered.pages["risks/drift.md"].markdown
    assert "Quality: <strong>10</strong> (Stub)" in risk
    assert "differs from the suggested" in risk
    topic = rendered.pages["topics/thin.md"].markdown
    assert "suggested" in topic and "Score: <strong>" in topic


def test_what_links_here_is_capped_and_the_rest_has_a_page(monkeypatch, write_records):
    """A record many records link to lists BACKLINKS_SHOWN of each kind; its own page lists all."""
    files = dict(FILES)
    for n in range(5):
        files[f"sources/cites-{n}.yaml"] = f"""
            id: cites-{n}
            name: Citing {n}
            title: Cites the risk
            kind: paper
            summary: A source that names the risk.
            relations: [{{type: related-to, target: drift}}]
        """
    monkeypatch.setattr(emitters.record, "BACKLINKS_SHOWN", 2)
    monkeypatch.setattr(present, "PAGE_ROWS", 4)
    checked = pipeline.check(write_records(files))
    assert checked.ok, checked.diagnostics
    pages = render.render(checked.graph, score.score(checked.graph, TODAY), TODAY).pages
    risk = pages["risks/drift.md"].markdown
    sources = risk.split("<p><strong>Sources</strong></p>", 1)[1].split("</ul>", 1)[0]
    assert sources.count("<li>") == 2
    assert '… and 3 more: <a href="../links/risks/drift.html">every record that links here</a>' in risk
    assert "Backlinks: 6" in risk  # the header counts them all: 5 sources and the topic
    listed = pages["links/risks/drift.md"].markdown + pages["links/risks/drift/2.md"].markdown
    for n in range(5):
        assert f'<a href="../../sources/cites-{n}.html">Citing {n}</a>' in listed or \
            f'<a href="../../../sources/cites-{n}.html">Citing {n}</a>' in listed
    assert ">Thin topic</a>" in listed and "links/topics/thin.md" not in pages
