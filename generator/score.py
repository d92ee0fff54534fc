"""Stage 4, score: how good each page is and what it lacks, for every record.

Two kinds of measure:

* the structure score out of 15 of a record with an article (a topic), counted on the article
  as the reader gets it (``measure``), so this stage builds the article (``article.build``) and
  hands it on; the rules and thresholds are those of the source wiki, decoded in
  shared/notes/reference-wiki.md;
* record completeness: which recommended fields are empty and how many stated figures cite
  a source, computed from the graph for every record.

Everything a page shows about quality comes from here finished (``Score``): the status header's
values, the quality band, the warning, what the dashboard says a page lacks and its flags.
Render lays them out.
"""
from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import typing
from dataclasses import dataclass, field
from functools import lru_cache

from . import article, incremental, processes
from .core import Entry, gc_paused
from .kinds import KINDS, fields_of, label_of, unwrap
from .link import Graph
from .models import BANDS, UNKNOWN, scale_text
from .present import Links

# ---------------------------------------------------------------------------- bands and ages
QUALITY_BANDS, IMPORTANCE_BANDS = BANDS["quality"], BANDS["importance"]  # declared in models
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
_MARKS = re.compile(r'<math\b.*?</math>|<sup class="kb-cite">.*?</sup>|<sup id="fnref[^"]*">.*?</sup>'
                    r'|<a class="footnote-backref"[^>]*>.*?</a>', re.S)
_NOTES = re.compile(r'<div class="footnote">.*?</div>', re.S)  # the footnotes' list (holds no div)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]#|])")  # a heading's escapes (prose._MD_PUNCTUATION)


def _headings(article: str) -> tuple[list[str], str]:
    """(the text of each heading line, the article with each heading line replaced by a space):
    what ``_HEADING.findall`` and ``_HEADING.sub(" ", ...)`` give, the matches tried only where a
    line starts with '#' (found by str.find) rather than by the regex engine at every place of
    the article, which cost a quarter of measuring it."""
    headings: list[str] = []
    pieces: list[str] = []
    done = 0  # the end of the last match: findall goes on from there
    at = 0 if article.startswith("#") else article.find("\n#") + 1 or -1
    while at != -1:
        if at >= done:
            match = _HEADING.match(article, at)
            if match is not None:
                headings.append(_ESCAPE.sub(r"\1", match.group(1)))
                pieces += [article[done:match.start()], " "]
                done = match.end()
        at = article.find("\n#", at) + 1 or -1
    pieces.append(article[done:])
    return headings, "".join(pieces) if len(pieces) > 1 else article


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
    headings, html = _headings(article)
    external = internal = 0
    for target in _LINK.findall(html):
        if target.startswith(("http://", "https://")):
            external += 1
        elif not target.startswith(("#", "mailto:")):
            internal += 1
    # a formula is a word; citation and footnote marks and the notes' back-links are none; the
    # notes' words count, their list is no bullet list
    words_html = _MARKS.sub(lambda m: " formula " if m.group(0).startswith("<math") else "", html)
    html = _NOTES.sub(" ", html)
    prose = html_lib.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", _CODE.sub(" ", words_html))))
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

# What states no figure: a date, a year, a rating, an address, a tag or a reference is a number
# or holds digits without being a claim that needs a source.
_NOT_FIGURES = {"date", "partial-date", "year", "rating", "url", "tags", "link", "scale", "choice"}


def judged_fields(model) -> list[str]:
    """Fields holding an editorial judgment that may be UNKNOWN (``models.Scale(judgment=True)``),
    themselves or in the value they hold (a risk's likelihood): an unknown one counts as missing."""
    return [spec.name for spec in fields_of(model) if _holds_judgment(spec)]


def _holds_judgment(spec) -> bool:
    if spec.vocabulary is not None:
        return spec.vocabulary.judgment
    bare, _, _ = unwrap(spec.info.annotation)
    return isinstance(bare, type) and hasattr(bare, "model_fields") and any(
        _holds_judgment(inner) for inner in fields_of(bare))


def unassessed(value) -> bool:
    """Empty, or a judgment left UNKNOWN (in a nested value too)."""
    if value in (None, [], "", {}) or value == UNKNOWN:
        return True
    return hasattr(type(value), "model_fields") and any(
        getattr(value, spec.name) == UNKNOWN for spec in fields_of(type(value))
        if spec.vocabulary is not None and spec.vocabulary.judgment)


def last_day(partial: str) -> dt.date:
    """The last day a partial date can mean: 2025-03 -> 2025-03-31 (a record is not stale early)."""
    parts = [int(part) for part in partial.split("-")]
    if len(parts) == 3:
        return dt.date(*parts)
    if len(parts) == 1:
        return dt.date(parts[0], 12, 31)
    following = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def recommended_fields(model) -> list[str]:
    """Optional fields of a kind that an editor should fill (``Shown.recommended``), and the
    page says when not; mappings (a topic's own tables and diagrams) are never required."""
    return [spec.name for spec in fields_of(model)
            if not spec.required and spec.shown.recommended and typing.get_origin(unwrap(spec.info.annotation)[0]) is not dict]


