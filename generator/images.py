"""Images of the content tree: ``content/images/`` holds them, prose shows them with
``![alt text](../images/figure.png)`` (the address is relative to the record's file, as an
editor's preview shows it), and the write stage copies them to the same place in the docs tree,
so that the address works in the site too.

An image must be a PNG, JPEG, GIF or WebP file (SVG can carry script when opened by itself) of
at most 2 MiB, under ``content/images/``, named with letters, digits, ``-``, ``_`` and ``.``.
Images from other sites are refused: the site must work offline, and a reader's browser would
tell that site who reads the page.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path

FOLDER = "images"
EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MAX_BYTES = 2 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# ``![alt](address "title")`` as validation finds it on a line (code spans blanked).
IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*<?([^\s)>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")


def file_problem(relative: str, size: int) -> tuple[str, str] | None:
    """(message, hint) when a file under content/images/ (``relative`` to it) cannot be an image."""
    *folders, name = relative.split("/")
    if not name.lower().endswith(EXTENSIONS):
        kind = "an SVG file" if name.lower().endswith(".svg") else "not an image the site takes"
        return (f"'{name}' is {kind}: images are PNG, JPEG, GIF or WebP files",
                "convert it to PNG (an SVG opened by itself can run script); other files do not belong in "
                "content/images/")
    if not all(_NAME.fullmatch(part) for part in [*folders, name]):
        return (f"'{relative}' is not a name an image may have",
                "rename it with letters, digits, '-', '_' and '.' only")
    if size > MAX_BYTES:
        return (f"the image is {size / 1024 / 1024:.1f} MiB; at most {MAX_BYTES // 1024 // 1024} MiB",
                "save it smaller (fewer pixels, or JPEG or WebP for photographs)")
    return None


def resolve(src: str, record_folder: str) -> tuple[str | None, str, str]:
    """(the image's path under the content folder, or None with a message and a hint) of an
    address written in the prose of a record of ``record_folder`` (``topics``)."""
    where = f"save it under content/{FOLDER}/ and write ![what it shows](../{FOLDER}/<name>.png)"
    if not src:
        return None, "the image has no address", where
    if _SCHEME.match(src) or src.startswith("//"):
        return None, f"'{src}' is on another site: images are shown from the site itself", \
            f"the site must work offline and tell no other site who reads it: {where}"
    if src.startswith("/") or "\\" in src or "?" in src or "#" in src or "%" in src:
        return None, f"'{src}' is not a path within the content folder", where
    path = posixpath.normpath(posixpath.join(record_folder, src))
    if path.startswith("../") or path == ".." or not path.startswith(FOLDER + "/"):
        return None, f"'{src}' is not in content/{FOLDER}/", where
    problem = file_problem(path[len(FOLDER) + 1:], 0)
    if problem is not None:
        return None, *problem
    return path, "", ""


# What each kind of file starts with, by its suffix: a file is what it holds, not what it is named
# (an SVG renamed .png would still be an SVG to a browser that opens it by itself).
_SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
               ".gif": (b"GIF87a", b"GIF89a"), ".webp": (b"RIFF",)}
MAX_PIXELS = 50_000_000  # a small file can unpack to gigabytes in a reader's browser
MAX_READ = 2 * 1024 * 1024 + 1  # an image over 2 MiB is refused anyway (file_problem)
# JPEG's frame headers (SOF0-SOF15 but DHT, JPG and DAC), which give the image's size.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's first frame header, as a browser reads it; (0, 0) if none."""
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return 0, 0
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes
            at += 1
            continue
        if marker in _JPEG_FRAMES:
            return int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
        if marker == 0xD9 or marker == 0xDA:  # the end, or the image data: no frame header before it
            return 0, 0
        at += 2 + (0 if 0xD0 <= marker <= 0xD7 or marker == 0x01 else int.from_bytes(data[at + 2:at + 4], "big"))
    return 0, 0


def _webp_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a WebP image (its VP8, VP8L or VP8X header); (0, 0) if none."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return 0, 0


def found(content: Path, path: str) -> tuple[str, str] | None:
    """(message, hint) when the image at ``path`` (under ``content``) is not there, or is not the
    image its name says, or would unpack to more than MAX_PIXELS."""
    file = content / path
    if file.is_symlink() or not file.is_file():
        return f"there is no image content/{path}", f"add the file, or correct the address"
    try:
        with file.open("rb") as handle:
            head = handle.read(MAX_READ)  # the whole of an image the size limit allows
    except OSError as exc:
        return f"the image content/{path} cannot be read: {exc.strerror}", "let the user running kb read it"
    suffix = "." + path.rsplit(".", 1)[-1].lower()
    if not head.startswith(_SIGNATURES.get(suffix, (b"",))) or (suffix == ".webp" and head[8:12] != b"WEBP"):
        return (f"content/{path} is not a {suffix[1:].upper()} image, whatever its name",
                "save it again as the kind of image its name says")
    width = height = 0
    if suffix == ".png" and head[12:16] == b"IHDR":
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    elif suffix == ".gif":
        width, height = int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    elif suffix in (".jpg", ".jpeg"):
        width, height = _jpeg_size(head)
    elif suffix == ".webp":
        width, height = _webp_size(head)
    if width * height > MAX_PIXELS:
        return (f"the image is {width:,} x {height:,} pixels; at most {MAX_PIXELS // 1_000_000} million",
                "save it with fewer pixels")
    return None


def under(content: Path) -> dict[str, Path]:
    """The images of the content folder: {path under it ("images/x.png"): the file}, as the
    loader took them (it reports the files that are not images)."""
    folder = content / FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return {}
    result = {}
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in relative.split("/")) or file.is_symlink() or not file.is_file():
            continue
        try:
            size = file.stat().st_size
        except OSError:
            continue
        if file_problem(relative, size) is None:
            result[f"{FOLDER}/{relative}"] = file
    return result
