"""links/<kind>/<id>.md: every record that links to one whose own page shows only some of them."""
from __future__ import annotations

from ..core import Entry
from ..kinds import KINDS
from ..present import Base, Page, h, links_page, md, paged, table, template
from . import record


def pages(base: Base, entry: Entry) -> list[Page]:
    if base.scores[entry.id].backlinks <= record.BACKLINKS_SHOWN:  # then no kind can overflow
        return []
    groups = record.backlinks_by_kind(base, entry)
    if all(len(lines) <= record.BACKLINKS_SHOWN for lines in groups.values()):
        return []
    rows = [(source, kind, how) for kind, lines in groups.items() for source, how in lines]
    result = []
    for page, chunk, pager in paged(links_page(entry), rows):
        listed = table(["Record", "Kind", "How it links"],
                       [[base.links.a(page, source), h(KINDS[kind].singular), h(how)] for source, kind, how in chunk])
        result.append(Page(page, template("links.md.j2").render(
            title=md(entry.name), raw=entry.name, back=base.links.a(page, entry.id), count=len(rows),
            pager=pager, table=listed)))
    return result
