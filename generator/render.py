"""Stage 5, render: the linked, scored base to Markdown pages, through Jinja2 templates.

Templates receive finished values: every string from a record is escaped here for the context
it lands in (``h`` in the HTML blocks that make up most of a page: summary, infobox, status
header, a topic's tables and diagrams, relations, backlinks, references, index and dashboard
tables; ``md`` in what stays Markdown: the title and the home page's list), a topic's prose is
converted and sanitized by ``prose``, every link is resolved, every figure formatted. So a name
like ``<script>`` or a ``|`` in a table cell reaches the reader as the text the editor typed.
The output is Markdown with front matter, all but its headings CommonMark HTML blocks, so another
MkDocs-compatible engine can take it as it is.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

import jinja2
from pydantic import BaseModel

from . import diagrams
from . import neighbourhood as neighbourhood_svg
from . import processes, prose
from . import score as scoring
from .core import NOT_IN_YAML, Directive, Entry, gc_paused
from .kinds import KINDS
from .link import Graph, field_has_refs, related
from .models import Quantity

# ---------------------------------------------------------------------------- escaping

# Only what can start markup inline: emphasis, code, links and images ([ ]), attribute lists
# ({ }), table cells (|) and escapes. '<', '>' and '&' become entities. Fewer escapes than every
# punctuation mark keeps pages cheap for Python-Markdown to parse (measured: it dominates the build).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|])")
# At the start of a line these would begin a list, a heading or a numbered list.
_MD_LINE_START = re.compile(r"^([-+#]|\d+[.)])")


def md(value: Any) -> str:
    """Escape text for any inline Markdown context, table cells and line starts included."""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def front_matter_title(value: Any) -> str:
    """A page title for YAML front matter. Material prints it into the page head unescaped, so
    it is HTML-escaped here; JSON quoting is valid YAML, and non-ASCII stays as written (an
    escaped astral character such as an emoji is not), but for what YAML does not allow in a
    document, written as an escape: a front matter MkDocs cannot read becomes Markdown."""
    import json

    text = json.dumps(html.escape(" ".join(str(value).split())), ensure_ascii=False)
    return NOT_IN_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)



def h(value: Any) -> str:
    """Escape text for HTML: element content or an attribute value."""
    return html.escape(" ".join(str(value).split()), quote=True)



# ---------------------------------------------------------------------------- mermaid

_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 .,_'/()-]")
MAX_LABEL = 48


def mermaid_label(text: str) -> str:
    """A node or edge label that no name can break: everything but plain characters as
    Mermaid entity codes (``#60;``), long names cut."""
    text = " ".join(str(text).split())
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return _MERMAID_UNSAFE.sub(lambda m: f"#{ord(m.group())};", text)


# ---------------------------------------------------------------------------- values

SCALE_FIELDS = {"severity", "effectiveness", "safety_relevance", "level", "status"}


_ACRONYMS = {"url": "URL", "Url": "URL"}


def label(value: str) -> str:
    """'frontier-lab' -> 'Frontier lab'; field names read as words ('as_of' -> 'As of', 'url' -> 'URL')."""
    text = value.replace("-", " ").replace("_", " ").capitalize()
    return " ".join(_ACRONYMS.get(word, word) for word in text.split(" "))


def scale_label(value: str) -> str:
    return "-".join(part.capitalize() for part in value.split("-"))


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"


def quantity(q: Quantity) -> str:
    """1.2 (range: 0.4-3.6); ~8 months (95% CI: 5-14 months); 23%; text as written."""
    if q.value is None:
        text = q.text
    else:
        unit = q.unit
        joined = f"{_number(q.value)}{unit}" if unit in ("%", "x", "×") or not unit else f"{_number(q.value)} {unit}"
        text = ("~" if q.approximate else "") + joined
        if q.low is not None:
            span = f"{_number(q.low)}-{_number(q.high)}"
            if unit and unit not in ("%", "x", "×"):
                span += f" {unit}"
            elif unit:
                span = f"{_number(q.low)}{unit}-{_number(q.high)}{unit}"
            text += f" ({q.confidence:g}% CI: {span})" if q.confidence else f" (range: {span})"
        if q.text:
            text += f" {q.text}"
    if q.qualifier:
        text += f" ({q.qualifier})" if q.value is not None else f" {q.qualifier}"
    return text


def percent_range(low: float, high: float) -> str:
    return f"{low:g}-{high:g}%"


# ---------------------------------------------------------------------------- pages


@dataclass
class Page:
    path: str
    markdown: str


@dataclass
class Rendered:
    pages: dict[str, Page] = field(default_factory=dict)
    structures: dict[str, scoring.Structure] = field(default_factory=dict)


def page_path(entry: Entry) -> str:
    return f"{entry.kind}/{entry.id}.md"


def links_page(entry: Entry) -> str:
    """The page listing every record that links to ``entry``, made when its own page cannot."""
    return f"links/{entry.kind}/{entry.id}.md"


class _Renderer:
    def __init__(self, graph: Graph, assessments: dict[str, scoring.Assessment], today: dt.date):
        self.graph = graph
        self.assessments = assessments
        self.today = today
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("generator", "templates"),
            autoescape=False,  # values arrive escaped by md() (Markdown) or h() (HTML); templates lay them out
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,  # one render: no need to stat each template on every use
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(title=front_matter_title)
        self._anchors: dict[tuple[str, str], str] = {}

    # links ---------------------------------------------------------------
    @staticmethod
    def href(from_page: str, to_page: str) -> str:
        """Relative link between two generated pages (posixpath.relpath, without its file-system
        calls: it was a third of the render stage)."""
        from_dir = from_page.rpartition("/")[0]
        to_dir, _, name = to_page.rpartition("/")
        if from_dir == to_dir:
            return name
        return "../" * (from_dir.count("/") + 1 if from_dir else 0) + to_page

    @classmethod
    def url(cls, from_page: str, to_page: str) -> str:
        """The built page's address, for links written as HTML (MkDocs rewrites only Markdown links)."""
        return cls.href(from_page, to_page)[:-3] + ".html"

    def link(self, from_page: str, record_id: str, text: str | None = None) -> str:
        """A Markdown link, for an editor's prose and the tables placed in it."""
        entry = self.graph.entries[record_id]
        return f"[{md(text or entry.name)}]({self.href(from_page, page_path(entry))})"

    def a(self, from_page: str, record_id: str, text: str | None = None) -> str:
        """An HTML link, for the generated blocks around a record (infobox, relations, lists)."""
        if text is None:  # the same link recurs on many pages of a folder: made once per folder
            key = (from_page.rpartition("/")[0], record_id)
            anchor = self._anchors.get(key)
            if anchor is None:
                anchor = self._anchors[key] = self.a(from_page, record_id, self.graph.entries[record_id].name)
            return anchor
        entry = self.graph.entries[record_id]
        return f'<a href="{self.url(from_page, page_path(entry))}">{h(text or entry.name)}</a>'

    def links(self, from_page: str, ids: Iterable[str]) -> str:
        return ", ".join(self.a(from_page, i) for i in ids)

    # values --------------------------------------------------------------
    def value(self, from_page: str, name: str, value: Any, annotation_ref: bool) -> str:
        """One field's value, as HTML for an infobox cell."""
        if value is None or value == [] or value == {}:
            return ""
        if isinstance(value, Quantity):
            return h(quantity(value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            if all(isinstance(v, str) for v in value):
                if annotation_ref:
                    return self.links(from_page, value)
                return ", ".join(h(v) for v in value)
            return ""
        if isinstance(value, BaseModel):
            return h(self.model_summary(value))
        if isinstance(value, str) and annotation_ref and value in self.graph.entries:
            return self.a(from_page, value)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return f'<a href="{h(value)}">{h(value)}</a>'
        if name in SCALE_FIELDS:
            return h(scale_label(value))
        if isinstance(value, str) and re.fullmatch(r"[a-z]+(?:-[a-z]+)+|[a-z]+", value) and name in (
                "type", "kind", "entity_type"):
            return h(label(value))
        return h(value)

    def model_summary(self, model: BaseModel) -> str:
        if hasattr(model, "level"):
            text = scale_label(model.level)
            if getattr(model, "low", None) is not None:
                text += f" ({percent_range(model.low, model.high)})"
            if getattr(model, "note", None):
                text += f"; {model.note}"
            return text
        return ", ".join(f"{k}: {v}" for k, v in model.model_dump(exclude_none=True).items())

    def infobox_rows(self, entry: Entry) -> list[tuple[str, str]]:
        page = page_path(entry)
        skip = {"id", "name", "title", "summary", "sources", "relations", "positions", "tags", "aliases",
                "featured", "assessment", "milestones", "scenarios", "counter_evidence", "tables",
                "diagrams", "quality", "last_edited", "review_by", "importance", "effectiveness_note",
                "status"}
        rows = []
        record = entry.record
        for name, info in type(record).model_fields.items():
            if name in skip:
                continue
            value = getattr(record, name)
            is_ref = field_has_refs(info)
            text = self.value(page, name, value, is_ref)
            if name == "effectiveness" and record.effectiveness_note:
                text += f" ({h(record.effectiveness_note)})"
            if text:
                rows.append((label(name.replace("_", " ")), text))
        if record.importance is not None:
            rows.append(("Importance", f"{record.importance} ({scoring.band(record.importance, scoring.IMPORTANCE_BANDS)})"))
        if record.aliases:
            rows.append(("Also known as", ", ".join(h(alias) for alias in record.aliases)))
        if record.tags:
            rows.append(("Tags", ", ".join(f'<a href="{self.url(page, f"tags/{t}.md")}">{h(t)}</a>' for t in record.tags)))
        return rows

    # header --------------------------------------------------------------
    def status(self, entry: Entry, structure: scoring.Structure | None) -> dict:
        record = entry.record
        assessment = self.assessments[entry.id]
        if structure is not None and entry.kind == "topics":
            score = scoring.structure_score(structure)
            suggested = scoring.suggested_quality(score)
        else:
            score = None
            suggested = assessment.suggested
        quality = record.quality if record.quality is not None else suggested
        return {
            "quality": quality,
            "quality_band": scoring.band(quality),
            "quality_is_suggested": record.quality is None,
            "suggested": suggested,
            "warning": record.quality is not None and abs(record.quality - suggested) >= scoring.QUALITY_WARNING_GAP,
            "importance": record.importance,
            "importance_band": scoring.band(record.importance, scoring.IMPORTANCE_BANDS)
            if record.importance is not None else None,
            "last_edited": record.last_edited.isoformat() if record.last_edited else None,
            "age": scoring.age_text((self.today - record.last_edited).days) if record.last_edited else None,
            "words": _words(structure.words) if structure else None,
            "backlinks": assessment.backlinks,
            "structure": structure,
            "score": score,
            "max_score": scoring.MAX_SCORE,
            "bullet_percent": round(structure.bullet_ratio * 100) if structure else None,
            "missing": [label(f.replace("_", " ")) for f in assessment.missing_fields],
            "figures": assessment.figures,
            "cited_figures": assessment.cited_figures,
            "status": scale_label(record.status) if record.status else None,
        }

    # backlinks and relations ---------------------------------------------
    def backlinks_by_kind(self, entry: Entry) -> dict[str, list[tuple[str, str]]]:
        """Every record that links here, by kind, by name: (its id, how it links, read from here)."""
        by_source: dict[str, list[str]] = defaultdict(list)
        for edge in self.graph.backlinks(entry.id):
            by_source[edge.source].append(edge.inverse)
        groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for source, labels in by_source.items():
            groups[self.graph.kind_of(source)].append(
                (self.graph.entries[source].name.lower(), source, ", ".join(dict.fromkeys(labels)).capitalize()))
        return {k: [(source, how) for _, source, how in sorted(groups[k])] for k in KINDS if k in groups}

    def backlink_groups(self, entry: Entry) -> list[tuple[str, list[str], int]]:
        """'What links here', grouped by kind: each line how a record links and the record
        ("Develops [AlphaEvolve]"), at most BACKLINKS_SHOWN a kind, and how many more there are
        (all of them are on the page ``backlinks_pages`` makes)."""
        page = page_path(entry)
        return [(KINDS[kind].title, [f"{h(how)} {self.a(page, source)}" for source, how in lines[:BACKLINKS_SHOWN]],
                 max(len(lines) - BACKLINKS_SHOWN, 0))
                for kind, lines in self.backlinks_by_kind(entry).items()]

    def backlinks_pages(self, entry: Entry) -> list[Page]:
        """links/<kind>/<id>.md: every record that links to one whose page shows only some
        (none when its page shows them all)."""
        groups = self.backlinks_by_kind(entry)
        if all(len(lines) <= BACKLINKS_SHOWN for lines in groups.values()):
            return []
        rows = [(source, kind, how) for kind, lines in groups.items() for source, how in lines]
        pages = []
        for page, chunk, pager in paged(links_page(entry), rows):
            table = _table(["Record", "Kind", "How it links"],
                           [[self.a(page, source), h(KINDS[kind].singular), h(how)] for source, kind, how in chunk])
            pages.append(Page(page, self.env.get_template("links.md.j2").render(
                title=md(entry.name), raw=entry.name, back=self.a(page, entry.id), count=len(rows),
                pager=pager, table=table)))
        return pages

    def outgoing_groups(self, entry: Entry) -> list[tuple[str, str]]:
        page = page_path(entry)
        by_label: dict[str, list[str]] = defaultdict(list)
        for edge in self.graph.outgoing.get(entry.id, ()):
            if edge.path == "body" or edge.label in ("cites",):
                continue
            if edge.target not in by_label[edge.label]:
                by_label[edge.label].append(edge.target)
        return [(label(name), self.links(page, targets)) for name, targets in by_label.items()]

    def related_groups(self, entry: Entry) -> list[tuple[str, str]]:
        page = page_path(entry)
        return [(KINDS[kind].title, self.links(page, ids))
                for kind, ids in sorted(related(self.graph, entry.id).items(), key=lambda i: list(KINDS).index(i[0]))]

    def references(self, entry: Entry) -> list[str]:
        """Numbered references: every source the record cites, in order of first mention."""
        page = page_path(entry)
        ids = [edge.target for edge in self.graph.outgoing.get(entry.id, ())
               if self.graph.kind_of(edge.target) == "sources"]
        result = []
        for source_id in dict.fromkeys(ids):
            source = self.graph.entries[source_id].record
            parts = [self.a(page, source_id, source.title)]
            if source.authors:
                parts.append(h(", ".join(source.authors)))
            if source.publisher or source.year:
                parts.append(h(" ".join(str(p) for p in (source.publisher, source.year) if p)))
            if source.url:
                parts.append(f'<a href="{h(source.url)}">{h(_host(source.url))}</a>')
            result.append(". ".join(parts))
        return result

    def topics_of(self, entry: Entry) -> str:
        page = page_path(entry)
        ids = [e.target for e in self.graph.outgoing.get(entry.id, ()) if self.graph.kind_of(e.target) == "topics"]
        ids += [e.source for e in self.graph.incoming.get(entry.id, ()) if self.graph.kind_of(e.source) == "topics"]
        return self.links(page, dict.fromkeys(i for i in ids if i != entry.id))

    # neighbourhood diagram ------------------------------------------------
    def neighbourhood(self, entry: Entry, limit: int = 14) -> tuple[str, int]:
        """(SVG, how many linked records are left out): what links to the record on the left,
        what it links to on the right, at most ``limit`` records, labelled with how they link."""
        page = page_path(entry)
        outgoing: dict[str, list[str]] = {}
        for edge in self.graph.outgoing.get(entry.id, ()):
            if edge.target != entry.id:
                outgoing.setdefault(edge.target, []).append(edge.label)
        incoming: dict[str, list[str]] = {}
        for edge in self.graph.backlinks(entry.id):
            incoming.setdefault(edge.source, []).append(edge.label)
        shown = list(dict.fromkeys([*outgoing, *incoming]))[:limit]

        def node(record_id: str, labels: list[str]) -> neighbourhood_svg.Node:
            other = self.graph.entries[record_id]
            return neighbourhood_svg.Node(other.name, KINDS[other.kind].singular, KINDS[other.kind].colour,
                                          self.url(page, page_path(other)), ", ".join(dict.fromkeys(labels)))

        centre = neighbourhood_svg.Node(entry.name, KINDS[entry.kind].singular, KINDS[entry.kind].colour)
        svg = neighbourhood_svg.draw(centre, [node(i, incoming[i]) for i in shown if i in incoming],
                                     [node(i, outgoing[i]) for i in shown if i in outgoing])
        return svg, len({*outgoing, *incoming}) - len(shown)

    # topic tables ---------------------------------------------------------
    def topic_table(self, entry: Entry, name: str) -> dict:
        page = page_path(entry)
        record = entry.record
        link = lambda i: self.a(page, i)  # noqa: E731
        rec = lambda i: self.graph.entries[i].record  # noqa: E731
        if name == "assessment":
            return _table(["Dimension", "Assessment", "Notes"],
                          [[h(r.dimension), f"<strong>{h(r.rating)}</strong>", h(r.note)] for r in record.assessment])
        if name == "positions":
            rows = []
            for holder_id in record.featured.positions:
                holder = rec(holder_id)
                for position in holder.positions:
                    if position.topic != entry.id:
                        continue
                    rows.append([link(holder_id), self._role(page, holder), self._claim(position)])
            return _table(["Expert", "Position", "Key claim"], rows)
        if name == "systems":
            rows = []
            for system_id in record.featured.systems:
                system = rec(system_id)
                developer = self.a(page, system.developer) if system.developer else "Research"
                if system.announced:
                    developer += f" ({h(_month_year(system.announced))})"
                rows.append([link(system_id), developer, h(system.capability), h(system.achievement),
                             h(system.significance or "")])
            return _table(["System", "Developer", "Capability", "Achievement", "Significance"], rows)
        if name == "risks":
            return _table(["Risk mechanism", "Description", "Current evidence", "Severity"],
                          [[link(i), h(rec(i).description), h(rec(i).evidence), h(scale_label(rec(i).severity))]
                           for i in record.featured.risks])
        if name == "metrics":
            return _table(["Metric", "Estimate", "Source", "Implications"],
                          [[link(i), h(quantity(rec(i).estimate)), link(rec(i).source), h(rec(i).implication)]
                           for i in record.featured.metrics])
        if name == "responses":
            rows = []
            for i in record.featured.responses:
                response = rec(i)
                effect = scale_label(response.effectiveness)
                if response.effectiveness_note:
                    effect += f" ({response.effectiveness_note})"
                rows.append([link(i), h(response.mechanism), h(response.current_status), h(effect)])
            return _table(["Response", "Mechanism", "Current status", "Effectiveness"], rows)
        if name == "milestones":
            return _table(["Milestone", "Conservative", "Median", "Aggressive", "Key dependencies"],
                          [[h(m.milestone), h(m.conservative), h(m.median), h(m.aggressive), h(m.dependencies)]
                           for m in record.milestones])
        if name == "scenarios":
            return _table(["Scenario", "Duration", "Probability", "Characteristics"],
                          [[h(s.name), h(s.duration), h(percent_range(s.probability.low, s.probability.high)),
                            h(s.characteristics)] for s in record.scenarios])
        if name == "counter-evidence":
            return _table(["Observation", "Data", "Implication"],
                          [[h(o.observation), h(o.data) + (f" ({link(o.source)})" if o.source else ""),
                            h(o.implication)] for o in record.counter_evidence])
        table = record.tables[name]
        result = _table([h(c) for c in table.columns], [[h(c) for c in row] for row in table.rows])
        result["caption"] = h(table.title)
        if table.source:
            result["source"] = link(table.source)
        return result

    def _role(self, page: str, holder) -> str:
        if hasattr(holder, "affiliation"):
            parts = [self.a(page, holder.affiliation)] if holder.affiliation else []
            if holder.role:
                parts.append(h(holder.role))
            return ", ".join(parts)
        return h(label(holder.type))

    @staticmethod
    def _claim(position, escape=h) -> str:
        """A position's quote, claim and estimate, as HTML."""
        parts = []
        if position.quote:
            parts.append(f"“{escape(position.quote)}”")
        if position.claim:
            parts.append(escape(position.claim))
        if position.estimate:
            parts.append(f"(estimate: {escape(quantity(position.estimate))})")
        return " ".join(parts)

    # whole pages ------------------------------------------------------------
    def article(self, entry: Entry) -> str:
        """A topic's own content: prose with its tables and diagrams in place. The prose is
        converted and sanitized by ``prose``; everything else here is generated HTML."""
        page = page_path(entry)

        def link_for(target: str, text: str | None) -> tuple[str, str] | None:
            other = self.graph.entries.get(target)
            # One line, as every name the page shows (a heading holding the link must stay one line).
            return None if other is None else (self.url(page, page_path(other)), " ".join((text or other.name).split()))

        parts = []
        for block in entry.prose.blocks:
            if isinstance(block, Directive):
                if block.what == "diagram":
                    diagram = entry.record.diagrams[block.name]
                    parts.append(self.env.get_template("diagram.md.j2").render(
                        title=h(diagram.title), block=diagrams.block(diagram.mermaid),
                        caption=h(diagram.caption) if diagram.caption else ""))
                else:
                    parts.append(self.env.get_template("table.md.j2").render(
                        table=self.topic_table(entry, block.name)))
            else:
                parts.append(prose.to_page_markdown(block, link_for))
        return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"

    def record_page(self, entry: Entry) -> Page:
        page = page_path(entry)
        kind = KINDS[entry.kind]
        article, structure = "", None
        if entry.prose is not None:
            article = self.article(entry)
            structure = self.structures[entry.id] = scoring.measure(article)
        status = self.statuses[entry.id] = self.status(entry, structure)
        diagram, hidden = self.neighbourhood(entry)
        context = {
            "entry": entry,
            "title": md(entry.name),
            "name": h(entry.name),
            "kind": kind,
            "kind_index": self.url(page, f"{entry.kind}/index.md"),
            "home": self.url(page, "index.md"),
            "root": "../",
            "summary": h(entry.record.summary),
            "status": status,
            "infobox": self.infobox_rows(entry),
            "article": article,
            "outgoing": self.outgoing_groups(entry),
            "backlinks": self.backlink_groups(entry),
            "all_backlinks": self.url(page, links_page(entry)),
            "related": self.related_groups(entry),
            "topics": self.topics_of(entry),
            "references": self.references(entry),
            "neighbourhood": diagram,
            "neighbourhood_hidden": hidden,
            "positions": self._positions(entry),
            "addressed_by": self._addressed_by(entry),
        }
        markdown = self.env.get_template(kind.template).render(**context, ctx=context)
        return Page(page, markdown)

    def _positions(self, entry: Entry) -> dict | None:
        positions = getattr(entry.record, "positions", None)
        if not positions:
            return None
        page = page_path(entry)
        return _table(["Topic", "Position", "Date", "Source"],
                      [[self.a(page, p.topic), self._claim(p), h(p.date or ""),
                        self.a(page, p.source) if p.source else ""] for p in positions])

    def _addressed_by(self, entry: Entry) -> dict | None:
        if entry.kind != "risks":
            return None
        page = page_path(entry)
        responses = _responses_addressing(self.graph, entry.id)
        rows = []
        for response_id in dict.fromkeys(responses):
            response = self.graph.entries[response_id].record
            rows.append([self.a(page, response_id), h(response.mechanism),
                         h(scale_label(response.effectiveness))])
        return _table(["Response", "Mechanism", "Effectiveness"], rows) if rows else {"columns": [], "rows": []}

    def record_pages(self, entries: list[Entry]) -> list[Page]:
        """Every record's page. A large base is rendered in two processes where that is safe
        (see _can_fork): the pages are independent of one another, and the build machine has
        two cores. A forked half that fails is rendered here instead."""
        if len(entries) < PARALLEL_FROM or not _can_fork():
            return [self.record_page(entry) for entry in entries]
        import multiprocessing

        context = multiprocessing.get_context("fork")
        half = len(entries) // 2
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(target=self._render_in_child,
                                args=(entries[half:], sending, receiving, os.getpid()), daemon=True)
        child.start()
        sending.close()
        try:
            pages = [self.record_page(entry) for entry in entries[:half]]
            try:
                theirs, statuses, structures = receiving.recv()
            except (EOFError, OSError):  # the child died: render its half here
                theirs = [self.record_page(entry) for entry in entries[half:]]
            else:
                self.statuses.update(statuses)
                self.structures.update(structures)
        except BaseException:  # this half failed, or the build was stopped: the child's half is not needed
            child.kill()
            raise
        finally:
            receiving.close()
            child.join()
        return pages + theirs

    def _render_in_child(self, entries: list[Entry], sending, receiving, parent: int) -> None:
        processes.die_with(parent)  # a killed build takes its renderer with it
        receiving.close()  # the fork's copy: with it open, a parent that stopped reading is never noticed
        try:
            pages = [self.record_page(entry) for entry in entries]
            ids = {entry.id for entry in entries}
            sending.send((pages, {i: s for i, s in self.statuses.items() if i in ids},
                          {i: s for i, s in self.structures.items() if i in ids}))
        finally:
            sending.close()
            os._exit(0)  # no atexit handlers or buffers of the parent run twice

    def render_all(self) -> Rendered:
        self.structures: dict[str, scoring.Structure] = {}  # topics: measured on their article
        self.statuses: dict[str, dict] = {}  # every record: its status header, computed once
        rendered = Rendered()
        for page in self.record_pages(list(self.graph.entries.values())):
            rendered.pages[page.path] = page
        rendered.structures = self.structures
        for entry in self.graph.entries.values():
            if self.assessments[entry.id].backlinks > BACKLINKS_SHOWN:  # then some kind may overflow
                for page in self.backlinks_pages(entry):
                    rendered.pages[page.path] = page
        search = Page("search.md", self.env.get_template("search.md.j2").render())
        pages = [*(p for kind in KINDS.values() for p in self.kind_index(kind)), *self.tags_pages(),
                 *self.dashboard(), self.home(), self.risk_map(), self.topic_map(), search]
        for page in pages:
            rendered.pages[page.path] = page
        return rendered

    # index pages -------------------------------------------------------------
    def kind_index(self, kind) -> list[Page]:
        """The sortable list of a kind's records, by name, in pages of PAGE_ROWS."""
        entries = sorted(self.graph.by_kind(kind.folder), key=lambda e: e.name.lower())
        columns = ["Name"] + [label(c.replace("_", " ")) for c in kind.columns]
        pages = []
        for page, chunk, pager in paged(f"{kind.folder}/index.md", entries):
            rows = []
            for entry in chunk:
                cells = [(h(entry.name.lower()), self.a(page, entry.id))]
                for column in kind.columns:
                    cells.append(self._index_cell(entry, column, page))
                rows.append({"tags": " ".join(entry.record.tags), "cells": cells})
            root = self.url(page, "index.md")[:-len("index.html")]
            markdown = self.env.get_template("index.md.j2").render(
                kind=kind, columns=columns, rows=rows, tags=sorted({t for e in chunk for t in e.record.tags}),
                count=len(entries), pager=pager,
                data_json=f"{root}data/{kind.folder}.json", data_csv=f"{root}data/{kind.folder}.csv",
                schema=f"{root}schemas/{kind.folder}.schema.json")
            pages.append(Page(page, markdown))
        return pages

    def _index_cell(self, entry: Entry, column: str, page: str) -> tuple[str, str]:
        """(sort key, HTML) of one index cell; scales sort by their order, not alphabetically."""
        record = entry.record
        value = getattr(record, column, None)
        if column == "quality":
            status = self.statuses[entry.id]
            mark = "*" if status["quality_is_suggested"] else ""
            return f"{status['quality']:03d}", f"{status['quality']}{mark}"
        if value is None or value == []:
            return "", ""
        if column in ("severity", "effectiveness"):
            order = _scale_order(type(record), column)
            return f"{order.index(value):02d}", h(scale_label(value))
        if isinstance(value, Quantity):
            return (f"{value.value:020.6f}" if value.value is not None else ""), h(quantity(value))
        if isinstance(value, list):
            return h(", ".join(value)).lower(), h(", ".join(value))
        if isinstance(value, str) and value in self.graph.entries and column in ("developer", "affiliation", "source"):
            return h(self.graph.entries[value].name.lower()), self.a(page, value)
        if isinstance(value, int):
            return f"{value:06d}", str(value)
        text = label(value) if column in ("type", "kind", "entity_type", "safety_relevance") else str(value)
        return h(text.lower()), h(text)

    def home(self) -> Page:
        page = "index.md"
        kinds = [(kind, len(self.graph.by_kind(kind.folder))) for kind in KINDS.values()]
        topics = sorted(self.graph.by_kind("topics"), key=lambda e: (-(e.record.importance or 0), e.name))
        markdown = self.env.get_template("home.md.j2").render(
            kinds=kinds, topics=[(self.link(page, t.id), md(t.record.summary)) for t in topics],
            records=len(self.graph.entries))
        return Page(page, markdown)

    def tags_pages(self) -> list[Page]:
        """tags.md lists every tag with its count; tags/<tag>.md the records that carry it."""
        template = self.env.get_template("tags.md.j2")
        tags = sorted(self.graph.tags.items())
        pages = [Page("tags.md", template.render(
            tags=[(f'<a href="{self.url("tags.md", f"tags/{tag}.md")}">{h(tag)}</a>', len(ids)) for tag, ids in tags],
            tag=None))]
        for tag, ids in tags:
            entries = sorted((self.graph.entries[i] for i in ids), key=lambda e: (e.name.lower(), e.id))
            for page, chunk, pager in paged(f"tags/{tag}.md", entries):
                rows = [[self.a(page, e.id), h(KINDS[e.kind].singular), h(e.record.summary)] for e in chunk]
                pages.append(Page(page, template.render(
                    tag=h(tag), count=len(entries), pager=pager, tags_index=self.url(page, "tags.md"),
                    table=_table(["Record", "Kind", "Summary"], rows))))
        return pages

    def dashboard(self) -> list[Page]:
        rows = []
        for entry in sorted(self.graph.entries.values(), key=lambda e: (e.kind, e.name.lower())):
            status = self.statuses[entry.id]
            assessment = self.assessments[entry.id]
            target = scoring.next_band(status["quality"])
            lacks: list[str] = []
            if target:
                if entry.kind == "topics":
                    needed = -(-target[0] * scoring.MAX_SCORE // 100)
                    lacks = scoring.advice(self.structures[entry.id], needed)
                else:
                    lacks = [f"fill in {', '.join(status['missing'])}".lower()] if status["missing"] else []
                    if assessment.cited_figures < assessment.figures:
                        lacks.append(f"cite a source for {assessment.figures - assessment.cited_figures} figure(s)")
            flags = [name for name, flagged in (
                ("quality differs", status["warning"]), ("overdue", assessment.past_review),
                ("stale", assessment.stale), ("orphan", not assessment.backlinks),
                ("uncited", assessment.uncited_source)) if flagged]
            rows.append((entry.id, [
                h(KINDS[entry.kind].singular),
                f"{status['score']}/15" if status["score"] is not None else f"{assessment.completeness}% complete",
                f"{status['quality']}{'*' if status['quality_is_suggested'] else ''} ({status['quality_band']})"
                + (" ⚠" if status["warning"] else ""),
                h(f"{target[1]}: " + "; ".join(lacks)) if target and lacks else "",
                h(", ".join(flags))]))
        values = list(self.graph.entries.values())
        template = self.env.get_template("quality.md.j2")
        pages = []
        for page, chunk, pager in paged("quality.md", rows):
            lists = None
            if page == "quality.md":
                note = " (the Flags column marks every one)"
                lists = {
                    "warnings": capped([self.a(page, e.id) for e in values if self.statuses[e.id]["warning"]], note),
                    "overdue": capped([self.a(page, e.id) + f" (review by {e.record.review_by})" for e in values
                                       if self.assessments[e.id].past_review], note),
                    "stale": capped([self.a(page, e.id) + f" (last edited {e.record.last_edited})" for e in values
                                     if self.assessments[e.id].stale], note),
                    "orphans": capped([self.a(page, e.id) for e in values if not self.assessments[e.id].backlinks], note),
                    "uncited": capped([self.a(page, e.id) for e in values if self.assessments[e.id].uncited_source], note),
                }
            table = _table(["Page", "Kind", "Score", "Quality", "To reach the next band", "Flags"],
                           [[self.a(page, record_id), *cells] for record_id, cells in chunk])
            pages.append(Page(page, template.render(table=table, lists=lists, pager=pager,
                                                    first=self.url(page, "quality.md"), today=self.today.isoformat())))
        return pages

    def risk_map(self) -> Page:
        page = "maps/risks.md"
        lines = ["flowchart LR"]
        nodes: dict[str, str] = {}
        risks = sorted(self.graph.by_kind("risks"), key=_by_importance)
        drawn = risks[:MAP_NODES]
        for entry in sorted(drawn, key=lambda e: e.name.lower()):
            nodes[entry.id] = f"n{len(nodes)}"
        unaddressed = [e.id for e in risks if not _responses_addressing(self.graph, e.id)]
        for risk_id in list(nodes):
            sources = list(dict.fromkeys(_responses_addressing(self.graph, risk_id)))
            for response_id in sources[:MAP_RESPONSES]:
                nodes.setdefault(response_id, f"n{len(nodes)}")
                lines.append(f'  {nodes[response_id]} -->|"addresses"| {nodes[risk_id]}')
        for record_id, node in nodes.items():
            entry = self.graph.entries[record_id]
            style = "unaddressed" if record_id in unaddressed else entry.kind
            lines.insert(1, f'  {node}["{mermaid_label(entry.name)}"]:::{style}')
            lines.append(f'  click {node} "{h(self.url(page, page_path(entry)))}"')
        lines += _class_defs()
        if len(drawn) < len(risks):
            intro = (f"The {len(drawn)} most important of the {len(risks)} risk mechanisms, with an arrow from up to "
                     f"{MAP_RESPONSES} responses that address each; every risk page lists all of its responses. ")
        else:
            intro = "Every risk mechanism, with an arrow from each response that addresses it. "
        markdown = self.env.get_template("map.md.j2").render(
            title="Risks and the responses that address them", block=diagrams.block("\n".join(lines), linked=True),
            intro=intro + "Risks that no response addresses are drawn with a dashed red border.",
            unaddressed=capped([self.a(page, i) for i in unaddressed]))
        return Page(page, markdown)

    def topic_map(self) -> Page:
        page = "maps/topics.md"
        every = self.graph.by_kind("topics")
        topics = sorted(sorted(every, key=_by_importance)[:MAP_NODES], key=lambda e: e.name.lower())
        nodes = {t.id: f"n{i}" for i, t in enumerate(topics)}
        lines = ["flowchart LR"]
        for topic in topics:
            lines.append(f'  {nodes[topic.id]}["{mermaid_label(topic.name)}"]:::topics')
        seen = set()
        for topic in topics:
            for edge in self.graph.outgoing.get(topic.id, ()):
                if edge.target in nodes and (topic.id, edge.target) not in seen and edge.target != topic.id:
                    seen.add((topic.id, edge.target))
                    lines.append(f'  {nodes[topic.id]} -->|"{mermaid_label(edge.label)}"| {nodes[edge.target]}')
        for topic in topics:
            lines.append(f'  click {nodes[topic.id]} "{h(self.url(page, page_path(topic)))}"')
        lines += _class_defs()
        intro = ("Every topic page and how the topics link to one another." if len(topics) == len(every) else
                 f"The {len(topics)} most important of the {len(every)} topics and how they link to one another; "
                 f"the [topic index](../topics/index.md) lists them all.")
        markdown = self.env.get_template("map.md.j2").render(
            title="Map of topics", block=diagrams.block("\n".join(lines), linked=True), intro=intro, unaddressed=None)
        return Page(page, markdown)


def _responses_addressing(graph: Graph, risk_id: str) -> list[str]:
    """Responses whose `addresses` field names the risk (a typed relation "addresses" from any
    other record is listed under What links here, not as a response)."""
    return [e.source for e in graph.incoming.get(risk_id, ())
            if e.path.startswith("addresses") and graph.kind_of(e.source) == "responses"]


def _class_defs() -> list[str]:
    lines = [f"  classDef {name} fill:{kind.colour},stroke:{kind.colour},color:#ffffff" for name, kind in KINDS.items()]
    lines.append("  classDef unaddressed fill:#ffffff,stroke:#c62828,stroke-width:3px,stroke-dasharray:6 3,color:#b71c1c")
    return lines


def _scale_order(model, column: str) -> list[str]:
    import typing

    annotation = model.model_fields[column].annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return list(typing.get_args(candidate))
    return []


def _table(columns: list[str], rows: list[list[str]]) -> dict:
    return {"columns": columns, "rows": rows}


# Long lists are split into pages of this many rows, so no page grows with the base: a reader
# on a slow line gets a page of about 100 KB, not one with every record of 10,000 (500 rows made
# index pages of 414 KB at 10,000 records).
PAGE_ROWS = 100
# Lists on the dashboard and the maps show this many and say how many more there are.
LIST_CAP = 100
# From this many records, record pages are rendered in two processes (one per core).
PARALLEL_FROM = 400


def _can_fork() -> bool:
    """Forking is safe with one thread: a fork copies only the calling thread, and a lock held
    by another (logging's, the import lock) would stay locked in the child forever. So `kb
    build` and `mkdocs build` render in two processes; `mkdocs serve` (with its watcher threads)
    renders in one."""
    return hasattr(os, "fork") and threading.active_count() == 1


# "What links here" on a record's page lists at most this many records of each kind; a record
# with more (a lab that a thousand records cite) gets a page of its own listing them all.
BACKLINKS_SHOWN = 50
# Maps draw at most this many records (the most important first): a flowchart of hundreds of
# nodes is unreadable, and Mermaid refuses one of more than 500 edges.
MAP_NODES = 40
MAP_RESPONSES = 6  # arrows drawn into one risk on the map


def _by_importance(entry: Entry) -> tuple:
    return (-(entry.record.importance or 0), entry.name.lower())


def paged(path: str, items: list) -> list[tuple[str, list, str]]:
    """``[(page path, its items, pager HTML)]``: ``x.md`` holds the first items, then
    ``x/2.md``, ``x/3.md``... The pager is empty when everything fits on one page."""
    per_page = PAGE_ROWS
    chunks = [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]
    stem = path[:-3]
    paths = [path] + [f"{stem}/{n}.md" for n in range(2, len(chunks) + 1)]
    result = []
    for number, (here, chunk) in enumerate(zip(paths, chunks), start=1):
        pager = ""
        if len(chunks) > 1:
            links = []
            for other_number, other in enumerate(paths, start=1):
                first = (other_number - 1) * per_page + 1
                span = f"{first}–{min(first + per_page - 1, len(items))}"
                if other == here:
                    links.append(f'<strong aria-current="page">{span}</strong>')
                else:
                    links.append(f'<a href="{_Renderer.url(here, other)}">{span}</a>')
            pager = (f'<nav class="kb-pager" aria-label="Pages of this list">Page {number} of {len(chunks)} '
                     f'({len(items)} in all): {" · ".join(links)}</nav>')
        result.append((here, chunk, pager))
    return result


def capped(items: list[str], total_note: str = "") -> str:
    """A comma-separated list of at most LIST_CAP items, saying how many are left out and where they are."""
    if not items:
        return ""
    shown = ", ".join(items[:LIST_CAP])
    if len(items) > LIST_CAP:
        shown += f" … and {len(items) - LIST_CAP} more{total_note}"
    return shown


def _words(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _month_year(partial: str) -> str:
    parts = partial.split("-")
    return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}" if len(parts) >= 2 else parts[0]


def _host(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url).split("/")[0]


@gc_paused()  # the pages are long-lived strings and lists: nothing for the collector to find
def render(graph: Graph, assessments: dict[str, scoring.Assessment], today: dt.date) -> Rendered:
    """Stage entry point: every page of the site as Markdown."""
    return _Renderer(graph, assessments, today).render_all()
