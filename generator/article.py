"""A record's article: its prose, converted and sanitized by ``prose``, with the tables and
diagrams it places (``[[table:name]]``, ``[[diagram:name]]``) in place, as the page's Markdown.

The score stage builds it (the structure score counts what the reader will see: tables,
diagrams, links, words) and hands it to render finished. Which tables a record can place, and
their columns, are declared on its model (``models.Table``, read through ``kinds.tables_of``).
"""
from __future__ import annotations

from pathlib import Path

from . import diagrams, images, prose
from .core import Directive, Entry
from .kinds import KINDS, fields_of, placed_of, positions_of, tables_of, value_at
from .link import Graph
from .present import Links, declared_table, h, href, page_path, reference_anchor, table, template, url, value_html


def build(graph: Graph, links: Links, entry: Entry) -> str:
    """The article of ``entry`` (which has prose) as Markdown: HTML blocks and heading lines.

    The prose is converted in one piece, the directives standing in it as markers, so that its
    footnotes are numbered and listed once, at the end of the article."""
    page = page_path(entry)
    cited = {source: number for number, source in enumerate(graph.cited(entry.id), start=1)}
    content = Path(entry.document.path).parents[1]
    folder = KINDS[entry.kind].folder

    def link_for(target: str, text: str | None) -> tuple[str, str] | None:
        # One line, as every name the page shows (a heading holding the link must stay one line).
        return links.target(page, target, text)

    def cite_for(target: str) -> tuple[str, int] | None:
        return (f"#{reference_anchor(target)}", cited[target]) if target in cited else None

    def image_for(src: str) -> str | None:
        path, _, _ = images.resolve(src, folder)
        if path is None or images.found(content, path) is not None:
            return None
        return href(page, path)

    parts = []
    for block in prose.to_page_parts(entry.prose.blocks, link_for, cite_for, image_for):
        if not isinstance(block, Directive):
            parts.append(block)
        elif block.what == "diagram":
            diagram = placed_of(entry.record, "diagram")[block.name][1]
            parts.append(template("diagram.md.j2").render(
                title=h(diagram.title) if diagram.title else "", block=diagrams.block(diagram.mermaid),
                caption=h(diagram.caption) if diagram.caption else ""))
        else:
            parts.append(template("table.md.j2").render(table=placed_table(graph, links, entry, block.name)))
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def placed_table(graph: Graph, links: Links, entry: Entry, name: str) -> dict:
    """The table a record places under ``name``: a declared one, or one of its own data tables."""
    page = page_path(entry)
    record = entry.record
    for table_name, path, spec in tables_of(type(record)):
        if table_name != name:
            continue
        value = value_at(record, path)
        columns = spec.table.columns
        if spec.table.positions:
            return _positions(graph, links, entry, value, columns)
        if spec.ref is not None:
            return declared_table(links, page, columns, [graph.entries[i].record for i in value], records=True)
        return declared_table(links, page, columns, value, records=False)
    data = placed_of(record, "table")[name][1]
    result = table([h(c) for c in data.columns], [[h(c or "") for c in row] for row in data.rows])
    result["caption"] = h(data.title)
    if data.source:
        result["source"] = links.a(page, data.source)
    return result


def _positions(graph: Graph, links: Links, entry: Entry, holders: list[str], columns) -> dict:
    """What the records named hold on this topic: one row per position, with who holds it and
    who they are (the fields their model marks ``role``)."""
    page = page_path(entry)
    rows = []
    for holder_id in holders:
        holder = graph.entries[holder_id].record
        role = ", ".join(text for text in (value_html(links, page, spec, getattr(holder, spec.name))
                                           for spec in fields_of(type(holder)) if spec.shown.role) if text)
        for field, on in positions_of(type(holder)):
            for position in getattr(holder, field):
                if getattr(position, on) == entry.id:
                    rows.append([links.a(page, holder_id), role, h(position.shown())])
    return table([h(c.heading) for c in columns], rows)
