"""A whole build around the stage runner: `kb build` runs every stage (generator/pipeline.py), the
site into a fresh folder that then takes the site folder's place; and ``kb serve``'s dirty builds
made safe.

The site folder is replaced only when a new one is complete, in one atomic exchange; a build that
fails, or is stopped or killed, leaves the old site and, once the next build has started, nothing
else (:func:`build_site`).

Serving (``kb serve``, which is ``mkdocs serve --dirty``): MkDocs rebuilds a page only when its
Markdown is newer than its HTML, so a reload after one edit renders the pages the generator
rewrote and no others; the helpers at the end of this module make such dirty builds safe
(:class:`DirtyBuilds`, :func:`site_fingerprint`) and run the export and index stages of a served
site in the background, from the graph the build already has (:class:`Refresher`).
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import pipeline, processes
from .core import Diagnostic, errors_of, format_text
from .render import Rendered
from .pipeline import DIAGRAM_CACHE, GENERATED_DIR, index_search  # noqa: F401 (index_search: tests/browser)

try:
    import fcntl
except ImportError:  # Windows: no flock, so builds of one site folder must not overlap there
    fcntl = None

log = logging.getLogger("kb")


@dataclass
class Generated:
    checked: pipeline.Run  # load..draw: the graph, the diagnostics, the scores, the rendered pages
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked.ok

    @property
    def rendered(self) -> Rendered | None:
        return self.checked.rendered

    @property
    def scores(self) -> dict | None:
        return self.checked.scores


def generate(content: Path, out: Path, cache: Path | None = None) -> Generated:
    """The stages load to draw, then the pages as render made them into ``out``: no drawings in
    their Markdown and no assets beside them, unlike the write stage's complete docs tree. For
    tests that read the rendered pages or build their own docs tree (tests/browser/test_engines.py)."""
    run = pipeline.run(pipeline.Run(Path(content), cache=cache or out.parent / DIAGRAM_CACHE.name),
                       pipeline.NAMES[:pipeline.NAMES.index("draw") + 1])
    if not run.ok:
        return Generated(run)
    written, removed = pipeline.write_changed(out, {path: page.data for path, page in run.rendered.pages.items()})
    return Generated(run, written, removed)


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
    running) instead of a traceback."""

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


