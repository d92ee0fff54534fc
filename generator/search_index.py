"""Part of the index stage: Pagefind's chunked search index of a built site (a first search
fetches a few small chunks, not an index of the whole site).

Pagefind holds what it indexes in memory, about five times the HTML: 2.4 GB for the 434 MB of
the benchmark's 10,000 records with their articles, more than the whole build may use. So a
large site is indexed in parts (:func:`parts`, pages spread evenly by bytes), one Pagefind run
after another, each on a folder of hard links to its pages (the addresses in its index are the
pages' own). Part 0 is ``site/pagefind/``, as for a small site in one part; part ``n`` is
``site/pagefind/part-<n>/``; ``site/pagefind/kb-parts.json`` lists the parts after the first,
and the search page (assets/kb.js) merges them into one search (Pagefind UI's ``mergeIndex``).

``kb serve`` refreshes the index after an edit without indexing the whole site again
(:func:`index_delta`, with a :class:`Delta` kept between reloads): the pages changed since the
whole site was indexed are indexed alone into ``site/pagefind/kb-delta-<n>/``, listed last in
``merge``, and ``hide`` lists the fragments those pages have in the parts (a fragment is a page as
indexed, named by a hash of it), which assets/search/pagefind.js leaves out of the results. Past
``Delta.MOST`` of the pages, the whole site is indexed again instead.

The whole index is built into a new folder that then replaces the old one, so that a served
site keeps its index until the new one is complete. Pagefind dies with this process however
that dies, and is killed on any exception here (``build.Stopped`` by a signal included) and when
``stopping`` is set (then ``core.Interrupted``).
"""
from __future__ import annotations

import gzip
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

from dataclasses import dataclass, field

from . import processes
from .core import Diagnostic, Interrupted

PAGEFIND = [sys.executable, "-m", "pagefind", "--silent", "--exclude-selectors", ".headerlink"]
# HTML one Pagefind run indexes at most (KB_SEARCH_PART_MB overrides it): about 1.2 GB of memory.
PART_BYTES = 256 * 1024 ** 2
PARTS_FILE = "kb-parts.json"  # in the index folder: {"merge": ["part-1/", ...]}, read by assets/kb.js
DELTA_PREFIX = "kb-delta-"  # kb serve's index of the pages changed since the whole site was indexed
FRAGMENT_SIGNATURE = b"pagefind_dcd"  # what a fragment's JSON follows, once unzipped


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
            problem = (_pagefind(site, output, stopping) if len(divided) == 1
                       else _pagefind_of(site, part, output, stopping))
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


def _pagefind_of(site: Path, pages: list[str], output: Path, stopping: threading.Event | None) -> str | None:
    """One Pagefind run on ``pages`` of ``site`` alone (a folder of links to them, so that their
    addresses are their own); its failure as text."""
    with tempfile.TemporaryDirectory(prefix=".pagefind-pages-", dir=site) as folder:
        _link_pages(site, Path(folder), pages)
        return _pagefind(Path(folder), output, stopping)


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


# ------------------------------------------------------------------ kb serve: the pages an edit changed


@dataclass
class Delta:
    """What kb serve's refreshes keep between reloads: the pages (paths in the site) changed or
    removed since the whole site was last indexed, and the fragments of the pages in that index
    (page address -> fragment), read once from its folders when a refresh first needs them.

    The hooks add a reload's pages to ``since`` when MkDocs has built them, before any refresh:
    a refresh that is stopped (the next reload starts) or fails leaves them there, and the next
    one indexes them with its own."""

    MOST = 0.2  # past this share of the site's pages changed, the whole site is indexed again
    since: set[str] = field(default_factory=set)
    fragments: dict[str, str] | None = None
    number: int = 0  # of the last kb-delta-<n>/
    indexed: bool = False  # this process indexed the whole site (what it finds of another's, it does not know)
    pages: int = 0  # the site's pages then

    def fits(self, changed: set[str], pages: int) -> bool:
        """Whether the pages changed since the whole index, with ``changed``, are few enough to
        index alone (of ``pages`` in the site)."""
        return self.indexed and len(self.since | changed) <= max(50, self.MOST * pages)

    def reset(self, pages: int = 0) -> None:
        """The whole site (of ``pages`` pages) was indexed: nothing has changed since."""
        self.since, self.fragments, self.indexed, self.pages = set(), None, True, pages


