"""Stage 4, score: how good each page is and what it lacks.

Two kinds of measure:

* the structure score out of 15, counted on a page's Markdown body (``measure``); the rules
  and thresholds are those of the source wiki, decoded in shared/notes/reference-wiki.md;
* record completeness: which recommended fields are empty and how many stated figures cite
  a source (``assess``), computed from the graph for every record.
"""
from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import typing
from dataclasses import dataclass, field

from .core import gc_paused
from .link import Graph

# ---------------------------------------------------------------------------- bands and ages
# From shared/notes/reference-wiki.md ("The page header, decoded").
QUALITY_BANDS = ((80, "Comprehensive"), (60, "Good"), (40, "Adequate"), (20, "Draft"), (0, "Stub"))
IMPORTANCE_BANDS = ((90, "Essential"), (70, "High"), (50, "Useful"), (30, "Reference"), (0, "Peripheral"))
QUALITY_WARNING_GAP = 20  # the source warns when editorial and suggested quality differ this much
STALE_AFTER_DAYS = 365


def band(value: int, bands=QUALITY_BANDS) -> str:
    return next(name for floor, name in bands if value >= floor)


def next_band(value: int, bands=QUALITY_BANDS) -> tuple[int, str] | None:
    higher = [(floor, name) for floor, name in bands if floor > value]
    return higher[-1] if higher else None


def age_text(days: int) -> str:
    """Up to 14 days in days, up to 60 in weeks, beyond in months (the source wiki's rule).

    The site shows this relative to the reader's today (static/kb.js has the same rule);
    Python uses it for the dashboard and the tests.
    """
    if days <= 0:
        return "today"
    if days <= 14:
        return f"{days} day{'s' * (days != 1)} ago"
    if days <= 60:
        weeks = days // 7
        return f"{weeks} weeks ago"
    months = days // 30
    return f"{months} month{'s' * (months != 1)} ago"


# ---------------------------------------------------------------------------- structure

