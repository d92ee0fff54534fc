"""What every emitter and the article share: escaping, links between pages, values as the site
shows them, tables, paging and the templates.

Every string from a record is escaped here for the context it lands in: ``h`` in the HTML
blocks that make up most of a page (summary, infobox, status header, tables, relations,
backlinks, references, index and dashboard tables); ``md`` in what stays Markdown (a title,
the home page's list); a topic's prose is converted and sanitized by ``prose``. So a name like
``<script>`` or a ``|`` in a table cell reaches the reader as the text the editor typed.
A value shows as its field declares (``kinds.fields_of``: link, scale, choice, figure...), the
same in an infobox, an index cell and a table.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

import jinja2
from pydantic import BaseModel

from .core import NOT_IN_YAML, Entry
from .kinds import KINDS, FieldSpec, field_of
from .models import Column, choice_text, scale_text
from .vocabulary import DEFAULT

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
    text = json.dumps(html.escape(" ".join(str(value).split())), ensure_ascii=False)
    return NOT_IN_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def h(value: Any) -> str:
    """Escape text for HTML: element content or an attribute value."""
    return html.escape(" ".join(str(value).split()), quote=True)


_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 .,_'/()-]")
MAX_LABEL = 48


def mermaid_label(text: str) -> str:
    """A node or edge label that no name can break: everything but plain characters as
    Mermaid entity codes (``#60;``), long names cut."""
    text = " ".join(str(text).split())
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return _MERMAID_UNSAFE.sub(lambda m: f"#{ord(m.group())};", text)


# ---------------------------------------------------------------------------- pages and links


def page_path(entry: Entry) -> str:
    return f"{entry.kind}/{entry.id}.md"


def links_page(entry: Entry) -> str:
    """The page listing every record that links to ``entry``, made when its own page cannot."""
    return f"links/{entry.kind}/{entry.id}.md"


def href(from_page: str, to_page: str) -> str:
    """Relative link between two generated pages (posixpath.relpath, without its file-system
    calls: it was a third of the render stage)."""
    from_dir = from_page.rpartition("/")[0]
    to_dir, _, name = to_page.rpartition("/")
    if from_dir == to_dir:
        return name
    return "../" * (from_dir.count("/") + 1 if from_dir else 0) + to_page


def url(from_page: str, to_page: str) -> str:
    """The built page's address, for links written as HTML (engines rewrite only Markdown links)."""
    return href(from_page, to_page)[:-3] + ".html"


class Links:
    """Links to the records of one base, from any page."""

    def __init__(self, entries: dict[str, Entry]):
        self.entries = entries
        self._anchors: dict[tuple[str, str], str] = {}

    def a(self, from_page: str, record_id: str, text: str | None = None) -> str:
        """An HTML link to a record's page, showing its name (or ``text``)."""
        if text is None:  # the same link recurs on many pages of a folder: made once per folder
            key = (from_page.rpartition("/")[0], record_id)
            anchor = self._anchors.get(key)
            if anchor is None:
                anchor = self._anchors[key] = self.a(from_page, record_id, self.entries[record_id].name)
            return anchor
        entry = self.entries[record_id]
        return f'<a href="{url(from_page, page_path(entry))}">{h(text)}</a>'

    def has(self, record_id: str) -> bool:
        return record_id in self.entries

    def target(self, from_page: str, record_id: str, text: str | None = None) -> tuple[str, str] | None:
        """(address, text on one line) of a link from a page to a record, None if there is none."""
        entry = self.entries.get(record_id)
        return None if entry is None else (url(from_page, page_path(entry)), " ".join((text or entry.name).split()))

    def many(self, from_page: str, ids: Iterable[str]) -> str:
        return ", ".join(self.a(from_page, i) for i in ids)

    def markdown(self, from_page: str, record_id: str) -> str:
        """A Markdown link, for what stays Markdown (the home page's list)."""
        entry = self.entries[record_id]
        return f"[{md(entry.name)}]({href(from_page, page_path(entry))})"

    def tag(self, from_page: str, tag: str) -> str:
        return f'<a href="{url(from_page, f"tags/{tag}.md")}">{h(tag)}</a>'


class Page:
    """A page of the site: its path in the docs tree ("risks/goal-drift.md") and its Markdown.

    The Markdown is kept as UTF-8 (``data``). As a str, a page holding one character beyond
    Latin-1 (a "›", an emoji of the status header, a formula's 𝔼) costs two or four bytes a
    character: at 10,000 records the rendered pages took 1.0 GB as text and 0.3 GB as UTF-8."""

    __slots__ = ("path", "data")

    def __init__(self, path: str, markdown: str) -> None:
        self.path = path
        self.data = markdown.encode("utf-8")

    @property
    def markdown(self) -> str:
        return self.data.decode("utf-8")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Page) and (self.path, self.data) == (other.path, other.data)

    def __repr__(self) -> str:
        return f"Page({self.path!r}, {len(self.data):,} bytes)"


