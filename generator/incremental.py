"""What a run can take from the run before it in the same process (``kb serve``'s reloads).

Score and render compute one thing per record (its Score with its article; its pages), each a
function of the base it reads. With a :class:`Memo`, each such computation is made through a
view of the base that notes what it reads (:func:`tracked_base`, :func:`tracked_graph`): which
records (in full, or only their name and address, as a link shows them), whose edges, whose
neighbours, which tags, whose scores, who is cited. The next run compares its base with the one
before, table by table (:class:`View`), and makes again only what read something that changed;
the rest is taken as it was. The result is the same, byte for byte, as making everything again
(``tests/test_incremental.py`` checks it after edits of every sort).

Some changes make everything again: another day, another vocabulary, a record moved to another
kind (ranking related records reads the kinds of the records its neighbours' edges name),
another image file (for the scores: the articles show images). A computation that walks a whole table (``for entry in entries``) depends on
all of it. Only what a computation reads through the view is seen: an emitter must reach the
base through ``base`` and the entry it is given, as every emitter does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import images
from .core import Entry
from .link import Graph
from .present import Base, Links, page_path

ALL = object()  # the key of a read of a whole table (its keys, its length, every value)

# The tables a computation reads. "entry": a record in full; "label": what a link to it shows
# (its name and page); "out"/"in": its edges; "near": its neighbours; "tag": a tag's records;
# "score": its Score; "cited": whether some record cites it.
TABLES = ("entry", "label", "out", "in", "near", "tag", "score", "cited")


class _Tracked(Mapping):
    """A read-only view of a mapping that notes each key read, and ALL when it is walked."""

    __slots__ = ("_data", "_reads", "_table")

    def __init__(self, data, reads: set, table: str):
        self._data, self._reads, self._table = data, reads, table

    def __getitem__(self, key):
        self._reads.add((self._table, key))
        return self._data[key]

    def get(self, key, default=None):
        self._reads.add((self._table, key))
        return self._data.get(key, default)

    def __contains__(self, key) -> bool:
        self._reads.add((self._table, key))
        return key in self._data

    def __iter__(self):
        self._reads.add((self._table, ALL))
        return iter(self._data)

    def __len__(self) -> int:
        self._reads.add((self._table, ALL))
        return len(self._data)

    def keys(self):
        self._reads.add((self._table, ALL))
        return self._data.keys()

    def values(self):
        self._reads.add((self._table, ALL))
        return self._data.values()

    def items(self):
        self._reads.add((self._table, ALL))
        return self._data.items()


class _TrackedGraph(Graph):
    """A Graph whose tables note what is read of them; its methods read through them."""

    def __init__(self, graph: Graph, reads: set):  # noqa: D107 (no dataclass __init__: a view)
        self._graph, self._reads = graph, reads
        self.entries = _Tracked(graph.entries, reads, "entry")
        self.outgoing = _Tracked(graph.outgoing, reads, "out")
        self.incoming = _Tracked(graph.incoming, reads, "in")
        self.tags = _Tracked(graph.tags, reads, "tag")
        self.vocabulary = graph.vocabulary  # a change of it makes everything again
        self._neighbours, self._kinds = graph._neighbours, graph._kinds

    def neighbours(self, record_id: str) -> frozenset[str]:
        self._reads.add(("near", record_id))
        return self._graph.neighbours(record_id)

    def kinds(self) -> dict[str, str]:
        # Not noted: who ranks related records asks the kind of ids that its neighbours' edges
        # name (noted), which exist; a record that changes kind makes everything again (View).
        return self._graph.kinds()

    def kind_of(self, record_id: str) -> str:
        return self._graph.kind_of(record_id)

    def name_of(self, record_id: str) -> str:
        self._reads.add(("label", record_id))
        return self._graph.name_of(record_id)


class _TrackedLinks(Links):
    """Links that note each record they link to as a read of its label (name and page)."""

    def __init__(self, links: Links, reads: set):  # noqa: D107
        self._links, self._reads = links, reads
        self.entries = _Tracked(links.entries, reads, "entry")

    def a(self, from_page: str, record_id: str, text: str | None = None) -> str:
        self._reads.add(("label", record_id))
        return self._links.a(from_page, record_id, text)

    def markdown(self, from_page: str, record_id: str) -> str:
        self._reads.add(("label", record_id))
        return self._links.markdown(from_page, record_id)

    def has(self, record_id: str) -> bool:
        self._reads.add(("label", record_id))  # a record added or deleted has a label that changed
        return self._links.has(record_id)

    def target(self, from_page: str, record_id: str, text: str | None = None) -> tuple[str, str] | None:
        self._reads.add(("label", record_id))
        return self._links.target(from_page, record_id, text)


class _TrackedSet:
    __slots__ = ("_data", "_reads", "_table")

    def __init__(self, data: set, reads: set, table: str):
        self._data, self._reads, self._table = data, reads, table

    def __contains__(self, key) -> bool:
        self._reads.add((self._table, key))
        return key in self._data


def tracked_graph(graph: Graph, reads: set) -> Graph:
    return _TrackedGraph(graph, reads)


def tracked_links(links: Links, reads: set) -> Links:
    return _TrackedLinks(links, reads)


def tracked_set(data: set, reads: set, table: str):
    return _TrackedSet(data, reads, table)


def tracked_base(base: Base, reads: set) -> Base:
    view = object.__new__(Base)  # the same fields, read through the views above
    view.graph = _TrackedGraph(base.graph, reads)
    view.scores = _Tracked(base.scores, reads, "score")
    view.today = base.today
    view.links = _TrackedLinks(base.links, reads)
    return view


# ---------------------------------------------------------------------------- what changed


def _entry_print(entry: Entry) -> tuple:
    """What a record is made of: its file's data, how its numbers were written (``1.10`` stays
    text) and its article; the vocabulary is compared apart."""
    document = entry.document
    return entry.kind, document.path, document.data, document.number_texts, document.body


@dataclass
class View:
    """What the computations of one run could read, compared with the next run's."""

    whole: tuple  # a change of any of these makes everything again
    tables: dict[str, dict]
    kinds: dict[str, str]  # record id -> kind: a record that changes kind makes everything again

    @classmethod
    def of(cls, graph: Graph, today, scores: dict | None = None, cited: set | None = None,
           images: tuple = ()) -> "View":
        entries = graph.entries
        tables = {
            "entry": {i: _entry_print(e) for i, e in entries.items()},
            "label": {i: (e.name, page_path(e)) for i, e in entries.items()},
            "out": {i: tuple(edges) for i, edges in graph.outgoing.items() if edges},
            "in": {i: tuple(edges) for i, edges in graph.incoming.items() if edges},
            "near": {i: graph.neighbours(i) for i in entries},
            "tag": {t: tuple(members) for t, members in graph.tags.items()},
            "score": dict(scores or {}),
            "cited": dict.fromkeys(cited or (), True),
        }
        return cls((today, graph.vocabulary, images), tables, graph.kinds())

    def changes(self, before: "View | None") -> set | None:
        """The (table, key) reads whose answer differs from ``before``'s, with (table, ALL) for
        each table that changed at all; None when everything must be made again."""
        if before is None or before.whole != self.whole:
            return None
        kinds, then = self.kinds, before.kinds
        if any(then.get(record_id, kind) != kind for record_id, kind in kinds.items()):
            return None  # a record moved to another kind (ranking related records reads kinds unnoted)
        changed = set()
        for table, now in self.tables.items():
            then = before.tables[table]
            keys = [key for key in now.keys() | then.keys() if now.get(key) != then.get(key)]
            changed.update((table, key) for key in keys)
            if keys:
                changed.add((table, ALL))
        return changed