def build_site(config_file: Path, site_dir: Path | None = None, engine: str = "mkdocs") -> BuildResult:
    """Run every stage, the site built by ``engine`` (a key of ``engines.ENGINES``) into a fresh
    folder, then swap it into place.

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
                    return _build_and_swap(config_file, root, staging, final, fingerprint, engine)
                finally:
                    with _STOP.deferred():
                        shutil.rmtree(staging, ignore_errors=True)
        except BuildFailed as failed:
            return BuildResult(False, [failed.diagnostic], {})


def _site_folder(config_file: Path, site_dir: Path | None) -> tuple[Path, str]:
    """The folder to build (``--site`` or mkdocs.yml's site_dir) and the fingerprint of what its
    pages will be built with, recorded for a later ``mkdocs build --dirty`` into it."""
    from mkdocs.config import load_config

    from .engines import package_paths

    # its hooks are for `mkdocs build`, not needed here
    config = load_config(str(config_file), **{**package_paths(config_file), "hooks": []})
    return Path(site_dir or config.site_dir).resolve(), site_fingerprint(config)


def _build_and_swap(config_file: Path, root: Path, staging: Path, final: Path, fingerprint: str,
                    engine: str) -> BuildResult:
    """Run every stage, the site into ``staging``, and swap it into place. Afterwards ``staging``
    holds what the caller removes: a failed build, or the old site."""
    started = time.perf_counter()
    run = pipeline.Run(root / "content", docs=root / GENERATED_DIR, cache=root / DIAGRAM_CACHE,
                       config=config_file, engine=engine, site=staging)
    with _writing(root / GENERATED_DIR.parent, root):
        pipeline.run(run, pipeline.GENERATE)
    if not run.ok:
        return BuildResult(False, run.diagnostics, {})
    with _writing(staging, root):
        pipeline.run(run, pipeline.NAMES[len(pipeline.GENERATE):])  # the index stage lets go of the rest first
    if not run.ok:
        return BuildResult(False, run.diagnostics, {})
    with _writing(root / DIRTY_STATE.parent, root):
        # Before the swap, so that a build that cannot record it fails with the old site in place.
        # Another engine's HTML is not MkDocs': a dirty MkDocs build into that folder rebuilds all.
        remember_build(root, final, fingerprint if engine == "mkdocs" else None)
    with _writing(final.parent, root), _STOP.deferred():
        _swap(staging, final)
    summary = {"records": run.counts["validate"], "pages": run.counts["render"], "written": run.counts["write"],
               "engine": engine, "seconds": round(time.perf_counter() - started, 2),
               "stages": {stage: round(seconds, 3) for stage, seconds in run.timings.items()}, "site": str(final)}
    return BuildResult(True, run.diagnostics, summary)


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
    """The export and index stages of a served site, run after a reload in a background thread
    from the run the build already has (its graph: nothing is loaded again), so that the reload
    does not wait for them (Pagefind reads every page, the export writes every record).

    Until it is done, search and data/ show the previous build, and the log says so when it
    starts and when it is done. ``stop()`` ends it at once, whatever it is doing: the export is
    interrupted where it is (:func:`processes.raise_in`; export writes every file under a temporary name
    and removes it when interrupted, so data/ holds only complete files), Pagefind is killed and
    its new folder removed (``pipeline.index_search`` watches ``Run.stopping``). The hooks stop it
    when the next build starts (that build starts a new one) and on shutdown. A refresh waits for
    the one before it to have ended, so that two never write data/ at once.
    """

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._exporting = False  # the thread runs the export stage: stop() interrupts it there
        self._interrupted = False  # stop() raised Interrupted in it
        self.current = False  # the search index and data match the last build (the hooks set it)

    def start(self, run: pipeline.Run) -> None:
        self.stop()
        self.current = False
        self._stopping = run.stopping = threading.Event()
        thread = threading.Thread(target=self._refresh, args=(run, self._thread), name="kb-refresh", daemon=True)
        self._thread = thread
        thread.start()

    def stop(self, reason: str = "", wait: bool = False) -> None:
        """Tell a refresh still running to stop; with ``wait``, wait until it has."""
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            if thread.is_alive() and not self._stopping.is_set():
                if reason:
                    self.log.info("Stopped refreshing the search index and data: %s", reason)
                self._stopping.set()
                if self._exporting:
                    processes.raise_in(thread.ident, pipeline.Interrupted)
                    self._interrupted = True
        if wait:
            thread.join()

    def _refresh(self, run: pipeline.Run, previous: threading.Thread | None) -> None:
        try:
            if previous is not None:
                previous.join()
            started = time.perf_counter()
            self.log.info("Search and data/ still show the previous build: refreshing the search index "
                          "and data in the background")
            alone = pipeline.search_refreshes_alone(run)
            if alone:  # quick, and it keeps the base: search first, then the data pages link to
                pipeline.run(run, ("index",))
                if run.ok:
                    self.log.info("search index refreshed %.1f s after the reload: %d pages changed since "
                                  "the whole site was indexed", time.perf_counter() - started, run.counts["index"])
                self._export(run, tuple(f for f in run.formats if f != "sqlite"))
                if run.ok and "sqlite" in run.formats:  # the whole base again, seconds at 10,000 records
                    self.log.info("data/ refreshed but knowledge.sqlite %.1f s after the reload",
                                  time.perf_counter() - started)
                    seconds = run.timings["export"]
                    self._export(run, ("sqlite",))
                    run.timings["export"] += seconds
            else:  # the whole site: Pagefind needs the memory the base holds, which the export needs
                self._export(run)
                pipeline.run(run, ("index",))
        except pipeline.Interrupted:
            return  # a new build has started and will refresh again
        if not run.ok:
            self.log.warning("search index and data: refresh failed; search and data/ show an earlier build:\n%s",
                             format_text(errors_of(run.diagnostics)))
            return
        self.current = True
        indexed = (f"{run.counts['index']} pages changed since the whole site was indexed" if alone
                   else "every page")
        self.log.info("search index and data refreshed in %.1f s (search index of %s %.1f s, export %.1f s)",
                      time.perf_counter() - started, indexed, run.timings["index"], run.timings["export"])

    def _export(self, run: pipeline.Run, formats: tuple[str, ...] | None = None) -> None:
        """The export stage (of ``formats``, else the run's), interruptible by stop(). An
        Interrupted that stop() raised arrives in this thread before this returns: never later,
        in code that does not expect it."""
        with self._lock:
            self._exporting, self._interrupted = True, False
        whole = run.formats
        run.formats = whole if formats is None else formats
        try:
            pipeline.run(run, ("export",))
        except pipeline.Interrupted:
            self._end_export()
            raise
        except BaseException:
            if self._end_export():
                processes.receive_interrupt()
            raise
        finally:
            run.formats = whole
        if self._end_export():
            processes.receive_interrupt()

    def _end_export(self) -> bool:
        """Whether stop() raised Interrupted during the export."""
        with self._lock:
            self._exporting = False
            return self._interrupted


