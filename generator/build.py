"""Stage 6, build: write the rendered Markdown where MkDocs reads it, then run MkDocs.

Only files whose content changed are written, so a rebuild after one edited record touches
one record's page plus the pages that show it. The site folder is replaced only when a new one
is complete, in one atomic exchange; a build that fails, or is stopped or killed, leaves the old
site and, once the next build has started, nothing else (:func:`build_site`).

Serving (``kb serve``, which is ``mkdocs serve --dirty``): MkDocs rebuilds a page only when its
Markdown is newer than its HTML, so a reload after one edit renders the pages the generator
rewrote and no others; the helpers at the end of this module make such dirty builds safe
(:class:`DirtyBuilds`, :func:`site_fingerprint`) and redo the search index and the data export
of a served site in the background (:class:`Refresher`).
"""
from __future__ import annotations

import ctypes
import datetime as dt
import errno
import gc
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import diagrams, export, processes, render, score, schemas
from .core import Diagnostic
from .kinds import KINDS
from .pipeline import Checked, check

try:
    import fcntl
except ImportError:  # Windows: no flock, so builds of one site folder must not overlap there
    fcntl = None

log = logging.getLogger("kb")

GENERATED_DIR = Path("build") / "docs"
DIAGRAM_CACHE = Path("build") / "diagrams"


@dataclass
class Generated:
    checked: Checked
    rendered: render.Rendered | None
    scores: dict | None = None
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
    assessments = score.score(checked.graph, today())
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
    return Generated(checked, rendered, assessments, written, removed)


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


class Stopped(BaseException):
    """The build was stopped by SIGTERM, SIGINT or SIGHUP. A BaseException, as KeyboardInterrupt
    is, so that no ``except Exception`` in MkDocs or a plugin catches it on its way out through
    the build's cleanup."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class BuildFailed(Exception):
    """A failure the build reports as one diagnostic (a folder it cannot write, another build
    running, Pagefind failing) instead of a traceback."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic
        super().__init__(diagnostic.message)


