"""The stage runner: one table of stages, each run once per run, each timed and counted in one log
line; every entry point (kb validate, kb export, kb build with each engine, the serve refresh)
asks it for the stages it needs and none runs an earlier one again."""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from generator import build, engines, load, pipeline
from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<stage>[a-z]+) +(?P<count>\d[\d,]*) (?P<counted>[a-z ]+) in (?P<time>\d+ ms|\d+\.\d s)( \(.*\))?$")


@pytest.fixture
def project(valid_project):
    return valid_project  # (conftest)


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """How often each stage function of the table is called, and each module function under
    them that reads the base (load.load) or runs an engine (MkDocs, engines.build, Pagefind)."""
    counted: Counter = Counter()

    def counting(name, function):
        def call(*args, **kwargs):
            counted[name] += 1
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(pipeline, "STAGES", tuple(dataclasses.replace(stage, function=counting(stage.name, stage.function))
                                                  for stage in pipeline.STAGES))
    monkeypatch.setattr(load, "load", counting("load.load", load.load))
    monkeypatch.setattr(pipeline, "_mkdocs", counting("MkDocs", pipeline._mkdocs))
    monkeypatch.setattr(engines, "build", counting("engines.build", engines.build))
    monkeypatch.setattr(pipeline, "index_search", counting("Pagefind", pipeline.index_search))
    return counted


def stage_lines(caplog) -> list[re.Match]:
    lines = [record.getMessage() for record in caplog.records if record.name == "kb"]
    return [match for match in map(LINE.match, lines) if match]


def test_kb_build_runs_every_stage_once_and_logs_one_line_each(project, calls, caplog):
    caplog.set_level(logging.INFO, logger="kb")
    result = build.build_site(project / "mkdocs.yml")
    assert result.ok, result.diagnostics
    assert list(result.summary["stages"]) == list(pipeline.NAMES)
    assert {name: calls[name] for name in pipeline.NAMES} == dict.fromkeys(pipeline.NAMES, 1)
    assert (calls["load.load"], calls["MkDocs"], calls["Pagefind"], calls["engines.build"]) == (1, 1, 1, 0)
    lines = stage_lines(caplog)
    assert [line["stage"] for line in lines] == list(pipeline.NAMES)
    counted = {line["stage"]: (line["count"], line["counted"]) for line in lines}
    assert counted["load"] == (str(result.summary["records"]), "files")
    assert counted["validate"] == (str(result.summary["records"]), "records")
    assert counted["render"] == (str(result.summary["pages"]), "pages")
    assert counted["link"][1] == "edges" and counted["draw"][1] == "diagrams"


def test_a_stage_line_says_what_it_counted_with_thousands_separators_and_its_time():
    stage = pipeline.Stage("render", lambda run: None, "pages")
    assert pipeline._line(stage, pipeline.Done(None, 10_317), 6.71) == "render    10,317 pages in 6.7 s"
    assert pipeline._line(stage, pipeline.Done(None, 2, note="x"), 0.0123) == "render         2 pages in 12 ms (x)"


def test_the_checks_report_every_error_and_nothing_runs_after_them(project, calls):
    (project / "content" / "systems" / "gpt-4.yaml").write_text("id: gpt-4\nname: [\n")  # a YAML syntax error
    record = project / "content" / "risks" / "deceptive-alignment.yaml"
    record.write_text(record.read_text().replace("summary:", "severity_note: nope\nsummary:", 1))
    run = pipeline.run(pipeline.Run(project / "content", docs=project / "docs", cache=project / "cache"))
    errors = {d.file.rsplit("/", 1)[-1] for d in run.diagnostics if d.severity == "error"}
    assert {"gpt-4.yaml", "deceptive-alignment.yaml"} <= errors  # load's error and validate's, one run
    assert [name for name in pipeline.NAMES if calls[name]] == list(pipeline.CHECK)
    assert not (project / "docs").exists()


def test_check_is_the_first_three_stages(project, calls):
    checked = pipeline.check(project / "content")
    assert checked.ok and checked.graph is not None and len(checked.entries) == checked.counts["validate"]
    assert [name for name in pipeline.NAMES if calls[name]] == list(pipeline.CHECK)


