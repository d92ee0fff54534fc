"""Stage 7, export: the whole base as data files for people who want the records, not the pages.

``export(graph, out, formats)`` writes any of the formats of ``FORMATS`` into ``out``
(``site/data`` by default) and returns the paths written. Every file is written to a temporary
name beside its destination and renamed into place, so a reader never sees half a file; a text
file that already holds the same bytes is left as it is (``files.py``).

Records are ordered by id everywhere. Each record also carries ``page_url``, its page on the
site relative to the site root (``risks/goal-drift.html``). The key is ``page_url`` and not
``url`` because systems, experts and sources already have a ``url`` field of their own (the
record's web address); the export keeps that field as it is. Edges are those of the link stage;
the same edge stated twice (a record mentioning a page twice in its prose) is exported once.
What every format shares (records and edges in order, the columns of a kind) is ``view.py``.

One module per format, each with a ``write(view, out) -> list[Path]`` and its own contract in
its docstring, listed once in ``FORMATS``; adding a format is adding a module and a line there:

json
    ``json.py``: ``<kind>.json``, ``<kind>/<id>.json`` and ``all.json``.
csv
    ``csv.py``: ``<kind>.csv``, defused against spreadsheet formulas.
sqlite
    ``sqlite.py``: ``knowledge.sqlite`` and the Datasette ``metadata.json`` beside it.

Beside them, ``schema.json`` (``schema.py``): the JSON Schema of every file above.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from ..link import Graph
from . import csv, json, schema, sqlite
from .files import write_text
from .view import Column, View, columns_of

__all__ = ["FORMATS", "Column", "View", "columns_of", "export"]

FORMATS: dict[str, Callable[[View, Path], list[Path]]] = {
    "json": json.write,
    "csv": csv.write,
    "sqlite": sqlite.write,
}


def export(graph: Graph, out: Path, formats: Iterable[str], kept: dict | None = None) -> list[Path]:
    """Write the requested formats (names of ``FORMATS``) into ``out``, in the table's order.
    ``kept`` (kb serve: a dict kept between exports into the same ``out``) lets a format keep
    what it made, to make again only what changed."""
    wanted = list(dict.fromkeys(formats))
    unknown = [name for name in wanted if name not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    view = View(graph, kept)
    written: list[Path] = []
    for name, write in FORMATS.items():
        if name in wanted:
            written += write(view, out)
    if written:  # what each file holds
        written.append(write_text(out / schema.FILE, schema.render(graph.vocabulary)))
    return written
