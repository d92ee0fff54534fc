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
kind (ranking related records reads the kinds of the records its neighbours' edges name); another
image file scores every record again (the articles show images). Score and render share one view
(``render_view``): the comparison of a run's base with the one before is made once. A computation that walks a whole
table (``for entry in entries``) depends on all of it. Only what a computation reads through the
view is seen: an emitter must reach the base through ``base`` and the entry it is given, as every
emitter does. load and validate keep their own results by file (see there), link each record's
edges (while the record and the ids it names are as they were), and write the bytes each page's
file held.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import images
from .core import Entry
from . import link as linking
from .link import Graph
from .present import Base, Links, page_path
from .search_index import Delta

class _All:
    """The key of a read of a whole table (its keys, its length, every value). One object, also
    after pickling: what a forked child read comes back pickled."""

    def __repr__(self) -> str:
        return "ALL"

    def __reduce__(self) -> str:
        return "ALL"  # pickled as the module's own ALL


ALL = _All()
IMAGES = "files"  # the one key of the "images" table

# The tables a computation reads. "entry": a record in full; "label": what a link to it shows
# (its name and page); "out"/"in": its edges; "near": its neighbours; "tag": a tag's records;
# "kind": the records of a kind (Graph.by_kind), in full; "score": its Score; "cited": whether
# some record cites it; "related": its related records (Base.related, which render works out
# first, each with what it read: see related_of); "images": the content's image files (key
# IMAGES: every Score reads them, since the articles show images); "hub"/"tag_hub": only whether a
# record's neighbours (a tag's records) are more than link.HUB_LIMIT, which related records skip
# (Graph.small_neighbours): a new record next to a hub changes the hub's neighbours, not that.
TABLES = ("entry", "label", "out", "in", "near", "tag", "kind", "score", "cited", "related", "images", "hub",
          "tag_hub")


class Reads:
    """What one computation read: for each table, the keys it read (ALL: the whole table)."""

    __slots__ = ("tables",)

    def __init__(self) -> None:
        self.tables: dict[str, set] = {table: set() for table in TABLES}

    def done(self) -> dict[str, frozenset]:
        """What was read, as the memo keeps it (the tables read from)."""
        return {table: frozenset(keys) for table, keys in self.tables.items() if keys}


def touches(read: dict[str, frozenset], changed: dict[str, set]) -> bool:
    """Whether a computation that read ``read`` (Reads.done) read something in ``changed``."""
    return _touches(read, [(table, keys) for table, keys in changed.items() if keys])


def _touches(read: dict[str, frozenset], live: list[tuple[str, set]]) -> bool:
    """``touches`` with the tables that changed listed once (Memo.each asks it of every computation)."""
    for table, changed in live:
        keys = read.get(table)
        if keys is not None and not keys.isdisjoint(changed):
            return True
    return False


class _Tracked(Mapping):
    """A read-only view of a mapping that notes each key read, and ALL when it is walked."""

    __slots__ = ("_data", "_keys")

    def __init__(self, data, keys: set):
        self._data, self._keys = data, keys

    def __getitem__(self, key):
        self._keys.add(key)
        return self._data[key]

    def get(self, key, default=None):
        self._keys.add(key)
        return self._data.get(key, default)

    def __contains__(self, key) -> bool:
        self._keys.add(key)
        return key in self._data

    def __iter__(self):
        self._keys.add(ALL)
        return iter(self._data)

    def __len__(self) -> int:
        self._keys.add(ALL)
        return len(self._data)

    def keys(self):
        self._keys.add(ALL)
        return self._data.keys()

    def values(self):
        self._keys.add(ALL)
        return self._data.values()

    def items(self):
        self._keys.add(ALL)
        return self._data.items()


class _TrackedGraph(Graph):
    """A Graph whose tables note what is read of them; its methods read through them."""

    def __init__(self, graph: Graph, reads: Reads):  # noqa: D107 (no dataclass __init__: a view)
        self._graph = graph
        self._near, self._labels, self._kinds_read = reads.tables["near"], reads.tables["label"], reads.tables["kind"]
        self._hubs, self._tag_hubs, self._tags = reads.tables["hub"], reads.tables["tag_hub"], reads.tables["tag"]
        self.entries = _Tracked(graph.entries, reads.tables["entry"])
        self.outgoing = _Tracked(graph.outgoing, reads.tables["out"])
        self.incoming = _Tracked(graph.incoming, reads.tables["in"])
        self.tags = _Tracked(graph.tags, reads.tables["tag"])
        self.vocabulary = graph.vocabulary  # a change of it makes everything again
        self._neighbours, self._kinds = graph._neighbours, graph._kinds

    def neighbours(self, record_id: str) -> frozenset[str]:
        self._near.add(record_id)
        return self._graph.neighbours(record_id)

    def small_neighbours(self, record_id: str, limit: int) -> frozenset[str] | None:
        found = self._graph.small_neighbours(record_id, limit)
        (self._near if found is not None else self._hubs).add(record_id)
        return found

    def small_tag(self, tag: str, limit: int) -> list[str] | None:
        found = self._graph.small_tag(tag, limit)
        (self._tags if found is not None else self._tag_hubs).add(tag)
        return found

    def by_kind(self, kind: str) -> list[Entry]:
        self._kinds_read.add(kind)
        return self._graph.by_kind(kind)

    def kinds(self) -> dict[str, str]:
        # Not noted: who ranks related records asks the kind of ids that its neighbours' edges
        # name (noted), which exist; a record that changes kind makes everything again (View).
        return self._graph.kinds()

    def kind_of(self, record_id: str) -> str:
        return self._graph.kind_of(record_id)

    def name_of(self, record_id: str) -> str:
        self._labels.add(record_id)
        return self._graph.name_of(record_id)


class _TrackedLinks(Links):
    """Links that note each record they link to as a read of its label (name and page)."""

    def __init__(self, links: Links, reads: Reads):  # noqa: D107
        self._links, self._labels = links, reads.tables["label"]
        self.entries = _Tracked(links.entries, reads.tables["entry"])

    def a(self, from_page: str, record_id: str, text: str | None = None) -> str:
        self._labels.add(record_id)
        return self._links.a(from_page, record_id, text)

    def markdown(self, from_page: str, record_id: str) -> str:
        self._labels.add(record_id)
        return self._links.markdown(from_page, record_id)

    def has(self, record_id: str) -> bool:
        self._labels.add(record_id)  # a record added or deleted has a label that changed
        return self._links.has(record_id)

    def target(self, from_page: str, record_id: str, text: str | None = None) -> tuple[str, str] | None:
        self._labels.add(record_id)
        return self._links.target(from_page, record_id, text)


class _TrackedSet:
    __slots__ = ("_data", "_keys")

    def __init__(self, data: set, keys: set):
        self._data, self._keys = data, keys

    def __contains__(self, key) -> bool:
        self._keys.add(key)
        return key in self._data


def tracked_graph(graph: Graph, reads: Reads) -> Graph:
    return _TrackedGraph(graph, reads)


def tracked_links(links: Links, reads: Reads) -> Links:
    return _TrackedLinks(links, reads)


def tracked_set(data: set, reads: Reads, table: str):
    return _TrackedSet(data, reads.tables[table])


def tracked_base(base: Base, reads: Reads) -> Base:
    view = object.__new__(Base)  # the same fields, read through the views above
    view.graph = _TrackedGraph(base.graph, reads)
    view.scores = _Tracked(base.scores, reads.tables["score"])
    view.today = base.today
    view.links = _TrackedLinks(base.links, reads)
    view.related_of = _Tracked(base.related_of, reads.tables["related"]) if base.related_of is not None else None
    view._by_name = None  # (worked out again through the views, if asked)
    return view


def render_view(memo: "Memo", graph: Graph, today, scores: dict) -> "View":
    """The view render's computations are compared by: score's view of the same graph with the
    scores added (its comparison with the run before extended by theirs), else one of its own."""
    scored_graph, view = memo.scored
    if scored_graph is not graph:
        return View.of(graph, today, scores)
    kept = memo.stages.get("related")  # the view render used last time: score's view then
    memo.add_table(view, "score", dict(scores), kept.view if kept is not None else None)
    return view


def related_of(memo: "Memo", view: "View", graph: Graph) -> dict[str, dict]:
    """Every record's related records (``link.related``), each worked out again only when what it
    read changed, as a table of ``view`` (which the pages then read through ``Base.related``): a
    new record changes what hundreds of records are ranked from, and the related records of a few."""
    from .link import related

    def make(stale: list) -> list[tuple[dict, dict]]:
        made = []
        for entry in stale:
            reads = Reads()
            made.append((related(_TrackedGraph(graph, reads), entry.id), reads.done()))
        return made

    kept = memo.stages.get("related")
    before = kept.view if kept is not None else None
    table = memo.each("related", view, graph.entries.values(), make)
    memo.add_table(view, "related", table, before)
    return table


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
            "tag": {t: tuple(members) for t, members in graph.tags.items()},
            "kind": {},  # kind -> its records as by_kind lists them
            "score": dict(scores or {}),
            "cited": dict.fromkeys(cited or (), True),
            "images": {IMAGES: images},
        }
        for record_id, entry in entries.items():
            tables["kind"].setdefault(entry.kind, []).append(tables["entry"][record_id])
        tables["kind"] = {kind: tuple(prints) for kind, prints in tables["kind"].items()}
        return cls((today, graph.vocabulary, linking.HUB_LIMIT), tables, graph.kinds())

    def changes(self, before: "View | None") -> dict[str, set] | None:
        """For each table, the keys whose answer differs from ``before``'s, with ALL in a table
        that changed at all; None when everything must be made again."""
        if before is None or before.whole != self.whole:
            return None
        # Graph.kinds() and kind_of() are not noted: they are asked about ids that edges or tags
        # name, which exist in a run without errors, and an id keeps its kind unless its record
        # moves to another folder. So a record added or deleted is seen through its label and
        # edges, and only one that changed kind makes everything again.
        kinds, then = self.kinds, before.kinds
        if any(then.get(record_id, kind) != kind for record_id, kind in kinds.items()):
            return None
        if self.tables.keys() - before.tables.keys():
            return None  # (a run that stopped before render added its tables)
        changed: dict[str, set] = {}
        for table, now in self.tables.items():
            changed[table] = _changed_keys(now, before.tables[table])
        # A record's neighbours are the ends of its edges: they can change only where its edges did.
        changed["near"] = {key for key in changed["out"] | changed["in"]
                           if _ends(self.tables, key) != _ends(before.tables, key)}
        # Whether a record (a tag) is a hub can change only where its neighbours (records) did.
        limit = linking.HUB_LIMIT
        changed["hub"] = {key for key in changed["near"]
                          if (len(_ends(self.tables, key)) > limit) != (len(_ends(before.tables, key)) > limit)}
        changed["tag_hub"] = {tag for tag in changed["tag"]
                              if (len(self.tables["tag"].get(tag, ())) > limit)
                              != (len(before.tables["tag"].get(tag, ())) > limit)}
        for keys in changed.values():
            if keys:
                keys.add(ALL)
        return changed


