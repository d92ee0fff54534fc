"""What every export format reads: the graph in id order, and each kind's fields as columns.

The columns come from ``kinds.fields_of``, so a field's description, its choices and what it
names are read where the models declare them; no format lists a field.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..kinds import KINDS, FieldSpec, Kind, fields_of, unwrap
from ..link import Edge, Graph
from ..models import RefTo
from ..vocabulary import DEFAULT, Vocabulary

PAGE_URL = "page_url"
BODY = "body"  # a record written as <id>.md: its article as the editor wrote it (None for YAML)
ADDED_KEYS = (PAGE_URL, "backlinks", "references", BODY)  # keys the JSON export adds to each record


def page_url(kind: str, record_id: str) -> str:
    return f"{kind}/{record_id}.html"


class View:
    """The graph as the exports see it: kinds in registry order, records and edges in id order."""

    def __init__(self, graph: Graph, kept: dict | None = None):
        self.graph = graph
        self.kept = kept  # format -> what it made in the last export into the same folder (kb serve)
        for kind in KINDS.values():
            clash = set(ADDED_KEYS) & set(kind.model.model_fields)
            if clash:  # a model field would be overwritten: rename the added key
                raise ValueError(f"{kind.folder} has a field named {', '.join(sorted(clash))}")
        self.kinds: dict[str, list] = {
            kind: sorted(graph.by_kind(kind), key=lambda entry: entry.id) for kind in KINDS
        }
        # kb serve: each record's dump is kept with its entry, and made again only for an entry
        # validate made anew (the same Entry: the same record)
        before = kept.get("dumps", {}) if kept is not None else {}
        self.dumps = {}
        for entries in self.kinds.values():
            for entry in entries:
                was = before.get(entry.id)
                self.dumps[entry.id] = was[1] if was is not None and was[0] is entry else \
                    entry.record.model_dump(mode="json")
        if kept is not None:
            kept["dumps"] = {entry.id: (entry, self.dumps[entry.id])
                             for entries in self.kinds.values() for entry in entries}
        self._kinds = {record_id: entry.kind for record_id, entry in graph.entries.items()}  # for every edge
        self.edges: list[Edge] = []
        for record_id in sorted(graph.entries):
            self.edges += list(dict.fromkeys(graph.outgoing.get(record_id, ())))

    def record_inputs(self, entry) -> tuple:
        """What ``json_record`` reads of a record: its entry, its edges both ways, and the kinds of
        the records at their other ends (compared by the JSON export between exports, the entry
        by identity)."""
        outgoing = tuple(self.graph.outgoing.get(entry.id, ()))
        incoming = tuple(self.graph.incoming.get(entry.id, ()))
        kinds = self._kinds
        return (entry, outgoing, incoming, tuple(kinds[e.target] for e in outgoing),
                tuple(kinds[e.source] for e in incoming))

    @property
    def kinds_of_records(self) -> dict[str, str]:
        """Record id -> kind, for every record."""
        return self._kinds

    def kind_of(self, record_id: str) -> str:
        return self._kinds[record_id]

    def json_record(self, entry) -> dict[str, Any]:
        record = dict(self.dumps[entry.id])
        record[PAGE_URL] = page_url(entry.kind, entry.id)
        kinds = self._kinds
        backlinks = sorted(self.graph.backlinks(entry.id), key=lambda e: (e.source, e.inverse))
        record["backlinks"] = [{"source": e.source, "kind": kinds[e.source], "label": e.inverse}
                               for e in backlinks]
        record["references"] = [
            {"target": e.target, "kind": kinds[e.target], "label": e.label, "field": e.path}
            for e in dict.fromkeys(self.graph.outgoing.get(entry.id, ()))
        ]
        record[BODY] = entry.document.body
        return record

    def edge_record(self, edge: Edge) -> dict[str, str]:
        kinds = self._kinds
        return {"source": edge.source, "source_kind": kinds[edge.source],
                "target": edge.target, "target_kind": kinds[edge.target],
                "label": edge.label, "inverse": edge.inverse, "field": edge.path, "via": edge.origin}


@dataclass(frozen=True)
class Column:
    """How one top-level field of a model is stored in a table and a CSV cell."""

    name: str
    sql_type: str  # TEXT, INTEGER or REAL
    shape: str  # "scalar", "list" (of plain values) or "json" (objects, mappings, lists of objects)
    nullable: bool
    ref: RefTo | None  # a field naming one record
    choices: tuple = ()  # the values of a Literal
    bounds: tuple = (None, None)  # ge, le
    description: str = ""


def columns_of(kind: Kind, vocabulary: Vocabulary = DEFAULT) -> list[Column]:
    """The model's fields as columns: ``id``, then ``name`` and ``title``, then the rest in model
    order; a choice's values are those of the base's ``vocabulary``."""
    first = ("id", "name", "title")
    specs = fields_of(kind.model)
    ordered = [s for name in first for s in specs if s.name == name] + [s for s in specs if s.name not in first]
    return [_column(spec, spec.values(vocabulary)) for spec in ordered]


def _column(spec: FieldSpec, choices: tuple) -> Column:
    bare, metadata, nullable = unwrap(spec.info.annotation)
    metadata = list(spec.info.metadata) + metadata
    origin = typing.get_origin(bare)
    description = _described(spec, choices)
    if origin in (list, tuple, set, frozenset):
        item, _, _ = unwrap(typing.get_args(bare)[0])
        plain = item in (str, int, float, bool) or typing.get_origin(item) is Literal
        return Column(spec.name, "TEXT", "list" if plain else "json", nullable, None, description=description)
    if origin is dict or (isinstance(bare, type) and issubclass(bare, BaseModel)):
        return Column(spec.name, "TEXT", "json", nullable, None, description=description)
    if choices:
        bare = type(choices[0])
    sql_type = {bool: "INTEGER", int: "INTEGER", float: "REAL"}.get(bare, "TEXT")
    ge = le = None
    for item in _flat_metadata(metadata):
        ge = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else ge
        le = getattr(item, "le", None) if getattr(item, "le", None) is not None else le
    return Column(spec.name, sql_type, "scalar", nullable, spec.ref, choices, (ge, le), description)


def _flat_metadata(metadata: list) -> Iterable:
    for item in metadata:
        yield item
        if isinstance(item, FieldInfo):
            yield from _flat_metadata(item.metadata)


def _described(spec: FieldSpec, choices: tuple) -> str:
    """The field's description, then its values when they are a fixed set (a scale in its order)."""
    if not choices:
        return spec.description
    values = ", ".join(map(str, choices))
    return f"{spec.description} One of{', lowest first' if spec.show == 'scale' else ''}: {values}."
