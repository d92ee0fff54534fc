"""<kind>/index.md: the sortable list of a kind's records, by name, in pages of PAGE_ROWS; its
columns are the kind's (``Kind.columns``), each cell shown as its field declares."""
from __future__ import annotations

from typing import Any

from ..core import Entry
from ..kinds import KINDS, FieldSpec, field_of
from ..models import choice_text
from ..present import Base, Chunk, Page, chunks, h, is_empty, sort_key, template, url, value_html


def parts(base: Base) -> list[Chunk]:
    """A part per page of each kind's list (``<kind>/index.md``, then ``<kind>/index/2.md``...):
    an edit makes again the pages that list its record."""
    return [chunk for folder in KINDS for chunk in chunks(f"{folder}/index.md", base.by_name(folder))]


def part_pages(base: Base, chunk: Chunk) -> list[Page]:
    folder = chunk.path.split("/", 1)[0]
    kind = KINDS[folder]
    specs = [field_of(kind.model, column) for column in kind.columns]
    columns = ["Name"] + [spec.label for spec in specs]
    page, listed = chunk.path, [base.graph.entries[record_id] for record_id in chunk.ids]
    rows = []
    for entry in listed:
        cells = [(h(entry.name.lower()), base.links.a(page, entry.id))]
        cells += [cell(base, entry, spec, page) for spec in specs]
        rows.append({"tags": " ".join(entry.record.tags), "cells": cells})
    root = url(page, "index.md")[:-len("index.html")]
    return [Page(page, template("index.md.j2").render(
        kind=kind, columns=columns, rows=rows, tags=sorted({t for e in listed for t in e.record.tags}),
        count=chunk.total, pager=chunk.pager,
        data_json=f"{root}data/{folder}.json", data_csv=f"{root}data/{folder}.csv",
        schema=f"{root}schemas/{folder}.schema.json"))]


def cell(base: Base, entry: Entry, spec: FieldSpec, page: str) -> tuple[str, str]:
    """(sort key, HTML) of one cell. A rating shows the score's value (the editor's, else the
    suggested one, marked *); scales sort by their order, numbers by value, names and text as text."""
    score = base.scores[entry.id]
    if spec.show == "rating" and spec.name in score.ratings:
        rating, suggested = score.ratings[spec.name]
        return f"{rating:05.1f}", f"{rating:g}{'*' if suggested else ''}"
    value: Any = getattr(entry.record, spec.name)
    if is_empty(value):
        return "", ""
    shown = value_html(base.links, page, spec, value)
    if spec.show == "link":
        ids = value if isinstance(value, (list, tuple)) else [value]
        names = [base.graph.entries[i].name if i in base.graph.entries else i for i in ids]
        return h(", ".join(names).lower()), shown
    key = sort_key(spec, value, base.graph.vocabulary)
    if key or spec.show == "figure":  # a figure given as text sorts first
        return key, shown
    if spec.show == "choice":
        plain = choice_text(value)
    elif isinstance(value, (list, tuple)):
        plain = ", ".join(map(str, value))
    else:
        plain = str(value)
    return h(plain.lower()), shown
