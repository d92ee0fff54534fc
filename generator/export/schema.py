"""The JSON Schema of the export format: what every file of ``data/`` holds, so that a tool can
check what it reads (``data/schema.json``, and ``schemas/export.schema.json`` in the repository,
written by ``kb schema`` and held to the models by ``kb schema --check``).

One document, a 2020-12 schema whose root is ``all.json`` and whose ``$defs`` are:

* ``<kind>`` (``$id`` ``urn:kb-wiki:schema:export:<kind>``): one exported record, as in
  ``<kind>/<id>.json`` and in the list ``<kind>.json``: the kind's record schema
  (``schemas/<kind>.schema.json``) with the keys the export adds (``view.ADDED_KEYS``);
* ``<kind>.json``: the list of a kind's records; ``edge``: one of ``all.json``'s relations;
* ``csv:<kind>``: one row of ``<kind>.csv`` read with ``csv.DictReader`` (every cell text);
* ``sqlite:<table>``: one row of a table of ``knowledge.sqlite`` as a mapping of column to value.

A CSV cell or SQLite value that holds JSON (a list, a nested object) is a string with
``contentMediaType: application/json`` and a ``contentSchema`` naming the field's schema; JSON
Schema leaves those two unchecked, so ``tests/test_export.py`` parses such cells and checks them.
Everything here is worked out from the models and from ``view.columns_of``: no field is listed.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from ..kinds import KINDS
from ..link import ORIGINS
from ..schemas import JSON_SCHEMA_DIALECT, schema_for
from ..vocabulary import DEFAULT, Vocabulary
from .view import BODY, PAGE_URL, Column, columns_of

FILE = "schema.json"  # beside the exported files
ID = "urn:kb-wiki:schema:export"

_TEXT = {"type": "string"}
_BACKLINK = {"type": "object", "additionalProperties": False, "required": ["source", "kind", "label"],
             "description": "A record pointing at this one; the label read from this side (e.g. 'develops').",
             "properties": {"source": _TEXT, "kind": {"enum": list(KINDS)}, "label": _TEXT}}
_REFERENCE = {"type": "object", "additionalProperties": False, "required": ["target", "kind", "label", "field"],
              "description": "A record this one points at, the label read from this side (e.g. 'developed by') "
                             "and where it says so (e.g. 'developer', 'relations[0]', 'body').",
              "properties": {"target": _TEXT, "kind": {"enum": list(KINDS)}, "label": _TEXT, "field": _TEXT}}
_ADDED = {
    PAGE_URL: {"type": "string", "description": "The record's page, relative to the site root."},
    "backlinks": {"type": "array", "items": _BACKLINK},
    "references": {"type": "array", "items": _REFERENCE},
}
_BODY = {"type": ["string", "null"], "description": "The record's article: its Markdown as the editor wrote it "
         "(a record written as <id>.md), else null."}
EDGE = {"type": "object", "additionalProperties": False,
        "required": ["source", "source_kind", "target", "target_kind", "label", "inverse", "field", "via"],
        "properties": {"source": _TEXT, "source_kind": {"enum": list(KINDS)}, "target": _TEXT,
                       "target_kind": {"enum": list(KINDS)}, "label": _TEXT, "inverse": _TEXT, "field": _TEXT,
                       "via": {"enum": list(ORIGINS)}}}


def record_id(kind: str) -> str:
    return f"{ID}:{kind}"


def record_schema(kind: str, vocabulary: Vocabulary = DEFAULT) -> dict[str, Any]:
    """One exported record of ``kind``: its record schema plus the keys the export adds."""
    schema = copy.deepcopy(schema_for(KINDS[kind], vocabulary))
    schema.pop("$schema", None)
    schema["$id"] = record_id(kind)
    schema["title"] = f"An exported {KINDS[kind].singular} (data/{kind}/<id>.json; items of data/{kind}.json)"
    added = dict(_ADDED, **{BODY: _BODY})
    schema["properties"] = {**schema["properties"], **added}
    # model_dump writes every field, the empty ones as null or []
    schema["required"] = list(dict.fromkeys([*schema.get("required", []), *schema["properties"]]))
    return schema


def _json_cell(kind: str, column: Column, nullable: bool) -> dict[str, Any]:
    cell = {"type": ["string", "null"] if nullable else "string", "contentMediaType": "application/json",
            "contentSchema": {"$ref": f"{record_id(kind)}#/properties/{column.name}"}}
    return {**cell, "description": column.description} if column.description else cell


def csv_row(kind: str, vocabulary: Vocabulary = DEFAULT) -> dict[str, Any]:
    """A row of ``<kind>.csv``: every cell text; an empty cell is an empty value (null or [])."""
    properties: dict[str, Any] = {}
    for column in columns_of(KINDS[kind], vocabulary):
        if column.shape in ("list", "json"):
            cell = _json_cell(kind, column, False)
            properties[column.name] = {**cell, "description": (column.description + " " if column.description else "")
                                       + "JSON text; an empty cell for no value."}
        else:
            properties[column.name] = {"type": "string", "description": column.description} \
                if column.description else {"type": "string"}
    properties[PAGE_URL] = _ADDED[PAGE_URL]
    properties[BODY] = {"type": "string", "description": "The record's article as the editor wrote it; empty for a "
                                                  "record written as YAML."}
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties,
            "title": f"A row of data/{kind}.csv"}


_SQL_JSON = {"INTEGER": "integer", "REAL": "number", "TEXT": "string"}


def _row(title: str, columns: dict[str, dict]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(columns), "properties": columns,
            "title": title}


def _sql(json_type: str, nullable: bool = False, **more) -> dict[str, Any]:
    return {"type": [json_type, "null"] if nullable else json_type, **more}


def sqlite_rows(vocabulary: Vocabulary = DEFAULT) -> dict[str, dict[str, Any]]:
    """A row of each table of ``knowledge.sqlite`` (``sqlite.py`` makes them)."""
    rows = {
        "records": _row("A row of records: every record of every kind", {
            "id": _sql("string"), "seq": _sql("integer"), "kind": {"enum": list(KINDS)}, "name": _sql("string"),
            "summary": _sql("string"), PAGE_URL: _sql("string"), BODY: _sql("string", True, description=_BODY["description"])}),
        "relations": _row("A row of relations: every edge of the graph", {
            "id": _sql("integer"), **{k: _sql("string") for k in ("source", "target", "label", "inverse", "field")},
            "via": {"enum": list(ORIGINS)}}),
        "sources_cited": _row("A row of sources_cited: every edge that ends at a source", {
            "record_id": _sql("string"), "source_id": _sql("string"), "field": _sql("string")}),
    }
    for kind in KINDS:
        columns: dict[str, dict] = {}
        for column in columns_of(KINDS[kind], vocabulary):
            if column.shape in ("list", "json"):
                columns[column.name] = _json_cell(kind, column, column.nullable)
            else:
                columns[column.name] = _sql(_SQL_JSON[column.sql_type], column.nullable,
                                            **({"enum": list(column.choices) + ([None] if column.nullable else [])}
                                               if column.choices else {}))
        columns[PAGE_URL] = _sql("string")
        rows[kind] = _row(f"A row of the {kind} table", columns)
    return rows


def export_schema(vocabulary: Vocabulary = DEFAULT) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for kind in KINDS:
        defs[kind] = record_schema(kind, vocabulary)
        defs[f"{kind}.json"] = {"type": "array", "items": {"$ref": record_id(kind)}, "title": f"data/{kind}.json"}
    defs["edge"] = EDGE
    for kind in KINDS:
        defs[f"csv:{kind}"] = csv_row(kind, vocabulary)
    for table, row in sqlite_rows(vocabulary).items():
        defs[f"sqlite:{table}"] = row
    return {
        "$schema": JSON_SCHEMA_DIALECT, "$id": ID,
        "title": "The data export (data/all.json at the root; every other file in $defs)",
        "type": "object", "additionalProperties": False, "required": ["kinds", "relations"],
        "properties": {
            "kinds": {"type": "object", "additionalProperties": False, "required": list(KINDS),
                      "properties": {kind: {"$ref": f"#/$defs/{kind}.json"} for kind in KINDS}},
            "relations": {"type": "array", "items": {"$ref": "#/$defs/edge"}},
        },
        "$defs": defs,
    }


def render(vocabulary: Vocabulary = DEFAULT) -> str:
    return json.dumps(export_schema(vocabulary), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
