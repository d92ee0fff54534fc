"""quality.md: for editors, every page with its score and what it lacks (from the score stage),
and the lists of flagged pages."""
from __future__ import annotations

from ..kinds import KINDS
from ..present import Base, Page, capped, h, paged, table, template, url
from ..score import MAX_SCORE, QUALITY_WARNING_GAP


def pages(base: Base) -> list[Page]:
    graph, scores = base.graph, base.scores
    rows = []
    for entry in sorted(graph.entries.values(), key=lambda e: (e.kind, e.name.lower())):
        score = scores[entry.id]
        rows.append((entry.id, [
            h(KINDS[entry.kind].singular),
            f"{score.structure_score}/{MAX_SCORE}" if score.structure_score is not None
            else f"{score.completeness}% complete",
            f"{score.quality}{'*' if score.quality_is_suggested else ''} ({score.bands['quality']})"
            + (" ⚠" if score.warning else ""),
            h(f"{score.next_band}: " + "; ".join(score.lacks)) if score.next_band and score.lacks else "",
            h(", ".join(score.flags))]))
    values = list(graph.entries.values())
    result = []
    for page, chunk, pager in paged("quality.md", rows):
        lists = None
        if page == "quality.md":
            note = " (the Flags column marks every one)"
            a = base.links.a
            lists = {
                "warnings": capped([a(page, e.id) for e in values if scores[e.id].warning], note),
                "overdue": capped([a(page, e.id) + f" (review by {e.record.review_by})" for e in values
                                   if scores[e.id].past_review], note),
                "stale": capped([a(page, e.id) + f" (last edited {e.record.last_edited})" for e in values
                                 if scores[e.id].stale], note),
                "orphans": capped([a(page, e.id) for e in values if not scores[e.id].backlinks], note),
                "uncited": capped([a(page, e.id) for e in values if scores[e.id].uncited_source], note),
                "uncited_estimates": capped([a(page, e.id) + f" ({scores[e.id].uncited_estimates})" for e in values
                                             if scores[e.id].uncited_estimates], note),
            }
        listed = table(["Page", "Kind", "Score", "Quality", "To reach the next band", "Flags"],
                       [[base.links.a(page, record_id), *cells] for record_id, cells in chunk])
        result.append(Page(page, template("quality.md.j2").render(
            table=listed, lists=lists, pager=pager, first=url(page, "quality.md"), today=base.today.isoformat(),
            gap=QUALITY_WARNING_GAP)))
    return result
