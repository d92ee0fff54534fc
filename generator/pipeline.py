"""The build, one table of stages run by one runner:

    vocabulary -> load -> validate -> mermaid -> link -> score -> render -> draw -> write -> site -> export -> index

Every entry point asks :func:`run` for the stages it needs: ``kb validate`` the checks up to ``link``
(:func:`check`), ``kb export`` those and ``export``, ``kb build`` all of them (with the lock, the
staging folder and the swap around them: ``generator.build.build_site``), the MkDocs hooks of
``mkdocs build``/``mkdocs serve`` ``vocabulary`` to ``write`` before MkDocs and ``export`` and ``index``
after it (under ``kb serve`` in the background, from the graph the build already has), and
scripts/benchmark.py. No stage runs an earlier one again: each is a plain function of the run so
far (:class:`Run`) that returns what it made and how many (:class:`Done`); the runner keeps the
output, times the stage and logs one line for it, Quartz-like::

    render       222 pages in 90 ms

Diagnostics of every stage are collected in the run, and the run stops after a stage that
reported an error (the checks of the base run all the same, so that `kb validate` reports
every error at once). ``export`` runs beside ``index`` (``Stage.beside``): in a thread, while
Pagefind indexes the site in a process of its own; the index stage lets go of everything else
the run holds before it starts Pagefind, and the export keeps the graph until it ends.
"""
from __future__ import annotations

import copy
import datetime as dt
import gc
import logging
import os
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import (diagram_check, diagrams, engines, images, incremental, link, load, processes, render, schemas, score,
               search_index, site_parts, validate)
from .core import Diagnostic, Interrupted, KnowledgeBaseError, errors_of, files_under, gc_paused
from .export import FORMATS, export
from .export.files import write_text
from .kinds import KINDS
from .search_index import index_delta, index_search
from .vocabulary import Checked, keys as vocabulary_keys

log = logging.getLogger("kb")

GENERATED_DIR = Path("build") / "docs"  # the docs tree the write stage makes, beside mkdocs.yml
DIAGRAM_CACHE = Path("build") / "diagrams"  # the drawings of the draw stage
PAGE_HOOKS = Path(__file__).with_name("page_hooks.py")  # the only hook of MkDocs under `kb build`


def today() -> dt.date:
    """The build's day; KB_TODAY=YYYY-MM-DD pins it for reproducible builds and tests."""
    pinned = os.environ.get("KB_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


@dataclass
class Run:
    """One run: what it is asked to work on, and what its stages have made so far.

    ``content`` is the folder of records; ``docs`` and ``cache`` the docs tree and the diagram
    cache (``write`` and ``draw``); ``config``, ``engine`` and ``site`` what ``site`` builds and
    where ``export`` and ``index`` write (``data``, default ``<site>/data``, is where ``export``
    writes the data; only a run with a site gets the schemas beside it)."""

    content: Path
    docs: Path | None = None
    cache: Path | None = None
    parsed: Path | None = None  # the file of Mermaid's verdicts on diagrams (default: diagrams.parse_cache())
    config: Path | None = None
    engine: str = "mkdocs"
    site: Path | None = None
    data: Path | None = None
    formats: tuple[str, ...] = tuple(FORMATS)
    day: dt.date = field(default_factory=today)
    stopping: threading.Event | None = None  # set by another thread: the run stops (Interrupted)
    # what score and render made in an earlier run of this process, to make again only what changed
    # (kb serve's reloads; generator/incremental.py)
    memo: incremental.Memo | None = None
    # kb serve's reloads: the site's pages (paths in site/) this run changed or removed, which the
    # index stage indexes alone (with those of the reloads before, since the whole site was)
    pages_changed: set[str] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)  # stage -> what it made
    counts: dict[str, int] = field(default_factory=dict)  # stage -> how many
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not errors_of(self.diagnostics)

    @property
    def vocabulary(self) -> Checked:
        return self.outputs.get("vocabulary", Checked())

    @property
    def documents(self) -> list:
        return self.outputs.get("load", [])

    @property
    def entries(self) -> list:
        return self.outputs.get("validate", ([], []))[0]

    @property
    def rejected(self) -> list:
        """The records that did not validate (core.Rejected)."""
        return self.outputs.get("validate", ([], []))[1]

    @property
    def graph(self) -> link.Graph | None:
        return self.outputs.get("link")

    @property
    def scores(self) -> dict | None:
        return self.outputs.get("score")

    @property
    def rendered(self) -> render.Rendered | None:
        return self.outputs.get("render")

    @property
    def written(self) -> list[str]:
        return self.outputs.get("write", ([], []))[0]

    @property
    def removed(self) -> list[str]:
        return self.outputs.get("write", ([], []))[1]

    @property
    def exported(self) -> list[Path]:
        return self.outputs.get("export", [])


