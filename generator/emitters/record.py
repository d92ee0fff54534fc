"""A record's page: status header, infobox, summary, its sections, then what links it to the rest
of the base (relations, what links here, related records, neighbourhood, references)."""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from .. import neighbourhood as neighbourhood_svg
from ..core import Entry
from ..kinds import KINDS, fields_of
from ..models import choice_text, scale_text
from ..present import (Base, Page, declared_table, h, host, is_empty, links_page, md, page_path, paragraphs,
                       reference_anchor, template, url, with_note)

# "What links here" lists at most this many records of each kind; a record with more (a lab
# that a thousand records cite) gets a page of its own listing them all (emitters/backlinks.py).
BACKLINKS_SHOWN = 50
NEIGHBOURHOOD_NODES = 14


def pages(base: Base, entry: Entry) -> list[Page]:
    if entry.prose is not None:
        return []  # a page with an article: emitters/topic.py
    return [Page(page_path(entry), template("record.md.j2").render(**context(base, entry)))]


def context(base: Base, entry: Entry) -> dict:
    """What a record's page shows, finished: its template only lays it out."""
    page = page_path(entry)
    kind = KINDS[entry.kind]
    score = base.scores[entry.id]
    diagram, hidden = neighbourhood(base, entry)
    values = {
        "entry": entry,
        "title": md(entry.name),
        "name": h(entry.name),
        "kind": kind,
        "kind_index": url(page, f"{entry.kind}/index.md"),
        "home": url(page, "index.md"),
        "root": "../",
        "summary": h(entry.record.summary),
        "long_fields": long_fields(entry),
        "status": score.header,
        "infobox": infobox_rows(base, entry),
        "article": score.article.decode("utf-8"),
        "sections": sections(base, entry),
        "outgoing": outgoing_groups(base, entry),
        "backlinks": backlink_groups(base, entry),
        "all_backlinks": url(page, links_page(entry)),
        "related": related_groups(base, entry),
        "hubs": hubs_of(base, entry),
        "references": references(base, entry),
        "neighbourhood": diagram,
        "neighbourhood_hidden": hidden,
    }
    values["ctx"] = values
    return values


