"""The CSV export.

``<kind>.csv``: a header row, then one row per record; one column per top-level field of the
model (``id``, then ``name``/``title``, then the others in model order), then ``page_url``, and
for a kind with articles ``body`` (the article's Markdown as written, defused like any text: an
article may start with a list item's ``-``). Cells:

* text and numbers as written; ``true``/``false`` for booleans; an empty cell for a field with
  no value (``null``), so an empty cell and an absent value read the same;
* a list of plain values (``aliases``, ``tags``, ``sources``, ``authors``, ``topics``...) is a
  JSON array (``["Alpha; Beta","Gamma"]``; an empty list is an empty cell), so that an item
  holding a separator is never read as two items;
* a list of objects (``relations``, ``positions``, ``assessment``...) and any nested object or
  mapping (``estimate``, ``likelihood``, ``featured``, ``tables``...) is compact JSON text
  (``[]`` or ``{}`` when empty);
* text that a spreadsheet would run as a formula is defused (see ``csv_cell``): a cell or list
  item starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in
  front, OWASP's advice against CSV injection. Numbers are never changed.

Written with the ``csv`` module (RFC 4180 quoting: a cell with a comma, a quote or a line break
is quoted, quotes doubled), UTF-8 without a byte-order mark, CRLF row ends; read it back with
``csv.DictReader(open(path, newline="", encoding="utf-8"))`` and every text cell is the exact
string of the record, but for that added ``'``; a list cell parses as JSON to the record's list.
Spreadsheets: import as UTF-8. The JSON and SQLite exports hold every text exactly as written.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..kinds import KINDS
from .files import WrittenFiles, compact, write_text
from .view import BODY, PAGE_URL, Column, View, columns_of, page_url

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula


def csv_cell(column: Column, value: Any) -> str:
    """The text of one CSV cell, defused against CSV injection.

    A spreadsheet opening the file runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return as a formula (``=HYPERLINK(...)``, ``-1+1|cmd``...), and the text
    of a record is whatever its editor typed. As OWASP advises, such text gets a ``'`` in front,
    which spreadsheets take to mean "this is text" and do not show. Whether to defuse is decided
    by the value's type, not by how the text looks: a number (``-0.5`` in a numeric field) is a
    value, not a formula, and stays as written, while a text field holding "-5" is defused like
    any other text. A list or JSON cell starts with ``[`` or ``{`` and is left exact, so that
    it still parses to the record's values.
    """
    if value is None:
        return ""
    if column.shape == "list":
        return compact(list(value)) if value else ""  # starts with '[': no formula, items exact
    if column.shape == "json":
        return compact(value)
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
        return compact(value)
    return str(value)


def write(view: View, out: Path) -> list[Path]:
    if view.kept is None:
        return _write(view, out, None)
    kept = view.kept.setdefault("csv", {"rows": {}, "files": WrittenFiles()})
    try:
        return _write(view, out, kept)
    except BaseException:  # stopped or failed half way: forget what the files might no longer hold
        view.kept["csv"] = {"rows": {}, "files": WrittenFiles()}
        raise


def _write(view: View, out: Path, kept: dict | None) -> list[Path]:
    # kb serve's exports into the same folder: a kind whose rows read what they read last time
    # (the records' values by repr, which tells 0.0 from -0.0 and 1 from 1.0 as the cells do),
    # and whose file is as that export left it, is not written again
    written = []
    reprs, seen = (kept.get("reprs", {}), {}) if kept is not None else ({}, {})
    for kind, entries in view.kinds.items():
        columns = columns_of(KINDS[kind], view.graph.vocabulary)
        path = out / f"{kind}.csv"
        if kept is not None:
            rows = (columns, [(entry.id, _repr(view.dumps[entry.id], reprs.get(entry.id), seen, entry.id),
                               entry.document.body) for entry in entries])
            if kept["rows"].get(kind) == rows and kept["files"].unchanged(path):
                written.append(path)
                continue
            kept["rows"].pop(kind, None)  # until the file holds them
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow([column.name for column in columns] + [PAGE_URL, BODY])
        for entry in entries:
            dump = view.dumps[entry.id]
            writer.writerow([csv_cell(column, dump[column.name]) for column in columns]
                            + [page_url(kind, entry.id), _defused(entry.document.body or "")])
        written.append(write_text(path, buffer.getvalue()))
        if kept is not None:
            kept["files"].note(path)
            kept["rows"][kind] = rows
    if kept is not None:
        kept["reprs"] = seen
    return written


def _repr(dump: dict, was: tuple | None, seen: dict, record_id: str) -> str:
    """repr() of a record's dump, the one of the export before while the dump is the same object
    (the View keeps a dump while its entry is the same)."""
    text = was[1] if was is not None and was[0] is dump else repr(dump)
    seen[record_id] = (dump, text)
    return text