def test_kb_export_reads_the_base_once(project, calls, capsys):
    assert main(["export", "--format", "csv", "--format", "json", "--out", "out"]) == 0
    assert calls["load.load"] == 1 and calls["export"] == 1
    assert [name for name in pipeline.NAMES if calls[name]] == [*pipeline.CHECK, "export"]
    printed = capsys.readouterr().out.split()
    assert "out/systems.csv" in printed and "out/all.json" in printed and not list(Path("out").glob("*.sqlite"))


def test_kb_export_offers_the_formats_of_the_export_table(capsys):
    from generator.export import FORMATS

    with pytest.raises(SystemExit):
        main(["export", "--help"])
    help_text = capsys.readouterr().out
    assert "{" + ",".join(FORMATS) + "}" in help_text


@pytest.mark.parametrize("engine", list(engines.ENGINES))
def test_kb_build_with_each_engine_builds_a_secured_site(project, engine, calls, capsys):
    assert main(["build", "--engine", engine, "--site", f"site-{engine}"]) == 0, capsys.readouterr().err
    site = project / f"site-{engine}"
    page = (site / "systems" / "gpt-4.html").read_text()
    assert page.count('http-equiv="Content-Security-Policy"') == 1 and "GPT-4" in page
    assert (site / "data" / "all.json").is_file() and (site / "pagefind" / "pagefind.js").is_file()
    assert (site / "assets" / "kb.js").is_file()  # from the complete docs tree
    assert calls["load.load"] == 1 and calls["Pagefind"] == 1
    assert (calls["MkDocs"], calls["engines.build"]) == ((1, 0) if engine == "mkdocs" else (0, 1))
    assert f'"engine": "{engine}"' in capsys.readouterr().err


# ---------------------------------------------------------------------------- the serve refresh


@pytest.fixture
def built_run(project) -> pipeline.Run:
    """A run as the hooks hold it after MkDocs has built the site: load to write, and the site."""
    run = pipeline.Run(project / "content", docs=project / pipeline.GENERATED_DIR,
                       cache=project / pipeline.DIAGRAM_CACHE, config=project / "mkdocs.yml", site=project / "site")
    pipeline.run(run, (*pipeline.GENERATE, "site"))
    assert run.ok, run.diagnostics
    return run


def test_the_serve_refresh_exports_and_indexes_from_the_graph_it_has(built_run, calls, caplog):
    caplog.set_level(logging.INFO)
    refresher = build.Refresher(logging.getLogger("test-refresh"))
    refresher.start(built_run)
    refresher._thread.join(60)
    assert refresher.current, caplog.text
    assert calls["load.load"] == 0 and calls["export"] == 1 and calls["index"] == 1
    site = built_run.site
    assert (site / "data" / "all.json").is_file() and (site / "pagefind" / "pagefind.js").is_file()
    assert "search index and data refreshed in" in caplog.text
    assert not list(site.rglob(".*.tmp")) and not list(site.glob(".pagefind-*"))


def test_a_stopped_refresh_ends_in_the_middle_of_the_export_and_leaves_no_temporary_file(built_run, monkeypatch, caplog):
    """The export stops where it is (a long Python loop standing for a large base), its temporary
    file removed; Pagefind never starts; a refresh started next waits for it and then works."""
    from generator.export.files import write_atomic

    real_export, started = pipeline.export, threading.Event()

    def slow_export(graph, out, formats, kept=None):
        out.mkdir(parents=True, exist_ok=True)

        def write(temporary):
            started.set()
            with open(temporary, "w") as handle:
                while True:
                    handle.write("x")
        return [write_atomic(out / "slow.json", write)]

    monkeypatch.setattr(pipeline, "export", slow_export)
    indexed = []
    monkeypatch.setattr(pipeline, "index_search", lambda site, stopping=None: indexed.append(site))
    caplog.set_level(logging.INFO)
    refresher = build.Refresher(logging.getLogger("test-refresh"))
    refresher.start(built_run)
    assert started.wait(30)
    stopped = time.monotonic()
    thread = refresher._thread
    refresher.stop("a new build started", wait=True)
    assert time.monotonic() - stopped < 5 and not thread.is_alive()
    assert not refresher.current and indexed == []
    assert not list((built_run.site / "data").glob(".slow.json.*")) and not (built_run.site / "data" / "slow.json").exists()
    assert "Stopped refreshing the search index and data: a new build started" in caplog.text
    assert "Traceback" not in caplog.text

    monkeypatch.setattr(pipeline, "export", real_export)
    refresher.start(built_run)
    refresher._thread.join(60)
    assert refresher.current and indexed == [built_run.site]
    assert (built_run.site / "data" / "all.json").is_file()


