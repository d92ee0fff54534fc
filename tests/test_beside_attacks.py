"""Attacks on the export run beside the index stage (pipeline._side_by_side, processes.raise_in).

Written by a hostile review of 7ffeec6. Tests whose docstring starts with "BUG" failed against
7ffeec6, each showing the problem its docstring describes (as it was then); the fix came in the
next commit. Those whose docstring starts with "HELD" are attacks that 7ffeec6 withstood already."""
from __future__ import annotations

import dataclasses
import gc
import json
import logging
import signal
import sys
import threading
import time
import types
import weakref
from pathlib import Path

import pytest

from generator import build, pipeline, processes
from generator.export import files as export_files

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def thread_errors(monkeypatch):
    """What escapes a thread unhandled (what Python prints as "Exception in thread kb-export")."""
    caught: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: caught.append(args.exc_value))
    return caught


@pytest.fixture(autouse=True)
def no_export_thread_left():
    """Each test ends with no kb-export thread of its own still running (for the next test)."""
    yield
    for thread in threading.enumerate():
        if thread.name == "kb-export":
            thread.join(10)


def with_stages(monkeypatch, export=None, index=None):
    def replaced(stage):
        if stage.name == "export" and export is not None:
            return dataclasses.replace(stage, function=export)
        if stage.name == "index" and index is not None:
            return dataclasses.replace(stage, function=index)
        return stage
    monkeypatch.setattr(pipeline, "STAGES", tuple(replaced(stage) for stage in pipeline.STAGES))


def export_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "kb-export" and thread.is_alive()]


@pytest.fixture
def alarm():
    """alarm(seconds): SIGALRM then raises build.Stopped in the main thread, as kb build's
    handlers do for SIGTERM/SIGINT (build._StopSignals)."""
    def handler(signum, frame):
        raise build.Stopped(signal.SIGTERM)

    previous = signal.signal(signal.SIGALRM, handler)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def spy_raise_in(monkeypatch) -> tuple[list, threading.Event]:
    calls, raised = [], threading.Event()
    real = processes.raise_in

    def spying(thread, exception):
        calls.append((thread, exception))
        real(thread, exception)
        raised.set()

    monkeypatch.setattr(processes, "raise_in", spying)
    return calls, raised


def spin_until(event: threading.Event, seconds: float = 5.0) -> None:
    """Wait in Python bytecode (where an async exception arrives), not in C."""
    deadline = time.monotonic() + seconds
    while not event.is_set() and time.monotonic() < deadline:
        pass
    for _ in range(200_000):  # and let one raised meanwhile arrive here
        pass


@pytest.fixture
def project(valid_project):
    return valid_project  # (conftest)


