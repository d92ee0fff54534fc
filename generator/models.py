"""The record kinds as pydantic models: the single definition of what an editor may write.

Every field that names another record is a ``Ref``: it records which kinds it accepts and
how the edge reads from both ends ("developed by" on the system, "develops" on the
organization). The link stage reads those annotations; nothing else lists them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

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


# How a value shows: "text" as written; "link" the record's name linking to its page; "scale" a
# step of an ordered scale ("Medium-high"; sorts by its order); "choice" one of a fixed set
# ("Frontier lab"); "figure" a number with unit and range; "url" a web address as a link;
# "date" and "partial-date" as written; "number"; "rating" a 0-100 rating with its band; "year"; "tags"
# links to the tag pages; "list" the items joined; "model" a nested record's own text().
SHOWS = ("text", "link", "scale", "choice", "figure", "url", "date", "partial-date", "number", "rating",
         "year", "tags", "list", "model")

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
Paragraph = Annotated[str, AfterValidator(_not_blank), AfterValidator(_no_blank_lines),
                      StringConstraints(max_length=4000)]
Tag = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=40)]
# Whole numbers are strict: `true`, `80.5` or `"80"` are not a rating.
Rating = Annotated[int, Field(ge=0, le=100, strict=True)]
Year = Annotated[int, Field(ge=1000, le=2100, strict=True), Shown(show="year")]
Url = Annotated[str, StringConstraints(pattern=r'^https?://[^\s<>"]+$', max_length=2000), Shown(show="url")]
Percent = Annotated[float, Field(ge=0, le=100)]


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
        raise ValueError(f"'{text}' is not a real date") from None
    return text


PartialDate = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$"),
    AfterValidator(_partial_date),
    Field(description="A year (2024), a year and month (2024-08) or a full date (2024-08-12)."),
    Shown(show="partial-date"),
]

# Ordered scales: the order of the Literal is the order of the scale, low to high.
Status = Annotated[Literal["stub", "draft", "published", "verified"], SCALE]
Severity = Annotated[Literal["low", "low-medium", "medium", "medium-high", "high", "critical", "existential"], SCALE]
Effectiveness = Annotated[Literal["very-low", "low", "low-medium", "medium", "medium-high", "high", "very-high"],
                          SCALE]
LikelihoodLevel = Annotated[Literal["very-unlikely", "unlikely", "uncertain", "likely", "very-likely"], SCALE]
Strength = Annotated[Literal["weak", "moderate", "strong"], SCALE]

# Relation types and how each reads from the other side.
RELATION_TYPES: dict[str, str] = {
    "related-to": "related to",
    "causes": "caused by",
    "mitigates": "mitigated by",
    "enables": "enabled by",
    "requires": "required by",
    "measures": "measured by",
    "part-of": "has part",
    "cites": "cited by",
    "addresses": "addressed by",
    "supports": "supported by",
    "contradicts": "contradicted by",
    "exemplifies": "exemplified by",
    "builds-on": "built on by",
    "succeeds": "succeeded by",
}
RelationType = Literal[tuple(RELATION_TYPES)]  # type: ignore[valid-type]


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

    type: RelationType
    target: Ref(label="", inverse="")
    strength: Optional[Strength] = None
    note: Optional[Text] = None


class Quantity(Strict):
    """A figure: a number with unit and optional range or confidence interval, or a text."""

    value: Optional[float] = None
    text: Optional[Text] = Field(None, description="For a figure that is not a number, e.g. 'First since 1969'.")
    unit: str = ""
    approximate: bool = False
    low: Optional[float] = None
    high: Optional[float] = None
    confidence: Optional[Percent] = Field(None, description="Confidence level of [low, high], e.g. 95.")
    qualifier: Optional[Text] = Field(None, description="Shown after the figure, e.g. '2012-2022'.")

    @model_validator(mode="after")
    def _check(self):
        if self.value is None and self.text is None:
            raise ValueError("give a 'value' (a number) or a 'text'")
        if (self.low is None) != (self.high is None):
            raise ValueError("give both 'low' and 'high', or neither")
        if self.low is not None and self.low > self.high:
            raise ValueError("'low' is greater than 'high'")
        if self.confidence is not None and self.low is None:
            raise ValueError("'confidence' needs 'low' and 'high'")
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
    low: Percent
    high: Percent

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError("'low' is greater than 'high'")
        return self

    def shown(self) -> str:
        return f"{self.low:g}-{self.high:g}%"


# ---------------------------------------------------------------------------- records

SourceRefs = list[Cites()]
TopicRefs = list[Ref("topics", label="belongs to", inverse="covers")]
END = "end"


class Record(Strict):
    """Fields every kind has."""

    id: Annotated[Slug, HIDDEN]
    summary: Annotated[Paragraph, HIDDEN]
    aliases: Annotated[list[Text], Shown(label="Also known as", infobox=END, order=2, recommended=False)] = []
    tags: Annotated[list[Tag], Shown(show="tags", infobox=END, order=3, facet=True)] = []
    sources: Annotated[SourceRefs, HIDDEN] = []
    importance: Annotated[Optional[Rating], Shown(show="rating", infobox=END, order=1)] = None
    quality: Annotated[Optional[Rating], Shown(show="rating", infobox="no", recommended=False)] = None
    status: Annotated[Optional[Status], Shown(infobox="no", facet=True, recommended=False)] = None
    last_edited: Annotated[Optional[Date], HIDDEN] = None
    review_by: Annotated[Optional[Date], SETTING] = None
    relations: Annotated[list[Relation], SETTING] = []

    @property
    def display_name(self) -> str:
        return getattr(self, "name", None) or getattr(self, "title")


class Named(Record):
    name: Annotated[Text, HIDDEN]


class Position(Strict):
    """A stance someone holds on a topic: a paraphrased claim, a quotation, or both."""

    topic: Ref("topics", label="takes a position on", inverse="has a position from", origin="position")
    claim: Optional[Text] = None
    quote: Optional[Text] = Field(None, description="Exact words, shown in quotation marks.")
    estimate: Optional[Quantity] = None
    date: Optional[PartialDate] = None
    source: Optional[Cites()] = None

    @model_validator(mode="after")
    def _check(self):
        if not self.claim and not self.quote:
            raise ValueError("give a 'claim' (in your words) or a 'quote' (their exact words)")
        if (self.quote or self.estimate) and not self.source:
            raise ValueError("a quotation or an estimate needs a 'source'")
        return self

    def shown(self) -> str:
        """“Their words” our paraphrase (estimate: 10%)."""
        parts = []
        if self.quote:
            parts.append(f"“{self.quote}”")
        if self.claim:
            parts.append(self.claim)
        if self.estimate:
            parts.append(f"(estimate: {self.estimate.shown()})")
        return " ".join(parts)


POSITIONS = Shown(infobox="no", section=Section("Positions", (
    Column("Topic", "topic"), Column("Position", "shown"), Column("Date", "date"), Column("Source", "source"))))


class System(Named):
    developer: Annotated[Optional[Ref("organizations", label="developed by", inverse="develops")],
                         Shown(facet=True)] = None
    announced: Optional[PartialDate] = None
    capability: Text
    achievement: Text
    significance: Optional[Text] = None
    limitations: Optional[Text] = None
    url: Optional[Url] = None
    topics: TopicRefs = []


class Expert(Named):
    affiliation: Annotated[Optional[Ref("organizations", label="affiliated with", inverse="affiliates")],
                           Shown(role=True, facet=True)] = None
    role: Annotated[Optional[Text], Shown(role=True)] = None
    url: Optional[Url] = None
    positions: Annotated[list[Position], POSITIONS] = []


OrganizationType = Literal["frontier-lab", "safety-org", "research-org", "academic", "government",
                           "funder", "policy", "company", "nonprofit"]


class Organization(Named):
    type: Annotated[OrganizationType, Shown(role=True, facet=True)]
    website: Optional[Url] = None
    founded: Optional[Year] = None
    headquarters: Optional[Text] = None
    parent: Optional[Ref("organizations", label="part of", inverse="has part", hierarchy=True)] = None
    positions: Annotated[list[Position], POSITIONS] = []


class Likelihood(Strict):
    level: LikelihoodLevel
    low: Optional[Percent] = None
    high: Optional[Percent] = None
    note: Optional[Text] = None

    def shown(self) -> str:
        """Likely (10-30%); a note."""
        text = scale_text(self.level)
        if self.low is not None:
            text += f" ({self.low:g}-{self.high:g}%)"
        if self.note:
            text += f"; {self.note}"
        return text


class Risk(Named):
    description: Text
    evidence: Text
    severity: Annotated[Severity, Shown(facet=True)]
    likelihood: Optional[Likelihood] = None
    topics: TopicRefs = []


class Metric(Named):
    estimate: Quantity
    as_of: Optional[PartialDate] = None
    source: Ref("sources", label="sourced from", inverse="source of", origin="citation")
    implication: Text
    measures: Optional[Ref(label="measures", inverse="measured by")] = None
    topics: TopicRefs = []


ADDRESSED_BY = Section("Responses that address it", (
    Column("Response", "name"), Column("Mechanism", "mechanism"),
    Column("Effectiveness", "effectiveness", with_note=False)),
    empty="No response in the knowledge base addresses this risk yet.")


class Response(Named):
    mechanism: Text
    current_status: Text
    effectiveness: Annotated[Effectiveness, Shown(note="effectiveness_note", facet=True)]
    effectiveness_note: Annotated[Optional[Text], HIDDEN] = None
    addresses: list[Ref("risks", label="addresses", inverse="addressed by", listed=ADDRESSED_BY)] = []
    organizations: list[Ref("organizations", label="backed by", inverse="backs")] = []
    topics: TopicRefs = []


SourceKind = Literal["paper", "report", "article", "dataset", "book", "essay", "blog-post",
                     "website", "benchmark"]


class Source(Named):
    title: Annotated[Text, HIDDEN]
    kind: Annotated[SourceKind, Shown(facet=True)]
    authors: list[Text] = []
    year: Annotated[Optional[Year], Shown(facet=True)] = None
    publisher: Optional[Text] = None
    organization: Optional[Ref("organizations", label="published by", inverse="publishes")] = None
    url: Optional[Url] = None

    def citation(self) -> tuple[str, str, str, str | None]:
        """How a page lists the source among its references: title, authors, venue and year, address."""
        venue = " ".join(str(part) for part in (self.publisher, self.year) if part)
        return self.title, ", ".join(self.authors), venue, self.url


# ---------------------------------------------------------------------------- topics

EntityType = Literal["capability", "risk", "response", "concept", "scenario", "organization",
                     "governance", "research-area"]
SafetyRelevance = Annotated[Literal["low", "medium", "high", "critical", "existential"], SCALE]
TableId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=60)]


class AssessmentRow(Strict):
    dimension: Text
    rating: Text
    note: Text
    source: Optional[Cites()] = None


class Milestone(Strict):
    milestone: Text
    conservative: Text
    median: Text
    aggressive: Text
    dependencies: Text


class Scenario(Strict):
    name: Text
    duration: Text
    probability: ProbabilityRange
    characteristics: Text


class Observation(Strict):
    observation: Text
    data: Text
    implication: Text
    source: Optional[Cites()] = None


class DataTable(Strict):
    """A small table of figures that fits no record kind (e.g. a benchmark comparison)."""

    title: Text
    columns: list[Text] = Field(min_length=2)
    rows: list[list[Text]] = Field(min_length=1)
    source: Optional[Cites()] = None

    @model_validator(mode="after")
    def _rectangular(self):
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {index + 1} has {len(row)} cells; the table has "
                                 f"{len(self.columns)} columns")
        return self


class Diagram(Strict):
    title: Text
    mermaid: Text
    caption: Optional[Text] = None


def _table(*columns: Column, positions: bool = False) -> Shown:
    return Shown(infobox="no", table=Table(columns, positions))


class Featured(Strict):
    """Records shown as tables on the topic page, in the order given."""

    positions: Annotated[list[Ref("experts", "organizations", label="features", inverse="featured in")], _table(
        Column("Expert", "name"), Column("Position", "role"), Column("Key claim", "shown"), positions=True)] = []
    systems: Annotated[list[Ref("systems", label="features", inverse="featured in")], _table(
        Column("System", "name"), Column("Developer", "developer", empty="Research", date="announced"),
        Column("Capability", "capability"), Column("Achievement", "achievement"),
        Column("Significance", "significance"))] = []
    risks: Annotated[list[Ref("risks", label="features", inverse="featured in")], _table(
        Column("Risk mechanism", "name"), Column("Description", "description"),
        Column("Current evidence", "evidence"), Column("Severity", "severity"))] = []
    metrics: Annotated[list[Ref("metrics", label="features", inverse="featured in")], _table(
        Column("Metric", "name"), Column("Estimate", "estimate"), Column("Source", "source"),
        Column("Implications", "implication"))] = []
    responses: Annotated[list[Ref("responses", label="features", inverse="featured in")], _table(
        Column("Response", "name"), Column("Mechanism", "mechanism"), Column("Current status", "current_status"),
        Column("Effectiveness", "effectiveness"))] = []


class Topic(Record):
    title: Annotated[Text, HIDDEN]
    entity_type: Annotated[EntityType, Shown(facet=True)] = "concept"
    safety_relevance: Annotated[Optional[SafetyRelevance], Shown(facet=True)] = None
    current_status: Optional[Text] = None
    related: list[Ref(label="related to", inverse="related to")] = []
    featured: Annotated[Featured, SETTING] = Featured()
    assessment: Annotated[list[AssessmentRow], _table(
        Column("Dimension", "dimension"), Column("Assessment", "rating", strong=True), Column("Notes", "note"))] = []
    milestones: Annotated[list[Milestone], _table(
        Column("Milestone", "milestone"), Column("Conservative", "conservative"), Column("Median", "median"),
        Column("Aggressive", "aggressive"), Column("Key dependencies", "dependencies"))] = []
    scenarios: Annotated[list[Scenario], _table(
        Column("Scenario", "name"), Column("Duration", "duration"), Column("Probability", "probability"),
        Column("Characteristics", "characteristics"))] = []
    counter_evidence: Annotated[list[Observation], _table(
        Column("Observation", "observation"), Column("Data", "data", cites="source"),
        Column("Implication", "implication"))] = []
    tables: Annotated[dict[TableId, DataTable], HIDDEN] = {}
    diagrams: Annotated[dict[TableId, Diagram], HIDDEN] = {}
