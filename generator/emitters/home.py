"""index.md: what the base is, its kinds with their counts, the most important records of its hub
kinds (the topics) and where to go next. It lists at most LIST_CAP records of a kind, so it does
not grow with the base (a search index's per-page limit, a reader's download)."""
from __future__ import annotations

from ..kinds import KINDS, MAPS
from ..present import LIST_CAP, Base, Page, by_importance, md, template


def pages(base: Base) -> list[Page]:
    page = "index.md"
    graph = base.graph
    kinds = [(kind, len(graph.by_kind(kind.folder))) for kind in KINDS.values()]
    hubs = []
    for kind in KINDS.values():
        if kind.hub:
            ranked = sorted(graph.by_kind(kind.folder), key=lambda e: (-(e.record.importance or 0), e.name))
            shown = [(base.links.markdown(page, e.id), md(e.record.summary)) for e in ranked[:LIST_CAP]]
            hubs.append((kind, shown, len(ranked) - len(shown)))
    maps = [(md(m.title), m.path, md(m.home)) for m in MAPS]
    schema = f"schemas/{next(iter(KINDS))}.schema.json"
    return [Page(page, template("home.md.j2").render(kinds=kinds, hubs=hubs, records=len(graph.entries),
                                                     maps=maps, schema=schema))]