def address(page: str) -> str:
    """The address Pagefind gives a page of the site (``risks/index.html`` -> ``/risks/``)."""
    url = "/" + page
    return url[: -len("index.html")] if url.endswith("/index.html") else url


def fragments_of(index: Path) -> dict[str, str]:
    """Page address -> the fragment it has in the index in ``index`` (every part of it, but a
    kb-delta's)."""
    found: dict[str, str] = {}
    folders = [index] + sorted(p for p in index.glob("part-*") if p.is_dir())
    for folder in folders:
        for entry in os.scandir(folder / "fragment") if (folder / "fragment").is_dir() else ():
            if entry.name.endswith(".pf_fragment"):
                with open(entry.path, "rb") as file:
                    data = gzip.decompress(file.read())
                if data.startswith(FRAGMENT_SIGNATURE):
                    found[json.loads(data[len(FRAGMENT_SIGNATURE):])["url"]] = entry.name[: -len(".pf_fragment")]
    return found


def index_delta(site: Path, changed: set[str], delta: Delta, stopping: threading.Event | None = None) -> Diagnostic | None:
    """After a reload that changed (or removed) the pages ``changed`` (paths in ``site``): the
    pages changed since :func:`index_search` indexed the whole site, indexed alone (``delta``
    says which; the caller has asked it whether they are few enough)."""
    index = site / "pagefind"
    delta.since |= changed  # changed since the whole index, whether this refresh ends or not
    if delta.fragments is None:
        delta.fragments = fragments_of(index)
    since = delta.since
    present = sorted(page for page in since if (site / page).is_file())
    new = index / ".kb-delta-new"
    shutil.rmtree(new, ignore_errors=True)
    merged = json.loads((index / PARTS_FILE).read_text(encoding="utf-8")).get("merge", [])
    listed = [part for part in merged if part.startswith(DELTA_PREFIX)]
    merged = [part for part in merged if not part.startswith(DELTA_PREFIX)]
    number = max([delta.number] + [int(p.name[len(DELTA_PREFIX):]) for p in index.glob(f"{DELTA_PREFIX}*")
                                   if p.name[len(DELTA_PREFIX):].isdigit()]) + 1
    name = f"{DELTA_PREFIX}{number}/"
    placed = False
    try:
        indexed: dict[str, str] = {}
        if present:
            problem = _pagefind_of(site, present, new, stopping)
            if problem is not None:
                shutil.rmtree(new, ignore_errors=True)
                return Diagnostic(str(site), 1, 1, problem, code="search")
            indexed = fragments_of(new)
            new.rename(index / name)
            placed = True
            merged.append(name)
        # a page's fragment in the parts is hidden unless the new index has the same one (the
        # page came back to what it was: the search page shows a fragment found twice once)
        hide = sorted({delta.fragments[address(page)] for page in since if address(page) in delta.fragments}
                      - set(indexed.values()))
        _write_atomic(index / PARTS_FILE, json.dumps({"merge": merged, "hide": hide}) + "\n")
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        if placed:
            shutil.rmtree(index / name, ignore_errors=True)
        raise
    # the delta before stays one refresh longer: a search page opened before this one may still fetch it
    for old in index.glob(f"{DELTA_PREFIX}*"):
        if old.name + "/" not in merged and old.name + "/" not in listed:
            shutil.rmtree(old, ignore_errors=True)
    delta.number = number
    return None


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