# The article as render writes it (generator/prose.py): Markdown heading lines, and between them
# HTML blocks made by Python-Markdown and the sanitizer, so these patterns read the generator's
# own output, never an editor's text.
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.M)
_CODE = re.compile(r"<pre\b.*?</pre>", re.S)  # code and diagram sources are not prose
_LINK = re.compile(r'<a href="([^"]*)"')
_TEXT_LINE = re.compile(r"<(?:p|li|tr|h[1-6])\b")  # each was one line of the article's Markdown
_LIST_ITEM = re.compile(r"<li\b")
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF]+(?:['’.,-][A-Za-z0-9\u00C0-\uFFFF]+)*")
_INLINE_TAG = re.compile(r"</?(?:a|em|strong|code|span|b|i|del|sup|sub|abbr|kbd)\b[^>]*>")  # within a word
_TAG = re.compile(r"<[^>]+>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]#|])")  # a heading's escapes (prose._MD_PUNCTUATION)


@dataclass(frozen=True)
class Structure:
    words: int
    tables: int
    diagrams: int
    internal_links: int
    external_links: int
    bullet_ratio: float
    has_overview: bool


def measure(article: str) -> Structure:
    """Count what the structure score looks at, on an article as render writes it.

    A table is a ``<table>``, a diagram a Mermaid block, a link an ``<a href>`` (external when
    it leaves the site); the bullet ratio is list items among the article's lines of text
    (paragraphs, list items, table rows, headings), as it was among the lines of its Markdown."""
    headings = [_ESCAPE.sub(r"\1", text) for text in _HEADING.findall(article)]
    html = _HEADING.sub(" ", article)
    external = internal = 0
    for target in _LINK.findall(html):
        if target.startswith(("http://", "https://")):
            external += 1
        elif not target.startswith(("#", "mailto:")):
            internal += 1
    prose = html_lib.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", _CODE.sub(" ", html))))
    words = len(_WORD.findall(prose)) + sum(len(_WORD.findall(text)) for text in headings)
    text_lines = len(_TEXT_LINE.findall(html)) + len(headings)
    ratio = len(_LIST_ITEM.findall(html)) / text_lines if text_lines else 0.0
    return Structure(words, html.count("<table"), html.count('<pre class="kb-mermaid"'), internal, external,
                     round(ratio, 3), any(text.lower() == "overview" for text in headings))


# Points per signal, from shared/notes/reference-wiki.md ("Score out of 15").
SCORE_RULES: dict[str, tuple[tuple[float, int], ...]] = {
    "words": ((800, 2), (300, 1)),
    "tables": ((3, 3), (2, 2), (1, 1)),
    "diagrams": ((2, 2), (1, 1)),
    "internal_links": ((4, 2), (1, 1)),
    "external_links": ((6, 3), (3, 2), (1, 1)),
}
BULLET_RULES = ((0.3, 2), (0.5, 1))  # bullet ratio strictly below the bound
OVERVIEW_POINTS = 1
MAX_SCORE = 15


def points(structure: Structure) -> dict[str, int]:
    result = {}
    for signal, rules in SCORE_RULES.items():
        value = getattr(structure, signal)
        result[signal] = next((p for floor, p in rules if value >= floor), 0)
    result["bullet_ratio"] = next((p for bound, p in BULLET_RULES if structure.bullet_ratio < bound), 0)
    result["overview"] = OVERVIEW_POINTS if structure.has_overview else 0
    return result


def structure_score(structure: Structure) -> int:
    return sum(points(structure).values())


def suggested_quality(score: int) -> int:
    return round(score / MAX_SCORE * 100)


_ADVICE_UNITS = {"words": "words", "tables": "table", "diagrams": "diagram",
                 "internal_links": "internal link", "external_links": "external link"}


def advice(structure: Structure, target_score: int) -> list[str]:
    """Cheapest additions that lift the structure score to ``target_score``."""
    current = points(structure)
    options: list[tuple[float, int, str]] = []
    for signal, rules in SCORE_RULES.items():
        value = getattr(structure, signal)
        for floor, gained in sorted(rules):
            if gained > current[signal]:
                need = int(floor - value)
                unit = _ADVICE_UNITS[signal]
                text = f"add {need} {unit}" + ("s" if need != 1 and unit != "words" else "")
                options.append((need / (gained - current[signal]), gained - current[signal], text))
                break
    if not structure.has_overview:
        options.append((0.5, OVERVIEW_POINTS, "add an Overview section"))
    if current["bullet_ratio"] < 2:
        options.append((5, 2 - current["bullet_ratio"], "turn bullet lists into prose (bullet ratio under 30%)"))
    missing = target_score - structure_score(structure)
    chosen = []
    for _cost, gain, text in sorted(options):
        if missing <= 0:
            break
        chosen.append(text)
        missing -= gain
    return chosen


# ---------------------------------------------------------------------------- completeness

_FIGURE = re.compile(r"\d")
_NOT_FIGURE_FIELDS = {"id", "importance", "quality", "last_edited", "review_by", "year", "founded",
                      "announced", "as_of", "date", "website", "url", "tags", "sources", "status"}


@dataclass
class Assessment:
    """What the score stage knows of one record before its page is rendered."""

    missing_fields: list[str]
    figures: int
    cited_figures: int
    backlinks: int
    past_review: bool
    stale: bool
    completeness: int  # 0-100
    uncited_source: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def suggested(self) -> int:
        """Suggested quality of a record page: completeness, and figures with a source."""
        citation = 100 if not self.figures else round(100 * self.cited_figures / self.figures)
        return round(0.6 * self.completeness + 0.4 * citation)


def recommended_fields(model) -> list[str]:
    """Optional fields of a kind: an editor should fill them, and the page says when not."""
    skip = {"aliases", "relations", "review_by", "quality", "status"}
    return [name for name, info in model.model_fields.items()
            if not info.is_required() and name not in skip and not name.startswith("featured")
            and typing.get_origin(info.annotation) is not dict]


@gc_paused()
def assess(graph: Graph, today: dt.date) -> dict[str, Assessment]:
    """Stage entry point: one assessment per record."""
    cited = {edge.target for edges in graph.outgoing.values() for edge in edges
             if graph.entries.get(edge.target) and graph.entries[edge.target].kind == "sources"}
    result = {}
    for record_id, entry in graph.entries.items():
        record = entry.record
        recommended = recommended_fields(type(record))
        missing = [name for name in recommended if getattr(record, name) in (None, [], "", {})]
        figures, cited_figures = _figures(record)
        completeness = round(100 * (len(recommended) - len(missing)) / len(recommended)) if recommended else 100
        result[record_id] = Assessment(
            missing_fields=missing,
            figures=figures,
            cited_figures=cited_figures,
            backlinks=len(graph.backlink_sources(record_id)),
            past_review=bool(record.review_by and record.review_by < today),
            stale=bool(record.last_edited and (today - record.last_edited).days > STALE_AFTER_DAYS),
            completeness=completeness,
            uncited_source=entry.kind == "sources" and record_id not in cited,
        )
    return result


def _figures(record) -> tuple[int, int]:
    """Text fields that state a figure, and how many of them have a source to stand on.

    A figure is cited when its own object names a ``source`` or the record lists sources.
    """
    record_sources = bool(getattr(record, "sources", None)) or bool(getattr(record, "source", None))
    figures = cited = 0
    stack = [(record, record_sources)]
    while stack:
        model, has_source = stack.pop()
        own_source = has_source or bool(getattr(model, "source", None))
        for name in type(model).model_fields:
            if name in _NOT_FIGURE_FIELDS:
                continue
            value = getattr(model, name)
            values = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
            for item in values:
                if hasattr(type(item), "model_fields"):
                    stack.append((item, own_source))
                elif isinstance(item, (str, float, int)) and not isinstance(item, bool) and _FIGURE.search(str(item)):
                    figures += 1
                    cited += own_source
    return figures, cited
