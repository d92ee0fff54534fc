"""Stage 7, export: the whole base as data files for people who want the records, not the pages.

``export(graph, out, formats)`` writes any of three formats into ``out`` (``site/data`` by
default) and returns the paths written. Every file is written to a temporary name beside its
destination and renamed into place, so a reader never sees half a file; a text file that
already holds the same bytes is left as it is.

Records are ordered by id everywhere. Each record also carries ``page_url``, its page on the
site relative to the site root (``risks/goal-drift.html``). The key is ``page_url`` and not
``url`` because systems, experts and sources already have a ``url`` field of their own (the
record's web address); the export keeps that field as it is.

json
    ``<kind>.json``: a list of records, each with every field as the model dumps it in JSON
    mode (``None`` as ``null``, dates as ``YYYY-MM-DD``, empty lists as ``[]``), plus
    ``page_url``, ``backlinks`` (``[{source, kind, label}]``: records pointing here, the label
    read from this side, e.g. "develops") and ``references`` (``[{target, kind, label,
    field}]``: every record this one points to, the label read from this side, e.g.
    "developed by", and where it says so, e.g. ``developer``, ``positions[1].topic``,
    ``relations[0]`` or ``body`` for a ``[[link]]`` in a topic's prose).
    ``all.json``: ``{"kinds": {kind: [records]}, "relations": [edges]}``, an edge being
    ``{source, source_kind, target, target_kind, label, inverse, field, via}``.
    Without the three added keys a record validates against ``schemas/<kind>.schema.json``.
    UTF-8, not ASCII-escaped; the per-kind files indented by two spaces, ``all.json`` compact.

csv
    ``<kind>.csv``: a header row, then one row per record; one column per top-level field of
    the model (``id``, then ``name``/``title``, then the others in model order), then
    ``page_url``. Cells:

    * text and numbers as written; ``true``/``false`` for booleans; an empty cell for a field
      with no value (``null``), so an empty cell and an absent value read the same;
    * a list of plain values (``aliases``, ``tags``, ``sources``, ``authors``, ``topics``...)
      is its items joined with ``"; "`` (an empty list is an empty cell). An item that itself
      contains ``"; "`` cannot be told apart from two items: use the JSON or SQLite export
      when that matters;
    * a list of objects (``relations``, ``positions``, ``assessment``...) and any nested object
      or mapping (``estimate``, ``likelihood``, ``featured``, ``tables``...) is compact JSON
      text (``[]`` or ``{}`` when empty);
    * text that a spreadsheet would run as a formula is defused (see ``csv_cell``): a cell or
      list item starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
      ``'`` in front, OWASP's advice against CSV injection. Numbers are never changed.

    Written with the ``csv`` module (RFC 4180 quoting: a cell with a comma, a quote or a line
    break is quoted, quotes doubled), UTF-8 without a byte-order mark, CRLF row ends; read it
    back with ``csv.DictReader(open(path, newline="", encoding="utf-8"))`` and every text cell
    is the exact string of the record, but for that added ``'``. Spreadsheets: import as UTF-8.
    The JSON and SQLite exports hold every text exactly as written.

sqlite
    ``knowledge.sqlite`` (Datasette names the database ``knowledge``) and ``metadata.json``
    beside it for ``datasette serve knowledge.sqlite --metadata metadata.json``:

    * ``records(id PK, seq, kind, name, summary, page_url)``: every record of every kind, so
      any reference can point at one table. ``seq`` is the record's number in id order, the
      row number of its full-text entry (an explicit column, which ``VACUUM`` cannot renumber).
    * one table per kind, one column per top-level field (in the CSV's order): ``TEXT``/``INTEGER``/``REAL`` from
      the field's annotation (dates and partial dates are ISO ``TEXT``, booleans ``INTEGER``),
      ``NOT NULL`` unless the field may be empty, ``CHECK`` constraints for fixed sets of values
      and numeric bounds; lists and nested objects are JSON ``TEXT`` (use SQLite's ``json_each``
      to unnest them). ``id`` references ``records(id)``; a field naming one record of one kind
      is a ``FOREIGN KEY`` to that kind's table (``systems.developer -> organizations.id``), of
      any kind a ``FOREIGN KEY`` to ``records(id)``. Plus ``page_url``.
    * ``relations(source, target, label, inverse, field, via)``: every edge of the graph
      (``via``: ``field`` for a reference field, ``relation`` for a typed entry of
      ``relations``, ``prose`` for a ``[[link]]``), both ends ``FOREIGN KEY`` to ``records``.
    * ``sources_cited(record_id, source_id, field)``: every edge that ends at a source.
    * ``records_fts``: an FTS5 index of ``records.name`` and ``records.summary`` (external
      content, porter stemming, accents folded: ``naive`` finds "naïve").

    Foreign keys are enforced while inserting (``PRAGMA foreign_keys=ON``, checked at commit)
    and ``PRAGMA foreign_key_check`` is verified empty before the file is moved into place.

Edges are those of the link stage; the same edge stated twice (a record mentioning a page twice
in its prose) is exported once.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .kinds import KINDS, Kind
from .link import PROSE_LABEL, Edge, Graph
from .models import RefTo

FORMATS = ("json", "csv", "sqlite")
DATABASE = "knowledge.sqlite"
METADATA = "metadata.json"
PAGE_URL = "page_url"
ADDED_KEYS = (PAGE_URL, "backlinks", "references")  # keys the JSON export adds to each record
FTS_TABLE = "records_fts"
LIST_SEPARATOR = "; "

TITLE = "AI Safety Knowledge Base"
DESCRIPTION = ("Curated records on AI capabilities, risks and responses, with their sources: every "
               "record of the knowledge base, its references to other records and the sources it cites.")
LICENSE = ("No licence has been declared for the compilation yet. Quotations, figures and summaries "
           "come from the cited sources, whose own terms apply.")
SOURCE = "content/ of the kb-wiki repository (YAML records), exported by `kb export`"


def export(graph: Graph, out: Path, formats: Iterable[str]) -> list[Path]:
    """Write the requested formats (any of ``json``, ``csv``, ``sqlite``) into ``out``."""
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = _Data(graph)
    written: list[Path] = []
    if "json" in wanted:
        written += write_json(data, out)
    if "csv" in wanted:
        written += write_csv(data, out)
    if "sqlite" in wanted:
        written += write_sqlite(data, out)
    return written


# ---------------------------------------------------------------------------- shared view


def page_url(kind: str, record_id: str) -> str:
    return f"{kind}/{record_id}.html"


def _via(edge: Edge) -> str:
    if edge.path == "body" and edge.label == PROSE_LABEL:
        return "prose"
    return "relation" if edge.path.startswith("relations[") else "field"


class _Data:
    """The graph as the exports see it: kinds in registry order, records and edges in id order."""

    def __init__(self, graph: Graph):
        self.graph = graph
        for kind in KINDS.values():
            clash = set(ADDED_KEYS) & set(kind.model.model_fields)
            if clash:  # a model field would be overwritten: rename the added key
                raise ValueError(f"{kind.folder} has a field named {', '.join(sorted(clash))}")
        self.kinds: dict[str, list] = {
            kind: sorted(graph.by_kind(kind), key=lambda entry: entry.id) for kind in KINDS
        }
        self.dumps = {entry.id: entry.record.model_dump(mode="json")
                      for entries in self.kinds.values() for entry in entries}
        self.edges: list[Edge] = []
        for record_id in sorted(graph.entries):
            self.edges += list(dict.fromkeys(graph.outgoing.get(record_id, ())))

    def kind_of(self, record_id: str) -> str:
        return self.graph.entries[record_id].kind

    def json_record(self, entry) -> dict[str, Any]:
        record = dict(self.dumps[entry.id])
        record[PAGE_URL] = page_url(entry.kind, entry.id)
        backlinks = sorted(self.graph.backlinks(entry.id), key=lambda e: (e.source, e.inverse))
        record["backlinks"] = [{"source": e.source, "kind": self.kind_of(e.source), "label": e.inverse}
                               for e in backlinks]
        record["references"] = [
            {"target": e.target, "kind": self.kind_of(e.target), "label": e.label, "field": e.path}
            for e in dict.fromkeys(self.graph.outgoing.get(entry.id, ()))
        ]
        return record

    def edge_record(self, edge: Edge) -> dict[str, str]:
        return {"source": edge.source, "source_kind": self.kind_of(edge.source),
                "target": edge.target, "target_kind": self.kind_of(edge.target),
                "label": edge.label, "inverse": edge.inverse, "field": edge.path, "via": _via(edge)}


# ---------------------------------------------------------------------------- files


def _write_atomic(path: Path, write: typing.Callable[[Path], None]) -> Path:
    """Call ``write(temporary path)`` beside ``path``, then rename it into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` unless the file already holds it: a re-export after one edit (``kb serve``
    refreshes the data after each) rewrites the files that changed, not one per record."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return path
    except OSError:
        pass
    return _write_atomic(path, lambda temporary: temporary.write_bytes(data))


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------- json


def write_json(data: _Data, out: Path) -> list[Path]:
    written, everything = [], {}
    for kind, entries in data.kinds.items():
        records = [data.json_record(entry) for entry in entries]
        everything[kind] = records
        written.append(_write_text(out / f"{kind}.json", _json_text(records)))
    for kind, records in everything.items():
        folder = out / kind  # one file per record, <kind>/<id>.json: what each record page links to
        folder.mkdir(parents=True, exist_ok=True)
        for record in records:
            _write_text(folder / f"{record['id']}.json", _json_text(record))
        written.append(folder)
    relations = [data.edge_record(edge) for edge in data.edges]
    # The one-file download is compact; the per-kind files are indented for reading.
    written.append(_write_text(out / "all.json", _compact({"kinds": everything, "relations": relations}) + "\n"))
    return written


# ---------------------------------------------------------------------------- field shapes


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


def _unwrap(annotation) -> tuple[Any, list, bool]:
    """Strip Annotated and Optional: (bare type, metadata found on the way, may be None)."""
    metadata: list = []
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            metadata += list(annotation.__metadata__)
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, nullable
            annotation = args[0]
        else:
            return annotation, metadata, nullable


def _column(kind: Kind, name: str, info: FieldInfo) -> Column:
    bare, metadata, nullable = _unwrap(info.annotation)
    metadata = list(info.metadata) + metadata
    ref = next((item for item in metadata if isinstance(item, RefTo)), None)
    origin = typing.get_origin(bare)
    choices: tuple = ()
    if origin is Literal:
        choices = typing.get_args(bare)
        bare = type(choices[0])
    if origin in (list, tuple, set, frozenset):
        item, _, _ = _unwrap(typing.get_args(bare)[0])
        plain = item in (str, int, float, bool) or typing.get_origin(item) is Literal
        return Column(name, "TEXT", "list" if plain else "json", nullable, None,
                      description=_describe(kind, name, info, metadata, bare))
    if origin is dict or (isinstance(bare, type) and issubclass(bare, BaseModel)):
        return Column(name, "TEXT", "json", nullable, None,
                      description=_describe(kind, name, info, metadata, bare))
    sql_type = {bool: "INTEGER", int: "INTEGER", float: "REAL"}.get(bare, "TEXT")
    ge = le = None
    for item in _flat_metadata(metadata):
        ge = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else ge
        le = getattr(item, "le", None) if getattr(item, "le", None) is not None else le
    return Column(name, sql_type, "scalar", nullable, ref, choices, (ge, le),
                  _describe(kind, name, info, metadata, bare, ref=ref, choices=choices))


def _flat_metadata(metadata: list) -> Iterable:
    for item in metadata:
        yield item
        if isinstance(item, FieldInfo):
            yield from _flat_metadata(item.metadata)


COMMON_DESCRIPTIONS = {
    "id": "Unique id (a slug) of the record, across all kinds; also the name of its file and page.",
    "summary": "One-paragraph summary of the record.",
    "aliases": "Other names the record is known by.",
    "tags": "Free tags (slugs) grouping related records.",
    "sources": "Ids of the sources the record cites (see the sources table).",
    "importance": "Editorial importance, 0 to 100.",
    "quality": "Editorial quality rating of the record, 0 to 100.",
    "status": "Editorial status: stub, draft, published or verified.",
    "last_edited": "Date the record was last edited (YYYY-MM-DD).",
    "review_by": "Date by which the record should be reviewed again (YYYY-MM-DD).",
    "relations": "Typed relations to other records: [{type, target, strength, note}]; each is also a row "
                 "of the relations table.",
    "name": "Name of the record as shown on the site.",
    "title": "Title.",
    "topics.title": "Title of the topic page.",
    "sources.title": "Full title of the work.",
    "sources.name": "Short name of the work, as cited on the site.",
    "sources.kind": "Kind of work.",
    "organizations.type": "Kind of organization.",
    "risks.severity": "How severe the harm would be, on an ordered scale.",
    "responses.effectiveness": "How effective the response is judged to be, on an ordered scale.",
    "topics.entity_type": "What the topic is about.",
    "topics.safety_relevance": "How much the topic matters for AI safety.",
    "systems.announced": "When the system was announced.",
    "topics": "Ids of the topics the record belongs to.",
    "positions": "Stances held on topics: [{topic, claim, quote, estimate, date, source}].",
    "url": "Web address of the record's subject (not its page on this site).",
    "website": "Web address of the organization.",
    "description": "What the risk mechanism is.",
    "evidence": "Evidence that the mechanism operates.",
    "likelihood": "Likelihood: {level, low, high, note}, low and high in percent.",
    "estimate": "The figure: {value, text, unit, approximate, low, high, confidence, qualifier}.",
    "implication": "What the figure implies.",
    "mechanism": "How the response works.",
    "current_status": "Where the response or topic stands today.",
    "effectiveness_note": "Why the effectiveness is rated as it is.",
    "capability": "What the system can do.",
    "achievement": "What the system achieved first or best.",
    "significance": "Why the system matters.",
    "limitations": "Known limitations of the system.",
    "role": "The expert's role or position.",
    "headquarters": "Where the organization is based.",
    "founded": "Year the organization was founded.",
    "year": "Year of publication.",
    "publisher": "Publisher, journal or venue.",
    "authors": "Authors, in the order of the publication.",
    "featured": "Records shown as tables on the topic page: {positions, systems, risks, metrics, responses}.",
    "assessment": "Assessment table of the topic: [{dimension, rating, note, source}].",
    "milestones": "Milestone forecasts: [{milestone, conservative, median, aggressive, dependencies}].",
    "scenarios": "Scenarios: [{name, duration, probability: {low, high}, characteristics}].",
    "counter_evidence": "Observations against the topic's thesis: [{observation, data, implication, source}].",
    "tables": "Data tables placed in the prose, by name: {name: {title, columns, rows, source}}.",
    "diagrams": "Mermaid diagrams placed in the prose, by name: {name: {title, mermaid, caption}}.",
    "related": "Ids of related records of any kind.",
}


def _describe(kind: Kind, name: str, info: FieldInfo, metadata: list, bare, *,
              ref: RefTo | None = None, choices: tuple = ()) -> str:
    """The pydantic description when there is one, else a text from the table above or the type."""
    found = info.description or next(
        (item.description for item in _flat_metadata(metadata)
         if isinstance(item, FieldInfo) and item.description), None)
    text = found or COMMON_DESCRIPTIONS.get(f"{kind.folder}.{name}") or COMMON_DESCRIPTIONS.get(name)
    if text is None and ref is not None:
        target = KINDS[ref.kinds[0]].singular if len(ref.kinds) == 1 else "record of any kind"
        text = f"{ref.label[0].upper()}{ref.label[1:]}: id of {_a(target)}."
    if text is None and typing.get_origin(bare) in (list, tuple):
        text = f"List of {name.replace('_', ' ')}."
    if text is None:
        text = name.replace("_", " ").capitalize() + "."
    if choices and "One of" not in text and name != "status":
        text += " One of: " + ", ".join(map(str, choices)) + "."
    return text


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def columns_of(kind: Kind) -> list[Column]:
    """The model's fields as columns: ``id``, then ``name`` and ``title``, then the rest in model order."""
    fields = kind.model.model_fields
    order = [n for n in ("id", "name", "title") if n in fields] + [n for n in fields if n not in ("id", "name", "title")]
    return [_column(kind, name, fields[name]) for name in order]


# ---------------------------------------------------------------------------- csv


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula


def csv_cell(column: Column, value: Any) -> str:
    """The text of one CSV cell, defused against CSV injection.

    A spreadsheet opening the file runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return as a formula (``=HYPERLINK(...)``, ``-1+1|cmd``...), and the text
    of a record is whatever its editor typed. As OWASP advises, such text gets a ``'`` in front,
    which spreadsheets take to mean "this is text" and do not show. Whether to defuse is decided
    by the value's type, not by how the text looks: a number (``-0.5`` in a numeric field) is a
    value, not a formula, and stays as written, while a text field holding "-5" is defused like
    any other text. A list is defused item by item (for whoever splits the cell) and as a
    whole, which only matters when its first item is a number. A JSON cell starts with ``[`` or
    ``{`` and is left exact, so that it still parses to the record's values.
    """
    if value is None:
        return ""
    if column.shape == "list":
        return _defused(LIST_SEPARATOR.join(_cell_text(item) for item in value))
    if column.shape == "json":
        return _compact(value)
    return _cell_text(value)


def _cell_text(value: Any) -> str:
    text = _scalar_text(value)
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return text if is_number else _defused(text)


def _defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _compact(value)
    return str(value)


def write_csv(data: _Data, out: Path) -> list[Path]:
    written = []
    for kind, entries in data.kinds.items():
        columns = columns_of(KINDS[kind])
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow([column.name for column in columns] + [PAGE_URL])
        for entry in entries:
            dump = data.dumps[entry.id]
            writer.writerow([csv_cell(column, dump[column.name]) for column in columns]
                            + [page_url(kind, entry.id)])
        written.append(_write_text(out / f"{kind}.csv", buffer.getvalue()))
    return written


# ---------------------------------------------------------------------------- sqlite


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


FK = "DEFERRABLE INITIALLY DEFERRED"  # checked at commit: rows may come before the rows they name


def _kind_table_sql(kind: Kind, columns: list[Column]) -> str:
    lines, constraints = [], []
    for column in columns:
        parts = [_q(column.name), column.sql_type]
        if column.name == "id":
            parts.append("PRIMARY KEY NOT NULL")
            constraints.append(f'FOREIGN KEY ("id") REFERENCES records(id) {FK}')
        elif not column.nullable:
            parts.append("NOT NULL")
        if column.choices:
            parts.append(f"CHECK ({_q(column.name)} IN ({', '.join(map(_literal, column.choices))}))")
        low, high = column.bounds
        if low is not None:
            parts.append(f"CHECK ({_q(column.name)} >= {low})")
        if high is not None:
            parts.append(f"CHECK ({_q(column.name)} <= {high})")
        lines.append(" ".join(parts))
        if column.ref is not None:
            table = column.ref.kinds[0] if len(column.ref.kinds) == 1 else "records"
            constraints.append(f"FOREIGN KEY ({_q(column.name)}) REFERENCES {_q(table)}(id) {FK}")
    lines.append(f"{PAGE_URL} TEXT NOT NULL")
    body = ",\n  ".join(lines + constraints)
    return f"CREATE TABLE {_q(kind.folder)} (\n  {body}\n)"


SCHEMA = f"""
CREATE TABLE records (
  id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ({', '.join(map(_literal, KINDS))})),
  name TEXT NOT NULL,
  summary TEXT NOT NULL,
  {PAGE_URL} TEXT NOT NULL
);
CREATE TABLE relations (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL REFERENCES records(id) {FK},
  target TEXT NOT NULL REFERENCES records(id) {FK},
  label TEXT NOT NULL,
  inverse TEXT NOT NULL,
  field TEXT NOT NULL,
  via TEXT NOT NULL CHECK (via IN ('field', 'relation', 'prose'))
);
CREATE INDEX relations_source ON relations(source);
CREATE INDEX relations_target ON relations(target);
CREATE TABLE sources_cited (
  record_id TEXT NOT NULL REFERENCES records(id) {FK},
  source_id TEXT NOT NULL REFERENCES sources(id) {FK},
  field TEXT NOT NULL,
  PRIMARY KEY (record_id, source_id, field)
);
CREATE INDEX sources_cited_source ON sources_cited(source_id);
CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
  name, summary, content='records', content_rowid='seq',
  tokenize='porter unicode61 remove_diacritics 2'
);
"""


def _sql_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.shape in ("list", "json"):
        return _compact(value)
    if isinstance(value, bool):
        return int(value)
    return value


def write_sqlite(data: _Data, out: Path) -> list[Path]:
    for reserved in ("records", "relations", "sources_cited", FTS_TABLE):
        if reserved in KINDS:
            raise ValueError(f"a kind is named '{reserved}', a table the export needs")
    database = _write_atomic(out / DATABASE, lambda temporary: _fill_database(data, temporary))
    metadata = _write_text(out / METADATA, _json_text(datasette_metadata()))
    return [database, metadata]


def _fill_database(data: _Data, path: Path) -> None:
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA journal_mode = DELETE")
        kind_columns = {kind: columns_of(KINDS[kind]) for kind in data.kinds}
        connection.executescript(SCHEMA + "".join(
            _kind_table_sql(KINDS[kind], columns) + ";\n" for kind, columns in kind_columns.items()))
        with connection:  # one transaction; the deferred foreign keys are checked at its commit
            entries = sorted(data.graph.entries.values(), key=lambda entry: entry.id)
            connection.executemany(
                f"INSERT INTO records (id, seq, kind, name, summary, {PAGE_URL}) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.id, number, e.kind, e.name, e.record.summary, page_url(e.kind, e.id))
                 for number, e in enumerate(entries, start=1)])
            for kind, kind_entries in data.kinds.items():
                columns = kind_columns[kind]
                names = ", ".join([_q(c.name) for c in columns] + [PAGE_URL])
                marks = ", ".join("?" * (len(columns) + 1))
                connection.executemany(
                    f"INSERT INTO {_q(kind)} ({names}) VALUES ({marks})",
                    [[_sql_value(c, data.dumps[e.id][c.name]) for c in columns] + [page_url(kind, e.id)]
                     for e in kind_entries])
            connection.executemany(
                "INSERT INTO relations (source, target, label, inverse, field, via) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.source, e.target, e.label, e.inverse, e.path, _via(e)) for e in data.edges])
            cited = dict.fromkeys((e.source, e.target, e.path) for e in data.edges
                                  if data.kind_of(e.target) == "sources")
            connection.executemany("INSERT INTO sources_cited (record_id, source_id, field) VALUES (?, ?, ?)",
                                   list(cited))
            connection.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        problems = connection.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"the export broke foreign keys: {problems[:5]}")
        connection.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
    finally:
        connection.close()


# ---------------------------------------------------------------------------- datasette

FACETS: dict[str, list] = {
    "records": ["kind"],
    "relations": ["label", "via"],
    "topics": ["entity_type", "safety_relevance", "status", {"array": "tags"}],
    "systems": ["developer", "status", {"array": "tags"}],
    "experts": ["affiliation", "status", {"array": "tags"}],
    "organizations": ["type", "status", {"array": "tags"}],
    "risks": ["severity", "status", {"array": "tags"}],
    "metrics": ["status", {"array": "tags"}],
    "responses": ["effectiveness", "status", {"array": "tags"}],
    "sources": ["kind", "year", {"array": "tags"}],
}

FIXED_TABLES = {
    "records": ("Every record of every kind, one row each: the table relations and citations point at. "
                "Search box: full text of names and summaries.", {
        "id": COMMON_DESCRIPTIONS["id"],
        "seq": "Number of the record in id order; the row number of its entry in the full-text index.",
        "kind": "Kind of the record, which is also the name of its table.",
        "name": "Name of the record (the title, for topics).",
        "summary": COMMON_DESCRIPTIONS["summary"],
        PAGE_URL: "Page of the record on the site, relative to the site root.",
    }),
    "relations": ("Every link between two records: reference fields, typed relations and [[links]] in "
                  "topic prose.", {
        "id": "Row number.",
        "source": "Id of the record that makes the link.",
        "target": "Id of the record it points to.",
        "label": "The link as read from the source, e.g. 'developed by'.",
        "inverse": "The link as read from the target, e.g. 'develops'.",
        "field": "Where the source makes the link, e.g. developer, positions[1].topic, relations[0], body.",
        "via": "field: a reference field; relation: a typed entry of relations; prose: a [[link]] in the text.",
    }),
    "sources_cited": ("Which record cites which source, and where.", {
        "record_id": "Id of the citing record.",
        "source_id": "Id of the cited source.",
        "field": "Where the record cites it, e.g. sources, positions[0].source, body.",
    }),
}


def datasette_metadata() -> dict[str, Any]:
    """Datasette 0.65 metadata: titles, descriptions, column texts, facets and the search box."""
    tables: dict[str, Any] = {}
    for name, (description, columns) in FIXED_TABLES.items():
        tables[name] = {"description": description, "columns": columns}
    tables["records"].update({"fts_table": FTS_TABLE, "fts_pk": "seq", "label_column": "name",
                              "sort": "id"})
    for kind in KINDS.values():
        columns = {column.name: column.description for column in columns_of(kind)}
        columns[PAGE_URL] = FIXED_TABLES["records"][1][PAGE_URL]
        tables[kind.folder] = {
            "description": f"{kind.title}: one row per record in content/{kind.folder}/. Lists and "
                           "nested objects are JSON text.",
            "columns": columns,
            "label_column": "name" if "name" in kind.model.model_fields else "title",
            "sort": "id",
        }
    for name, facets in FACETS.items():
        tables[name]["facets"] = facets
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "license": LICENSE,
        "source": SOURCE,
        "databases": {Path(DATABASE).stem: {"description": DESCRIPTION, "tables": tables}},
    }
