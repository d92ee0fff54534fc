"""The JSON export.

``<kind>.json``: a list of records, each with every field as the model dumps it in JSON mode
(``None`` as ``null``, dates as ``YYYY-MM-DD``, empty lists as ``[]``), plus ``page_url``,
``backlinks`` (``[{source, kind, label}]``: records pointing here, the label read from this
side, e.g. "develops") and ``references`` (``[{target, kind, label, field}]``: every record this
one points to, the label read from this side, e.g. "developed by", and where it says so, e.g.
``developer``, ``positions[1].topic``, ``relations[0]`` or ``body`` for a ``[[link]]`` in a
topic's prose). ``<kind>/<id>.json``: one record, as in ``<kind>.json``; each record page links
to its file, and the file of a record no longer in the base is removed (kb serve exports into the
same folder after each edit). ``all.json``: ``{"kinds": {kind: [records]}, "relations": [edges]}``,
an edge being ``{source, source_kind, target, target_kind, label, inverse, field, via}``, ``via``
being what the edge is (``link.ORIGINS``): ``field``, ``relation``, ``position``, ``citation`` or
``prose``.
Without the three added keys a record validates against ``schemas/<kind>.schema.json``.
UTF-8, not ASCII-escaped; the per-kind files indented by two spaces, ``all.json`` compact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .files import WrittenFiles, compact, indented_items, json_text, write_pieces, write_text
from .view import View


@dataclass
class Kept:
    """What the last export into the same folder made (kb serve exports after each reload): each
    record's JSON, compact and indented, and the files written with their times then. A record
    whose compact JSON is the same (the encoder's, in C: unlike ``==``, it tells ``0.0`` from
    ``-0.0`` and ``1`` from ``1.0``, as the files do) is not indented again, and its file, as it
    was, is not read again. An export that does not end forgets everything: the next one writes
    every file it finds different."""

    records: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (kind, id) -> compact, indented
    files: WrittenFiles = field(default_factory=WrittenFiles)  # the files as the export left them
    relations: list | None = None  # all.json's edges
    relations_text: list[str] = field(default_factory=list)  # and their JSON
    inputs: dict = field(default_factory=dict)  # (kind, id) -> what its JSON read (View.record_inputs)
    edges: tuple | None = None  # the edges all.json's relations were made from, and the records' kinds


def write(view: View, out: Path) -> list[Path]:
    if view.kept is None:
        return _write(view, out, None)
    kept = view.kept.setdefault("json", Kept())
    try:
        return _write(view, out, kept)
    except BaseException:  # stopped or failed half way: what is kept may no longer be what the files hold
        view.kept["json"] = Kept()
        raise


def _write(view: View, out: Path, kept: Kept | None) -> list[Path]:
    before = kept.records if kept is not None else {}
    texts: dict[tuple[str, str], tuple[str, str | None]] = {}
    inputs: dict = {}
    files, folders, changed_any = [], [], False
    for kind, entries in view.kinds.items():
        folder = out / kind  # one file per record, <kind>/<id>.json: what each record page links to
        folder.mkdir(parents=True, exist_ok=True)
        ids = {entry.id for entry in entries}
        changed = any(key_kind == kind and key not in ids for key_kind, key in before)  # a record gone
        for entry in entries:
            key, path = (kind, entry.id), folder / f"{entry.id}.json"
            old = before.get(key)
            if kept is not None:  # what the record's JSON reads, as it was: the same texts
                inputs[key] = view.record_inputs(entry)
                was = kept.inputs.get(key)
                # the very entry (an equal one may differ: 1 and 1.0 are equal), the same edges
                if old is not None and was is not None and was[0] is entry and was[1:] == inputs[key][1:]:
                    texts[key] = old
                    if not _as_written(kept, path):
                        _written(kept, write_text(path, old[1]))
                    continue
            record = view.json_record(entry)
            text = compact(record)
            if old is not None and old[0] == text:
                texts[key] = old
                if _as_written(kept, path):
                    continue
            else:
                texts[key] = (text, json_text(record))
                changed = True
            _written(kept, write_text(path, texts[key][1]))
        # a record deleted since an export into the same folder (kb serve's reloads) has no file
        current = {f"{entry.id}.json" for entry in entries}
        for stale in folder.glob("*.json"):
            if stale.name not in current:
                stale.unlink(missing_ok=True)
        path = out / f"{kind}.json"
        if changed or not _as_written(kept, path):
            _written(kept, write_text(path, indented_items([texts[kind, e.id][1] for e in entries])))
        if kept is None:  # all.json needs only the compact JSON: the indented goes now, a kind at a time
            for entry in entries:
                texts[kind, entry.id] = (texts[kind, entry.id][0], None)
        changed_any = changed_any or changed
        files.append(path)
        folders.append(folder)
    # The one-file download is compact; the per-kind files are indented for reading.
    edges = (tuple(view.edges), view.kinds_of_records) if kept is not None else None
    if kept is not None and edges == kept.edges:  # the same edges between records of the same kinds
        relations, same_relations = kept.relations, True
    else:
        relations = [view.edge_record(e) for e in view.edges]
        same_relations = kept is not None and relations == kept.relations
    relations_text = kept.relations_text if same_relations else list(_relations_text(relations))
    path = out / "all.json"
    if changed_any or texts.keys() != before.keys() or not same_relations or not _as_written(kept, path):
        pieces = {kind: [texts[kind, e.id][0] for e in entries] for kind, entries in view.kinds.items()}
        _written(kept, write_pieces(path, all_json(pieces, relations_text)))
    if kept is not None:
        kept.records, kept.relations, kept.relations_text = texts, relations, relations_text
        kept.inputs, kept.edges = inputs, edges
    return [*files, *folders, path]


def _as_written(kept: Kept | None, path: Path) -> bool:
    """Whether ``path`` is as the last export left it (which then wrote or checked its bytes)."""
    return kept is not None and kept.files.unchanged(path)


def _written(kept: Kept | None, path: Path) -> None:
    if kept is not None:
        kept.files.note(path)


def _relations_text(relations: list[dict]) -> Iterator[str]:
    """The edges in compact JSON, a thousand at a time (one call of the encoder each), without
    the list's brackets."""
    for start in range(0, len(relations), 1000):
        yield compact(relations[start:start + 1000])[1:-1]


def all_json(kinds: dict[str, list[str]], relations: list[str]) -> Iterator[str]:
    """``compact({"kinds": kinds, "relations": edges}) + "\\n"``, a record at a time; ``kinds``
    holds each record already compact, ``relations`` the edges (``_relations_text``)."""
    yield '{"kinds":{'
    for number, (kind, records) in enumerate(kinds.items()):
        yield ("," if number else "") + compact(kind) + ":["
        for index, record in enumerate(records):
            yield ("," if index else "") + record
        yield "]"
    yield '},"relations":['
    for index, text in enumerate(relations):
        yield ("," if index else "") + text
    yield "]}\n"
