"""The record kinds as pydantic models: the single definition of what an editor may write.

Every field that names another record is a ``Ref``: it records which kinds it accepts and
how the edge reads from both ends ("developed by" on the system, "develops" on the
organization). The link stage reads those annotations; nothing else lists them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Optional

from pydantic_core import PydanticCustomError
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints,
                      ValidationInfo, model_validator)

# ---------------------------------------------------------------------------- presentation


@dataclass(frozen=True)
class Shown:
    """How a field shows on the site, declared beside its type. Every stage reads it through
    ``kinds.fields_of`` (render, score, export, the schemas, ``kb new``, the README's tables);
    none tests a field's or a kind's name. Put it in ``Annotated[...]`` on a field or on a type
    (``Severity`` below); the field's own declaration wins."""

    label: str | None = None  # default: the field's name as words ("as_of" -> "As of")
    show: str | None = None  # one of SHOWS; default worked out from the type (kinds.fields_of)
    infobox: str = "yes"  # "yes": a row in model order; "end": after those, by `order`; "no": not there
    order: int = 0  # among the "end" rows
    note: str | None = None  # a field whose text follows this one's, in parentheses
    facet: bool = False  # a facet of the kind's table in the SQLite export (Datasette)
    role: bool = False  # part of "who they are" next to a position (an expert's affiliation and role)
    recommended: bool = True  # when optional: an editor should fill it, and the page says when not
    table: "Table | None" = None  # a table a topic places in its prose
    section: "Section | None" = None  # a section of the record's page
    bands: str = "quality"  # a rating's band names: a key of BANDS
    placed: str | None = None  # "table" or "diagram": a dict of them, each placed in the prose by name


# How a value shows: "text" as written; "link" the record's name linking to its page; "scale" a
# step of an ordered scale ("Medium-high"; sorts by its order); "choice" one of a fixed set
# ("Frontier lab"); "figure" a number with unit and range; "url" a web address as a link;
# "date" and "partial-date" as written; "number"; "rating" a 0-100 rating with its band; "year"; "tags"
# links to the tag pages; "list" the items joined; "model" a nested record's own text(); "long" text
# of several paragraphs, a section of the record's page under the field's label (never the infobox).
SHOWS = ("text", "link", "scale", "choice", "figure", "url", "date", "partial-date", "number", "rating",
         "year", "tags", "list", "model", "long")

# The band of a 0-100 rating, by its floor (shared/notes/reference-wiki.md, "The page header, decoded").
BANDS: dict[str, tuple[tuple[int, str], ...]] = {
    "quality": ((80, "Comprehensive"), (60, "Good"), (40, "Adequate"), (20, "Draft"), (0, "Stub")),
    "importance": ((90, "Essential"), (70, "High"), (50, "Useful"), (30, "Reference"), (0, "Peripheral")),
}

SCALE = Shown(show="scale")
HIDDEN = Shown(infobox="no")
SETTING = Shown(infobox="no", recommended=False)  # editorial: not something a record lacks


@dataclass(frozen=True)
class Column:
    """A column of a table on the site: its heading and the field of the row that fills it
    (a method name works too: ``text`` of a position). ``strong`` shows the value in bold;
    ``empty`` stands in for no value; ``date`` appends the month and year of a partial date
    field ("DeepMind (May 2025)"); ``cites`` appends a link to the source that field names."""

    heading: str
    field: str
    strong: bool = False
    empty: str = ""
    date: str | None = None
    cites: str | None = None
    with_note: bool = True  # the value's note field (Shown.note) in parentheses


@dataclass(frozen=True)
class Table:
    """A field that a topic places in its prose as a table (``[[table:name]]``).

    Its rows are the field's items (a list of rows), or the records it names (a list of
    references, shown with ``columns``), or, with ``positions``, the positions that the named
    records hold on the topic itself."""

    columns: tuple[Column, ...]
    positions: bool = False


@dataclass(frozen=True)
class Section:
    """A table with a heading on a record's page: of a field's items (an expert's positions),
    or, on a reference (``Ref(listed=...)``), of every record naming the page's record there
    (the responses that address a risk). With ``empty`` the section shows even with no rows."""

    title: str
    columns: tuple[Column, ...]
    empty: str | None = None


# ---------------------------------------------------------------------------- references


@dataclass(frozen=True)
class RefTo:
    """Marks a field whose value is the id of another record."""

    kinds: tuple[str, ...]  # accepted kinds, by folder name; empty accepts any kind
    label: str  # the edge as read from the record holding the field
    inverse: str  # the edge as read on the target's page
    # The field names a record above this one in a hierarchy (a parent, what it is part of):
    # following such links must never lead back, so the link stage reports cycles.
    hierarchy: bool = False
    origin: str = "field"  # what the edge is (link.ORIGINS): "field", "citation" or "position"
    listed: Section | None = None  # a section on the target's page listing the records naming it


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80)]


