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

from pathlib import Path
from typing import Iterable, Iterator

from .files import compact, json_text, write_pieces, write_text
from .view import View


def write(view: View, out: Path) -> list[Path]:
    written, everything = [], {}
    for kind, entries in view.kinds.items():
        records = [view.json_record(entry) for entry in entries]
        everything[kind] = records
        written.append(write_text(out / f"{kind}.json", json_text(records)))
    for kind, records in everything.items():
        folder = out / kind  # one file per record, <kind>/<id>.json: what each record page links to
        folder.mkdir(parents=True, exist_ok=True)
        for record in records:
            write_text(folder / f"{record['id']}.json", json_text(record))
        # a record deleted since an export into the same folder (kb serve's reloads) has no file
        current = {f"{record['id']}.json" for record in records}
        for stale in folder.glob("*.json"):
            if stale.name not in current:
                stale.unlink(missing_ok=True)
        written.append(folder)
    # The one-file download is compact; the per-kind files are indented for reading.
    written.append(write_pieces(out / "all.json", all_json(everything, (view.edge_record(e) for e in view.edges))))
    return written


def all_json(kinds: dict[str, list], relations: Iterable[dict]) -> Iterator[str]:
    """``compact({"kinds": kinds, "relations": relations}) + "\\n"``, a record or an edge at a time."""
    yield '{"kinds":{'
    for number, (kind, records) in enumerate(kinds.items()):
        yield ("," if number else "") + compact(kind) + ":["
        for index, record in enumerate(records):
            yield ("," if index else "") + compact(record)
        yield "]"
    yield '},"relations":['
    for index, relation in enumerate(relations):
        yield ("," if index else "") + compact(relation)
    yield "]}\n"