def long_fields(entry: Entry) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs as HTML) of each long field with a value (a risk's description): a
    section of the page's body, since several paragraphs do not fit an infobox."""
    return [(md(spec.label), [h(text) for text in paragraphs(getattr(entry.record, spec.name))])
            for spec in fields_of(type(entry.record))
            if spec.show == "long" and not is_empty(getattr(entry.record, spec.name))]


def infobox_rows(base: Base, entry: Entry) -> list[tuple[str, str]]:
    """(label, HTML) of every field the model shows in the infobox: in model order, then the
    fields it puts at the end, by their order."""
    page = page_path(entry)
    record = entry.record
    bands = base.scores[entry.id].bands
    specs = fields_of(type(record))
    shown = [s for s in specs if s.infobox == "yes"] + sorted((s for s in specs if s.infobox == "end"),
                                                              key=lambda s: s.shown.order)
    rows = []
    for spec in shown:
        text = with_note(base.links, page, record, spec, bands)
        if text:
            rows.append((h(spec.label), text))
    return rows


def sections(base: Base, entry: Entry) -> list[tuple[str, dict | None, str]]:
    """(heading, table or None, what to say when it has no rows) of each section: the record's
    own fields that are sections (an expert's positions), then the records that name it in a
    field that lists them on its page (the responses that address a risk)."""
    page = page_path(entry)
    record = entry.record
    found = []
    for spec in fields_of(type(record)):
        value = getattr(record, spec.name)
        if spec.section is not None and not is_empty(value):
            found.append((md(spec.section.title),
                          declared_table(base.links, page, spec.section.columns, value, records=False), ""))
    for source_kind, spec in listings(entry.kind):
        naming = [edge.source for edge in base.graph.incoming.get(entry.id, ())
                  if edge.field == spec.name and base.graph.kind_of(edge.source) == source_kind]
        rows = [base.graph.entries[i].record for i in dict.fromkeys(naming)]
        listed = spec.ref.listed
        if rows or listed.empty is not None:  # with no rows, only a section that says so (Section.empty)
            found.append((md(listed.title), declared_table(base.links, page, listed.columns, rows, records=True)
                          if rows else None, h(listed.empty or "")))
    return found


def listings(kind: str) -> list:
    """(kind, field) of every reference field that lists the records naming a ``kind`` on its
    page (a reference of any kind, ``kinds=()``, lists on every kind's pages)."""
    return _listings(kind, tuple((other.folder, other.model) for other in KINDS.values()))


@lru_cache(maxsize=None)
def _listings(kind: str, registry: tuple) -> list:  # keyed by the registry too: a kind added later counts
    return [(folder, spec) for folder, model in registry for spec in fields_of(model)
            if spec.ref is not None and spec.ref.listed is not None and (not spec.ref.kinds or kind in spec.ref.kinds)]


def outgoing_groups(base: Base, entry: Entry) -> list[tuple[str, str]]:
    """Every record this one names, by how it names it, once per target, with what its typed
    relations say of it (strength, note); citations are the references below, prose links are
    in the article."""
    page = page_path(entry)
    by_label: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for edge in base.graph.outgoing.get(entry.id, ()):
        if edge.origin in ("prose", "citation"):
            continue
        details = by_label[edge.label].setdefault(edge.target, [])
        detail = relation_detail(entry.record.relations[edge.index]) if edge.origin == "relation" else ""
        if detail and detail not in details:
            details.append(detail)
    groups = []
    for name, targets in by_label.items():
        shown = [base.links.a(page, target) + "".join(details) for target, details in targets.items()]
        groups.append((h(choice_text(name)), ("; " if any(targets.values()) else ", ").join(shown)))
    return groups


def relation_detail(relation) -> str:
    """' (Strong): Reuses its tokenizer.': what a typed relation says besides its target, as HTML."""
    strength = f" ({h(scale_text(relation.strength))})" if relation.strength else ""
    return strength + (f": {h(relation.note)}" if relation.note else "")


def backlinks_by_kind(base: Base, entry: Entry) -> dict[str, list[tuple[str, str]]]:
    """Every record that links here, by kind, by name: (its id, how it links, read from here)."""
    graph = base.graph
    by_source: dict[str, list[str]] = defaultdict(list)
    for edge in graph.backlinks(entry.id):
        by_source[edge.source].append(edge.inverse)
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for source, labels in by_source.items():
        groups[graph.kind_of(source)].append(
            (graph.name_of(source).lower(), source, ", ".join(dict.fromkeys(labels)).capitalize()))
    return {k: [(source, how) for _, source, how in sorted(groups[k])] for k in KINDS if k in groups}


def backlink_groups(base: Base, entry: Entry) -> list[tuple[str, list[str], int]]:
    """'What links here', grouped by kind: each line how a record links and the record
    ("Develops [AlphaEvolve]"), at most BACKLINKS_SHOWN a kind, and how many more there are."""
    page = page_path(entry)
    return [(KINDS[kind].title, [f"{h(how)} {base.links.a(page, source)}" for source, how in lines[:BACKLINKS_SHOWN]],
             max(len(lines) - BACKLINKS_SHOWN, 0))
            for kind, lines in backlinks_by_kind(base, entry).items()]


def related_groups(base: Base, entry: Entry) -> list[tuple[str, str]]:
    page = page_path(entry)
    order = list(KINDS)
    return [(KINDS[kind].title, base.links.many(page, ids))
            for kind, ids in sorted(base.related(entry.id).items(), key=lambda i: order.index(i[0]))]


def references(base: Base, entry: Entry) -> list[tuple[str, str]]:
    """Numbered references, (anchor, HTML): every record of a cited kind (a source) this one
    links to, in order of first mention (``Graph.cited``), as the model says it is cited. The
    anchor is what a ``[[cite:...]]`` of the article links to (``reference_anchor``)."""
    page = page_path(entry)
    graph = base.graph
    said: dict[str, list[str]] = {}  # source -> what the relations citing it say (strength, note)
    for edge in graph.outgoing.get(entry.id, ()):
        if KINDS[graph.kind_of(edge.target)].cited:
            details = said.setdefault(edge.target, [])
            # a citing relation's strength and note show here; another relation's show under Relations
            cited_by_relation = edge.origin == "citation" and edge.field == "relations"
            detail = relation_detail(entry.record.relations[edge.index]) if cited_by_relation else ""
            if detail and detail not in details:
                details.append(detail)
    result = []
    for source_id, details in said.items():
        title, authors, venue, address = graph.entries[source_id].record.citation()
        parts = [base.links.a(page, source_id, title)]
        parts += [h(text) for text in (authors, venue) if text]
        if address:
            parts.append(f'<a href="{h(address)}">{h(host(address))}</a>')
        result.append((reference_anchor(source_id), ". ".join(parts) + "".join(details)))  # " (Strong): ..."
    return result


def hubs_of(base: Base, entry: Entry) -> list[tuple[str, str]]:
    """("topics", links) for each hub kind: the hub records this one links to or is linked from."""
    page = page_path(entry)
    graph = base.graph
    found = []
    for kind in KINDS.values():
        if not kind.hub:
            continue
        ids = [e.target for e in graph.outgoing.get(entry.id, ()) if graph.kind_of(e.target) == kind.folder]
        ids += [e.source for e in graph.incoming.get(entry.id, ()) if graph.kind_of(e.source) == kind.folder]
        shown = base.links.many(page, dict.fromkeys(i for i in ids if i != entry.id))
        if shown:
            found.append((h(kind.title.lower()), shown))
    return found


def neighbourhood(base: Base, entry: Entry) -> tuple[str, int]:
    """(SVG, how many linked records are left out): what links to the record on the left, what
    it links to on the right, at most NEIGHBOURHOOD_NODES records, labelled with how they link."""
    page = page_path(entry)
    graph = base.graph
    outgoing: dict[str, list[str]] = {}
    for edge in graph.outgoing.get(entry.id, ()):
        if edge.target != entry.id:
            outgoing.setdefault(edge.target, []).append(edge.label)
    incoming: dict[str, list[str]] = {}
    for edge in graph.backlinks(entry.id):
        incoming.setdefault(edge.source, []).append(edge.label)
    shown = list(dict.fromkeys([*outgoing, *incoming]))[:NEIGHBOURHOOD_NODES]

    def node(record_id: str, labels: list[str]) -> neighbourhood_svg.Node:
        kind = KINDS[graph.kind_of(record_id)]
        return neighbourhood_svg.Node(graph.name_of(record_id), kind.singular, kind.colour,
                                      url(page, f"{kind.folder}/{record_id}.md"), ", ".join(dict.fromkeys(labels)))

    centre = neighbourhood_svg.Node(entry.name, KINDS[entry.kind].singular, KINDS[entry.kind].colour)
    svg = neighbourhood_svg.draw(centre, [node(i, incoming[i]) for i in shown if i in incoming],
                                 [node(i, outgoing[i]) for i in shown if i in outgoing])
    return svg, len({*outgoing, *incoming}) - len(shown)