def Ref(*kinds: str, label: str, inverse: str, hierarchy: bool = False, origin: str = "field",
        listed: Section | None = None):
    return Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80),
                     RefTo(tuple(kinds), label, inverse, hierarchy, origin, listed)]


def Cites(label: str = "cites", inverse: str = "cited by"):
    """A reference to the source a value stands on."""
    return Ref("sources", label=label, inverse=inverse, origin="citation")


# ---------------------------------------------------------------------------- scalars


def _no_blank_lines(text: str) -> str:
    if re.search(r"\n\s*\n", text.strip()):
        raise ValueError("must be one paragraph: remove the blank lines")
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


Text = Annotated[str, AfterValidator(_not_blank), StringConstraints(max_length=4000)]
# Several paragraphs (a risk's description, a source's abstract): a section of the page, not a cell.
LongText = Annotated[str, AfterValidator(_not_blank), StringConstraints(max_length=40000),
                     Shown(show="long", infobox="no")]
Cell = Annotated[str, StringConstraints(max_length=4000)]  # a table cell, which may be empty
Paragraph = Annotated[str, AfterValidator(_not_blank), AfterValidator(_no_blank_lines),
                      StringConstraints(max_length=4000)]
Tag = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=40)]


def _one_decimal(value: float) -> int | float:
    if round(value, 1) != value:
        raise ValueError(f"a rating has at most one decimal, e.g. {round(value, 1):g}")
    return int(value) if value == int(value) else value  # 80 stays 80 (also in the export), not 80.0


# A rating is a whole number or has one decimal (78.5); `true` or `"80"` is not one.
Rating = Annotated[float, Field(ge=0, le=100, strict=True), AfterValidator(_one_decimal),
                   PlainSerializer(lambda value: value, return_type=Any)]
Year = Annotated[int, Field(ge=1000, le=2100, strict=True), Shown(show="year")]
Url = Annotated[str, StringConstraints(pattern=r'^https?://[^\s<>"]+$', max_length=2000), Shown(show="url")]
# A number is written as one: `true` is not 1, nor `"8"` 8 (pydantic would read both so).
Number = Annotated[float, Field(strict=True)]
Percent = Annotated[float, Field(ge=0, le=100, strict=True)]


def _date_text(value):
    if not isinstance(value, (str, dt.date)):
        raise ValueError("must be a date written as YYYY-MM-DD")
    return value


# A date is written as text (YYYY-MM-DD); a bare number such as 0 is not 1970-01-01.
Date = Annotated[dt.date, BeforeValidator(_date_text), Shown(show="date")]


def _partial_date(text: str) -> str:
    parts = text.split("-")
    try:
        if len(parts) == 1:
            dt.date(int(parts[0]), 1, 1)
        elif len(parts) == 2:
            dt.date(int(parts[0]), int(parts[1]), 1)
        else:
            dt.date.fromisoformat(text)
    except ValueError:
        month = int(parts[1]) if len(parts) > 1 else 1
        why = ("there is no year 0" if int(parts[0]) < dt.MINYEAR else f"there is no month {month}"
               if not 1 <= month <= 12 else "that month has no such day")
        raise ValueError(f"'{text}' is not a real date: {why}") from None
    return text


# The schema's pattern also bounds the month and the day (2025-13 fails in the editor); the
# validator keeps the loose one so that _partial_date can say "not a real date" (2025-02-30 too).
PARTIAL_DATE_SCHEMA_PATTERN = r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?$"
PartialDate = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?$"),  # ASCII digits: \d takes any
    AfterValidator(_partial_date),
    Field(description="A year (2024), a year and month (2024-08) or a full date (2024-08-12).",
          json_schema_extra={"pattern": PARTIAL_DATE_SCHEMA_PATTERN}),
    Shown(show="partial-date"),
]

# ---------------------------------------------------------------------------- vocabularies

UNKNOWN = "unknown"  # a judgment nobody has made yet: shown as such, and counted as missing


