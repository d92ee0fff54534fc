"""The job summary of a pull request's check: what `kb validate --summary` appends to
``$GITHUB_STEP_SUMMARY`` (Markdown).

Two plain functions and the escaping between them: :func:`changes` compares two runs of the
pipeline (the base branch's content and the changed one, each loaded, validated, linked and
scored) file by file, and :func:`summary` lays the errors and the changes out as Markdown tables.
Every cell is record text, hostile input: :func:`cell` escapes it so that it stays one cell of
plain text (no pipe, line break, HTML or Markdown syntax of its own).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import load
from .core import Diagnostic, errors_of
from .kinds import KINDS, suffix_of
from .present import page_path

MAX_ROWS = 500  # per table: a job summary holds at most 1 MiB


@dataclass(frozen=True)
class Change:
    """A record file the change adds, changes or removes; its page and quality on each side
    (None: no such record there, or that side has errors and was not scored)."""

    file: str  # as the changed side's content folder shows it: content/systems/gpt-4.yaml
    change: str  # "added", "changed" or "removed"
    page: str | None  # the record's page in the docs tree: systems/gpt-4.md
    before: int | None
    after: int | None


def changes(before, after) -> list[Change]:
    """The record files that differ between two runs (``pipeline.Run`` with the ``score``
    stage asked for), by their place in the content folder and their bytes; a renamed file is
    one removed and one added."""
    old, new = _files(before.content), _files(after.content)
    shown = load.display_path(Path(after.content))
    shown = "" if shown == "." else shown + "/"
    found = []
    for relative in sorted(old.keys() | new.keys()):
        if relative in old and relative in new and old[relative] == new[relative]:
            continue
        change = "removed" if relative not in new else "added" if relative not in old else "changed"
        kind, name = relative.split("/")
        record_id = name.removesuffix(suffix_of(name) or KINDS[kind].suffix)
        entry = _entry(after, record_id) or _entry(before, record_id)
        found.append(Change(shown + relative, change, page_path(entry) if entry else None,
                            _quality(before, record_id), _quality(after, record_id)))
    return found


def _files(root: Path) -> dict[str, bytes]:
    files, _ = load.discover(Path(root))
    return {path.relative_to(root).as_posix(): path.read_bytes() for path, _, _ in files}


def _entry(run, record_id: str):
    return run.graph.entries.get(record_id) if run.graph is not None else None


def _quality(run, record_id: str) -> int | None:
    found = (run.scores or {}).get(record_id)
    return found.quality if found is not None else None


def summary(diagnostics: list[Diagnostic], found: list[Change] | None) -> str:
    """The summary: a title with the count of errors, their table (those in a changed file
    first), and the table of changes (``None``: no base to compare with)."""
    errors = errors_of(diagnostics)
    touched = {change.file for change in found or ()}
    errors.sort(key=lambda d: (d.file not in touched, d))
    lines = [f"## kb validate: {_count(len(errors), 'error')}" if errors else "## kb validate: content is valid", ""]
    if errors:
        lines += _table(["File", "Line", "Field", "Message"],
                        [[d.file, str(d.line), d.field, d.message + (f" (hint: {d.hint})" if d.hint else "")]
                         for d in errors])
    if found is None:
        lines.append("No base content to compare with (`kb validate --base DIR`): the changed records are not listed.")
    elif not found:
        lines.append("No record is added, changed or removed.")
    else:
        tally = ", ".join(f"{sum(c.change == what for c in found)} {what}" for what in ("added", "changed", "removed"))
        lines += [f"### Records: {tally}", ""]
        lines += _table(["Change", "Record", "Page", "Quality before", "Quality after"],
                        [[c.change, c.file, c.page or "", _number(c.before), _number(c.after)] for c in found])
        if any(c.change != "removed" and c.after is None for c in found):
            lines.append("Quality after: not scored while the base has errors.")
    return "\n".join(lines).rstrip() + "\n"


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'s' * (number != 1)}"


def _number(value: int | None) -> str:
    return "–" if value is None else str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(text) for text in row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"\n… and {len(rows) - MAX_ROWS} more (the log has every one).")
    return lines + [""]


_SPECIAL = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]|[!-/:-@\[-`{-~]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def cell(text: str) -> str:
    """Text as one table cell that shows it as it is: HTML's characters as entities, every other
    ASCII punctuation mark backslash-escaped (no emphasis, link, code span, autolink or pipe),
    a line break as <br>."""
    def escape(match: re.Match) -> str:
        found = match.group()
        if found in _ENTITIES:
            return _ENTITIES[found]
        return "\\" + found if len(found) == 1 and found.isascii() and found.isprintable() else "<br>"
    return _SPECIAL.sub(escape, text)