@dataclass
class Done:
    """What a stage returns: its output, how many things it made (or read), and its problems.
    ``note`` ends the stage's log line, for what the count does not say."""

    output: Any
    count: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Stage:
    name: str
    function: Callable[[Run], Done]
    counted: str  # what the count counts, for the log line
    checks: bool = False  # a check of the base: runs after the errors of the checks before it
    gc_paused: bool = False  # run with the cyclic collector paused (see core.gc_paused)
    # A later stage this one runs beside, in a thread of its own, when the run asks for both:
    # that stage mostly waits for another process, and neither reads what the other makes.
    beside: str = ""
    # For a stage run beside another: the outputs of the stages before that it reads. Its view of
    # the run holds these alone, so that the other stage can let go of the rest.
    reads: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- the stages


def _vocabulary(run: Run) -> Done:
    """The base's own words (content/vocabulary.yaml), before the records that use them."""
    document, failed, found = load.load_vocabulary(Path(run.content))
    checked, problems = validate.validate_vocabulary(document, failed)
    return Done(checked, sum(len(checked.values(key)) for key in vocabulary_keys()), found + problems)


def _load(run: Run) -> Done:
    documents, found = load.load(Path(run.content), run.memo.loaded if run.memo is not None else None)
    return Done(documents, len(documents), found)


def _validate(run: Run) -> Done:
    entries, rejected, found = validate.validate(run.documents, run.vocabulary,
                                                 run.memo.validated if run.memo is not None else None)
    return Done((entries, rejected), len(entries), found)


def _mermaid(run: Run) -> Done:
    """Every diagram an editor wrote, parsed by the pinned Mermaid (validate made the checks
    that need no browser): an error at the file and line Mermaid names, so that `kb validate`
    and `kb build` fail on a diagram that would not draw."""
    diagrams = [diagram for checked in run.entries + run.rejected for diagram in checked.diagrams]
    count, found, note = diagram_check.check_diagrams(diagrams, run.parsed)
    return Done(None, count, found, note)


def _link(run: Run) -> Done:
    validated = {id(e.document) for e in run.entries}
    failed = [d for d in run.documents if id(d) not in validated]  # did not load, or did not validate
    graph, found = link.link(run.entries, failed, run.rejected, run.vocabulary,
                             run.memo.linked if run.memo is not None else None)
    note = ""
    if run.memo is not None:
        run.memo.remade["link"] = run.memo.linked["walked"]
        note = f"{run.memo.linked['walked']} records walked again"
    return Done(graph, sum(len(edges) for edges in graph.outgoing.values()), found, note)


def _score(run: Run) -> Done:
    images = incremental.image_files(run.content) if run.memo is not None else ()
    scores = score.score(run.graph, run.day, run.memo, images)
    note = f"{run.memo.remade['score']} scored again" if run.memo is not None else ""
    return Done(scores, len(scores), note=note)


def _render(run: Run) -> Done:
    rendered = render.render(run.graph, run.scores, run.day, run.memo)
    note = f"{run.memo.remade['render']} records' pages made again" if run.memo is not None else ""
    return Done(rendered, len(rendered.pages), note=note)