@dataclass(frozen=True)
class Vocab:
    """Marks a field whose values are a list of the base's vocabulary (generator/vocabulary.py,
    content/vocabulary.yaml), by its key: "source_kinds", or a scale such as "severity" (ordered,
    low to high). A ``judgment`` also takes UNKNOWN."""

    key: str
    scale: bool = False
    judgment: bool = False

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema["x-kb-vocabulary"] = self.key  # generator/schemas.py writes the base's values here
        if self.judgment:
            schema["x-kb-judgment"] = True
        return schema


def _in_vocabulary(marker: Vocab):
    def check(value: str, info: ValidationInfo) -> str:
        if marker.judgment and value == UNKNOWN:
            return value
        checked = (info.context or {}).get("vocabulary")
        if checked is None:  # a model built outside a run: the default vocabulary
            from .vocabulary import Checked
            checked = Checked()
        if not checked.allows(marker.key, value):
            allowed = checked.values(marker.key) + ((UNKNOWN,) if marker.judgment else ())
            raise PydanticCustomError("choice", "not in the vocabulary", {"expected": allowed, "key": marker.key})
        return value
    return check


def Choice(key: str):
    """One value of the vocabulary's list ``key``."""
    marker = Vocab(key)
    return Annotated[str, marker, AfterValidator(_in_vocabulary(marker)), Shown(show="choice")]


def Scale(key: str, judgment: bool = False):
    """A step of the vocabulary's ordered scale ``key``; a ``judgment`` may be UNKNOWN."""
    marker = Vocab(key, scale=True, judgment=judgment)
    return Annotated[str, marker, AfterValidator(_in_vocabulary(marker)), SCALE]


# The editorial workflow is the generator's own, not the base's vocabulary.
Status = Annotated[Literal["stub", "draft", "published", "verified"], SCALE]
Severity = Scale("severity", judgment=True)
Effectiveness = Scale("effectiveness", judgment=True)
LikelihoodLevel = Scale("likelihood", judgment=True)
LikelihoodStatus = Scale("likelihood_status", judgment=True)
Confidence = Scale("confidence")
Strength = Scale("strength")
RelationType = Choice("relation_types")  # each type's inverse label is in the vocabulary too
CITING_RELATIONS = frozenset({"cites"})  # to a record of a cited kind, a citation (its References)


def rule(message: str, *fields: str | tuple, hint: str = "") -> PydanticCustomError:
    """A rule across fields broken, raised by a model validator: ``fields`` are those to fix,
    first the one the error is placed on (validate puts it at the first the editor wrote, else
    where the model's mapping is; the field named is that one, never the bare record)."""
    return PydanticCustomError("rule", message.replace("{", "{{").replace("}", "}}"), {"fields": fields, "hint": hint})


def given(*names: str) -> dict:
    """JSON Schema for "each of these fields is written and not null": the schema's half of a
    model validator's rule across fields, declared beside that validator."""
    return {"required": list(names), "properties": {name: {"not": {"type": "null"}} for name in names}}


def one_of_given(*names: str) -> dict:
    return {"anyOf": [given(name) for name in names]}


def needs(field: str, *required: str) -> dict:
    """When ``field`` is given, ``required`` must be given too."""
    return {"if": given(field), "then": given(*required)}


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never vanish. A number must be finite: pydantic
    would read the text 'nan' or 'inf' as a float, and the JSON export cannot hold one."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------- how values read


def scale_text(value: str) -> str:
    """'medium-high' -> 'Medium-High': a step of an ordered scale."""
    return "-".join(part.capitalize() for part in value.split("-"))


_ACRONYMS = {"url": "URL", "Url": "URL"}


def choice_text(value: str) -> str:
    """'frontier-lab' -> 'Frontier lab'; field names read as words ('as_of' -> 'As of', 'url' -> 'URL')."""
    text = value.replace("-", " ").replace("_", " ").capitalize()
    return " ".join(_ACRONYMS.get(word, word) for word in text.split(" "))


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"


_JOINED_UNITS = ("%", "x", "×")  # written against the number: 23%, 10x


class Relation(Strict):
    """A typed edge to any other record."""

    type: RelationType = Field(description="How the record relates to the target, e.g. builds-on.")
    target: Ref(label="", inverse="") = Field(description="Id of the record it relates to, of any kind.")
    strength: Optional[Strength] = Field(None, description="How strong the relation is.")
    note: Optional[Text] = Field(None, description="A sentence on the relation, shown beside it.")