@pytest.fixture
def checked_run(project) -> pipeline.Run:
    """The checks done (the graph), and a small site of two HTML pages to index."""
    site = project / "site"
    site.mkdir()
    for name in ("index.html", "risks/one.html"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(f"<html><body><main><h1>{name}</h1><p>words about {name}</p></main></body></html>")
    run = pipeline.run(pipeline.Run(project / "content", site=site), pipeline.CHECK)
    assert run.ok and run.graph is not None
    return run


# ---------------------------------------------------------------------------- bugs


def test_a_signal_while_the_runner_waits_for_the_export_interrupts_it_first(tmp_path, monkeypatch, alarm):
    """BUG: the index (Pagefind) ended first and the runner waits in thread.join() for the
    export; a SIGTERM/SIGINT there raises Stopped out of join() (in the ``finally``), which is
    outside the ``except`` that interrupts the export. run() raises with the export thread
    still running, never interrupted (under kb build, writing into the staging folder that
    build_site is removing). Note: on Python 3.11 the interrupted join() also marks the thread
    stopped (threading bpo-45274 handling releases the running thread's tstate lock), so
    thread.is_alive() is False although it runs: the export's own flags are what tell here."""
    progress = {"interrupted": False}
    released, ended = threading.Event(), threading.Event()

    def export(run):
        try:
            spin_until(released, 5)
            return pipeline.Done([], 0)
        except pipeline.Interrupted:
            progress["interrupted"] = True
            raise
        finally:
            ended.set()

    with_stages(monkeypatch, export=export, index=lambda run: pipeline.Done(None, 0))
    alarm(0.3)  # Pagefind is done by then; the export is not
    with pytest.raises(build.Stopped):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    at_return = {"export ended": ended.is_set(), "export interrupted": progress["interrupted"]}
    released.set()
    assert ended.wait(10)
    assert at_return == {"export ended": True, "export interrupted": True}, \
        f"when run() raised Stopped: {at_return}"


def test_kb_build_stopped_while_it_waits_for_the_export_leaves_no_staging_folder(project, monkeypatch):
    """BUG, end to end (build_site, its real SIGTERM handler): Pagefind has ended, the export has
    not; SIGTERM raises Stopped out of the runner's join(), build_site removes its staging folder
    and returns, and the export, never interrupted, goes on writing into it: the staging folder
    is back (data/ in it) after the build has returned, against "on ... SIGTERM ... its staging
    folder removed"."""
    import os

    spinning, released, ended = threading.Event(), threading.Event(), threading.Event()
    real_export = pipeline._export

    def slow_export(run):  # a large base: the export still writes after Pagefind has ended
        try:
            spinning.set()
            spin_until(released, 20)
            return real_export(run)
        finally:
            ended.set()

    indexed = threading.Event()

    def index(run):  # the real index stage, Pagefind quick
        done = pipeline._index(run)
        indexed.set()
        return done

    with_stages(monkeypatch, export=slow_export, index=index)
    monkeypatch.setattr(pipeline, "index_search", lambda site, stopping=None: None)  # Pagefind, done

    def terminate():
        if spinning.wait(60) and indexed.wait(60):
            time.sleep(0.3)  # the runner waits in join() by now
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate, daemon=True).start()
    with pytest.raises(build.Stopped):
        build.build_site(project / "mkdocs.yml", project / "site")
    left_at_return = [p.name for p in project.glob(".site.new-*")]
    released.set()
    assert ended.wait(30)
    left_after = [p.name for p in project.glob(".site.new-*")]
    assert (left_at_return, left_after) == ([], []), \
        f"staging folder when build_site raised: {left_at_return}; after the export went on: {left_after}"


def test_a_second_signal_while_the_runner_waits_still_waits_for_the_export_to_end(tmp_path, monkeypatch, alarm):
    """BUG: a first signal stops the index and interrupts the export; the export is removing
    its temporary file when a second signal arrives in thread.join(): run() raises at once,
    before the export has ended, against "Both end before this returns"; build_site's rmtree
    of the staging folder then races the export's cleanup. (A fix cannot simply join() again:
    on 3.11 a join() interrupted by a signal marks the thread stopped, see the test above.)"""
    cleaned, ended = [], threading.Event()

    def export(run):
        try:
            spin_until(threading.Event(), 5)
            return pipeline.Done([], 0)
        except BaseException:
            time.sleep(0.6)  # its cleanup: the temporary file removed
            cleaned.append(True)
            raise
        finally:
            ended.set()

    def index(run):
        time.sleep(0.1)
        raise build.Stopped(signal.SIGTERM)  # the first signal, while Pagefind runs

    with_stages(monkeypatch, export=export, index=index)
    alarm(0.3)  # the second signal, during the join (the export's cleanup takes 0.6 s)
    with pytest.raises(build.Stopped):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    at_return = {"export ended": ended.is_set(), "cleaned": bool(cleaned)}
    assert ended.wait(10)
    assert at_return == {"export ended": True, "cleaned": True}, f"when run() raised Stopped: {at_return}"


def test_an_index_failing_at_once_cancels_the_export_before_its_try(tmp_path, monkeypatch, thread_errors):
    """BUG: ``started = time.perf_counter()`` (and the function's entry) come before the
    ``try`` of the thread's work(), and the thread's bootstrap before that: an index stage that
    fails before the thread has got there (a signal right at the start) raises Interrupted
    where nothing catches it, and Python prints "Exception in thread kb-export" (seen naturally:
    8 of 1,000 runs with sys.setswitchinterval(1e-6), twice inside threading's _bootstrap_inner).
    Here the window is held open by a perf_counter that waits, in Python, for raise_in."""
    calls, raised = spy_raise_in(monkeypatch)
    first = threading.local()

    def perf_counter():
        if threading.current_thread().name == "kb-export" and not getattr(first, "seen", False):
            first.seen = True
            spin_until(raised, 5)  # the thread has not reached its try yet
        return time.perf_counter()

    monkeypatch.setattr(pipeline, "time", types.SimpleNamespace(perf_counter=perf_counter, monotonic=time.monotonic))

    def index(run):
        raise RuntimeError("the index failed at once")

    with_stages(monkeypatch, export=lambda run: pipeline.Done([], 0), index=index)
    with pytest.raises(RuntimeError, match="at once"):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    assert calls, "raise_in was not called"
    assert thread_errors == [], f"escaped the export's thread unhandled: {thread_errors!r}"


