"""Writing an export's files: a reader never sees half a file, and an unchanged file stays as it is."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Callable, Iterable


class WrittenFiles(dict):
    """File -> its size, times and inode when an export last wrote (or found) the bytes it wanted
    there: kb serve's next export knows such a file holds them still, without reading it."""

    def note(self, path: Path) -> Path:
        self[path] = file_key(path)
        return path

    def unchanged(self, path: Path) -> bool:
        return self.get(path) is not None and self[path] == file_key(path)


def file_key(path: Path) -> tuple | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino)


def write_atomic(path: Path, write: Callable[[Path], None], unless_same: bool = False) -> Path:
    """Call ``write(temporary path)`` beside ``path``, then rename it into place (``unless_same``:
    unless ``path`` already holds the same bytes, which then stays as it is)."""
    # Named before it exists, so that a stop anywhere below (kb build's export runs in a thread
    # that is interrupted where it is) finds the file to remove.
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        write(temporary)
        if unless_same and _same_bytes(path, temporary):
            temporary.unlink()
            return path
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` unless the file already holds it: a re-export after one edit (``kb serve``
    refreshes the data after each) rewrites the files that changed, not one per record."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return path
    except OSError:
        pass
    return write_atomic(path, lambda temporary: temporary.write_bytes(data))


def write_pieces(path: Path, pieces: Iterable[str]) -> Path:
    """Write the text that ``pieces`` make, one after another, unless the file already holds it:
    a file of the whole base is never one string in memory (at 10,000 records, all.json as one
    str and its UTF-8 were about 0.4 GB)."""
    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            for piece in pieces:
                out.write(piece)

    return write_atomic(path, write, unless_same=True)


def _same_bytes(first: Path, second: Path) -> bool:
    try:
        if first.stat().st_size != second.stat().st_size:
            return False
        with open(first, "rb") as one, open(second, "rb") as other:
            while True:
                a, b = one.read(1 << 20), other.read(1 << 20)
                if a != b:
                    return False
                if not a:
                    return True
    except OSError:
        return False


def json_text(value: Any) -> str:
    """JSON for reading: UTF-8 as it is, indented by two spaces; ``json.dumps(value,
    ensure_ascii=False, indent=2) + "\\n"`` to the byte, made about three times as fast (with an
    indent, ``json`` encodes in Python, a generator per list and mapping: at 10,000 records with
    their articles that was 20 of the JSON export's 27 s)."""
    pieces: list[str] = []
    try:
        _indented(value, "\n", pieces)
    except (_Unusual, RecursionError):  # json's own error for a value that holds itself
        return json.dumps(value, ensure_ascii=False, indent=2) + "\n"
    pieces.append("\n")
    return "".join(pieces)


def indented_items(texts: list[str]) -> str:
    """``json_text`` of a list, from the ``json_text`` of each of its items."""
    if not texts:
        return "[]\n"
    return "[\n  " + ",\n  ".join(text[:-1].replace("\n", "\n  ") for text in texts) + "\n]\n"


class _Unusual(Exception):
    """A value ``_indented`` leaves to ``json`` (a key that is not a string, a number that is not
    finite, a type of its own)."""


_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes a string as
_SCALARS = {True: "true", False: "false"}


def _indented(value: Any, newline: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append(_SCALARS[value])
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unusual()
        out.append(float.__repr__(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        first = True
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual()
            if type(item) is str:  # most values: no call for them
                out.append(("{" if first else ",") + inner + _string(key) + ": " + _string(item))
            else:
                out.append(("{" if first else ",") + inner + _string(key) + ": ")
                _indented(item, inner, out)
            first = False
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        first = True
        for item in value:
            if type(item) is str:
                out.append(("[" if first else ",") + inner + _string(item))
            else:
                out.append(("[" if first else ",") + inner)
                _indented(item, inner, out)
            first = False
        out.append(newline + "]")
    else:
        raise _Unusual()


def compact(value: Any) -> str:
    """JSON in one line, for a cell, a column or a download."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