@lru_cache(maxsize=None)
def _wanted(model) -> tuple[str, ...]:
    """What a record of ``model`` should have filled in: the recommended fields, and every
    judgment (required ones too), since `unknown` is an honest value that still leaves the page
    lacking it. Worked out once per model (fields_of is), not for each record."""
    return tuple(dict.fromkeys(recommended_fields(model) + judged_fields(model)))


@lru_cache(maxsize=None)
def _labels(model) -> dict[str, str]:
    return {spec.name: spec.label for spec in fields_of(model)}


@dataclass
class Score:
    """Everything the site shows about one record's quality, worked out once."""

    missing_fields: list[str]
    figures: int
    cited_figures: int
    backlinks: int
    past_review: bool
    stale: bool
    completeness: int  # 0-100
    uncited_source: bool
    suggested: int
    quality: int  # the editor's rating, else the suggested one
    quality_is_suggested: bool
    warning: bool  # the editor's rating and the suggested one differ by QUALITY_WARNING_GAP or more
    bands: dict[str, str]  # rating field -> its band ("importance" -> "Essential")
    ratings: dict[str, tuple[int, bool]]  # rating field -> (the rating shown, whether it is only suggested)
    header: dict  # the status header, as the page shows it
    lacks: list[str]  # what it takes to reach the next quality band
    next_band: str | None
    flags: list[str]  # the dashboard's flags
    structure: Structure | None = None  # of its article, if it has one
    structure_score: int | None = None
    article: bytes = b""  # the article's Markdown as UTF-8, for render
    uncited_estimates: int = 0  # estimates stated without a source of their own (allowed, flagged)