@dataclass
class Base:
    """The finished view of the base that every emitter reads: the linked records, their scores
    and the build's day. Nothing in it changes while the pages are made."""

    graph: Any  # link.Graph
    scores: dict[str, Any]  # record id -> score.Score
    today: dt.date
    links: Links = field(init=False)
    # record id -> its related records, worked out before the pages (kb serve's memo does, and
    # keeps them: a page is made again only when its related records changed, not whenever
    # something they were ranked from did); None: each page works out its own
    related_of: dict | None = field(default=None, init=False, repr=False, compare=False)
    _by_name: dict | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.links = Links(self.graph.entries)

    def related(self, record_id: str) -> dict[str, list[str]]:
        """The records shown as related to one, by kind (``link.related``)."""
        if self.related_of is not None:
            return self.related_of[record_id]
        from .link import related

        return related(self.graph, record_id)

    def by_name(self, kind: str) -> list[str]:
        """The ids of a kind's records by name, as its index and the dashboard list them: worked
        out for every kind in one walk of the base, once (the emitters' parts ask on every build)."""
        if self._by_name is None:
            self._by_name = {folder: [] for folder in KINDS}
            for entry in sorted(self.graph.entries.values(), key=lambda e: e.name.lower()):  # (stable)
                self._by_name[entry.kind].append(entry.id)
        return self._by_name[kind]


# ---------------------------------------------------------------------------- values

_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def month_year(partial: str) -> str:
    parts = partial.split("-")
    return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}" if len(parts) >= 2 else parts[0]


def host(address: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", address).split("/")[0]


def is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def value_html(links: Links, page: str, spec: FieldSpec, value: Any, bands: dict[str, str] | None = None) -> str:
    """One field's value as HTML, as its field declares it shows ("" for no value); a list's
    items each so, joined."""
    if is_empty(value):
        return ""
    if spec.show == "tags":
        return ", ".join(links.tag(page, tag) for tag in value)
    if isinstance(value, (list, tuple)):
        return ", ".join(text for text in (_one_value(links, page, spec, item, bands) for item in value) if text)
    return _one_value(links, page, spec, value, bands)


SAFE_SCHEMES = ("http://", "https://", "mailto:")  # a "url" value with another scheme shows as text


def _one_value(links: Links, page: str, spec: FieldSpec, value: Any, bands: dict[str, str] | None) -> str:
    if is_empty(value):
        return ""
    show = spec.show
    if show == "link":
        return links.a(page, value) if links.has(value) else h(value)
    if show == "url":
        return f'<a href="{h(value)}">{h(value)}</a>' if str(value).lower().startswith(SAFE_SCHEMES) else h(value)
    if show == "scale":
        return h(scale_text(value))
    if show == "choice":
        return h(choice_text(value))
    if show == "rating" and bands and spec.name in bands:
        return f"{value:g} ({h(bands[spec.name])})"
    if show == "long":  # in a cell, its first paragraph: the record's page has them all
        first, *more = paragraphs(value)
        return h(first) + (" …" if more else "")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, BaseModel):
        return h(value.shown()) if hasattr(value, "shown") else h(", ".join(
            f"{k}: {v}" for k, v in value.model_dump(exclude_none=True).items()))
    return h(value)


def paragraphs(text: str) -> list[str]:
    """A long field's paragraphs (split at blank lines), each on one line."""
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]


def with_note(links: Links, page: str, record: BaseModel, spec: FieldSpec, bands=None) -> str:
    """A field's value, and in parentheses the text of its note field (``Shown.note``) if any."""
    text = value_html(links, page, spec, getattr(record, spec.name), bands)
    note = spec.shown.note and getattr(record, spec.shown.note)
    return text + f" ({h(note)})" if text and note else text


def reference_anchor(source_id: str) -> str:
    """The anchor of a source's entry in a page's numbered references, which a ``[[cite:...]]``
    of the page's article links to."""
    return f"ref-{source_id}"


