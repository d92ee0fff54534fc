"""Part of the index stage: Pagefind's chunked search index of a built site (a first search
fetches a few small chunks, not an index of the whole site).

Pagefind holds what it indexes in memory, about five times the HTML: 2.4 GB for the 434 MB of
the benchmark's 10,000 records with their articles, more than the whole build may use. So a
large site is indexed in parts (:func:`parts`, pages spread evenly by bytes), one Pagefind run
after another, each on a folder of hard links to its pages (the addresses in its index are the
pages' own). Part 0 is ``site/pagefind/``, as for a small site in one part; part ``n`` is
``site/pagefind/part-<n>/``; ``site/pagefind/kb-parts.json`` lists the parts after the first,
and the search page (assets/kb.js) merges them into one search (Pagefind UI's ``mergeIndex``).

The whole index is built into a new folder that then replaces the old one, so that a served
site keeps its index until the new one is complete. Pagefind dies with this process however
that dies, and is killed on any exception here (``build.Stopped`` by a signal included) and when
``stopping`` is set (then ``core.Interrupted``).
"""
from __future__ import annotations

import heapq
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from . import processes
from .core import Diagnostic, Interrupted

PAGEFIND = [sys.executable, "-m", "pagefind", "--silent", "--exclude-selectors", ".headerlink"]
# HTML one Pagefind run indexes at most (KB_SEARCH_PART_MB overrides it): about 1.2 GB of memory.
PART_BYTES = 256 * 1024 ** 2
PARTS_FILE = "kb-parts.json"  # in the index folder: {"merge": ["part-1/", ...]}, read by assets/kb.js


def part_bytes() -> int | None:
    """PART_BYTES, or what KB_SEARCH_PART_MB says (megabytes, more than 0); None for a value that is not one."""
    given = os.environ.get("KB_SEARCH_PART_MB", "").strip()
    if not given:
        return PART_BYTES
    try:
        megabytes = float(given)
    except ValueError:
        return None
    return round(megabytes * 1024 ** 2) if math.isfinite(megabytes) and megabytes * 1024 ** 2 >= 1 else None


def parts(pages: dict[str, int], most: int) -> list[list[str]]:
    """The pages (path -> bytes) in as few parts as keep each under ``most`` bytes where pages
    allow, spread evenly: the largest page first, each to the part with the fewest bytes so
    far (ties to the lower part); each part in path order. One part when everything fits."""
    count = min(len(pages), math.ceil(sum(pages.values()) / most))
    if count <= 1:
        return [sorted(pages)]
    heap = [(0, number) for number in range(count)]
    assigned: list[list[str]] = [[] for _ in range(count)]
    for path in sorted(pages, key=lambda p: (-pages[p], p)):
        size, number = heapq.heappop(heap)
        assigned[number].append(path)
        heapq.heappush(heap, (size + pages[path], number))
    return [sorted(part) for part in assigned if part]


def _pages(site: Path) -> dict[str, int]:
    """The site's HTML pages (path -> bytes), leaving out the index's own folders."""
    pages = {}
    for path in site.rglob("*.html"):
        top = path.relative_to(site).parts[0]
        if top != "pagefind" and not top.startswith(".pagefind"):
            pages[path.relative_to(site).as_posix()] = path.stat().st_size
    return pages


def index_search(site: Path, stopping: threading.Event | None = None) -> Diagnostic | None:
    """Pagefind's index of ``site`` into ``site/pagefind/``, in parts for a large site."""
    if importlib.util.find_spec("pagefind") is None:
        return Diagnostic(str(site), 1, 1, "the search index needs Pagefind, which is not installed here: "
                          "pip install 'kb-wiki[site]'", code="search")
    most = part_bytes()
    if most is None:
        return Diagnostic(str(site), 1, 1, f"KB_SEARCH_PART_MB={os.environ.get('KB_SEARCH_PART_MB')!r} is not a size "
                          "of a search index part", hint="give megabytes of HTML, more than 0 (e.g. 256), or unset it",
                          code="search")
    index, new, old = site / "pagefind", site / ".pagefind-new", site / ".pagefind-old"
    shutil.rmtree(new, ignore_errors=True)
    for left in site.glob(".pagefind-pages-*"):  # a killed run's links: Pagefind would index them too
        shutil.rmtree(left, ignore_errors=True)
    divided = parts(_pages(site), most)
    try:
        for number, part in enumerate(divided):
            output = new if number == 0 else new / f"part-{number}"
            if len(divided) == 1:
                problem = _pagefind(site, output, stopping)
            else:
                with tempfile.TemporaryDirectory(prefix=".pagefind-pages-", dir=site) as folder:
                    _link_pages(site, Path(folder), part)
                    problem = _pagefind(Path(folder), output, stopping)
            if problem is not None:
                shutil.rmtree(new, ignore_errors=True)
                return Diagnostic(str(site), 1, 1, problem, code="search")
        merged = [f"part-{number}/" for number in range(1, len(divided))]
        (new / PARTS_FILE).write_text(json.dumps({"merge": merged}) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if index.exists():
        index.rename(old)
    new.rename(index)
    shutil.rmtree(old, ignore_errors=True)
    return None


def _link_pages(site: Path, folder: Path, pages: list[str]) -> None:
    """``folder`` as a site of ``pages`` alone: hard links to them (copies where links fail)."""
    for relative in pages:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(site / relative, target)
        except OSError:
            shutil.copyfile(site / relative, target)


def _pagefind(site: Path, output: Path, stopping: threading.Event | None) -> str | None:
    """One Pagefind run: the index of the pages under ``site`` into ``output``; its failure as text."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen([*PAGEFIND, "--site", str(site), "--output-path", str(output)],
                                   stdout=subprocess.DEVNULL, stderr=errors, preexec_fn=processes.dies_with_parent())
        try:
            while True:
                if stopping is not None and stopping.is_set():  # before waiting: a quick index must not win
                    raise Interrupted()
                try:
                    code = process.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if code:
            errors.seek(0)
            return (f"the search index could not be built: pagefind failed (exit {code}): "
                    f"{errors.read().strip()[-2000:]}")
    return None