_NONE = object()


def _changed_keys(now: dict, was: dict) -> set:
    """The keys whose value differs between two runs' tables. Most values are the very objects of
    the run before (a Score the memo kept, a document load kept): ``is`` answers for them before
    ``!=`` compares."""
    return {key for key in now.keys() | was.keys()
            if (a := now.get(key, _NONE)) is not (b := was.get(key, _NONE)) and a != b}


def _ends(tables: dict, record_id: str) -> frozenset:
    """What Graph.neighbours answers for a record, from a view's edges."""
    return frozenset([e.target for e in tables["out"].get(record_id, ())] +
                     [e.source for e in tables["in"].get(record_id, ())])


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
    made: dict[str, tuple[Any, dict]] = field(default_factory=dict)  # record id -> (what, what it read)


@dataclass
class Memo:
    """What the last run made: each file's document and its validation (taken again while the
    file is as it was), each record's edges (while it and the ids it names are), and each
    record's Score and pages with what they read."""

    stages: dict[str, _Kept] = field(default_factory=dict)
    loaded: dict = field(default_factory=dict)  # file -> what load made of it, and its size and times
    validated: dict = field(default_factory=dict)  # file -> what validate made of the document load gave
    linked: dict = field(default_factory=dict)  # record -> what link made of its entry (see link.link)
    written: dict = field(default_factory=dict)  # page -> the bytes its file held after write, and the file's times
    marked: dict = field(default_factory=dict)  # page -> its bytes as render made them, and its diagram blocks
    inlined: dict = field(default_factory=dict)  # page -> those bytes, the diagram cache's time, the page with its drawings
    remade: dict[str, int] = field(default_factory=dict)  # stage -> pieces made again in the last run
    search: Delta = field(default_factory=Delta)  # the pages changed since the whole site was indexed
    exported: dict = field(default_factory=dict)  # export format -> what it made (generator/export)
    _compared: tuple = field(default=(None, None, None), repr=False)  # (view, id of the view before, changes)
    # (graph, the view score compared it by): render adds the scores to that view, and the
    # comparison score made serves render too
    scored: tuple = field(default=(None, None), repr=False)

    def add_table(self, view: View, name: str, table: dict, before: View | None) -> None:
        """A table made from ``view`` (the related records) added to it: the comparison with
        ``before`` that the last ``each`` made gets this table's changes too, so that the stages
        after it do not compare every table again."""
        view.tables[name] = table
        compared, then, changed = self._compared
        if compared is view and before is not None and then == id(before) and changed is not None \
                and name in before.tables:
            keys = _changed_keys(table, before.tables[name])
            if keys:
                keys.add(ALL)
            changed[name] = keys
        elif compared is view:
            self._compared = (None, None, None)  # compared without the table: the next stage compares again

    def each(self, stage: str, view: View, items: Iterable, make: Callable[[list], list[tuple[Any, dict]]],
             key: Callable[[Any], str] = lambda entry: entry.id) -> dict[str, Any]:
        """For every item (an entry; a part of an emitter), what ``make`` made of it (with what
        it read), by ``key``, taken from the last run where nothing it read changed. ``make``
        makes a list of items (in two processes, say) and returns (result, Reads.done()) for each."""
        kept = self.stages.setdefault(stage, _Kept())
        # render's pages and its parts compare the same two views: once (the view before is
        # held by id only, not kept alive; this run's view is alive, so no other has its id)
        if self._compared[0] is view and self._compared[1] == id(kept.view):
            changed = self._compared[2]
        else:
            changed = view.changes(kept.view)
            self._compared = (view, id(kept.view), changed)
        items = list(items)
        keys = [key(item) for item in items]
        if changed is None:
            stale = items
        else:
            live = [(table, keys_changed) for table, keys_changed in changed.items() if keys_changed]
            before = kept.made
            stale = [item for item, k in zip(items, keys)
                     if (was := before.get(k)) is None or _touches(was[1], live)]
        made = dict(zip(map(key, stale), make(stale)))
        kept.made = {k: made[k] if k in made else kept.made[k] for k in keys}
        kept.view = view
        self.remade[stage] = len(stale)
        return {k: value for k, (value, _) in kept.made.items()}