class Quantity(Strict):
    """A figure: a number with unit and optional range or confidence interval, or a text."""

    value: Optional[Number] = Field(None, description="The number, e.g. 8.")
    text: Optional[Text] = Field(None, description="For a figure that is not a number, e.g. 'First since 1969'.")
    unit: str = Field("", description="Unit written after the number, e.g. months, % or x.")
    approximate: bool = Field(False, description="true shows the figure as approximate: ~8.")
    low: Optional[Number] = Field(None, description="Lower end of a range; give high too.")
    high: Optional[Number] = Field(None, description="Upper end of a range; give low too.")
    confidence: Optional[Percent] = Field(None, description="Confidence level of [low, high], e.g. 95.")
    qualifier: Optional[Text] = Field(None, description="Shown after the figure, e.g. '2012-2022'.")

    # The rules of _check that JSON Schema can say (not: low <= high).
    model_config = ConfigDict(json_schema_extra={**one_of_given("value", "text"), "allOf": [
        needs("low", "high"), needs("high", "low"), needs("confidence", "low", "high")]})

    @model_validator(mode="after")
    def _check(self):
        if self.value is None and self.text is None:
            raise rule("give a 'value' (a number) or a 'text'", "value", "text",
                       hint="add 'value:' with a number, or 'text:' with the figure in words")
        if (self.low is None) != (self.high is None):
            raise rule("give both 'low' and 'high', or neither", "low", "high",
                       hint="add the other end of the range, or remove this one")
        if self.low is not None and self.low > self.high:
            raise rule("'low' is greater than 'high'", "low", "high", hint="swap the two values")
        if self.confidence is not None and self.low is None:
            raise rule("'confidence' needs 'low' and 'high'", "confidence", "low",
                       hint="add 'low' and 'high' (the interval it is the confidence of), or remove 'confidence'")
        return self

    def shown(self) -> str:
        """1.2 (range: 0.4-3.6); ~8 months (95% CI: 5-14 months); 23%; a text as written."""
        if self.value is None:
            text = self.text
        else:
            unit = self.unit
            joined = unit in _JOINED_UNITS or not unit
            text = ("~" if self.approximate else "") + _number(self.value) + (unit if joined else f" {unit}")
            if self.low is not None:
                if joined and unit:
                    span = f"{_number(self.low)}{unit}-{_number(self.high)}{unit}"
                else:
                    span = f"{_number(self.low)}-{_number(self.high)}" + (f" {unit}" if unit else "")
                text += f" ({self.confidence:g}% CI: {span})" if self.confidence else f" (range: {span})"
            if self.text:
                text += f" {self.text}"
        if self.qualifier:
            text += f" ({self.qualifier})" if self.value is not None else f" {self.qualifier}"
        return text