class _StopSignals:
    """While a build runs, SIGTERM, SIGINT and SIGHUP raise :class:`Stopped` in it, so that its
    cleanup runs (the staging folder removed, Pagefind killed) instead of the process dying with
    them left behind. Inside :meth:`deferred` (the swap, the cleanup itself) a signal waits until
    the block is done: half a swap or half a cleanup is what the exception is there to prevent."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self) -> None:
        self._deferring = 0
        self._pending: int | None = None

    @contextmanager
    def raising(self):
        """Install the handlers for the block (only the main thread can; elsewhere, as in a
        server's build thread, the signals keep whatever handlers the program has)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in self.SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def deferred(self):
        """Hold back a signal until the block is done, then raise it."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._pending is not None:
                signum, self._pending = self._pending, None
                raise Stopped(signum)

    def _handle(self, signum: int, frame) -> None:
        if self._deferring:
            self._pending = self._pending or signum
            return
        raise Stopped(signum)


_STOP = _StopSignals()


def build_site(config_file: Path, site_dir: Path | None = None) -> BuildResult:
    """Validate and generate, run MkDocs into a fresh folder, then swap it into place.

    What a build guarantees: one build at a time per site folder (a lock file beside it); the
    leftovers of killed builds removed when it starts; the site folder complete at every moment
    (an atomic exchange); on any failure, or SIGTERM, SIGINT or SIGHUP, its staging folder
    removed and its children killed (and a child dies with the build even when that is killed
    with SIGKILL); a folder it cannot write reported as a diagnostic naming the file or folder.
    """
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    root = config_file.resolve().parent
    final, fingerprint = _site_folder(config_file, site_dir)
    with _STOP.raising():
        try:
            with _writing(final.parent, root):
                final.parent.mkdir(parents=True, exist_ok=True)
            with _locked(final, root):
                _remove_leftovers(final)
                staging = final.with_name(f".{final.name}.new-{os.getpid()}")
                try:
                    with _writing(final.parent, root):
                        staging.mkdir()  # first: a folder the site cannot be written beside fails at once
                    return _build_and_swap(config_file, root, staging, final, fingerprint)
                finally:
                    with _STOP.deferred():
                        shutil.rmtree(staging, ignore_errors=True)
        except BuildFailed as failed:
            return BuildResult(False, [failed.diagnostic], {})


def _site_folder(config_file: Path, site_dir: Path | None) -> tuple[Path, str]:
    """The folder to build (``--site`` or mkdocs.yml's site_dir) and the fingerprint of what its
    pages will be built with, recorded for a later ``mkdocs build --dirty`` into it."""
    from mkdocs.config import load_config

    config = load_config(str(config_file))
    return Path(site_dir or config.site_dir).resolve(), site_fingerprint(config)


def _build_and_swap(config_file: Path, root: Path, staging: Path, final: Path, fingerprint: str) -> BuildResult:
    """Generate, build the site into ``staging`` and swap it into place. Afterwards ``staging``
    holds what the caller removes: a failed build, or the old site."""
    started = time.perf_counter()
    with _writing(root / GENERATED_DIR.parent, root):
        generated = generate(root / "content", root / GENERATED_DIR)
    if not generated.ok:
        return BuildResult(False, generated.checked.diagnostics, {})
    summary = {"records": len(generated.checked.entries), "pages": len(generated.rendered.pages),
               "written": len(generated.written)}
    diagnostics, timings = generated.checked.diagnostics, generated.checked.timings
    with _writing(staging, root):
        failure = _build_into(staging, config_file, generated, timings)
        del generated  # what MkDocs and the export needed; Pagefind runs beside what is left
        if failure is not None:
            return BuildResult(False, [failure], {})
        _release_memory()
        start = time.perf_counter()
        index_search(staging)
        timings["search"] = time.perf_counter() - start
    with _writing(root / DIRTY_STATE.parent, root):
        # Before the swap, so that a build that cannot record it fails with the old site in place.
        remember_build(root, final, fingerprint)
    with _writing(final.parent, root), _STOP.deferred():
        _swap(staging, final)
    summary.update(seconds=round(time.perf_counter() - started, 2),
                   stages={stage: round(seconds, 3) for stage, seconds in timings.items()}, site=str(final))
    return BuildResult(True, diagnostics, summary)


def _build_into(staging: Path, config_file: Path, generated: Generated, timings: dict) -> Diagnostic | None:
    """MkDocs, then the export, into ``staging``: everything of the site that needs the graph and
    the rendered pages, so that the caller can drop them before Pagefind starts."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    config = load_config(str(config_file), site_dir=str(staging))
    config.extra["kb_pregenerated"] = True
    start = time.perf_counter()
    try:
        build(config)
    except (MkDocsException, SystemExit) as exc:
        return Diagnostic(str(config_file), 1, 1, f"MkDocs build failed: {exc}", code="mkdocs")
    timings["mkdocs"] = time.perf_counter() - start
    start = time.perf_counter()
    publish_data(generated.checked.graph, staging)
    timings["export"] = time.perf_counter() - start
    return None


def _release_memory() -> None:
    """Hand the memory of the graph, the pages and MkDocs' objects back to the OS before Pagefind
    starts: Pagefind needs as much again, and the machine needs both at once. The collector frees
    the cycles (MkDocs' pages and files point at each other); glibc keeps freed memory for later
    unless asked to return it (malloc_trim)."""
    gc.collect()
    libc = processes.libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


PAGEFIND = [sys.executable, "-m", "pagefind", "--silent", "--exclude-selectors", ".headerlink"]


def index_search(site: Path) -> None:
    """Pagefind's chunked search index into site/pagefind/: a first search fetches a few small
    chunks, not an index of the whole site. ``subprocess.run`` kills Pagefind on any exception
    (:class:`Stopped` included), and Pagefind dies with this process however it dies."""
    done = subprocess.run([*PAGEFIND, "--site", str(site)], capture_output=True, text=True,
                          preexec_fn=processes.dies_with_parent())
    if done.returncode:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise BuildFailed(Diagnostic(str(site), 1, 1, f"the search index could not be built: pagefind failed: {output}",
                                     code="search"))


def publish_data(graph, site: Path) -> None:
    """Stage 7, export, into the site: data/ (JSON, CSV, SQLite) and schemas/ (one per kind)."""
    export.export(graph, site / "data", export.FORMATS)
    (site / "schemas").mkdir(exist_ok=True)
    for kind in KINDS.values():
        (site / "schemas" / f"{kind.folder}.schema.json").write_text(schemas.render_schema(kind), encoding="utf-8")


# ---------------------------------------------------------------------------- the build's folders and children


@contextmanager
def _locked(final: Path, root: Path):
    """An exclusive flock on ``.<site>-build.lock`` beside the site folder for the whole build,
    so that a second build of the folder cannot remove the first one's staging folder as a
    leftover (nor write build/docs under it): it fails at once, naming the process that holds
    the lock. The file stays: removing it would let two builds lock two different files."""
    path = final.with_name(f".{final.name}-build.lock")
    with _writing(final.parent, root):
        handle = open(path, "a+", encoding="utf-8")
    with handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder, shown = handle.read().strip() or "?", _shown(path, root)
                raise BuildFailed(Diagnostic(shown, 1, 1, f"another build of {_shown(final, root)} is running "
                                             f"(pid {holder}, which holds {shown})", code="locked",
                                             hint="wait for it to finish, or stop it")) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield  # closing the file releases the lock


def _remove_leftovers(final: Path) -> None:
    """Remove the staging and old folders of builds that were killed (SIGKILL, a power cut) and
    so could not clean up; with the lock held, none of them is a running build's. A site folder
    missing beside an old one is a build killed between the two renames of the fallback swap:
    the old site goes back first."""
    new, old = f".{final.name}.new-", f".{final.name}.old-"
    leftovers = sorted((path for path in final.parent.iterdir() if path.name.startswith((new, old))),
                       key=lambda path: path.stat().st_mtime)
    olds = [path for path in leftovers if path.name.startswith(old)]
    if olds and not final.exists():
        olds[-1].rename(final)
        leftovers.remove(olds[-1])
    for leftover in leftovers:
        log.info("removing %s, left by a build that was stopped", leftover)
        shutil.rmtree(leftover, ignore_errors=True)


RENAME_EXCHANGE = 2  # <linux/fs.h>
AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one step (Linux renameat2 with RENAME_EXCHANGE): there is no
    moment when either name is missing. False where this cannot be done: another OS, a C library
    without renameat2, or a filesystem without the flag (EINVAL)."""
    libc = processes.libc()
    renameat2 = getattr(libc, "renameat2", None) if libc is not None else None
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), str(first), None, str(second))


def _swap(staging: Path, final: Path) -> None:
    """Put ``staging`` in place of ``final``; afterwards ``staging`` holds the old site, if any
    (the caller removes it)."""
    if not final.exists():
        staging.rename(final)
    elif not _exchange(staging, final):
        # Without an atomic exchange (see _exchange): two renames, with a moment between them
        # when there is no site folder. Signals wait (the caller defers them); a build killed
        # there leaves the old site beside it, which the next build puts back.
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staging.rename(final)
        old.rename(staging)


@contextmanager
def _writing(folder: Path, root: Path):
    """An OSError (or SQLite's full disk) while the build writes into ``folder``, as a diagnostic
    naming the file, or the folder when the OS does not say which file (a write that finds the
    disk full), and the OS's reason: a read-only folder or a full disk is not a bug."""
    try:
        yield
    except OSError as exc:
        raise BuildFailed(_os_diagnostic(exc, folder, root)) from exc
    except sqlite3.Error as exc:  # the export's database, e.g. "database or disk is full"
        full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        as_os = OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (SQLite: {exc})") if full else OSError(None, str(exc))
        raise BuildFailed(_os_diagnostic(as_os, folder, root)) from exc


_CANNOT_WRITE = "this user may not write in {folder}: change its permissions, or build as a user who may"
_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and build again (this build removed what it had written)",
    errno.EDQUOT: "the disk quota is used up: free some space and build again",
    errno.EFBIG: "a file grew past this process's file size limit (ulimit -f)",
    errno.EACCES: _CANNOT_WRITE,
    errno.EPERM: _CANNOT_WRITE,
    errno.EROFS: "{folder} is on a read-only filesystem: build the site elsewhere (--site)",
}


def _os_diagnostic(exc: OSError, folder: Path, root: Path) -> Diagnostic:
    """``cannot write <file>: <reason>``, of the file in ``folder`` when the error names two (a
    copy names its source too), else ``cannot read`` the file it names outside."""
    named = [Path(os.path.abspath(name)) for name in (exc.filename, exc.filename2) if name]
    inside = [path for path in named if path.is_relative_to(folder)]
    path = (inside or named or [folder])[0]
    verb = "read" if named and not inside else "write"
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    hint = _HINTS.get(exc.errno, "").format(folder=_shown(folder, root))
    return Diagnostic(_shown(path, root), 1, 1, f"cannot {verb} {_shown(path, root)}: {reason}", code="os", hint=hint)


def _shown(path: Path, root: Path) -> str:
    """A path as the diagnostics show it: relative to the project when inside it."""
    path = Path(os.path.abspath(path))
    return path.relative_to(root).as_posix() if path.is_relative_to(root) and path != root else str(path)


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
                                             stderr=subprocess.PIPE, text=True,
                                             preexec_fn=processes.dies_with_parent())
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
