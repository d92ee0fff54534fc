"""<kind>/index.md: the sortable list of a kind's records, by name, in pages of PAGE_ROWS; its
columns are the kind's (``Kind.columns``), each cell shown as its field declares."""
from __future__ import annotations

from typing import Any

from ..core import Entry
from ..kinds import KINDS, FieldSpec, Kind, field_of
from ..models import choice_text
from ..present import Base, Page, h, is_empty, paged, sort_key, template, url, value_html


def parts(base: Base) -> list[str]:
    return list(KINDS)  # a part per kind: an edit changes the index of its own kind


def part_pages(base: Base, part: str) -> list[Page]:
    return kind_pages(base, KINDS[part])


def kind_pages(base: Base, kind: Kind) -> list[Page]:
    entries = sorted(base.graph.by_kind(kind.folder), key=lambda e: e.name.lower())
    specs = [field_of(kind.model, column) for column in kind.columns]
    columns = ["Name"] + [spec.label for spec in specs]
    result = []
    for page, chunk, pager in paged(f"{kind.folder}/index.md", entries):
        rows = []
        for entry in chunk:
            cells = [(h(entry.name.lower()), base.links.a(page, entry.id))]
            cells += [cell(base, entry, spec, page) for spec in specs]
            rows.append({"tags": " ".join(entry.record.tags), "cells": cells})
        root = url(page, "index.md")[:-len("index.html")]
        result.append(Page(page, template("index.md.j2").render(
            kind=kind, columns=columns, rows=rows, tags=sorted({t for e in chunk for t in e.record.tags}),
            count=len(entries), pager=pager,
            data_json=f"{root}data/{kind.folder}.json", data_csv=f"{root}data/{kind.folder}.csv",
            schema=f"{root}schemas/{kind.folder}.schema.json")))
    return result


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