def _draw(run: Run) -> Done:
    """Every Mermaid block of the pages drawn into the cache (the Markdown keeps its blocks)."""
    found = {diagram for page in run.rendered.pages.values() for diagram in _diagrams_of(run, page)}
    drawn = diagrams.draw_found(found, run.cache, Progress("diagrams"))
    # An editor's diagram that hangs Mermaid is an error at its file and line; any other failure
    # (a generated diagram's is the generator's fault) a warning, the browser trying again.
    authored, timed_out, problems = _authored(run.entries), set(drawn.timed_out), []
    for failure, (source, linked) in zip(drawn.failed, drawn.failed_diagrams):
        places = authored.get(source, ()) if (source, linked) in timed_out and not linked else ()
        problems += [Diagnostic(place.file, place.line, place.column,
                                f"Mermaid did not finish drawing this diagram in {diagrams.DIAGRAM_TIMEOUT:g} s; "
                                "a reader's browser would hang on it too", place.field,
                                "make the diagram smaller, or split it into several", code="drawing")
                     for place in places]
        if not places:
            log.warning("diagram could not be drawn at build time (the browser will try): %s", failure)
    why = diagrams.unavailable() if drawn.left else None
    return Done(drawn, drawn.drawn + drawn.cached + drawn.left, problems,
                note=f"{drawn.drawn} drawn, {drawn.cached} from cache, {drawn.left} left to the browser"
                     + (f" ({why})" if why else ""))


def _authored(entries: list) -> dict[str, list]:
    """The places (diagram_check.Authored) where editors wrote each diagram, by its source as
    its block holds it (stripped, ``diagrams.block``)."""
    found: dict[str, list] = {}
    for entry in entries:
        for diagram in entry.diagrams:
            found.setdefault(diagram.source.strip(), []).append(diagram)
    return found


def _write(run: Run) -> Done:
    """The complete docs tree: the pages that changed, with the drawings in their Markdown, the
    static assets and the content's images (``images/``, where prose addresses them), so that
    any engine builds the site from it alone."""
    pages = {path: _inlined(run, page) if _marked(run, page) else page.data for path, page in run.rendered.pages.items()}
    if run.memo is not None:  # what the memo holds of pages that are gone
        for kept in (run.memo.marked, run.memo.inlined):
            for path in kept.keys() - pages.keys():
                del kept[path]
    written, removed = write_changed(run.docs, pages, run.memo.written if run.memo is not None else None)
    assets, stale = engines.copy_assets(run.docs, extra=images.under(run.content))
    note = f"{len(removed)} removed, {len(assets)} assets copied" + (f", {len(stale)} stale removed" if stale else "")
    return Done((written, removed), len(written), note=note)


def _diagrams_of(run: Run, page) -> tuple:
    """The diagram blocks of a page (``diagrams.found_in``); with kb serve's memo, a page that
    render took from the memo (the very same bytes) is not searched again."""
    def found() -> tuple:
        return tuple(diagrams.found_in(page.markdown)) if diagrams.MARK in page.data else ()

    if run.memo is None:
        return found()
    kept = run.memo.marked.get(page.path)
    if kept is None or kept[0] is not page.data:
        kept = run.memo.marked[page.path] = (page.data, found())
    return kept[1]


def _marked(run: Run, page) -> bool:
    """Whether a page has a diagram block."""
    return bool(_diagrams_of(run, page))


def _inlined(run: Run, page) -> bytes:
    """A page with its drawings in its Markdown; with kb serve's memo, the very bytes of the run
    before while its Markdown is the same and the cache has the same files (the folder's time
    changes when a drawing is added or removed), so that write need not compare them again."""
    if run.memo is None:
        return diagrams.inline_markdown(page.markdown, run.cache)[0].encode("utf-8")
    try:
        folder = run.cache.stat().st_mtime_ns
    except OSError:
        folder = None
    kept = run.memo.inlined.get(page.path)
    if kept is None or kept[0] is not page.data or kept[1] != folder or folder is None:
        kept = run.memo.inlined[page.path] = (
            page.data, folder, diagrams.inline_markdown(page.markdown, run.cache)[0].encode("utf-8"))
    return kept[2]


