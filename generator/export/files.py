"""Writing an export's files: a reader never sees half a file, and an unchanged file stays as it is."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable


def write_atomic(path: Path, write: Callable[[Path], None], unless_same: bool = False) -> Path:
    """Call ``write(temporary path)`` beside ``path``, then rename it into place (``unless_same``:
    unless ``path`` already holds the same bytes, which then stays as it is)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
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
    """JSON for reading: UTF-8 as it is, indented by two spaces."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def compact(value: Any) -> str:
    """JSON in one line, for a cell, a column or a download."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