class ProbabilityRange(Strict):
    low: Percent = Field(description="Lowest probability, in percent, e.g. 10.")
    high: Percent = Field(description="Highest probability, in percent, e.g. 30.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise rule("'low' is greater than 'high'", "low", "high", hint="swap the two values")
        return self

    def shown(self) -> str:
        return f"{self.low:g}-{self.high:g}%"


# ---------------------------------------------------------------------------- records

SourceRefs = list[Cites()]
TopicRefs = Annotated[list[Ref("topics", label="belongs to", inverse="covers")],
                      Field(description="Ids of the topics it belongs to; each topic's page lists it.")]
END = "end"


class Record(Strict):
    """Fields every kind has."""

    id: Annotated[Slug, HIDDEN, Field(
        description="The record's id and file name: lowercase letters, digits, single hyphens, e.g. gpt-4.")]
    summary: Annotated[Paragraph, HIDDEN, Field(
        description="One paragraph, no blank lines: what it is and why it matters.")]
    aliases: Annotated[list[Text], Shown(label="Also known as", infobox=END, order=2, recommended=False),
                       Field(description="Other names it is known by, e.g. [GPT4].")] = []
    tags: Annotated[list[Tag], Shown(show="tags", infobox=END, order=3, facet=True),
                    Field(description="Tags grouping related records, e.g. [evaluations]; each tag has a page.")] = []
    sources: Annotated[SourceRefs, HIDDEN, Field(
        description="Ids of the sources its figures and claims stand on, e.g. [metr-re-bench-2024].")] = []
    importance: Annotated[Optional[Rating], Shown(show="rating", infobox=END, order=1, bands="importance"),
                          Field(description="How important the record is to the base, 0 to 100, e.g. 78.5.")] = None
    quality: Annotated[Optional[Rating], Shown(show="rating", infobox="no", recommended=False),
                       Field(description="Editorial quality, 0 to 100 (one decimal at most); without it the page "
                                         "suggests one.")] = None
    status: Annotated[Optional[Status], Shown(infobox="no", facet=True, recommended=False),
                      Field(description="How finished the record is, from stub to verified.")] = None
    last_edited: Annotated[Optional[PartialDate], HIDDEN, Field(
        description="When it was last really edited: a date (2025-01-15), or only the month (2025-01) or year.")] = None
    review_by: Annotated[Optional[Date], SETTING, Field(
        description="Date by which to check the record again, YYYY-MM-DD; the dashboard lists it after that.")] = None
    relations: Annotated[list[Relation], SETTING, Field(
        description="Typed links to other records, e.g. [{type: builds-on, target: gpt-3}].")] = []

    @property
    def display_name(self) -> str:
        return getattr(self, "name", None) or getattr(self, "title")


class Named(Record):
    name: Annotated[Text, HIDDEN, Field(description="Name as shown on the site, e.g. METR.")]


class Position(Strict):
    """A stance someone holds on a topic: a paraphrased claim, a quotation, or both."""

    topic: Ref("topics", label="takes a position on", inverse="has a position from", origin="position") = Field(
        description="Id of the topic the position is on.")
    claim: Optional[Text] = Field(None, description="The position in our own words.")
    quote: Optional[Text] = Field(None, description="Their exact words, shown in quotation marks; needs a source.")
    estimate: Optional[Quantity] = Field(
        None, description="A figure they estimate, e.g. {value: 10, unit: '%'}; without a source it shows as uncited.")
    confidence: Optional[Confidence] = Field(None, description="How confident they are in it, e.g. high.")
    date: Optional[PartialDate] = Field(None, description="When they said it: a year, a year and month or a date.")
    source: Optional[Cites()] = Field(None, description="Id of the source; needed with a quote.")

    # The rules of _check, for the editor's schema.
    model_config = ConfigDict(json_schema_extra={**one_of_given("claim", "quote"), "allOf": [
        needs("quote", "source")]})

    @model_validator(mode="after")
    def _check(self):
        if not self.claim and not self.quote:
            raise rule("give a 'claim' (in your words) or a 'quote' (their exact words)", "claim", "quote",
                       hint="add 'claim:' with the position in your words, or 'quote:' with their exact words")
        if self.quote and not self.source:
            raise rule("a quotation needs a 'source'", "quote", "source",
                       hint="add 'source:' with the id of the source record it comes from, or write the "
                            "position in your own words as 'claim:'")
        return self

    def uncited(self) -> int:
        """Estimates stated without a source (allowed, and counted: the dashboard flags them)."""
        return int(self.estimate is not None and not self.source)

    def shown(self) -> str:
        """“Their words” our paraphrase (estimate: 10%, uncited; confidence: high)."""
        parts = []
        if self.quote:
            parts.append(f"“{self.quote}”")
        if self.claim:
            parts.append(self.claim)
        details = []
        if self.estimate:
            details.append(f"estimate: {self.estimate.shown()}" + (", uncited" if self.uncited() else ""))
        if self.confidence:
            details.append(f"confidence: {scale_text(self.confidence)}")
        if details:
            parts.append(f"({'; '.join(details)})")
        return " ".join(parts)


POSITIONS = Shown(infobox="no", section=Section("Positions", (
    Column("Topic", "topic"), Column("Position", "shown"), Column("Date", "date"), Column("Source", "source"))))


class System(Named):
    developer: Annotated[Optional[Ref("organizations", label="developed by", inverse="develops")],
                         Shown(facet=True),
                         Field(description="Id of the organization that developed it, e.g. openai.")] = None
    announced: Optional[PartialDate] = Field(
        None, description="When it was announced: a year, a year and month or a date.")
    capability: Text = Field(description="What the system can do, in one or two sentences.")
    achievement: Text = Field(description="What it achieved first or best, e.g. 'First model to ...'.")
    significance: Optional[Text] = Field(None, description="Why the system matters for AI safety.")
    limitations: Optional[Text] = Field(None, description="What it cannot do, or does badly.")
    url: Optional[Url] = Field(None, description="Web address of its announcement or home page.")
    topics: TopicRefs = []


class Expert(Named):
    affiliation: Annotated[Optional[Ref("organizations", label="affiliated with", inverse="affiliates")],
                           Shown(role=True, facet=True),
                           Field(description="Id of the organization the expert works at.")] = None
    role: Annotated[Optional[Text], Shown(role=True),
                    Field(description="The expert's role, e.g. Professor of computer science.")] = None
    url: Optional[Url] = Field(None, description="Web address of the expert's own page.")
    positions: Annotated[list[Position], POSITIONS,
                         Field(description="Stances the expert has taken on topics, each with its source.")] = []


OrganizationType = Choice("organization_types")


class Organization(Named):
    type: Annotated[OrganizationType, Shown(role=True, facet=True),
                    Field(description="What kind of organization it is.")]
    website: Optional[Url] = Field(None, description="Web address of the organization, e.g. https://metr.org.")
    founded: Optional[Year] = Field(None, description="Year the organization was founded, e.g. 2015.")
    headquarters: Optional[Text] = Field(None, description="Where it is based, e.g. London, UK.")
    parent: Optional[Ref("organizations", label="part of", inverse="has part", hierarchy=True)] = Field(
        None, description="Id of the organization it is part of, e.g. alphabet.")
    positions: Annotated[list[Position], POSITIONS,
                         Field(description="Stances the organization has taken on topics, each sourced.")] = []


class Likelihood(Strict):
    level: LikelihoodLevel = Field(description="How likely the risk is to come about, or unknown.")
    status: Optional[LikelihoodStatus] = Field(
        None, description="How far it has been observed: theoretical, emerging, occurring or established.")
    confidence: Optional[Confidence] = Field(None, description="How confident the estimate is, e.g. low.")
    low: Optional[Percent] = Field(None, description="Lowest estimate, in percent; give high too.")
    high: Optional[Percent] = Field(None, description="Highest estimate, in percent; give low too.")
    note: Optional[Text] = Field(None, description="What the estimate rests on, shown after it.")

    model_config = ConfigDict(json_schema_extra={"allOf": [needs("low", "high"), needs("high", "low")]})

    @model_validator(mode="after")
    def _check(self):
        if (self.low is None) != (self.high is None):
            raise rule("give both 'low' and 'high', or neither", "low", "high",
                       hint="add the other end of the range, or remove this one")
        if self.low is not None and self.low > self.high:
            raise rule("'low' is greater than 'high'", "low", "high", hint="swap the two values")
        return self

    def shown(self) -> str:
        """Likely (10-30%; emerging; confidence: low); a note."""
        text = scale_text(self.level)
        details = [f"{self.low:g}-{self.high:g}%"] if self.low is not None else []
        if self.status:
            details.append(scale_text(self.status).lower())
        if self.confidence:
            details.append(f"confidence: {scale_text(self.confidence).lower()}")
        if details:
            text += f" ({'; '.join(details)})"
        if self.note:
            text += f"; {self.note}"
        return text


class Risk(Named):
    description: LongText = Field(description="How the risk comes about; paragraphs separated by a blank line.")
    evidence: Text = Field(description="What has been observed that supports it, e.g. 'Alignment faking in tests'.")
    severity: Annotated[Severity, Shown(facet=True), Field(description="How severe the harm would be.")]
    likelihood: Optional[Likelihood] = Field(
        None, description="How likely it is, e.g. {level: likely, low: 10, high: 30}.")
    topics: TopicRefs = []


class Metric(Named):
    estimate: Quantity = Field(description="The figure, e.g. {value: 1.2, low: 0.4, high: 3.6}.")
    as_of: Optional[PartialDate] = Field(
        None, description="When the figure was measured: a year, a year and month or a date.")
    source: Ref("sources", label="sourced from", inverse="source of", origin="citation") = Field(
        description="Id of the source the figure comes from.")
    implication: Text = Field(description="What the figure means, e.g. 'Above 1, progress accelerates.'")
    measures: Optional[Ref(label="measures", inverse="measured by")] = Field(
        None, description="Id of the record it measures, of any kind.")
    topics: TopicRefs = []


ADDRESSED_BY = Section("Responses that address it", (
    Column("Response", "name"), Column("Mechanism", "mechanism"),
    Column("Effectiveness", "effectiveness", with_note=False)),
    empty="No response in the knowledge base addresses this risk yet.")


class Response(Named):
    mechanism: Text = Field(description="How the response works, e.g. 'Control access to training resources'.")
    current_status: Text = Field(description="Where it stands today, e.g. 'Export controls in place'.")
    effectiveness: Annotated[Effectiveness, Shown(note="effectiveness_note", facet=True),
                             Field(description="How effective it is judged to be.")]
    effectiveness_note: Annotated[Optional[Text], HIDDEN, Field(
        description="Why the effectiveness is rated so; shown after it in parentheses.")] = None
    addresses: list[Ref("risks", label="addresses", inverse="addressed by", listed=ADDRESSED_BY)] = Field(
        [], description="Ids of the risks it addresses; each risk's page lists it.")
    organizations: list[Ref("organizations", label="backed by", inverse="backs")] = Field(
        [], description="Ids of the organizations that back it or carry it out.")
    topics: TopicRefs = []


SourceKind = Choice("source_kinds")


class Source(Named):
    name: Annotated[Text, HIDDEN, Field(description="Short name the work is cited by, e.g. METR 2024.")]
    title: Annotated[Text, HIDDEN, Field(description="Full title of the work, as published.")]
    kind: Annotated[SourceKind, Shown(facet=True), Field(description="What kind of work it is.")]
    authors: list[Text] = Field([], description="Authors in the order of the publication, e.g. [Hjalmar Wijk].")
    year: Annotated[Optional[Year], Shown(facet=True), Field(description="Year of publication, e.g. 2024.")] = None
    publisher: Optional[Text] = Field(None, description="Publisher, journal or venue, e.g. arXiv.")
    organization: Optional[Ref("organizations", label="published by", inverse="publishes")] = Field(
        None, description="Id of the organization that published it.")
    url: Optional[Url] = Field(None, description="Web address where the work can be read.")
    abstract: Annotated[Optional[LongText], Shown(show="long", infobox="no", recommended=False), Field(
        description="The work's abstract or a summary of it; paragraphs separated by a blank line.")] = None

    def citation(self) -> tuple[str, str, str, str | None]:
        """How a page lists the source among its references: title, authors, venue and year, address."""
        venue = " ".join(str(part) for part in (self.publisher, self.year) if part)
        return self.title, ", ".join(self.authors), venue, self.url


# ---------------------------------------------------------------------------- topics

EntityType = Choice("entity_types")
SafetyRelevance = Scale("safety_relevance", judgment=True)
TableId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=60)]


