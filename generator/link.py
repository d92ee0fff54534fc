"""Stage 3, link: resolve every reference and build the graph of the whole base in one pass.

An edge comes from every reference field (read off the models' ``Ref`` annotations), every
typed relation, every position's topic, every citation and every ``[[id]]`` in prose. Each
edge reads one way from its source ("developed by") and the other way on its target
("develops"). A field whose ``Ref`` says ``hierarchy=True`` (an organization's ``parent``) is
also checked for cycles. The cost is linear in the number of references.
"""
from __future__ import annotations

import heapq
import types
import typing
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Iterable, Iterator, NamedTuple

from pydantic import BaseModel

from .core import Diagnostic, Entry, ProseLink, Rejected, SourceDocument, Spellings, dotted, gc_paused
from .kinds import KINDS
from .models import CITING_RELATIONS, RefTo
from .vocabulary import Checked

PROSE_LABEL, PROSE_INVERSE = "mentions", "mentioned in"
CITE_LABEL, CITE_INVERSE = "cites", "cited by"  # a ``[[cite:source]]`` in prose
# What an edge is: a reference field, a typed relation, a position on a topic, a citation of a
# source (``models.RefTo.origin``) or a ``[[link]]`` in prose.
ORIGINS = ("field", "relation", "position", "citation", "prose")
Links = dict[str, list[tuple[str, tuple]]]  # {record: [(the record it links to, path)]}


class Edge(NamedTuple):
    """One reference between two records. A tuple: a base has one edge per reference, tens of
    thousands, and a frozen dataclass took three times as long to make (equality and hashing
    are the same: by the fields, in order)."""

    source: str
    target: str
    label: str  # read from the source: "developed by"
    inverse: str  # read on the target: "develops"
    path: str  # where the source says it: "developer", "relations[2]", "body"
    origin: str = "field"  # one of ORIGINS
    field: str = ""  # the top-level field that holds it ("relations", "addresses"; "body" for prose)
    index: int | None = None  # for a typed relation, its place in the record's ``relations``


@dataclass
class Graph:
    entries: dict[str, Entry]
    outgoing: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    # the base's vocabulary, for what the stages after link show: a scale's order, a relation's inverse
    vocabulary: Checked = field(default_factory=Checked)
    incoming: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _neighbours: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)
    _kinds: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def neighbours(self, record_id: str) -> frozenset[str]:
        """Records with an edge to or from this one (computed once per record: ranking the
        related records of every record asks for each many times)."""
        found = self._neighbours.get(record_id)
        if found is None:
            found = self._neighbours[record_id] = frozenset(
                [e.target for e in self.outgoing.get(record_id, ())] + [e.source for e in self.incoming.get(record_id, ())])
        return found

    def small_neighbours(self, record_id: str, limit: int) -> frozenset[str] | None:
        """A record's neighbours, or None when it has more than ``limit`` (a hub, which says
        little about likeness: ``related``). kb serve's memo notes only that it is a hub."""
        found = self.neighbours(record_id)
        return found if len(found) <= limit else None

    def small_tag(self, tag: str, limit: int) -> list[str] | None:
        """A tag's records, or None when more than ``limit`` carry it (``small_neighbours``)."""
        members = self.tags.get(tag, ())
        return members if len(members) <= limit else None

    def cited(self, record_id: str) -> list[str]:
        """The records of a cited kind (sources) this one links to, each once, in order of first
        mention: its numbered references, which ``[[cite:...]]`` numbers in its article."""
        return list(dict.fromkeys(edge.target for edge in self.outgoing.get(record_id, ())
                                  if KINDS[self.kind_of(edge.target)].cited))

    def by_kind(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.kind == kind]

    def kind_of(self, record_id: str) -> str:
        return self.entries[record_id].kind

    def name_of(self, record_id: str) -> str:
        """A record's name (what a link to it shows: incremental notes it as no more than that)."""
        return self.entries[record_id].name

    def kinds(self) -> dict[str, str]:
        """Record id -> kind, for every record (made once: ranking related records asks often)."""
        if not self._kinds:
            self._kinds = {record_id: entry.kind for record_id, entry in self.entries.items()}
        return self._kinds

    def backlinks(self, record_id: str) -> list[Edge]:
        """Every edge pointing at the record, from other records, one per (source, label)."""
        seen, result = set(), []
        for edge in self.incoming.get(record_id, ()):
            key = (edge.source, edge.inverse)
            if edge.source != record_id and key not in seen:
                seen.add(key)
                result.append(edge)
        return result

    def backlink_sources(self, record_id: str) -> list[str]:
        return list(dict.fromkeys(edge.source for edge in self.backlinks(record_id)))


