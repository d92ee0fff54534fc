"""maps/*.md: the flowcharts declared in ``kinds.MAPS``, of the most important records of a kind."""
from __future__ import annotations

from .. import diagrams
from ..kinds import KINDS, MAPS, DiagramMap, field_of
from ..present import Base, Page, by_importance, capped, h, mermaid_label, page_path, template, url

# Maps draw at most this many records (the most important first): a flowchart of hundreds of
# nodes is unreadable, and Mermaid refuses one of more than 500 edges.
MAP_NODES = 40
MAP_ARROWS = 6  # arrows drawn into one record


def pages(base: Base) -> list[Page]:
    return [arrows_map(base, spec) if spec.arrows else links_map(base, spec) for spec in MAPS]


def class_defs() -> list[str]:
    lines = [f"  classDef {name} fill:{kind.colour},stroke:{kind.colour},color:#ffffff" for name, kind in KINDS.items()]
    lines.append("  classDef unaddressed fill:#ffffff,stroke:#c62828,stroke-width:3px,stroke-dasharray:6 3,color:#b71c1c")
    return lines


def _naming(base: Base, spec: DiagramMap, record_id: str) -> list[str]:
    """Records of the map's arrow kind whose arrow field names ``record_id`` (a typed relation
    saying the same is listed under What links here, not drawn)."""
    kind, field = spec.arrows
    return [e.source for e in base.graph.incoming.get(record_id, ())
            if e.field == field and base.graph.kind_of(e.source) == kind]


def arrows_map(base: Base, spec: DiagramMap) -> Page:
    page = spec.path
    graph = base.graph
    nodes: dict[str, str] = {}
    every = sorted(graph.by_kind(spec.nodes), key=by_importance)
    drawn = every[:MAP_NODES]
    for entry in sorted(drawn, key=lambda e: e.name.lower()):
        nodes[entry.id] = f"n{len(nodes)}"
    missing = [e.id for e in every if not _naming(base, spec, e.id)]
    label = mermaid_label(field_of(KINDS[spec.arrows[0]].model, spec.arrows[1]).ref.label)
    lines = ["flowchart LR"]
    for target_id in list(nodes):
        for source_id in list(dict.fromkeys(_naming(base, spec, target_id)))[:MAP_ARROWS]:
            nodes.setdefault(source_id, f"n{len(nodes)}")
            lines.append(f'  {nodes[source_id]} -->|"{label}"| {nodes[target_id]}')
    for record_id, node in nodes.items():
        entry = graph.entries[record_id]
        style = "unaddressed" if record_id in missing else entry.kind
        lines.insert(1, f'  {node}["{mermaid_label(entry.name)}"]:::{style}')
        lines.append(f'  click {node} "{h(url(page, page_path(entry)))}"')
    lines += class_defs()
    text = spec.some if len(drawn) < len(every) else spec.every
    intro = text.format(drawn=len(drawn), total=len(every), arrows=MAP_ARROWS)
    return Page(page, template("map.md.j2").render(
        title=spec.title, block=diagrams.block("\n".join(lines), linked=True), intro=intro + spec.missing_style,
        missing=h(spec.missing), missing_none=h(spec.missing_none),
        unaddressed=capped([base.links.a(page, i) for i in missing])))


def links_map(base: Base, spec: DiagramMap) -> Page:
    page = spec.path
    graph = base.graph
    every = graph.by_kind(spec.nodes)
    shown = sorted(sorted(every, key=by_importance)[:MAP_NODES], key=lambda e: e.name.lower())
    nodes = {e.id: f"n{i}" for i, e in enumerate(shown)}
    lines = ["flowchart LR"]
    for entry in shown:
        lines.append(f'  {nodes[entry.id]}["{mermaid_label(entry.name)}"]:::{entry.kind}')
    seen = set()
    for entry in shown:
        for edge in graph.outgoing.get(entry.id, ()):
            if edge.target in nodes and (entry.id, edge.target) not in seen and edge.target != entry.id:
                seen.add((entry.id, edge.target))
                lines.append(f'  {nodes[entry.id]} -->|"{mermaid_label(edge.label)}"| {nodes[edge.target]}')
    for entry in shown:
        lines.append(f'  click {nodes[entry.id]} "{h(url(page, page_path(entry)))}"')
    lines += class_defs()
    text = spec.every if len(shown) == len(every) else spec.some
    intro = text.format(drawn=len(shown), total=len(every), arrows=MAP_ARROWS)
    return Page(page, template("map.md.j2").render(
        title=spec.title, block=diagrams.block("\n".join(lines), linked=True), intro=intro,
        unaddressed=None, missing="", missing_none=""))
