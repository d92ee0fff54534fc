"""The SQLite export, for SQL and for Datasette.

``knowledge.sqlite`` (Datasette names the database ``knowledge``) and ``metadata.json`` beside
it for ``datasette serve knowledge.sqlite --metadata metadata.json``:

* ``records(id PK, seq, kind, name, summary, page_url, body)``: every record of every kind, so any
  reference can point at one table; ``body`` is a record's article as written (NULL for a kind
  without articles). ``seq`` is the record's number in id order, the row number
  of its full-text entry (an explicit column, which ``VACUUM`` cannot renumber).
* one table per kind, one column per top-level field (in the CSV's order):
  ``TEXT``/``INTEGER``/``REAL`` from the field's annotation (dates and partial dates are ISO
  ``TEXT``, booleans ``INTEGER``), ``NOT NULL`` unless the field may be empty, ``CHECK``
  constraints for fixed sets of values and numeric bounds; lists and nested objects are JSON
  ``TEXT`` (use SQLite's ``json_each`` to unnest them). ``id`` references ``records(id)``; a
  field naming one record of one kind is a ``FOREIGN KEY`` to that kind's table
  (``systems.developer -> organizations.id``), of any kind a ``FOREIGN KEY`` to ``records(id)``.
  Plus ``page_url``.
* ``relations(source, target, label, inverse, field, via)``: every edge of the graph, ``via``
  saying what it is (``link.ORIGINS``, see ``VIA``): ``field`` for a reference field,
  ``relation`` for a typed entry of ``relations``, ``position`` for the topic of a position,
  ``citation`` for a source cited, ``prose`` for a ``[[link]]``; both ends ``FOREIGN KEY`` to
  ``records``.
* ``sources_cited(record_id, source_id, field)``: every edge that ends at a source.
* ``records_fts``: an FTS5 index of ``records.name``, ``summary`` and ``body`` (external content,
  declared ``content=[records]`` so that Datasette and sqlite-utils find it with no metadata;
  porter stemming, accents folded: ``naive`` finds "naïve").

Foreign keys are checked once, after the load: ``PRAGMA foreign_key_check`` must find nothing
before the file is moved into place. They are not enforced row by row while loading (``PRAGMA
foreign_keys=OFF`` there): with deferred keys, each row of a table that others point at, inserted
after rows that point at it, made SQLite scan the pointing tables (at 10,000 records, 800
organizations and 2,200 sources took 2 of the 9.5 s). The indexes of ``relations`` and
``sources_cited`` are made after their rows, in one pass each. The
descriptions of the columns of the kinds' tables are the models' (``kinds.fields_of``), and
their facets are the fields the models mark ``Shown(facet=True)`` (``kinds.facets_of``).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..kinds import KINDS, Kind, facets_of, field_of
from ..link import ORIGINS
from ..models import Record
from ..vocabulary import DEFAULT
from .files import compact, json_text, write_atomic, write_text
from .view import BODY, PAGE_URL, Column, View, columns_of, page_url

DATABASE = "knowledge.sqlite"
METADATA = "metadata.json"
FTS_TABLE = "records_fts"

TITLE = "AI Safety Knowledge Base"
DESCRIPTION = ("Curated records on AI capabilities, risks and responses, with their sources: every "
               "record of the knowledge base, its references to other records and the sources it cites.")
LICENSE = ("No licence has been declared for the compilation yet. Quotations, figures and summaries "
           "come from the cited sources, whose own terms apply.")
SOURCE = "content/ of the kb-wiki repository (YAML records), exported by `kb export`"

# What each value of relations.via means: one per origin of an edge (link.ORIGINS).
VIA = {
    "field": "a reference field",
    "relation": "a typed entry of relations",
    "position": "the topic of a position",
    "citation": "a source cited (sources, a figure's or a position's source)",
    "prose": "a [[link]] in the text",
}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


FK = "DEFERRABLE INITIALLY DEFERRED"  # for whoever writes the file with keys on: a row may come before the row it names


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


def _cited_table() -> str:
    """The table a citation points at: the kind others cite (``Kind.cited``), or any record."""
    cited = [name for name, kind in KINDS.items() if kind.cited]
    return cited[0] if len(cited) == 1 else "records"


def _schema_sql() -> str:
    """The fixed tables, worked out when writing: the kinds are those registered then."""
    return f"""