def test_the_exports_view_lets_the_pages_go_before_pagefind_runs(project, monkeypatch):
    """BUG (memory): the hooks' run (mkdocs build, kb serve's first build: on_post_build) holds
    every output of vocabulary..write, the rendered pages included (the site stage, which lets
    go of them, ran in MkDocs, not in the runner). The view copies the whole outputs dict, so
    _index's _release_memory frees nothing of it: the rendered pages stay in memory while
    Pagefind runs, against "the index stage lets go of everything else the run holds before it
    starts Pagefind, and the export keeps the graph". Before the change they were freed."""
    run = pipeline.run(pipeline.Run(project / "content", docs=project / pipeline.GENERATED_DIR,
                                    cache=project / pipeline.DIAGRAM_CACHE), pipeline.GENERATE)
    assert run.ok and "render" in run.outputs
    run.site = project / "site"
    run.site.mkdir()
    (run.site / "index.html").write_text("<html><body><main><p>one page</p></main></body></html>")
    rendered = weakref.ref(run.rendered)
    seen = {}

    def index_search(site, stopping=None):  # called by _index after _release_memory(run)
        gc.collect()
        seen["rendered pages alive while Pagefind runs"] = rendered() is not None
        return None

    monkeypatch.setattr(pipeline, "index_search", index_search)
    pipeline.run(run, ("export", "index"))
    assert run.ok, run.diagnostics
    assert seen == {"rendered pages alive while Pagefind runs": False}


def test_an_interrupted_export_leaves_no_schema_half_written(checked_run, monkeypatch):
    """BUG (the interrupt protocol's premise): _export writes site/schemas/*.schema.json with
    Path.write_text on the file itself, not under a temporary name; an Interrupted that
    raise_in delivers just after the file was opened leaves it empty. Reached through the real
    protocol: the index stage raises (a signal) while the export's thread is there."""
    opened = threading.Event()
    real_open = Path.open

    def opening(self, mode="r", *args, **kwargs):
        handle = real_open(self, mode, *args, **kwargs)
        if threading.current_thread().name == "kb-export" and self.parent.name == "schemas" and "w" in mode:
            try:
                opened.set()
                spin_until(threading.Event(), 5)  # the Interrupted arrives here, between open and write
            except BaseException:
                handle.close()
                raise
        return handle

    monkeypatch.setattr(Path, "open", opening)

    def index(run):
        assert opened.wait(30)
        raise build.Stopped(signal.SIGTERM)

    with_stages(monkeypatch, index=index)
    with pytest.raises(build.Stopped):
        pipeline.run(checked_run, ("export", "index"))
    broken = [path.name for path in (checked_run.site / "schemas").glob("*.json") if not path.read_text()]
    assert broken == [], f"left empty by the interrupted export: {broken}"


def test_an_interrupt_just_after_the_temporary_file_is_made_leaves_no_file(checked_run, monkeypatch):
    """Fixed (same premise): write_atomic made its temporary file with mkstemp, then closed it and
    converted the name *before* its ``try``; an Interrupted delivered there left
    ``.<name>.<random>.tmp`` in site/data. Now the name comes first and the file is made inside
    the ``try``: an Interrupted arriving right after it exists finds it removed."""
    import os

    made = threading.Event()
    real_open = os.open

    def opening(path, flags, *args, **kwargs):
        handle = real_open(path, flags, *args, **kwargs)
        if threading.current_thread().name == "kb-export" and str(path).endswith(".tmp"):
            made.set()
            try:
                spin_until(threading.Event(), 5)  # the Interrupted arrives here, the file just made
            except BaseException:
                os.close(handle)
                raise
        return handle

    monkeypatch.setattr(os, "open", opening)

    def index(run):
        assert made.wait(30)
        raise build.Stopped(signal.SIGTERM)

    with_stages(monkeypatch, index=index)
    with pytest.raises(build.Stopped):
        pipeline.run(checked_run, ("export", "index"))
    assert made.is_set()
    assert not list(checked_run.site.rglob("*.tmp")), list(checked_run.site.rglob("*.tmp"))