class AssessmentRow(Strict):
    dimension: Text = Field(description="What is assessed, e.g. Technical feasibility.")
    rating: Text = Field(description="The assessment, shown in bold, e.g. High.")
    note: Text = Field(description="Why, in a sentence.")
    source: Optional[Cites()] = Field(None, description="Id of the source the assessment rests on.")


class Milestone(Strict):
    milestone: Text = Field(description="The milestone, e.g. Automated AI researcher.")
    conservative: Text = Field(description="When it comes on a conservative view, e.g. 2040.")
    median: Text = Field(description="When it comes on the median view, e.g. 2032.")
    aggressive: Text = Field(description="When it comes on an aggressive view, e.g. 2028.")
    dependencies: Text = Field(description="What it depends on.")


class Scenario(Strict):
    name: Text = Field(description="Name of the scenario, e.g. Fast takeoff.")
    duration: Text = Field(description="How long it takes, e.g. Days to months.")
    probability: ProbabilityRange = Field(description="Its probability in percent, e.g. {low: 10, high: 30}.")
    characteristics: Text = Field(description="What marks it out.")


class Observation(Strict):
    observation: Text = Field(description="What was observed against the topic's thesis.")
    data: Text = Field(description="The data behind it, shown with a link to its source.")
    implication: Text = Field(description="What it implies for the thesis.")
    source: Optional[Cites()] = Field(None, description="Id of the source of the data.")


