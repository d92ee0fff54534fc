"""quality.md: for editors, the lists of flagged pages and the kinds; quality/<kind>.md: every page
of a kind with its score and what it lacks (from the score stage), by name, in pages of PAGE_ROWS."""
from __future__ import annotations

from ..kinds import KINDS
from ..present import LIST_CAP, Base, Chunk, Page, capped, chunks, front_matter_title, h, table, template, url
from ..score import MAX_SCORE, QUALITY_WARNING_GAP


LISTS = ("warnings", "overdue", "stale", "orphans", "uncited", "uncited_estimates")  # on the first page
FIRST = "quality.md"  # the lists of flagged pages and the kinds; each kind's pages under quality/


def parts(base: Base) -> list:
    """The first page, then a part per page of each kind's list (``quality/<kind>.md``, by name):
    an edit makes again the page that lists its record (and the first, which reads every score),
    and a new record moves the rows of its own kind's pages alone."""
    return [FIRST] + [chunk for folder in KINDS for chunk in chunks(f"quality/{folder}.md", base.by_name(folder))]


def part_pages(base: Base, part) -> list[Page]:
    if part == FIRST:
        return [_first(base)]
    return [_kind_page(base, part)]


def _first(base: Base) -> Page:
    graph, scores, page = base.graph, base.scores, FIRST
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in LISTS}  # list -> (id, what follows)
    flagged: dict[str, int] = dict.fromkeys(KINDS, 0)
    counts: dict[str, int] = dict.fromkeys(KINDS, 0)
    for entry in graph.entries.values():  # the lists in one walk of the base; links for those shown
        score = scores[entry.id]
        counts[entry.kind] += 1
        flagged[entry.kind] += bool(score.flags)
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
                          " (the Flags column of its kind's list marks every one)", len(items))
             for name, items in found.items()}
    kinds = table(["Kind", "Pages", "With a flag"],
                  [[f'<a href="{url(page, f"quality/{folder}.md")}">{h(kind.title)}</a>', str(counts[folder]),
                    str(flagged[folder])] for folder, kind in KINDS.items()])
    return Page(page, template("quality.md.j2").render(
        title=front_matter_title("Quality dashboard"), heading="Quality dashboard", table=kinds, lists=lists,
        today=base.today.isoformat(), gap=QUALITY_WARNING_GAP))


def _kind_page(base: Base, chunk: Chunk) -> Page:
    graph, scores, page = base.graph, base.scores, chunk.path
    kind = KINDS[page.split("/")[1].removesuffix(".md")]
    rows = []
    for record_id in chunk.ids:
        entry, score = graph.entries[record_id], scores[record_id]
        rows.append([
            base.links.a(page, record_id),
            f"{score.structure_score}/{MAX_SCORE}" if score.structure_score is not None
            else f"{score.completeness}% complete",
            f"{score.quality}{'*' if score.quality_is_suggested else ''} ({score.bands['quality']})"
            + (" ⚠" if score.warning else ""),
            h(f"{score.next_band}: " + "; ".join(score.lacks)) if score.next_band and score.lacks else "",
            h(", ".join(score.flags))])
    listed = table(["Page", "Score", "Quality", "To reach the next band", "Flags"], rows)
    return Page(page, template("quality.md.j2").render(
        title=front_matter_title(f"Quality: {kind.title}"), heading=h(f"Quality: {kind.title}"),
        singular=h(kind.singular), table=listed, lists=None, pager=chunk.pager, first=url(page, FIRST)))
