"""Stage 5, render: the linked, scored base to Markdown pages, by the emitters of
``emitters.EMITTERS`` (one per page type), through Jinja2 templates that only lay out.

The output is Markdown with front matter, all but its headings CommonMark HTML blocks, so any
engine that reads mkdocs.yml (MkDocs, ProperDocs, Zensical) takes it as it is. A large base's
record pages are made in two processes (``processes.split_map``): they are independent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import incremental, processes
from .core import gc_paused
from .emitters import EMITTERS, Emitter
from .link import Graph
from .present import Base, Page


@dataclass
class Rendered:
    pages: dict[str, Page] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # emitter -> pages it made


class EmitterFailed(Exception):
    """An emitter raised: says which one and on which record, with the error as its cause."""


def _run(emitter: Emitter, base: Base, entry=None, part=None) -> list[Page]:
    try:
        if emitter.each:
            return list(emitter.pages(base, entry))
        if emitter.parts is not None:
            return list(emitter.pages(base, part))
        return list(emitter.pages(base))
    except Exception as exc:
        where = f" on {entry.document.path}" if entry is not None else \
            (f" (part {getattr(part, 'path', part)})" if part is not None else "")
        raise EmitterFailed(f"emitter '{emitter.name}' failed{where}: {exc}") from exc


def _whole(emitter: Emitter, base: Base, memo: incremental.Memo | None, view) -> list[Page]:
    """The pages of an emitter about the whole base; with a memo, its parts made again only when
    what they read changed (an emitter without parts is always made again)."""
    if emitter.parts is None:
        return _run(emitter, base)
    parts = list(emitter.parts(base))
    if memo is None:
        return [page for part in parts for page in _run(emitter, base, part=part)]

    def tracked(part) -> tuple[list[Page], dict]:
        reads = incremental.Reads()
        return _run(emitter, incremental.tracked_base(base, reads), part=part), reads.done()

    made = memo.each(f"render:{emitter.name}", view, parts, lambda stale: [tracked(p) for p in stale],
                     key=lambda part: part)
    return [page for part in parts for page in made[part]]


@gc_paused()  # the pages are long-lived strings and lists: nothing for the collector to find
def render(graph: Graph, scores: dict, today: dt.date, memo: incremental.Memo | None = None) -> Rendered:
    """Stage entry point: every page of the site as Markdown.

    With a ``memo`` (``kb serve``), a record's pages are made again only when something they
    read changed since the memo's last run, and so are the parts of an emitter that makes its
    pages in parts (the index of a kind); the other pages about the whole base always are."""
    base = Base(graph, scores, today)
    each = [emitter for emitter in EMITTERS if emitter.each]
    rendered = Rendered()

    def record_pages(entry, base: Base = base) -> list[tuple[str, Page]]:
        return [(emitter.name, page) for emitter in each for page in _run(emitter, base, entry)]

    def tracked(entry) -> tuple[list[tuple[str, Page]], dict]:
        reads = incremental.Reads()
        reads.tables["entry"].add(entry.id)
        return record_pages(entry, incremental.tracked_base(base, reads)), reads.done()

    entries = list(graph.entries.values())
    view = None
    if memo is None:
        made = processes.split_map(record_pages, entries)
    else:
        view = incremental.render_view(memo, graph, today, scores)
        base.related_of = incremental.related_of(memo, view, graph)
        by_id = memo.each("render", view, entries, lambda stale: processes.split_map(tracked, stale))
        made = [by_id[entry.id] for entry in entries]
    for name, page in (item for pages in made for item in pages):
        rendered.pages[page.path] = page
        rendered.counts[name] = rendered.counts.get(name, 0) + 1
    for emitter in EMITTERS:
        if not emitter.each:
            pages = _whole(emitter, base, memo, view)
            rendered.counts[emitter.name] = len(pages)
            for page in pages:
                rendered.pages[page.path] = page
    return rendered
