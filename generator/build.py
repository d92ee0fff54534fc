"""Stage 6, build: write the rendered Markdown where MkDocs reads it, then run MkDocs.

Only files whose content changed are written, so a rebuild after one edited record touches
one record's page plus the pages that show it. The site folder is replaced only when a new one
is complete: a failed build leaves the old site.

Serving (``kb serve``, which is ``mkdocs serve --dirty``): MkDocs rebuilds a page only when its
Markdown is newer than its HTML, so a reload after one edit renders the pages the generator
rewrote and no others; the helpers at the end of this module make such dirty builds safe
(:class:`DirtyBuilds`, :func:`site_fingerprint`) and redo the search index and the data export
of a served site in the background (:class:`Refresher`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import diagrams, export, render, score, schemas
from .core import Diagnostic
from .kinds import KINDS
from .pipeline import Checked, check

log = logging.getLogger("kb")

GENERATED_DIR = Path("build") / "docs"
DIAGRAM_CACHE = Path("build") / "diagrams"


@dataclass
class Generated:
    checked: Checked
    rendered: render.Rendered | None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked.ok


class Progress:
    """A one-line progress bar on a terminal; silent in CI and when output is piped."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() and not os.environ.get("CI")
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 200:
            return
        percent = 100 * done // total
        if percent == self.shown:
            return
        self.shown = percent
        bar = "#" * (percent // 4)
        self.stream.write(f"\r{self.label:<10} [{bar:<25}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def today() -> dt.date:
    """The build's day; KB_TODAY=YYYY-MM-DD pins it for reproducible builds and tests."""
    pinned = os.environ.get("KB_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def generate(content: Path, out: Path, cache: Path | None = None) -> Generated:
    """check -> score -> render, draw the diagrams, then write the pages that changed into ``out``."""
    checked = check(content)
    if not checked.ok:
        return Generated(checked, None)
    start = time.perf_counter()
    assessments = score.assess(checked.graph, today())
    checked.timings["score"] = time.perf_counter() - start
    start = time.perf_counter()
    rendered = render.render(checked.graph, assessments, today())
    checked.timings["render"] = time.perf_counter() - start
    start = time.perf_counter()
    drawn = diagrams.draw({path: page.markdown for path, page in rendered.pages.items()},
                          cache or out.parent / DIAGRAM_CACHE.name, Progress("diagrams"))
    checked.timings["diagrams"] = time.perf_counter() - start
    log.info("diagrams  %6d drawn, %d from cache, %d left to the browser", drawn.drawn, drawn.cached, drawn.left)
    for failure in drawn.failed:
        log.warning("diagram could not be drawn at build time (the browser will try): %s", failure)
    pages = {path: page.markdown for path, page in rendered.pages.items()}
    start = time.perf_counter()
    written, removed = write_changed(out, pages)
    checked.timings["write"] = time.perf_counter() - start
    log.info("write     %6d pages changed, %d removed", len(written), len(removed))
    return Generated(checked, rendered, written, removed)


def write_changed(out: Path, pages: dict[str, str]) -> tuple[list[str], list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in pages.items():
        target = out / relative
        data = text.encode("utf-8")
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(relative)
    removed = []
    for existing in out.rglob("*.md"):
        relative = existing.relative_to(out).as_posix()
        if relative not in pages:
            existing.unlink()
            removed.append(relative)
    return written, removed


@dataclass
class BuildResult:
    ok: bool
    diagnostics: list[Diagnostic]
    summary: dict


def build_site(config_file: Path, site_dir: Path | None = None) -> BuildResult:
    """Validate and generate, run MkDocs into a fresh folder, then swap it into place."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    root = config_file.resolve().parent
    started = time.perf_counter()
    generated = generate(root / "content", root / GENERATED_DIR)
    if not generated.ok:
        return BuildResult(False, generated.checked.diagnostics, {})
    config = load_config(str(config_file))
    final = Path(site_dir or config.site_dir).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent))
    config = load_config(str(config_file), site_dir=str(staging))
    config.extra["kb_pregenerated"] = True
    mkdocs_start = time.perf_counter()
    try:
        build(config)
    except (MkDocsException, SystemExit) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return BuildResult(False, [Diagnostic(str(config_file), 1, 1, f"MkDocs build failed: {exc}", code="mkdocs")], {})
    search_start = time.perf_counter()
    index_search(staging)
    search_seconds = time.perf_counter() - search_start
    mkdocs_seconds = search_start - mkdocs_start
    export_start = time.perf_counter()
    publish_data(generated.checked.graph, staging)
    export_seconds = time.perf_counter() - export_start
    _swap(staging, final)
    remember_build(root, final, site_fingerprint(config))  # for a later `mkdocs build --dirty` into it
    timings = {k: round(v, 3) for k, v in generated.checked.timings.items()}
    timings["mkdocs"] = round(mkdocs_seconds, 3)
    timings["search"] = round(search_seconds, 3)
    timings["export"] = round(export_seconds, 3)
    summary = {"records": len(generated.checked.entries), "pages": len(generated.rendered.pages),
               "written": len(generated.written), "seconds": round(time.perf_counter() - started, 2),
               "stages": timings, "site": str(final)}
    return BuildResult(True, generated.checked.diagnostics, summary)


PAGEFIND = [sys.executable, "-m", "pagefind", "--silent", "--exclude-selectors", ".headerlink"]


def index_search(site: Path) -> None:
    """Pagefind's chunked search index into site/pagefind/: a first search fetches a few small
    chunks, not an index of the whole site."""
    done = subprocess.run([*PAGEFIND, "--site", str(site)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pagefind failed: {done.stderr or done.stdout}")


def publish_data(graph, site: Path) -> None:
    """Stage 7, export, into the site: data/ (JSON, CSV, SQLite) and schemas/ (one per kind)."""
    export.export(graph, site / "data", export.FORMATS)
    (site / "schemas").mkdir(exist_ok=True)
    for kind in KINDS.values():
        (site / "schemas" / f"{kind.folder}.schema.json").write_text(schemas.render_schema(kind), encoding="utf-8")


def _swap(staging: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------- serving and dirty builds

DIRTY_STATE = Path("build") / "dirty-builds.json"  # site folder -> fingerprint its HTML was built with


class DirtyBuilds(logging.Filter):
    """Tells the hooks whether the running MkDocs build is dirty, and keeps strict mode from failing it.

    MkDocs gives plugins no flag for a dirty build (``mkdocs serve --dirty``, ``mkdocs build
    --dirty``); it logs a warning at the start of one instead: navigation and links may come out
    wrong. Strict mode counts that warning, so every dirty build of this site would abort. Here
    they do not come out wrong: the navigation is fixed in mkdocs.yml, the generator rewrites the
    Markdown of every page that shows an edited record (and MkDocs rebuilds a page whose Markdown
    is newer than its HTML), the hooks delete the HTML of removed pages, and a changed theme or
    mkdocs.yml rebuilds every page (:func:`site_fingerprint`). So the warning becomes an INFO line
    that says so, and ``seen`` is set (the hooks clear it when a build starts).
    """

    WARNING = "A 'dirty' build is being performed"
    NOTE = ("Dirty build: MkDocs rebuilds only the pages whose Markdown the generator rewrote "
            "(every page that shows an edited record); a changed theme or mkdocs.yml rebuilds all")

    def __init__(self) -> None:
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self.WARNING):
            self.seen = True
            record.msg, record.args = self.NOTE, ()
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


DIRTY_BUILDS = DirtyBuilds()


def watch_dirty_builds() -> DirtyBuilds:
    """Put :data:`DIRTY_BUILDS` first on MkDocs' build logger: before the filter MkDocs adds there,
    which drops a message seen once, while the warning comes on every dirty build."""
    logger = logging.getLogger("mkdocs.commands.build")
    if DIRTY_BUILDS not in logger.filters:
        logger.filters.insert(0, DIRTY_BUILDS)
    return DIRTY_BUILDS


def site_fingerprint(config) -> str:
    """What every page's HTML depends on besides its own Markdown: mkdocs.yml, the theme files of
    the project (``custom_dir``; an installed theme does not change under a running server) and
    the site's address. A dirty build into a folder built with another fingerprint rebuilds all."""
    config_file = Path(os.path.abspath(config.config_file_path))
    root = config_file.parent
    digest = hashlib.sha256(config_file.read_bytes())
    digest.update(f"\0{config.site_url}\0".encode())
    for folder in map(Path, map(os.path.abspath, config.theme.dirs)):
        if not folder.is_relative_to(root):
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(root)}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()


def built_with(root: Path, site: Path) -> str | None:
    """The fingerprint the HTML in ``site`` was built with, if a build recorded it."""
    try:
        return json.loads((root / DIRTY_STATE).read_text(encoding="utf-8")).get(str(site.resolve()))
    except (OSError, ValueError, AttributeError):
        return None


def remember_build(root: Path, site: Path, fingerprint: str | None) -> None:
    """Record (or, with None, forget) what ``site`` was built with; folders gone are dropped."""
    path = root / DIRTY_STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        state = {key: value for key, value in state.items() if Path(key).is_dir()}
    except (OSError, ValueError, AttributeError):
        state = {}
    state.pop(str(site.resolve()), None)
    if fingerprint is not None:
        state[str(site.resolve())] = fingerprint
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class Refresher:
    """The search index and the data export of a served site, redone in the background after a
    reload, so that the reload does not wait for them (Pagefind reads every page, the export
    writes every record).

    Until it is done, search and data/ show the previous build, and the log says so when it
    starts and when it is done. The export runs as ``kb export`` and Pagefind into a new folder
    that then replaces site/pagefind/, each in a process of its own that ``stop()`` ends: the
    hooks stop it when the next build starts (that build starts a new one) and on shutdown.
    """

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.current = False  # the search index and data match the last build (the hooks set it)

    def start(self, root: Path, site: Path) -> None:
        self.stop()
        self.current = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(root, site, self._stopping),
                                        name="kb-refresh", daemon=True)
        self._thread.start()

    def stop(self, reason: str = "") -> None:
        """End a refresh still running (its output so far is left as it was) and wait for it."""
        thread = self._thread
        if thread is None:
            return
        if thread.is_alive() and reason:
            self.log.info("Stopped refreshing the search index and data: %s", reason)
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # the export removes its temporary files on SIGINT
        thread.join(timeout=30)
        if thread.is_alive() and process is not None:
            process.kill()
            thread.join()
        self._thread = None

    def _step(self, command: list[str], cwd: Path, stopping: threading.Event) -> tuple[int, str] | None:
        with self._lock:
            if stopping.is_set():
                return None
            self._process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, text=True)
        _, errors = self._process.communicate()
        with self._lock:
            code, self._process = self._process.returncode, None
        return None if stopping.is_set() else (code, errors)

    def _run(self, root: Path, site: Path, stopping: threading.Event) -> None:
        started = time.perf_counter()
        self.log.info("Search and data/ still show the previous build: refreshing the search index "
                      "and data in the background")
        index, new_index, old_index = site / "pagefind", site / ".pagefind-new", site / ".pagefind-old"
        shutil.rmtree(new_index, ignore_errors=True)
        steps = {
            "export": [sys.executable, "-m", "generator", "export", "--content", str(root / "content"),
                       "--out", str(site / "data")],
            "search index": [*PAGEFIND, "--site", str(site), "--output-path", str(new_index)],
        }
        seconds = {}
        for name, command in steps.items():
            step_started = time.perf_counter()
            done = self._step(command, root, stopping)
            seconds[name] = time.perf_counter() - step_started
            if done is None:  # stopped: a new build has started and will refresh again
                shutil.rmtree(new_index, ignore_errors=True)
                return
            code, errors = done
            if code:
                shutil.rmtree(new_index, ignore_errors=True)
                self.log.warning("search index and data: refresh failed in the %s step (exit %d); search "
                                 "and data/ show an earlier build:\n%s", name, code, errors.strip()[-2000:])
                return
        shutil.rmtree(old_index, ignore_errors=True)
        if index.exists():
            index.rename(old_index)
        new_index.rename(index)
        shutil.rmtree(old_index, ignore_errors=True)
        self.current = True
        self.log.info("search index and data refreshed in %.1f s (%s)", time.perf_counter() - started,
                      ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items()))