# ---------------------------------------------------------------------------- reference walk


def _ref_of(metadata: Iterable) -> RefTo | None:
    return next((item for item in metadata if isinstance(item, RefTo)), None)


@lru_cache(maxsize=None)
def _has_refs(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _ref_of(annotation.__metadata__) is not None or _has_refs(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(field_has_refs(f) for f in annotation.model_fields.values())
    return any(_has_refs(arg) for arg in typing.get_args(annotation))


def field_has_refs(field_info) -> bool:
    return _ref_of(field_info.metadata) is not None or _has_refs(field_info.annotation)


@lru_cache(maxsize=None)
def _reference_fields(model_type: type[BaseModel]) -> tuple[tuple[str, Any, RefTo | None], ...]:
    """(name, annotation, Ref) of the fields that can hold references: worked out once per model."""
    return tuple((name, info.annotation, _ref_of(info.metadata))
                 for name, info in model_type.model_fields.items() if field_has_refs(info))


def iter_references(model: BaseModel, path: tuple = (), leave_out: tuple[str, ...] = ()
                    ) -> Iterator[tuple[tuple, RefTo, str]]:
    """Every (path, RefTo, target id) in a record, nested models and lists included (but the
    fields named in ``leave_out``)."""
    for name, annotation, ref in _reference_fields(type(model)):
        if name in leave_out:
            continue
        value = getattr(model, name)
        if isinstance(value, str) and (own := _shape(annotation)[0] or ref) is not None:
            yield path + (name,), own, value  # what _walk yields for it, without a generator
        elif value is not None and value != []:  # (nothing in either to walk)
            yield from _walk(value, annotation, ref, path + (name,))


def iter_written_references(model_type: type[BaseModel], data: Any, path: tuple = ()) -> Iterator[tuple[tuple, RefTo, str]]:
    """The same, read off the data of a record that did not validate: each text where the model
    has a reference (what is not text there, validation has reported)."""
    if isinstance(data, dict):
        for name, annotation, ref in _reference_fields(model_type):
            yield from _walk(data.get(name), annotation, ref, path + (name,))


def _walk(value: Any, annotation, ref: RefTo | None, path: tuple):
    if value is None:
        return
    own_ref, origin, args = _shape(annotation)
    ref = own_ref or ref
    if isinstance(value, str):
        if ref is not None:
            yield path, ref, value
        elif origin in (typing.Union, types.UnionType):
            for arg in args:
                yield from _walk(value, arg, None, path)
        return
    if isinstance(value, BaseModel):
        yield from iter_references(value, path)
        return
    if isinstance(value, dict) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from iter_written_references(annotation, value, path)  # data of a record that did not validate
        return
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is not type(None):
                yield from _walk(value, arg, ref, path)
                return
    if isinstance(value, (list, tuple)):
        item_type = args[0] if args else Any
        item_ref = _shape(item_type)[0] or ref
        for index, item in enumerate(value):
            if item_ref is not None and isinstance(item, str):
                yield path + (index,), item_ref, item  # what _walk yields for it, without a generator
            else:
                yield from _walk(item, item_type, ref, path + (index,))
    elif isinstance(value, dict):
        item_type = args[1] if len(args) == 2 else Any
        for key, item in value.items():
            yield from _walk(item, item_type, ref, path + (key,))


_SHAPES: dict[int, tuple] = {}


def _shape(annotation) -> tuple[RefTo | None, Any, tuple]:
    """(Ref, origin, type arguments) of an annotation, ``Annotated`` unwrapped.

    Worked out once per annotation: the walk visits every value of every record. Keyed by id
    because hashing a typing construct costs as much as working it out; the annotation is kept
    in the entry so that its id is never reused.
    """
    shape = _SHAPES.get(id(annotation))
    if shape is None:
        ref, inner = None, annotation
        if typing.get_origin(inner) is Annotated:
            ref = _ref_of(inner.__metadata__)
            inner = typing.get_args(inner)[0]
        shape = _SHAPES[id(annotation)] = (ref, typing.get_origin(inner), typing.get_args(inner), annotation)
    return shape[:3]


# ---------------------------------------------------------------------------- the stage


@gc_paused(promote=True)  # the last of the checks: what they made lasts as long as the run
def link(entries: list[Entry], failed: Iterable[SourceDocument] = (), rejected: Iterable[Rejected] = (),
         vocabulary: Checked = Checked(), kept: dict | None = None) -> tuple[Graph, list[Diagnostic]]:
    """Stage entry point: index ids, resolve references, collect edges.

    ``failed`` are the files of records that exist but did not load or validate: their own errors
    are already reported, so a reference to them is not an error of its own unless it names the
    wrong kind (they are offered as "did you mean" too), and their ids count for duplicates.
    ``rejected`` are those of them that loaded: their own references and prose links are checked
    too (one run reports a bad field and a bad reference of the same record), but make no edge.

    ``kept`` (kb serve's reloads): what the link before made of each record, updated here. A
    record that validate took as it was (the same Entry), with the same vocabulary, whose
    references and prose links all name ids that are what they were (there, of the same kind),
    and that had no problem, gives the same edges: they are taken as they were, and only the
    edited records are walked again (``_Linked``). The graph is then put together in the same
    order as walking every record makes it, so that it is equal, list for list.
    """
    problems: list[Diagnostic] = []
    index: dict[str, Entry] = {}
    owners: dict[str, SourceDocument] = {}  # every record file's id, validated or not
    duplicated: set[str] = set()  # ids of two files: a reference may mean either, so no kind is wrong
    failed = list(failed)
    for document, entry in [(e.document, e) for e in entries] + [(d, None) for d in failed]:
        record_id = entry.id if entry is not None else document.record_id
        first = owners.setdefault(record_id, document)
        if first is not document:
            duplicated.add(record_id)
            # On both files, each naming the other: a check of only the files a change touched
            # must see it whichever of the two is the new one.
            one_record = first.kind == document.kind and first.record_id == document.record_id
            hint = ("a record is one file: keep the fields in the front matter of the .md file, with the "
                    "article after them, and delete the .yaml one") if one_record else ""
            line, _ = first.position(("id",))
            problems.append(document.diagnostic(
                ("id",), f"id '{record_id}' is already used by {first.path}:{line}",
                hint or "ids are unique across all kinds: rename this record and its file", "duplicate-id"))
            line, _ = document.position(("id",))
            problems.append(first.diagnostic(
                ("id",), f"id '{record_id}' is also used by {document.path}:{line}",
                hint or "ids are unique across all kinds: rename one of the two records and its file",
                "duplicate-id"))
        elif entry is not None:
            index[record_id] = entry
    failed_kinds: dict[str, set[str]] = defaultdict(set)  # ids that exist with errors -> their kinds
    for document in failed:
        if document.record_id not in index:
            failed_kinds[document.record_id].add(document.kind)
    ids_by_kind: dict[str, list[str]] = defaultdict(list)
    for record_id, entry in index.items():
        ids_by_kind[entry.kind].append(record_id)
    for record_id, kinds_of_id in failed_kinds.items():
        for kind in kinds_of_id:
            ids_by_kind[kind].append(record_id)

    spellings: dict[tuple[str, ...], Spellings] = {}  # "did you mean" among the ids of these kinds

    def guess(target: str, kinds: tuple[str, ...]) -> list[str]:
        if kinds not in spellings:
            spellings[kinds] = Spellings(i for k in (kinds or KINDS) for i in ids_by_kind.get(k, ()))
        return spellings[kinds].closest(target)

    graph = Graph(index, vocabulary=vocabulary)
    for record_id, entry in index.items():
        for tag in entry.record.tags:
            graph.tags[tag].append(record_id)

    def resolve(entry: Entry, path: tuple, target: str, kinds: tuple[str, ...], what: str,
                itself: bool = False) -> bool:
        """Whether ``target`` is a record of one of ``kinds``; if not, say why. ``itself``
        accepts the record's own id (a hierarchy field: its cycle check says it better)."""
        found = index.get(target)
        if found is None and target in failed_kinds:  # exists, with errors of its own: judged by its kind
            (failed_kind, *others) = failed_kinds[target]
            if kinds and not others and failed_kind not in kinds:  # (several: a duplicate id, reported)
                wanted = _a(" or ".join(KINDS[k].singular for k in kinds))
                problems.append(entry.document.diagnostic(
                    path, f"'{target}' is {_a(KINDS[failed_kind].singular)}, but {dotted(path)} needs {wanted}",
                    f"name {wanted} here", "wrong-kind"))
            elif target == entry.id and not itself:
                problems.append(entry.document.diagnostic(path, "a record cannot refer to itself", "",
                                                          "self-reference"))
            return False
        if found is None:
            near = guess(target, kinds)
            hint = f"did you mean '{near[0]}'?" if near else \
                f"create content/{(kinds or ('<kind>',))[0]}/{target}{KINDS[kinds[0]].suffix if kinds else '.yaml'}"
            problems.append(entry.document.diagnostic(path, f"{what} '{target}' does not exist", hint,
                                                      "unknown-reference"))
            return False
        if kinds and found.kind not in kinds and target in duplicated:
            return False  # which of the two it names is for the duplicate-id error to settle
        if kinds and found.kind not in kinds:
            wanted = _a(" or ".join(KINDS[k].singular for k in kinds))
            near = guess(target, kinds)
            hint = f"did you mean '{near[0]}'?" if near else f"name {wanted} here"
            problems.append(entry.document.diagnostic(
                path, f"'{target}' is {_a(KINDS[found.kind].singular)}, but {dotted(path)} needs {wanted}",
                hint, "wrong-kind"))
            return False
        if found is entry and not itself:
            problems.append(entry.document.diagnostic(path, "a record cannot refer to itself", "",
                                                      "self-reference"))
            return False
        return True

    cited_kinds = tuple(k for k, kind in KINDS.items() if kind.cited)

    # Each id as the index holds it: a prose link's target is another string of the same text,
    # which every dict of the graph would compare character by character; the index's own is
    # found by identity (8% of the stage on 10,000 records).
    ids = {record_id: record_id for record_id in index}

    def check_prose(entry: Entry | Rejected) -> Iterator[tuple[ProseLink, str]]:
        """(link, the id it names) of each prose link of a page that names a record; an error
        for each that does not."""
        for prose_link in entry.prose.links if entry.prose is not None else ():
            record_id = ids.get(prose_link.target)
            target = None if record_id is None else index[record_id]
            if target is not None and target is not entry and (not prose_link.cite or target.kind in cited_kinds):
                yield prose_link, record_id  # most links: a record of a kind the link may name
                continue
            if target is None and prose_link.target in failed_kinds and prose_link.target != entry.id:
                continue  # exists, with errors of its own
            if target is None and prose_link.target == entry.id:  # a page that did not validate
                target = entry
            if target is entry:
                problems.append(Diagnostic(entry.document.path, prose_link.line, prose_link.column,
                                           "a page cannot link to itself", "body",
                                           "link another record, or remove the link", "self-reference"))
                continue
            written = f"[[cite:{prose_link.target}]]" if prose_link.cite else f"[[{prose_link.target}]]"
            cited = cited_kinds if prose_link.cite else ()
            if target is None:
                near = guess(prose_link.target, cited)
                problems.append(Diagnostic(
                    entry.document.path, prose_link.line, prose_link.column,
                    f"{written} {'cites' if prose_link.cite else 'links to'} no record", "body",
                    (f"did you mean [[cite:{near[0]}]]?" if prose_link.cite else f"did you mean [[{near[0]}]]?")
                    if near else "cite a source by its id" if prose_link.cite else "link a record by its id",
                    "unknown-reference"))
                continue
            if cited and target.kind not in cited:
                near = guess(prose_link.target, cited)
                problems.append(Diagnostic(
                    entry.document.path, prose_link.line, prose_link.column,
                    f"{written}: '{prose_link.target}' is {_a(KINDS[target.kind].singular)}, and only "
                    f"{' or '.join(KINDS[k].title.lower() for k in cited)} are cited", "body",
                    (f"did you mean [[cite:{near[0]}]]? " if near else "")
                    + f"link it with [[{prose_link.target}]] instead", "wrong-kind"))
                continue
            yield prose_link, record_id

    # hierarchy field (list indexes left out) -> its links, checked for cycles at the end
    hierarchies: dict[str, Links] = defaultdict(lambda: defaultdict(list))
    prose_edge = {True: (CITE_LABEL, CITE_INVERSE, "body", "citation", "body", None),
                  False: (PROSE_LABEL, PROSE_INVERSE, "body", "prose", "body", None)}  # by ``cite``
    def walk(record_id: str, entry: Entry, edges: list[Edge], hierarchies: dict) -> None:
        """The edges of one record onto ``edges``, in order, and its links of hierarchy fields."""
        # the relations are typed below, with their own labels
        for path, ref, target in iter_references(entry.record, leave_out=("relations",)):
            if resolve(entry, path, target, ref.kinds, _what(ref), itself=ref.hierarchy):
                if ref.hierarchy:
                    name = dotted(part for part in path if not isinstance(part, int))
                    hierarchies[name][record_id].append((target, path))
                if target != record_id:
                    edges.append(Edge._make((record_id, target, ref.label, ref.inverse, _dotted(path), ref.origin,
                                             path[0], None)))  # (cheaper than Edge(...))
        for number, relation in enumerate(entry.record.relations):
            path = ("relations", number, "target")
            if resolve(entry, path, relation.target, (), "record"):
                # "cites" a record of a cited kind (a source) is a citation, as a field citing it is
                cites = relation.type in CITING_RELATIONS and KINDS[index[relation.target].kind].cited
                edges.append(Edge._make((record_id, relation.target, relation.type.replace("-", " "),
                                         vocabulary.relation_types.get(relation.type, relation.type),
                                         _dotted(path[:2]), "citation" if cites else "relation", "relations", number)))
        for prose_link, target in check_prose(entry):  # most of a base's edges
            edges.append(Edge._make((record_id, target, *prose_edge[prose_link.cite])))

    outgoing, incoming = graph.outgoing, graph.incoming
    if kept is None:
        for record_id, entry in index.items():
            edges: list[Edge] = []
            walk(record_id, entry, edges, hierarchies)
            if edges:
                outgoing[record_id] = edges
                for edge in edges:
                    incoming[edge.target].append(edge)
    else:
        _walk_kept(kept, index, _answers(index, failed_kinds, duplicated), vocabulary, graph, hierarchies,
                   problems, walk)
    for entry in rejected:
        references = iter_references(entry.record) if entry.record is not None else \
            iter_written_references(KINDS[entry.kind].model, entry.document.data)
        for path, ref, target in references:
            if not any(path[:len(fault)] == fault for fault in entry.faults):
                resolve(entry, path, target, ref.kinds, _what(ref), itself=ref.hierarchy)
        for _ in check_prose(entry):
            pass
    for name, links in hierarchies.items():
        problems += _cycle_errors(index, name, links)
    return graph, problems


@dataclass
class _Linked:
    """What walking one record gave (``link``'s ``kept``): its edges in order, its links of
    hierarchy fields, and the ids it named (each must still be what it was for these to hold)."""

    entry: Entry
    edges: tuple[Edge, ...]
    hierarchies: tuple[tuple[str, str, tuple], ...]  # (field, target, path)
    named: frozenset[str]  # every id the record names, also where it makes no edge


def _answers(index: dict[str, Entry], failed_kinds: dict[str, set[str]], duplicated: set[str]) -> dict[str, tuple]:
    """What resolving a reference to each id reads of the base: the kind of its record, the kinds
    of its files that did not validate, whether two files have it."""
    answers = {record_id: (entry.kind, (), record_id in duplicated) for record_id, entry in index.items()}
    for record_id, kinds in failed_kinds.items():
        answers[record_id] = (answers.get(record_id, (None,))[0], tuple(sorted(kinds)), record_id in duplicated)
    return answers


def _walk_kept(kept: dict, index: dict[str, Entry], answers: dict[str, tuple], vocabulary: Checked, graph: Graph,
               hierarchies: dict, problems: list, walk) -> None:
    """``link``'s walk of the records with what the link before kept: each record's edges taken
    as they were where nothing the record names changed (see ``link``), the others walked again;
    the graph's lists and keys come out in the order of walking every record."""
    before, records = kept.get("answers"), kept.get("records", {})
    if before is None or kept.get("vocabulary") != vocabulary:
        records = {}
    changed = {record_id for record_id in answers.keys() | before.keys()
               if answers.get(record_id) != before.get(record_id)} if records else set()
    outgoing, incoming = graph.outgoing, graph.incoming
    now: dict[str, _Linked] = {}
    walked = 0
    for record_id, entry in index.items():
        linked = records.get(record_id)
        if linked is None or linked.entry is not entry or not linked.named.isdisjoint(changed):
            walked += 1
            found, edges = len(problems), []
            own: dict = defaultdict(lambda: defaultdict(list))
            walk(record_id, entry, edges, own)
            mine = tuple((name, target, path) for name, links in own.items() for target, path in links[record_id])
            linked = _Linked(entry, tuple(edges), mine, frozenset(_named(entry)))
            if len(problems) == found:  # a record with problems is walked again every time
                now[record_id] = linked
        else:
            now[record_id] = linked
        if linked.edges:
            outgoing[record_id] = list(linked.edges)
            for edge in linked.edges:
                incoming[edge.target].append(edge)
        for name, target, path in linked.hierarchies:
            hierarchies[name][record_id].append((target, path))
    kept.clear()
    kept.update(answers=answers, records=now, vocabulary=vocabulary, walked=walked)


def _named(entry: Entry) -> set[str]:
    """Every id a record names, in its fields, relations and prose (those that make no edge too:
    a reference to itself, say)."""
    named = {target for _, _, target in iter_references(entry.record)}
    named.update(relation.target for relation in entry.record.relations)
    if entry.prose is not None:
        named.update(prose_link.target for prose_link in entry.prose.links)
    return named


def _cycle_errors(index: dict[str, Entry], name: str, links: Links) -> list[Diagnostic]:
    """One error per cycle of a hierarchy field, on the record where the walk entered it, with
    every link of the cycle in the hint: any one of them may be the one to change."""
    problems = []
    for cycle in _cycles(links):
        steps = [(index[a], next(p for target, p in links[a] if target == b))
                 for a, b in zip(cycle, cycle[1:])]
        where = ", ".join(f"{e.document.path}:{e.document.position(p)[0]}" for e, p in steps)
        kinds = {entry.kind for entry, _ in steps}
        first, path = steps[0]
        problems.append(first.document.diagnostic(
            path, f"{kinds.pop() if len(kinds) == 1 else 'records'} {' -> '.join(cycle)} "
                  f"form a cycle through '{name}'",
            f"a record cannot be above itself: remove or change '{name}' in "
            + (where if len(steps) == 1 else f"one of {where}"), "hierarchy-cycle"))
    return problems


def _cycles(links: Links) -> Iterator[list[str]]:
    """The cycles of the links, each as ``[a, b, a]``.

    A depth-first walk from each record in id order: a link back to a record still on the walk
    closes a cycle, listed from that record. Every link is followed once, so the cost is linear
    and nothing comes out twice. With one link per record, as for ``parent``, that is every
    cycle exactly once; with several, every tangle of cycles comes out, though not each cycle.
    """
    done: set[str] = set()
    for start in sorted(links):
        if start in done:
            continue
        trail, walking, onward = [start], {start}, [iter(links[start])]
        while trail:
            step = next(onward[-1], None)
            if step is None:
                walking.discard(trail[-1])
                done.add(trail.pop())
                onward.pop()
            elif step[0] in walking:
                yield trail[trail.index(step[0]):] + [step[0]]
            elif step[0] not in done:
                trail.append(step[0])
                walking.add(step[0])
                onward.append(iter(links.get(step[0], ())))


@lru_cache(maxsize=4096)
def _dotted(path: tuple) -> str:
    """core.dotted of a path, cached: an edge's path is written for every reference, and the
    records of a kind share their few hundred paths."""
    return dotted(path)


def _what(ref: RefTo) -> str:
    """What a reference names, for its error: 'organization', or 'record' where any kind may do."""
    return KINDS[ref.kinds[0]].singular if len(ref.kinds) == 1 else "record"


def _a(noun: str) -> str:
    """'organization' -> 'an organization', 'system' -> 'a system'."""
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


# ---------------------------------------------------------------------------- related records

HUB_LIMIT = 60  # neighbours or tags shared by more records than this say little about likeness


def related(graph: Graph, record_id: str, per_kind: int = 5) -> dict[str, list[str]]:
    """Explicit relations first, then records sharing neighbours or tags, ranked, per kind.

    A record of a large base shares neighbours with hundreds of others: each kind takes its
    best few of them (heapq), rather than all of them being sorted for five of each."""
    entry = graph.entries[record_id]
    explicit = [edge.target for edge in graph.outgoing.get(record_id, ()) if edge.origin == "relation"]
    explicit += [e.source for e in graph.incoming.get(record_id, ()) if e.origin == "relation"]
    scores: Counter = Counter()
    for neighbour in graph.neighbours(record_id):
        around = graph.small_neighbours(neighbour, HUB_LIMIT)
        if around is not None:
            scores.update(around)  # one count per shared neighbour
    for tag in entry.record.tags:
        members = graph.small_tag(tag, HUB_LIMIT)
        if members is not None:
            scores.update(members)
    kinds = graph.kinds()
    result: dict[str, list[str]] = defaultdict(list)
    for candidate in dict.fromkeys(explicit):
        if candidate != record_id and candidate in kinds:
            bucket = result[kinds[candidate]]
            if len(bucket) < per_kind:
                bucket.append(candidate)
    for candidate in (record_id, *explicit):
        scores.pop(candidate, None)
    by_kind: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for candidate, count in scores.items():
        kind = kinds.get(candidate)
        if kind is not None:
            by_kind[kind].append((-count, candidate))
    for kind, ranked in by_kind.items():
        bucket = result[kind]
        if len(bucket) < per_kind:
            bucket += [candidate for _, candidate in heapq.nsmallest(per_kind - len(bucket), ranked)]
    return dict(result)