class DataTable(Strict):
    """A small table of figures that fits no record kind (e.g. a benchmark comparison)."""

    title: Text = Field(description="Title shown above the table.")
    columns: list[Text] = Field(min_length=2, description="Column headings, at least two.")
    rows: list[list[Optional[Cell]]] = Field(min_length=1, description="Rows, each a list of one cell per column; "
                                             "a cell may be empty ('' or null).")
    source: Optional[Cites()] = Field(None, description="Id of the source of the figures.")

    @model_validator(mode="after")
    def _rectangular(self):
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise rule(f"row {index + 1} has {len(row)} cells; the table has {len(self.columns)} columns",
                           ("rows", index), hint=f"give each row {len(self.columns)} cells, in column order")
        return self


class Diagram(Strict):
    title: Optional[Text] = Field(None, description="Title shown above the diagram; without one, none is shown.")
    mermaid: Text = Field(description="The diagram in Mermaid's syntax, e.g. flowchart LR; a --> b.")
    caption: Optional[Text] = Field(None, description="Caption shown under it.")


def _table(*columns: Column, positions: bool = False) -> Shown:
    return Shown(infobox="no", table=Table(columns, positions))


class Featured(Strict):
    """Records shown as tables on the topic page, in the order given."""

    positions: Annotated[list[Ref("experts", "organizations", label="features", inverse="featured in")], _table(
        Column("Expert", "name"), Column("Position", "role"), Column("Key claim", "shown"), positions=True),
        Field(description="Ids of experts or organizations whose positions on the topic are shown.")] = []
    systems: Annotated[list[Ref("systems", label="features", inverse="featured in")], _table(
        Column("System", "name"), Column("Developer", "developer", empty="Research", date="announced"),
        Column("Capability", "capability"), Column("Achievement", "achievement"),
        Column("Significance", "significance")), Field(description="Ids of the systems shown.")] = []
    risks: Annotated[list[Ref("risks", label="features", inverse="featured in")], _table(
        Column("Risk mechanism", "name"), Column("Description", "description"),
        Column("Current evidence", "evidence"), Column("Severity", "severity")),
        Field(description="Ids of the risk mechanisms shown.")] = []
    metrics: Annotated[list[Ref("metrics", label="features", inverse="featured in")], _table(
        Column("Metric", "name"), Column("Estimate", "estimate"), Column("Source", "source"),
        Column("Implications", "implication")), Field(description="Ids of the metrics shown.")] = []
    responses: Annotated[list[Ref("responses", label="features", inverse="featured in")], _table(
        Column("Response", "name"), Column("Mechanism", "mechanism"), Column("Current status", "current_status"),
        Column("Effectiveness", "effectiveness")), Field(description="Ids of the responses shown.")] = []