def sort_key(spec: FieldSpec, value: Any, vocabulary=DEFAULT) -> str:
    """What an index column sorts by: a scale by its order in the base's ``vocabulary`` (unknown
    after every step), a number by its value, text as text."""
    if is_empty(value) or isinstance(value, (list, tuple)):
        return ""  # a list sorts by its text
    if spec.show == "scale":
        return f"{spec.values(vocabulary).index(value):02d}"
    if spec.show == "figure":
        return f"{value.value:020.6f}" if value.value is not None else ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return f"{value:06d}" if isinstance(value, int) else f"{value:020.6f}"
    return ""  # worked out from the cell's text by the caller


def cell(links: Links, page: str, row: Any, column: Column, is_record: bool) -> str:
    """One cell of a declared table (``models.Column``): the row's field (or method) shown as its
    field declares; the ``name`` of a row that is a record links to the record."""
    if is_record and column.field == "name":
        return links.a(page, row.id)
    attribute = getattr(row, column.field)
    if callable(attribute):
        text = h(attribute())
    else:
        spec = field_of(type(row), column.field)
        text = with_note(links, page, row, spec) if column.with_note else value_html(links, page, spec, attribute)
    if not text:
        text = h(column.empty) if column.empty else ""
    if column.date and getattr(row, column.date):
        text += f" ({h(month_year(getattr(row, column.date)))})"
    if column.cites and getattr(row, column.cites):
        text += f" ({links.a(page, getattr(row, column.cites))})"
    return f"<strong>{text}</strong>" if column.strong else text


def table(columns: list[str], rows: list[list[str]]) -> dict:
    return {"columns": columns, "rows": rows}


def declared_table(links: Links, page: str, columns: tuple[Column, ...], rows: Iterable, records: bool) -> dict:
    return table([h(c.heading) for c in columns],
                 [[cell(links, page, row, c, records) for c in columns] for row in rows])


# ---------------------------------------------------------------------------- long lists

# Long lists are split into pages of this many rows, so no page grows with the base: a reader
# on a slow line gets a page of about 100 KB, not one with every record of 10,000 (500 rows made
# index pages of 414 KB at 10,000 records).
PAGE_ROWS = 100
# Lists on the dashboard, the maps and the home page show this many and say how many more there are.
LIST_CAP = 100


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
            shown = []
            for other_number, other in enumerate(paths, start=1):
                first = (other_number - 1) * per_page + 1
                span = f"{first}–{min(first + per_page - 1, len(items))}"
                if other == here:
                    shown.append(f'<strong aria-current="page">{span}</strong>')
                else:
                    shown.append(f'<a href="{url(here, other)}">{span}</a>')
            pager = (f'<nav class="kb-pager" aria-label="Pages of this list">Page {number} of {len(chunks)} '
                     f'({len(items)} in all): {" · ".join(shown)}</nav>')
        result.append((here, chunk, pager))
    return result


@dataclass(frozen=True)
class Chunk:
    """One page of a long list as a part of an emitter (``emitters.Emitter.parts``): the page,
    the ids it lists in order, its pager and how many the whole list has. It is all the page
    needs besides what it reads through the base, so kb serve makes a page again only when a
    record it lists changed, or the list moved under it."""

    path: str
    ids: tuple[str, ...]
    pager: str
    total: int


def chunks(path: str, ids: list[str]) -> list[Chunk]:
    """The pages of a list of ids (``paged``) as parts."""
    return [Chunk(page, tuple(chunk), pager, len(ids)) for page, chunk, pager in paged(path, ids)]


def capped(items: list[str], total_note: str = "", total: int | None = None) -> str:
    """A comma-separated list of at most LIST_CAP items, saying how many are left out and where they
    are; ``total``: how many there are, when ``items`` holds only the first LIST_CAP."""
    total = len(items) if total is None else total
    if not total:
        return ""
    shown = ", ".join(items[:LIST_CAP])
    if total > LIST_CAP:
        shown += f" … and {total - LIST_CAP} more{total_note}"
    return shown


def by_importance(entry: Entry) -> tuple:
    return (-(entry.record.importance or 0), entry.name.lower())


# ---------------------------------------------------------------------------- templates


@lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        autoescape=False,  # values arrive escaped by md() (Markdown) or h() (HTML); templates lay them out
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # one render: no need to stat each template on every use
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(title=front_matter_title)
    return environment


def template(name: str) -> jinja2.Template:
    return _environment().get_template(name)