def test_stopping_set_while_the_export_runs_after_the_index_ended_interrupts_it(tmp_path, monkeypatch):
    """BUG (latent: no caller today sets ``stopping`` on a run of both stages; the Refresher runs
    them one at a time): once the index has ended, nothing watches ``run.stopping``; the
    export runs to its end and run() returns normally. One after the other, the runner raised
    Interrupted before the index; _side_by_side's docstring says "stopped (... the run's
    stopping)" interrupts the export."""
    stopping = threading.Event()
    ended = []

    def export(run):
        stopping.set()  # told to stop while the export runs (kb serve's next build)
        time.sleep(0.5)
        ended.append("export")
        return pipeline.Done([], 0)

    def index(run):
        return pipeline.Done(None, 0)  # Pagefind was quicker

    with_stages(monkeypatch, export=export, index=index)
    outcome = "returned"
    try:
        pipeline.run(pipeline.Run(tmp_path, stopping=stopping), ("export", "index"))
    except pipeline.Interrupted:
        outcome = "Interrupted"
    assert outcome == "Interrupted", f"run() {outcome} with stopping set; the export ran to its end: {ended}"


# ---------------------------------------------------------------------------- attacks that held


def test_held_an_export_error_comes_through_and_nothing_escapes_the_thread(tmp_path, monkeypatch, thread_errors):
    """HELD: an error of the export while the index succeeds is raised after both, no thread left,
    nothing printed from the thread; raise_in is not called."""
    calls, _ = spy_raise_in(monkeypatch)
    indexed = []

    def export(run):
        raise OSError("disk full")

    def index(run):
        time.sleep(0.2)
        indexed.append(True)
        return pipeline.Done(None, 3)

    with_stages(monkeypatch, export=export, index=index)
    with pytest.raises(OSError, match="disk full"):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    assert indexed and not calls and not export_threads() and thread_errors == []


def test_held_an_index_that_reports_an_error_keeps_both_stages_results(tmp_path, monkeypatch, caplog):
    """HELD: an index stage that returns an error (Pagefind failed) does not interrupt the export;
    both stages' outputs, counts, timings, log lines and diagnostics are kept, in table order."""
    from generator.core import Diagnostic

    def export(run):
        time.sleep(0.2)
        return pipeline.Done(["a.json"], 1, [Diagnostic("x", 1, 1, "export warning", severity="warning", code="w")])

    def index(run):
        return pipeline.Done(None, 0, [Diagnostic("site", 1, 1, "pagefind failed", code="search")])

    with_stages(monkeypatch, export=export, index=index)
    caplog.set_level(logging.INFO, logger="kb")
    run = pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    assert not run.ok
    assert sorted(d.message for d in run.diagnostics) == ["export warning", "pagefind failed"]
    assert run.outputs["export"] == ["a.json"] and run.counts == {"export": 1, "index": 0}
    assert set(run.timings) == {"export", "index"}
    assert [r.getMessage().split()[0] for r in caplog.records if r.name == "kb"] == ["export", "index"]


def test_held_an_index_error_after_the_export_ended_raises_nothing_into_the_thread(tmp_path, monkeypatch, thread_errors):
    """HELD: when the export has already returned, the index stage's error is raised as it is and
    raise_in is not called (no exception sent to a finished thread, or to whatever reuses its id)."""
    calls, _ = spy_raise_in(monkeypatch)
    exported = threading.Event()

    def export(run):
        exported.set()
        return pipeline.Done([], 0)

    def index(run):
        assert exported.wait(5)
        time.sleep(0.2)  # the thread has passed its guard
        raise ValueError("index broke")

    with_stages(monkeypatch, export=export, index=index)
    with pytest.raises(ValueError, match="index broke"):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    time.sleep(0.3)
    assert calls == [] and thread_errors == [] and not export_threads()