CREATE TABLE records (
  id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ({', '.join(map(_literal, KINDS))})),
  name TEXT NOT NULL,
  summary TEXT NOT NULL,
  {PAGE_URL} TEXT NOT NULL,
  {BODY} TEXT
);
CREATE TABLE relations (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL REFERENCES records(id) {FK},
  target TEXT NOT NULL REFERENCES records(id) {FK},
  label TEXT NOT NULL,
  inverse TEXT NOT NULL,
  field TEXT NOT NULL,
  via TEXT NOT NULL CHECK (via IN ({', '.join(map(_literal, ORIGINS))}))
);
CREATE TABLE sources_cited (
  record_id TEXT NOT NULL REFERENCES records(id) {FK},
  source_id TEXT NOT NULL REFERENCES {_q(_cited_table())}(id) {FK},
  field TEXT NOT NULL,
  PRIMARY KEY (record_id, source_id, field)
);
CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
  name, summary, {BODY}, content=[records], content_rowid=seq,
  tokenize='porter unicode61 remove_diacritics 2'
);
"""


INDEXES = ("CREATE INDEX relations_source ON relations(source)",
           "CREATE INDEX relations_target ON relations(target)",
           "CREATE INDEX sources_cited_source ON sources_cited(source_id)")


def _sql_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.shape in ("list", "json"):
        return compact(value)
    if isinstance(value, bool):
        return int(value)
    return value


def write(view: View, out: Path) -> list[Path]:
    for reserved in ("records", "relations", "sources_cited", FTS_TABLE):
        if reserved in KINDS:
            raise ValueError(f"a kind is named '{reserved}', a table the export needs")
    database = write_atomic(out / DATABASE, lambda temporary: _fill_database(view, temporary))
    metadata = write_text(out / METADATA, json_text(datasette_metadata(view.graph.vocabulary)))
    return [database, metadata]


def _fill_database(view: View, path: Path) -> None:
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("PRAGMA journal_mode = DELETE")
        kind_columns = {kind: columns_of(KINDS[kind], view.graph.vocabulary) for kind in view.kinds}
        connection.executescript(_schema_sql() + "".join(
            _kind_table_sql(KINDS[kind], columns) + ";\n" for kind, columns in kind_columns.items()))
        with connection:  # one transaction; the foreign keys are checked after it (foreign_key_check)
            entries = sorted(view.graph.entries.values(), key=lambda entry: entry.id)
            connection.executemany(
                f"INSERT INTO records (id, seq, kind, name, summary, {PAGE_URL}, {BODY}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.id, number, e.kind, e.name, e.record.summary, page_url(e.kind, e.id),
                  e.document.body)
                 for number, e in enumerate(entries, start=1)])
            for kind, kind_entries in view.kinds.items():
                columns = kind_columns[kind]
                names = ", ".join([_q(c.name) for c in columns] + [PAGE_URL])
                marks = ", ".join("?" * (len(columns) + 1))
                connection.executemany(
                    f"INSERT INTO {_q(kind)} ({names}) VALUES ({marks})",
                    [[_sql_value(c, view.dumps[e.id][c.name]) for c in columns] + [page_url(kind, e.id)]
                     for e in kind_entries])
            connection.executemany(
                "INSERT INTO relations (source, target, label, inverse, field, via) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.source, e.target, e.label, e.inverse, e.path, e.origin) for e in view.edges])
            cited = dict.fromkeys((e.source, e.target, e.path) for e in view.edges
                                  if KINDS[view.kind_of(e.target)].cited)
            connection.executemany("INSERT INTO sources_cited (record_id, source_id, field) VALUES (?, ?, ?)",
                                   list(cited))
            for index in INDEXES:  # after the rows: one pass each, not an update per row
                connection.execute(index)
            connection.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        problems = connection.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"the export broke foreign keys: {problems[:5]}")
        connection.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
    finally:
        connection.close()


# ---------------------------------------------------------------------------- datasette

# The tables every base has, described here: (description, {column: description}, facets).
FIXED_TABLES = {
    "records": ("Every record of every kind, one row each: the table relations and citations point at. "
                "Search box: full text of names, summaries and articles.", {
        "id": field_of(Record, "id").description,
        "seq": "Number of the record in id order; the row number of its entry in the full-text index.",
        "kind": "Kind of the record, which is also the name of its table.",
        "name": "Name of the record (the title, for topics).",
        "summary": field_of(Record, "summary").description,
        PAGE_URL: "Page of the record on the site, relative to the site root.",
        BODY: "The record's article, its Markdown as written; null for a kind without articles.",
    }, ["kind"]),
    "relations": ("Every link between two records: reference fields, typed relations, positions, citations "
                  "and [[links]] in topic prose.", {
        "id": "Row number.",
        "source": "Id of the record that makes the link.",
        "target": "Id of the record it points to.",
        "label": "The link as read from the source, e.g. 'developed by'.",
        "inverse": "The link as read from the target, e.g. 'develops'.",
        "field": "Where the source makes the link, e.g. developer, positions[1].topic, relations[0], body.",
        "via": "What the link is: " + "; ".join(f"{value}: {VIA[value]}" for value in ORIGINS) + ".",
    }, ["label", "via"]),
    "sources_cited": ("Which record cites which source, and where.", {
        "record_id": "Id of the citing record.",
        "source_id": "Id of the cited source.",
        "field": "Where the record cites it, e.g. sources, positions[0].source, body.",
    }, []),
}


def datasette_metadata(vocabulary=DEFAULT) -> dict[str, Any]:
    """Datasette 0.65 metadata: titles, descriptions, column texts, facets and the search box."""
    tables: dict[str, Any] = {}
    for name, (description, columns, facets) in FIXED_TABLES.items():
        tables[name] = {"description": description, "columns": columns}
        if facets:
            tables[name]["facets"] = facets
    tables["records"].update({"fts_table": FTS_TABLE, "fts_pk": "seq", "label_column": "name",
                              "sort": "id"})
    for kind in KINDS.values():
        columns = {column.name: column.description for column in columns_of(kind, vocabulary)}
        columns[PAGE_URL] = FIXED_TABLES["records"][1][PAGE_URL]
        tables[kind.folder] = {
            "description": f"{kind.title}: one row per record in content/{kind.folder}/. Lists and "
                           "nested objects are JSON text.",
            "columns": columns,
            "label_column": "name" if "name" in kind.model.model_fields else "title",
            "sort": "id",
            "facets": facets_of(kind),
        }
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "license": LICENSE,
        "source": SOURCE,
        "databases": {Path(DATABASE).stem: {"description": DESCRIPTION, "tables": tables}},
    }
