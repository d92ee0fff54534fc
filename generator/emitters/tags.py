"""tags.md lists every tag with its count; tags/<tag>.md the records that carry it."""
from __future__ import annotations

from ..kinds import KINDS
from ..present import Base, Page, h, paged, table, template, url


def pages(base: Base) -> list[Page]:
    graph = base.graph
    tags = sorted(graph.tags.items())
    result = [Page("tags.md", template("tags.md.j2").render(
        tags=[(base.links.tag("tags.md", tag), len(ids)) for tag, ids in tags], tag=None))]
    for tag, ids in tags:
        entries = sorted((graph.entries[i] for i in ids), key=lambda e: (e.name.lower(), e.id))
        for page, chunk, pager in paged(f"tags/{tag}.md", entries):
            rows = [[base.links.a(page, e.id), h(KINDS[e.kind].singular), h(e.record.summary)] for e in chunk]
            result.append(Page(page, template("tags.md.j2").render(
                tag=h(tag), count=len(entries), pager=pager, tags_index=url(page, "tags.md"),
                table=table(["Record", "Kind", "Summary"], rows))))
    return result