def test_pagefind_is_ended_when_the_run_is_told_to_stop(built_run):
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(pipeline.Interrupted):
        pipeline.index_search(built_run.site, stopping)
    assert not (built_run.site / ".pagefind-new").exists()


def test_without_the_site_extra_the_build_says_what_to_install(tmp_path, monkeypatch):
    """Playwright and Pagefind are the `site` extra (the pre-commit hook's environment has
    neither): without Pagefind the search stage is an error naming the install line; without
    Playwright the diagrams are left to the browser and the stage's note says why."""
    import importlib.util
    import sys

    from generator import diagrams

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pagefind" else found(name, *a))
    problem = pipeline.index_search(tmp_path)
    assert problem is not None and problem.code == "search"
    assert "needs Pagefind, which is not installed here: pip install 'kb-wiki[site]'" in problem.message
    assert not (tmp_path / "pagefind").exists()

    monkeypatch.delenv("KB_DIAGRAMS", raising=False)
    monkeypatch.setattr(diagrams.shutil, "which", lambda name: "/usr/bin/chromium")
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails as if not installed
    assert diagrams.unavailable() == "Playwright is not installed here (pip install 'kb-wiki[site]')"
    assert diagrams._chromium() is None
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    assert diagrams.unavailable() == "KB_DIAGRAMS=client"