def _words(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


# An article (prose through Python-Markdown and the allow-list, its tables and diagrams) costs
# about 15 ms: from this many, scoring half of the records in a forked child pays for the fork.
ARTICLES_PARALLEL_FROM = 8


@gc_paused()
def score(graph: Graph, today: dt.date, memo: incremental.Memo | None = None, images: tuple = ()) -> dict[str, Score]:
    """Stage entry point: one Score per record.

    The records are scored in two processes for a large base (``processes.split_map``), each
    building the articles of its half: they are independent of one another. With a ``memo``
    (``kb serve``), only the records whose Score read something that changed since the memo's
    last run are scored again (``images``: the content's image files, see incremental)."""
    cited_kinds = {name for name, kind in KINDS.items() if kind.cited}
    # every edge ends at a record of the base (link makes no other): the cited records are those
    # of a cited kind with an edge in
    cited = {record_id for record_id, edges in graph.incoming.items()
             if edges and record_id in graph.entries and graph.entries[record_id].kind in cited_kinds}
    links = Links(graph.entries)

    def one(entry: Entry, graph: Graph = graph, links: Links = links, cited=cited) -> Score:
        built = article.build(graph, links, entry) if entry.prose is not None else None
        return _score(graph, entry, today, cited_kinds, cited, built)

    def tracked(entry: Entry) -> tuple[Score, dict]:
        reads = incremental.Reads()
        reads.tables["entry"].add(entry.id)
        reads.tables["images"].add(incremental.IMAGES)  # what the articles show
        made = one(entry, incremental.tracked_graph(graph, reads), incremental.tracked_links(links, reads),
                   incremental.tracked_set(cited, reads, "cited"))
        return made, reads.done()

    def many(entries: list[Entry], function) -> list:
        # The articles cost the most: each half gets half of them (split_map cuts the list in two).
        with_prose = [entry for entry in entries if entry.prose is not None]
        without = [entry for entry in entries if entry.prose is None]
        ordered = with_prose[0::2] + without + with_prose[1::2]
        made = processes.split_map(function, ordered, 0 if len(with_prose) >= ARTICLES_PARALLEL_FROM else None)
        by_id = {entry.id: value for entry, value in zip(ordered, made)}
        return [by_id[entry.id] for entry in entries]

    entries = list(graph.entries.values())
    if memo is None:
        return dict(zip(graph.entries, many(entries, one)))
    view = incremental.View.of(graph, today, cited=cited, images=images)
    made = memo.each("score", view, entries, lambda stale: many(stale, tracked))
    memo.scored = (graph, view)
    return {record_id: made[record_id] for record_id in graph.entries}


def _score(graph: Graph, entry: Entry, today: dt.date, cited_kinds: set, cited: set,
           built: str | None) -> Score:
    record = entry.record
    # what should be filled in: the recommended fields, and every judgment (required ones too),
    # since `unknown` is an honest value that still leaves the page lacking it
    recommended = _wanted(type(record))
    missing = [name for name in recommended if unassessed(getattr(record, name))]
    unknowns = any(getattr(record, name) not in (None, [], "", {}) for name in missing)
    # A record cites a source when a field of its own does (below) or one of its relations does.
    by_relation = any(e.origin == "citation" and e.field == "relations" for e in graph.outgoing.get(entry.id, ()))
    figures, cited_figures, uncited_estimates = _figures(record, by_relation)
    completeness = round(100 * (len(recommended) - len(missing)) / len(recommended)) if recommended else 100
    structure = measure(built) if built is not None else None
    structure_points = structure_score(structure) if structure is not None else None
    if structure is not None:
        suggested = suggested_quality(structure_points)
    else:
        citation = 100 if not figures else round(100 * cited_figures / figures)
        suggested = round(0.6 * completeness + 0.4 * citation)
    if unknowns:  # a page of judgments nobody has made is not comprehensive, however long
        suggested = min(suggested, QUALITY_BANDS[0][0] - 1)
    quality = record.quality if record.quality is not None else suggested
    warning = record.quality is not None and abs(record.quality - suggested) >= QUALITY_WARNING_GAP
    backlinks = len(graph.backlink_sources(entry.id))
    past_review = bool(record.review_by and record.review_by < today)
    stale = bool(record.last_edited and (today - last_day(record.last_edited)).days > STALE_AFTER_DAYS)
    uncited_source = entry.kind in cited_kinds and entry.id not in cited
    bands = {"quality": band(quality)}
    ratings = {"quality": (quality, record.quality is None)}
    for spec in fields_of(type(record)):  # every other rating the model declares, with its band
        value = getattr(record, spec.name)
        if spec.show == "rating" and spec.name not in ratings and value is not None:
            bands[spec.name] = band(value, BANDS[spec.shown.bands])
            ratings[spec.name] = (value, False)
    labels = _labels(type(record))
    missing_labels = [labels.get(name, label_of(name)) for name in missing]
    header = {
        "quality": quality,
        "quality_band": bands["quality"],
        "quality_is_suggested": record.quality is None,
        "suggested": suggested,
        "warning": warning,
        "warning_gap": QUALITY_WARNING_GAP,
        "importance": record.importance,
        "importance_band": bands.get("importance"),
        "last_edited": record.last_edited,
        "words": _words(structure.words) if structure else None,
        "backlinks": backlinks,
        "structure": structure,
        "score": structure_points,
        "max_score": MAX_SCORE,
        "bullet_percent": round(structure.bullet_ratio * 100) if structure else None,
        "missing": missing_labels,
        "figures": figures,
        "cited_figures": cited_figures,
        "uncited_estimates": uncited_estimates,
        "status": scale_text(record.status) if record.status else None,
    }
    target = next_band(quality)
    lacks: list[str] = []
    if target:
        if structure is not None:
            lacks = advice(structure, -(-target[0] * MAX_SCORE // 100))
        else:
            lacks = [f"fill in {', '.join(missing_labels)}".lower()] if missing_labels else []
            if cited_figures < figures:
                lacks.append(f"cite a source for {figures - cited_figures} figure(s)")
    flags = [name for name, flagged in (
        ("quality differs", warning), ("overdue", past_review), ("stale", stale),
        ("orphan", not backlinks), ("uncited", uncited_source), ("uncited estimate", uncited_estimates)) if flagged]
    return Score(missing, figures, cited_figures, backlinks, past_review, stale, completeness, uncited_source,
                 suggested, quality, record.quality is None, warning, bands, ratings, header, lacks,
                 target[1] if target else None, flags, structure, structure_points,
                 built.encode("utf-8") if built is not None else b"",
                 uncited_estimates)


def _cites(model) -> bool:
    """Whether the model names a source of its own (a reference that is a citation)."""
    return any(spec.ref is not None and spec.ref.origin == "citation" and getattr(model, spec.name)
               for spec in fields_of(type(model)))


def _figures(record, cites: bool = False) -> tuple[int, int, int]:
    """Text fields that state a figure, how many of them have a source to stand on, and how many
    estimates are stated without one.

    A figure is cited when its own object, or the record, names a source (a citation). A value
    that answers for its own estimates (``uncited()``, a position) stands only on its own source:
    what someone estimated is not sourced by the record's general sources."""
    figures = cited = uncited_estimates = 0
    stack = [(record, cites or _cites(record))]
    while stack:
        model, has_source = stack.pop()
        if hasattr(model, "uncited"):
            uncited_estimates += model.uncited()
            own_source = _cites(model)
        else:
            own_source = has_source or _cites(model)
        for spec in fields_of(type(model)):
            if spec.show in _NOT_FIGURES or spec.name == "id":
                continue
            value = getattr(model, spec.name)
            values = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
            for item in values:
                if hasattr(type(item), "model_fields"):
                    stack.append((item, own_source))
                elif isinstance(item, (str, float, int)) and not isinstance(item, bool) and _FIGURE.search(str(item)):
                    figures += 1
                    cited += own_source
    return figures, cited, uncited_estimates


_FIGURE = re.compile(r"\d")