class Topic(Record):
    title: Annotated[Text, HIDDEN, Field(description="Title of the topic page, e.g. Fast takeoff.")]
    entity_type: Annotated[EntityType, Shown(facet=True), Field(description="What the topic is about.")] = "concept"
    safety_relevance: Annotated[Optional[SafetyRelevance], Shown(facet=True),
                                Field(description="How much the topic matters for AI safety.")] = None
    current_status: Optional[Text] = Field(None, description="Where the topic stands today.")
    related: list[Ref(label="related to", inverse="related to")] = Field(
        [], description="Ids of related records of any kind.")
    featured: Annotated[Featured, SETTING, Field(
        description="Records shown as tables, e.g. {systems: [gpt-4]}; place with [[table:systems]].")] = Featured()
    assessment: Annotated[list[AssessmentRow], _table(
        Column("Dimension", "dimension"), Column("Assessment", "rating", strong=True), Column("Notes", "note")),
        Field(description="Rows of the assessment table; place it with [[table:assessment]].")] = []
    milestones: Annotated[list[Milestone], _table(
        Column("Milestone", "milestone"), Column("Conservative", "conservative"), Column("Median", "median"),
        Column("Aggressive", "aggressive"), Column("Key dependencies", "dependencies")),
        Field(description="Rows of the milestone forecasts; place them with [[table:milestones]].")] = []
    scenarios: Annotated[list[Scenario], _table(
        Column("Scenario", "name"), Column("Duration", "duration"), Column("Probability", "probability"),
        Column("Characteristics", "characteristics")),
        Field(description="Rows of the scenario table; place it with [[table:scenarios]].")] = []
    counter_evidence: Annotated[list[Observation], _table(
        Column("Observation", "observation"), Column("Data", "data", cites="source"),
        Column("Implication", "implication")),
        Field(description="Observations against the topic's thesis; place with [[table:counter-evidence]].")] = []
    tables: Annotated[dict[TableId, DataTable], Shown(infobox="no", placed="table"), Field(
        description="Other small tables by name; place one with [[table:name]].")] = {}
    diagrams: Annotated[dict[TableId, Diagram], Shown(infobox="no", placed="diagram"), Field(
        description="Mermaid diagrams by name; place one with [[diagram:name]].")] = {}
