"""quality.md: for editors, every page with its score and what it lacks (from the score stage),
and the lists of flagged pages."""
from __future__ import annotations

from ..kinds import KINDS
from ..present import LIST_CAP, Base, Chunk, Page, capped, chunks, h, table, template, url
from ..score import MAX_SCORE, QUALITY_WARNING_GAP


LISTS = ("warnings", "overdue", "stale", "orphans", "uncited", "uncited_estimates")  # on the first page


def parts(base: Base) -> list[Chunk]:
    """A part per page of the list, by kind and name: an edit makes again the page that lists its
    record (and the first, whose lists read every score)."""
    ordered = sorted(base.graph.entries.values(), key=lambda e: (e.kind, e.name.lower()))
    return chunks("quality.md", [entry.id for entry in ordered])


def part_pages(base: Base, chunk: Chunk) -> list[Page]:
    graph, scores, page = base.graph, base.scores, chunk.path
    rows = []
    for record_id in chunk.ids:
        entry, score = graph.entries[record_id], scores[record_id]
        rows.append((entry.id, [
            h(KINDS[entry.kind].singular),
            f"{score.structure_score}/{MAX_SCORE}" if score.structure_score is not None
            else f"{score.completeness}% complete",
            f"{score.quality}{'*' if score.quality_is_suggested else ''} ({score.bands['quality']})"
            + (" ⚠" if score.warning else ""),
            h(f"{score.next_band}: " + "; ".join(score.lacks)) if score.next_band and score.lacks else "",
            h(", ".join(score.flags))]))
    lists = None
    if page == "quality.md":  # the lists of flagged pages, in one walk of the base; links for those shown
        found: dict[str, list[tuple[str, str]]] = {name: [] for name in LISTS}  # list -> (id, what follows)
        for entry in graph.entries.values():
            score = scores[entry.id]
            if score.warning:
                found["warnings"].append((entry.id, ""))
            if score.past_review:
                found["overdue"].append((entry.id, f" (review by {entry.record.review_by})"))
            if score.stale:
                found["stale"].append((entry.id, f" (last edited {entry.record.last_edited})"))
            if not score.backlinks:
                found["orphans"].append((entry.id, ""))
            if score.uncited_source:
                found["uncited"].append((entry.id, ""))
            if score.uncited_estimates:
                found["uncited_estimates"].append((entry.id, f" ({score.uncited_estimates})"))
        lists = {name: capped([base.links.a(page, record_id) + after for record_id, after in items[:LIST_CAP]],
                              " (the Flags column marks every one)", len(items))
                 for name, items in found.items()}
    listed = table(["Page", "Kind", "Score", "Quality", "To reach the next band", "Flags"],
                   [[base.links.a(page, record_id), *cells] for record_id, cells in rows])
    return [Page(page, template("quality.md.j2").render(
        table=listed, lists=lists, pager=chunk.pager, first=url(page, "quality.md"), today=base.today.isoformat(),
        gap=QUALITY_WARNING_GAP))]
