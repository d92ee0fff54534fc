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
    topics = rendered.pages["quality/topics.md"].markdown
    thin_row = next(line for line in topics.splitlines() if "<tr><td>" in line and ">Thin topic</a>" in line)
    # score 3/15 (one internal link, no bullets): quality 20, Draft; Adequate (40) needs 6 points
    assert "<td>3/15</td><td>20* (Draft)</td>" in thin_row
    assert "<td>Adequate: add an Overview section; add 1 diagram; add 1 external link</td>" in thin_row
    risks = rendered.pages["quality/risks.md"].markdown
    drift_row = next(line for line in risks.splitlines() if "<tr><td>" in line and ">Drift</a>" in line)
    assert drift_row.endswith("<td>quality differs, overdue, stale</td></tr>")
    assert '<a href="../quality.html">The quality dashboard</a>' in risks
    # the first page: a row per kind, linking to its list, with how many of its pages carry a flag
    assert '<tr><td><a href="quality/risks.html">Risk mechanisms</a></td><td>1</td><td>1</td></tr>' in page
    assert '<tr><td><a href="quality/sources.html">Sources</a></td><td>2</td><td>1</td></tr>' in page
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
    # 3 sources (a third below): quality/sources.md and quality/sources/2.md, a pager naming both
    files = dict(FILES, **{"sources/third.yaml": FILES["sources/lonely.yaml"].replace("lonely", "third")})
    more = _render(lambda _: write_records(files))[1].pages
    kinds = [p for p in more if p.startswith("quality")]
    assert kinds[0] == "quality.md" and "quality/sources.md" in kinds and "quality/sources/2.md" in kinds
    assert "quality/risks/2.md" not in kinds
    first, second = more["quality/sources.md"].markdown, more["quality/sources/2.md"].markdown
    assert first.count("<tr><td><a ") == 2 and second.count("<tr><td><a ") == 1
    for markdown in (first, second):
        assert "Page " in markdown and "(3 in all)" in markdown
    assert '<a href="../quality/sources/2.html">3–3</a>' in first and '<strong aria-current="page">1–2</strong>' in first
    assert '<a href="../../quality/sources.html">1–2</a>' in second and '<a href="../../quality.html">' in second
    # the flagged lists are on the first page alone, cut at LIST_CAP with the count of the rest
    orphans = more["quality.md"].markdown.split("## Orphans", 1)[1].split("##", 1)[0]
    assert "… and 2 more (the Flags column of its kind's list marks every one)" in orphans
    assert "## Orphans" not in first
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