def write_changed(out: Path, pages: dict[str, str | bytes], kept: dict | None = None) -> tuple[list[str], list[str]]:
    """Write the pages whose bytes changed and delete the pages that are gone: a rebuild after one
    edit touches the pages that show the edited record, and an engine's dirty build sees only those.
    A page is its text or its UTF-8 bytes.

    ``kept`` (kb serve's reloads): the bytes each file held after the write before, and the file's
    size, modification time and inode then, updated here; a page given as those very bytes (render
    took it from its memo) whose file is as it was is not read again to be compared."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    now: dict = {}
    folder = os.fspath(out)
    for relative, text in pages.items():
        data = text.encode("utf-8") if isinstance(text, str) else text
        before = kept.get(relative) if kept is not None else None
        if before is not None and before[0] is data and before[1] == _file_key(os.path.join(folder, relative)):
            now[relative] = before
            continue
        target = out / relative
        try:
            same = target.read_bytes() == data
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            same = False
        if not same:
            target.write_bytes(data)
            written.append(relative)
        if kept is not None:
            now[relative] = (data, _file_key(target))
    if kept is not None:
        kept.clear()
        kept.update(now)
    removed = []
    for relative in files_under(out):
        if relative.endswith(".md") and relative not in pages:
            (out / relative).unlink()
            removed.append(relative)
    return written, removed


def _file_key(path: Path | str) -> tuple | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def _site(run: Run) -> Done:
    """The docs tree built into the site by the run's engine. MkDocs runs in this process with
    generator/page_hooks.py as its only hook (the generated HTML blocks skip Python-Markdown, the
    page allow-list, the policy), a large site in two parts at once, the second in a process of its
    own (generator/site_parts.py); ProperDocs and Zensical run no hook, so ``engines.secure_site``
    does the allow-list and the policy after them."""
    # The pages are on disk now: what made them (the articles, the pages' Markdown, the drawings)
    # is let go of before the engine holds every page again; export needs only the graph.
    _release_memory(run, keep=("vocabulary", "load", "validate", "mermaid", "link"))
    if run.engine == "mkdocs":
        problem = _mkdocs(run.config, run.docs, run.site)
        if problem is not None:
            return Done(None, 0, [problem])
        return Done(None, _html_pages(run.site), note="mkdocs")
    problem = engines.build(run.engine, run.config, run.docs, run.site)
    if problem is not None:
        return Done(None, 0, [problem])
    secured = engines.secure_site(run.site, run.docs, run.cache)
    return Done(None, secured.pages, secured.diagnostics, note=f"{run.engine}, allow-list and policy after it")


def mkdocs_config(config_file: Path, docs: Path, site: Path):
    """mkdocs.yml with the docs tree, the site folder and page_hooks.py as its only hook."""
    from mkdocs.config import load_config

    return load_config(str(config_file), **{**engines.package_paths(config_file), "docs_dir": str(docs),
                                             "site_dir": str(site), "hooks": [str(PAGE_HOOKS)]})


def _mkdocs(config_file: Path, docs: Path, site: Path) -> Diagnostic | None:
    """MkDocs on the docs tree; a large site in two processes at once (generator/site_parts.py)."""
    from mkdocs.commands.build import build
    from mkdocs.exceptions import MkDocsException

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    try:
        config = mkdocs_config(config_file, docs, site)
        parts = site_parts.parts_for(config, docs, own_hooks={str(PAGE_HOOKS)})
        if parts > 1:
            problem = site_parts.build(config_file, docs, site, parts, config)
            return Diagnostic(str(config_file), 1, 1, problem, code="mkdocs") if problem else None
        build(config)
    except (MkDocsException, SystemExit) as exc:
        return Diagnostic(str(config_file), 1, 1, f"MkDocs build failed: {exc}", code="mkdocs")
    return None


def _html_pages(site: Path) -> int:
    return sum(1 for _ in site.rglob("*.html"))


def _export(run: Run) -> Done:
    """The base as data (``export``: JSON, CSV, SQLite, each file written atomically) and, for a
    site, the schemas its pages link to."""
    written = export(run.graph, run.data or run.site / "data", run.formats,
                     run.memo.exported if run.memo is not None else None)
    if run.site is not None:
        folder = run.site / "schemas"
        folder.mkdir(parents=True, exist_ok=True)
        for kind in KINDS.values():
            written.append(write_text(folder / f"{kind.folder}.schema.json", schemas.render_schema(kind)))
    return Done(written, len(written))


def _index(run: Run) -> Done:
    """Pagefind's search index of the site, after the run has let go of the base, the pages and
    the engine's objects: Pagefind needs as much memory again, and the two must not peak together.
    A reload of kb serve that changed few pages indexes those alone (``search_refreshes_alone``)."""
    if search_refreshes_alone(run):
        problem = index_delta(run.site, run.pages_changed, run.memo.search, run.stopping)
        return Done(None, len(run.memo.search.since), [problem] if problem else [], note="pages indexed again")
    _release_memory(run)
    problem = index_search(run.site, run.stopping)
    pages = _html_pages(run.site)
    if run.memo is not None and problem is None:
        run.memo.search.reset(pages)
    return Done(None, pages, [problem] if problem else [])


def search_refreshes_alone(run: Run) -> bool:
    """Whether the index stage of this run indexes only the pages changed since the whole site was
    (kb serve's reloads, when few have): it then needs little memory, and keeps the run's. The
    share is of the pages the whole index had: asked twice a refresh, it walks no folder."""
    return (run.memo is not None and run.pages_changed is not None and run.site is not None
            and (run.site / "pagefind" / search_index.PARTS_FILE).is_file()
            and run.memo.search.fits(run.pages_changed, run.memo.search.pages))


def _release_memory(run: Run, keep: tuple[str, ...] = ()) -> None:
    """Drop what the stages made (but the outputs of ``keep``) and hand the memory back to the
    system: the collector frees the cycles (MkDocs' pages and files point at each other), and
    glibc keeps freed memory for later unless asked to return it (malloc_trim)."""
    for name in [name for name in run.outputs if name not in keep]:
        del run.outputs[name]
    gc.collect()
    libc = processes.libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


STAGES: tuple[Stage, ...] = (
    # The checks: one run reports every error of the base; one pause of the collector over the
    # three, the heap only grows there (scripts/bench_validate.py).
    Stage("vocabulary", _vocabulary, "words", checks=True),
    Stage("load", _load, "files", checks=True, gc_paused=True),
    Stage("validate", _validate, "records", checks=True, gc_paused=True),
    Stage("mermaid", _mermaid, "diagrams", checks=True, gc_paused=True),
    Stage("link", _link, "edges", checks=True, gc_paused=True),
    Stage("score", _score, "records"),
    Stage("render", _render, "pages"),
    Stage("draw", _draw, "diagrams"),
    Stage("write", _write, "pages written"),
    Stage("site", _site, "pages"),
    # The export (Python, one core) runs while Pagefind indexes the site (another process, both
    # cores): at 10,000 records the two took 35.9 s together against 49.2 s one after the other.
    Stage("export", _export, "files", beside="index", reads=("link",)),
    Stage("index", _index, "pages"),
)
NAMES = tuple(stage.name for stage in STAGES)
CHECK = NAMES[:NAMES.index("link") + 1]  # kb validate
GENERATE = NAMES[:NAMES.index("write") + 1]  # the complete docs tree


# ---------------------------------------------------------------------------- the runner


def run(state: Run, names: Iterable[str] = NAMES) -> Run:
    """Run the named stages on ``state`` in the table's order, each once, and return it.

    A stage's output is kept in ``state.outputs`` under its name, its count and seconds beside.
    The run stops after a stage that reported an error; only the checks of the base (load,
    validate, mermaid, link) go on after a check's errors, so that one run reports all of them. Before a
    stage, it raises Interrupted once ``state.stopping`` is set."""
    wanted = set(names)
    unknown = wanted - set(NAMES)
    if unknown:
        raise ValueError(f"no such stage: {', '.join(sorted(unknown))}")
    with ExitStack() as paused:
        pausing = False
        ran_beside: set[str] = set()
        for stage in STAGES:
            if stage.name not in wanted or stage.name in ran_beside:
                continue
            if not state.ok and not stage.checks:
                break
            if stage.gc_paused != pausing:
                if stage.gc_paused:
                    paused.enter_context(gc_paused())
                else:
                    paused.close()
                pausing = stage.gc_paused
            if state.stopping is not None and state.stopping.is_set():
                raise Interrupted()
            if stage.beside in wanted:
                partner = next(later for later in STAGES if later.name == stage.beside)
                for one, (done, seconds) in zip((stage, partner), _side_by_side(state, stage, partner)):
                    _keep(state, one, done, seconds)
                ran_beside.add(partner.name)
                continue
            started = time.perf_counter()
            done = stage.function(state)
            _keep(state, stage, done, time.perf_counter() - started)
    return state


def _keep(state: Run, stage: Stage, done: Done, seconds: float) -> None:
    state.outputs[stage.name], state.counts[stage.name] = done.output, done.count
    state.timings[stage.name] = seconds
    state.diagnostics = sorted(state.diagnostics + list(done.diagnostics))
    log.info("%s", _line(stage, done, seconds))


def _side_by_side(state: Run, stage: Stage, partner: Stage) -> tuple[tuple[Done, float], tuple[Done, float]]:
    """``stage`` in a thread while ``partner`` runs in this one: each one's (Done, seconds).

    The thread gets a view of the run that holds only the outputs ``stage`` reads
    (``Stage.reads``), so that ``partner`` can let go of the rest (the index stage lets go of
    everything before Pagefind starts). Both end before this returns, whatever happens.
    When ``partner`` fails, a signal arrives (kb build's ``Stopped``, here or while waiting) or
    the run's ``stopping`` is set, ``stage`` is interrupted where it is (``processes.raise_in``:
    the export writes each file under a temporary name, removed when it stops) and waited
    for; then the first of those comes through, else an error of ``stage``.

    The interruption is sent only while the thread is inside its ``try`` (``flags``, under
    ``guard``): one asked for before the thread has got there cancels the stage instead, and
    the thread gives one already on its way a place to arrive before it ends."""
    view = copy.copy(state)
    view.outputs = {name: state.outputs[name] for name in stage.reads if name in state.outputs}
    result: dict[str, Any] = {}
    guard = threading.Lock()
    flags = {"inside": False, "running": True, "interrupted": False, "cancelled": False}
    ended = threading.Event()

    def work() -> None:
        try:
            with guard:
                flags["inside"] = True
                cancelled = flags["cancelled"]
            if cancelled:
                raise Interrupted()
            started = time.perf_counter()
            try:
                result["done"] = stage.function(view)
            finally:
                result["seconds"] = time.perf_counter() - started
        except BaseException as exc:  # noqa: BLE001 (raised again in the runner's thread)
            result.setdefault("error", exc)
        try:
            with guard:
                flags["running"] = False
                late = flags["interrupted"]
            if late:  # an interruption on its way arrives here, not after this function
                processes.receive_interrupt(0.2)
        except BaseException as exc:  # noqa: BLE001 (that interruption)
            result.setdefault("error", exc)
        ended.set()

    def interrupt() -> None:
        with guard:
            if not flags["inside"]:
                flags["cancelled"] = True
            elif flags["running"] and not flags["interrupted"]:
                processes.raise_in(thread.ident, Interrupted)
                flags["interrupted"] = True

    thread = threading.Thread(target=work, name=f"kb-{stage.name}", daemon=True)
    thread.start()
    stop: BaseException | None = None
    try:
        started = time.perf_counter()
        done = partner.function(state)
        seconds = time.perf_counter() - started
    except BaseException as exc:  # noqa: BLE001 (raised once the thread has ended)
        stop = exc
        interrupt()
    # Wait on the thread's own event, never in join() alone: a signal that interrupts join()
    # leaves the thread marked as ended while it still runs (CPython 3.11).
    while not ended.is_set():
        try:
            if ended.wait(0.1) or not thread.is_alive():  # (the second: a thread that died on its way out)
                break
            if state.stopping is not None and state.stopping.is_set():
                interrupt()
        except BaseException as exc:  # noqa: BLE001 (a signal while waiting: the stage stops first)
            stop = stop or exc
            interrupt()
    thread.join()
    del view
    if stop is not None:
        raise stop
    if "error" in result:
        raise result["error"]
    if "done" not in result:
        raise RuntimeError(f"the {stage.name} stage's thread ended without a result")
    return (result["done"], result["seconds"]), (done, seconds)


def _line(stage: Stage, done: Done, seconds: float) -> str:
    took = f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
    note = f" ({done.note})" if done.note else ""
    return f"{stage.name:<9} {done.count:>6,} {stage.counted} in {took}{note}"


def vocabulary_of(root: Path) -> Checked:
    """The vocabulary of the base at ``root`` (its defaults where the file says nothing); raises
    KnowledgeBaseError when the file has errors."""
    done = run(Run(Path(root)), ("vocabulary",))
    if not done.ok:
        raise KnowledgeBaseError(done.diagnostics)
    return done.vocabulary


def check(root: Path) -> Run:
    """load -> validate -> mermaid -> link: everything `kb validate` reports."""
    return run(Run(Path(root)), CHECK)


def display_path(path: Path) -> str:
    return load.display_path(path)


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