def test_held_an_interrupt_on_its_way_when_the_export_returns_arrives_in_the_thread(tmp_path, monkeypatch, thread_errors):
    """HELD: the export returns just as the index fails; the runner holds the guard and raises
    Interrupted while the thread waits (in C) for the guard. The interruption arrives in the
    thread's work() and is caught there; the index's error comes out of run(), nothing escapes."""
    calls, raised = spy_raise_in(monkeypatch)
    returned, main_holds, worker_waits = threading.Event(), threading.Event(), threading.Event()

    class Guard:
        def __init__(self):
            self.lock = threading.Lock()

        def __enter__(self):
            if threading.current_thread().name == "kb-export" and not returned.is_set():
                self.lock.acquire()  # the thread entering its try: no one waits
            elif threading.current_thread().name == "kb-export":
                worker_waits.set()
                self.lock.acquire()  # blocks in C until the runner has raised and let go
            else:
                self.lock.acquire()
                main_holds.set()
                assert worker_waits.wait(5)
                time.sleep(0.1)  # the thread is inside acquire() now
            return self

        def __exit__(self, *exc):
            self.lock.release()
            return False

    monkeypatch.setattr(pipeline, "threading", types.SimpleNamespace(Lock=Guard, Thread=threading.Thread,
                                                                        Event=threading.Event))

    def export(run):
        returned.set()
        assert main_holds.wait(5)
        return pipeline.Done([], 0)

    def index(run):
        assert returned.wait(5)
        raise RuntimeError("index failed as the export returned")

    with_stages(monkeypatch, export=export, index=index)
    with pytest.raises(RuntimeError, match="as the export returned"):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    assert calls and raised.is_set()
    time.sleep(0.3)
    assert thread_errors == [] and not export_threads()


def test_held_a_signal_during_pagefind_interrupts_the_export_and_waits(tmp_path, monkeypatch, alarm, thread_errors):
    """HELD: a real signal (SIGALRM raising Stopped, as kb build's handlers do) while the index
    waits interrupts the export, waits for it, and Stopped comes out; nothing escapes the thread."""
    state = {}

    def export(run):
        try:
            spin_until(threading.Event(), 5)
            state["ended"] = "normally"
        except pipeline.Interrupted:
            state["ended"] = "interrupted"
            raise
        return pipeline.Done([], 0)

    def index(run):
        time.sleep(5)  # Pagefind (signals interrupt time.sleep with the handler's exception)
        return pipeline.Done(None, 0)

    with_stages(monkeypatch, export=export, index=index)
    alarm(0.3)
    began = time.monotonic()
    with pytest.raises(build.Stopped):
        pipeline.run(pipeline.Run(tmp_path), ("export", "index"))
    assert state == {"ended": "interrupted"} and not export_threads() and thread_errors == []
    assert time.monotonic() - began < 3


def test_held_stopping_set_while_pagefind_runs_stops_both(checked_run, monkeypatch, thread_errors):
    """HELD: ``stopping`` set during the real index stage (real Pagefind watching it) raises
    Interrupted there; the export beside it is interrupted, its files removed, nothing escapes."""
    checked_run.stopping = threading.Event()
    real = export_files.write_atomic
    interrupted = []

    def write_atomic(path, write, unless_same=False):
        checked_run.stopping.set()  # kb serve's next build starts while the export writes
        try:
            spin_until(threading.Event(), 5)
        except pipeline.Interrupted:
            interrupted.append(path.name)
            raise
        return real(path, write, unless_same)

    monkeypatch.setattr(export_files, "write_atomic", write_atomic)
    for module in ("json", "csv", "sqlite"):
        monkeypatch.setattr(sys.modules[f"generator.export.{module}"], "write_atomic", write_atomic, raising=False)
    real_index = pipeline.index_search

    def index_search(site, stopping=None):  # the real Pagefind, started once the export is under way
        assert stopping is not None and stopping.wait(10)
        return real_index(site, stopping)

    monkeypatch.setattr(pipeline, "index_search", index_search)
    with pytest.raises(pipeline.Interrupted):
        pipeline.run(checked_run, ("export", "index"))
    assert interrupted and not export_threads() and thread_errors == []
    assert not (checked_run.site / "pagefind").exists() and not list(checked_run.site.glob(".pagefind-*"))
    assert not list(checked_run.site.rglob("*.tmp"))