def test_search_parts_spread_the_pages_evenly_and_keep_small_sites_whole():
    from generator import search_index

    pages = {f"p{n:03}.html": 1000 + 37 * n for n in range(200)}
    assert search_index.parts(pages, sum(pages.values())) == [sorted(pages)]
    divided = search_index.parts(pages, 60_000)
    assert len(divided) == -(-sum(pages.values()) // 60_000)
    assert sorted(p for part in divided for p in part) == sorted(pages)
    sizes = [sum(pages[p] for p in part) for part in divided]
    assert max(sizes) - min(sizes) <= max(pages.values())  # within one page of each other
    assert all(part == sorted(part) for part in divided)
    assert search_index.parts(pages, 60_000) == divided  # the same parts every time
    assert search_index.parts({"big.html": 10_000, "small.html": 1}, 100) == [["big.html"], ["small.html"]]


def test_search_parts_are_never_more_than_the_pages():
    from generator import search_index

    assert search_index.parts({"a.html": 5_000, "b.html": 5_000}, 1) == [["a.html"], ["b.html"]]
    assert search_index.parts({}, 100) == [[]]


@pytest.mark.parametrize("given", ["0", "-3", "abc", "nan", "inf", "1e-9"])
def test_a_bad_search_part_size_is_a_diagnostic(given, tmp_path, monkeypatch):
    from generator import search_index

    monkeypatch.setenv("KB_SEARCH_PART_MB", given)
    (tmp_path / "index.html").write_text("<html><body data-pagefind-body>x</body></html>")
    problem = search_index.index_search(tmp_path)
    assert problem is not None and problem.code == "search" and "KB_SEARCH_PART_MB" in problem.message
    assert not (tmp_path / "pagefind").exists()


def test_links_left_by_a_killed_index_run_are_removed_before_indexing(tmp_path):
    from generator import search_index

    page = "<html><body><main data-pagefind-body><h1>Page</h1><p>words to find</p></main></body></html>"
    (tmp_path / "index.html").write_text(page)
    left = tmp_path / ".pagefind-pages-x1" / "copy.html"
    left.parent.mkdir()
    left.write_text(page)
    assert search_index.index_search(tmp_path) is None
    assert not left.parent.exists()
    entry = json.loads((tmp_path / "pagefind" / "pagefind-entry.json").read_text())
    assert sum(language["page_count"] for language in entry["languages"].values()) == 1


# ---------------------------------------------------------------------------- export beside index


def test_the_export_runs_while_pagefind_indexes_and_keeps_the_graph_the_index_stage_lets_go_of(built_run, monkeypatch, caplog):
    """kb build's last two stages at once: the export waits until Pagefind has started (the index
    stage has let go of the run's outputs by then) and still exports the base; Pagefind waits
    until the export is under way. Run one after the other, each would wait for the other in vain."""
    real_index = pipeline.index_search
    exporting, indexing = threading.Event(), threading.Event()

    def export_once_indexing(run):
        exporting.set()
        assert indexing.wait(10), "Pagefind did not start while the export ran"
        return pipeline._export(run)  # reads the graph now, after the index stage let go of it

    def index_once_exporting(site, stopping=None):
        indexing.set()
        assert exporting.wait(10), "the export did not start while Pagefind ran"
        assert built_run.graph is None  # let go of: the export works from its own view of the run
        return real_index(site, stopping)

    monkeypatch.setattr(pipeline, "STAGES", tuple(dataclasses.replace(stage, function=export_once_indexing)
                                                  if stage.name == "export" else stage for stage in pipeline.STAGES))
    monkeypatch.setattr(pipeline, "index_search", index_once_exporting)
    caplog.set_level(logging.INFO, logger="kb")
    pipeline.run(built_run, ("export", "index"))
    assert built_run.ok, built_run.diagnostics
    assert (built_run.site / "data" / "all.json").is_file() and (built_run.site / "pagefind" / "pagefind.js").is_file()
    assert json.loads((built_run.site / "data" / "all.json").read_text())
    assert [line["stage"] for line in stage_lines(caplog)] == ["export", "index"]  # the table's order
    assert built_run.counts["export"] > 0 and built_run.timings["index"] > 0


def test_an_error_in_the_export_beside_the_index_comes_through_after_both(built_run, monkeypatch):
    finished = []

    def failing_export(graph, out, formats, kept=None):
        raise OSError("disk full")

    def index(site, stopping=None):
        time.sleep(0.3)
        finished.append("index")

    monkeypatch.setattr(pipeline, "export", failing_export)
    monkeypatch.setattr(pipeline, "index_search", index)
    with pytest.raises(OSError, match="disk full"):
        pipeline.run(built_run, ("export", "index"))
    assert finished == ["index"]


def test_a_stopped_index_stops_the_export_beside_it_and_waits_for_it(built_run, monkeypatch):
    """The stop reaches Pagefind at once and is raised in the export's thread, which ends where it
    is, its temporary file removed; the runner returns only once it has, so nothing of the run
    is still writing into the site after it."""
    from generator.export.files import write_atomic

    writing, ended = threading.Event(), []

    def endless_export(graph, out, formats, kept=None):
        out.mkdir(parents=True, exist_ok=True)

        def write(temporary):
            deadline = time.monotonic() + 20  # ends by itself, so that a runner that never stops it fails, not hangs
            with open(temporary, "w") as handle:
                writing.set()
                while time.monotonic() < deadline:
                    handle.write("x")
        try:
            return [write_atomic(out / "endless.json", write)]
        finally:
            ended.append("export")

    def stopped_index(site, stopping=None):
        assert writing.wait(10)
        raise pipeline.Interrupted()  # as Pagefind stopped by kb serve, or a signal, would

    monkeypatch.setattr(pipeline, "export", endless_export)
    monkeypatch.setattr(pipeline, "index_search", stopped_index)
    began = time.monotonic()
    with pytest.raises(pipeline.Interrupted):
        pipeline.run(built_run, ("export", "index"))
    assert ended == ["export"] and time.monotonic() - began < 10
    assert not list((built_run.site / "data").glob(".endless.json.*")) and not (built_run.site / "data" / "endless.json").exists()
    assert [thread.name for thread in threading.enumerate() if thread.name == "kb-export"] == []


def test_the_runner_does_not_wait_forever_for_an_export_thread_that_died_on_its_way_out(built_run, monkeypatch):
    """The runner waits on the thread's own event; a thread that ended without setting it (here
    the event's set() fails) is seen through is_alive(), and its result still comes through."""
    import types

    class Unset(threading.Event):
        def set(self):
            if threading.current_thread().name == "kb-export":
                raise RuntimeError("died on its way out")
            super().set()

    monkeypatch.setattr(pipeline, "threading", types.SimpleNamespace(Lock=threading.Lock, Thread=threading.Thread,
                                                                      Event=Unset))
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the thread's error, expected
    monkeypatch.setattr(pipeline, "index_search", lambda site, stopping=None: None)
    began = time.monotonic()
    pipeline.run(built_run, ("export", "index"))
    assert time.monotonic() - began < 30 and built_run.counts["export"] > 0