def image_files(content: Path) -> tuple:
    """The content's images (path, size, modification time), as the build copies them
    (``images.under``): articles show them, so a change makes everything again."""
    found = []
    for relative, file in images.under(Path(content)).items():
        try:
            stat = file.stat()
        except OSError:
            continue
        found.append((relative, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


# ---------------------------------------------------------------------------- the memo


@dataclass
class _Kept:
    view: View | None = None
    made: dict[str, tuple[Any, frozenset]] = field(default_factory=dict)  # record id -> (what, its reads)


@dataclass
class Memo:
    """What the last run made: each file's document and its validation (taken again while the
    file is as it was), and each record's Score and pages with what they read."""

    stages: dict[str, _Kept] = field(default_factory=dict)
    loaded: dict = field(default_factory=dict)  # file -> what load made of it, and its size and times
    validated: dict = field(default_factory=dict)  # file -> what validate made of the document load gave
    written: dict = field(default_factory=dict)  # page -> the bytes its file held after write, and the file's times
    remade: dict[str, int] = field(default_factory=dict)  # stage -> pieces made again in the last run

    def each(self, stage: str, view: View, entries: Iterable[Entry],
             make: Callable[[list[Entry]], list[tuple[Any, frozenset]]]) -> dict[str, Any]:
        """For every entry, what ``make`` made of it (with what it read), taken from the last run
        where nothing it read changed. ``make`` makes a list of entries (in two processes, say)
        and returns (result, reads) for each."""
        kept = self.stages.setdefault(stage, _Kept())
        changed = view.changes(kept.view)
        entries = list(entries)
        if changed is None:
            stale = entries
        else:
            stale = [e for e in entries if e.id not in kept.made or not kept.made[e.id][1].isdisjoint(changed)]
        made = dict(zip((e.id for e in stale), make(stale)))
        kept.made = {e.id: made.get(e.id) or kept.made[e.id] for e in entries}
        kept.view = view
        self.remade[stage] = len(stale)
        return {record_id: value for record_id, (value, _) in kept.made.items()}