def test_held_pagefind_indexes_only_the_html_while_the_export_writes_data(checked_run):
    """HELD: the real export and the real Pagefind side by side: the index holds the site's HTML
    pages and nothing of data/ or schemas/ (Pagefind reads *.html; the export writes none)."""
    run = pipeline.run(checked_run, ("export", "index"))
    assert run.ok, run.diagnostics
    site = run.site
    assert (site / "data" / "all.json").is_file() and list((site / "schemas").glob("*.json"))
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text())
    html = [p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "pagefind"]
    assert sum(language["page_count"] for language in entry["languages"].values()) == len(html) == 2
    assert not list(site.rglob("*.tmp"))


def test_held_collecting_and_trimming_in_the_index_thread_does_not_change_the_export(checked_run, tmp_path, monkeypatch):
    """HELD: gc.collect and malloc_trim in the runner's thread, over and over while the export
    allocates in its own: the files are the same bytes as an export run alone."""
    alone = tmp_path / "alone"
    pipeline.export(checked_run.graph, alone, pipeline.FORMATS)
    exporting_done = threading.Event()
    real_export = pipeline._export

    def export(run):
        try:
            return real_export(run)
        finally:
            exporting_done.set()

    def index(run):
        pipeline._release_memory(run)
        while not exporting_done.is_set():
            pipeline._release_memory(run)
        return pipeline.Done(None, 0)

    with_stages(monkeypatch, export=export, index=index)
    run = pipeline.run(checked_run, ("export", "index"))
    assert run.ok
    beside = run.site / "data"
    names = sorted(p.relative_to(alone).as_posix() for p in alone.rglob("*") if p.is_file() and p.suffix != ".sqlite")
    assert names == sorted(p.relative_to(beside).as_posix() for p in beside.rglob("*")
                           if p.is_file() and p.suffix != ".sqlite")
    assert all((alone / n).read_bytes() == (beside / n).read_bytes() for n in names)
    import sqlite3
    dump = lambda path: list(sqlite3.connect(path).iterdump())  # noqa: E731
    assert dump(alone / "knowledge.sqlite") == dump(beside / "knowledge.sqlite")


def test_held_the_serve_refresh_never_runs_the_pair_side_by_side(checked_run, monkeypatch, caplog):
    """HELD: build.Refresher runs export then index as separate runs (its own raise_in covers its
    export); _side_by_side is never entered, and the refresh ends current."""
    def never(*args):
        raise AssertionError("the refresh ran the export beside the index")

    monkeypatch.setattr(pipeline, "_side_by_side", never)
    caplog.set_level(logging.INFO)
    refresher = build.Refresher(logging.getLogger("test-refresh"))
    refresher.start(checked_run)
    refresher._thread.join(60)
    assert refresher.current, caplog.text
    assert (checked_run.site / "data" / "all.json").is_file() and (checked_run.site / "pagefind" / "pagefind.js").is_file()


def test_held_kb_build_stopped_while_pagefind_runs_interrupts_the_export_and_leaves_nothing(project, monkeypatch, thread_errors):
    """HELD, end to end (build_site, its real SIGTERM handler): SIGTERM while Pagefind runs raises
    Stopped in the index stage; the export beside it is interrupted and waited for; the staging
    folder is gone and stays gone, the old site folder untouched, nothing escapes the thread."""
    import os

    spinning, ended, state = threading.Event(), threading.Event(), {}
    real_export = pipeline._export

    def slow_export(run):
        try:
            spinning.set()
            spin_until(threading.Event(), 20)
            return real_export(run)
        except pipeline.Interrupted:
            state["export"] = "interrupted"
            raise
        finally:
            ended.set()

    def pagefind(site, stopping=None):
        time.sleep(20)  # a long Pagefind run; the signal's handler raises out of the sleep

    with_stages(monkeypatch, export=slow_export)
    monkeypatch.setattr(pipeline, "index_search", pagefind)

    def terminate():
        if spinning.wait(60):
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate, daemon=True).start()
    began = time.monotonic()
    with pytest.raises(build.Stopped):
        build.build_site(project / "mkdocs.yml", project / "site")
    assert ended.is_set() and state == {"export": "interrupted"} and time.monotonic() - began < 15
    time.sleep(0.3)
    assert list(project.glob(".site.new-*")) == [] and not (project / "site").exists() and thread_errors == []
