"""The record kinds as pydantic models: the single definition of what an editor may write.

Every field that names another record is a ``Ref``: it records which kinds it accepts and
how the edge reads from both ends ("developed by" on the system, "develops" on the
organization). The link stage reads those annotations; nothing else lists them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

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


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80)]


def Ref(*kinds: str, label: str, inverse: str, hierarchy: bool = False):
    return Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=80),
                     RefTo(tuple(kinds), label, inverse, hierarchy)]


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
Year = Annotated[int, Field(ge=1000, le=2100, strict=True)]
Url = Annotated[str, StringConstraints(pattern=r'^https?://[^\s<>"]+$', max_length=2000)]
Percent = Annotated[float, Field(ge=0, le=100)]


def _date_text(value):
    if not isinstance(value, (str, dt.date)):
        raise ValueError("must be a date written as YYYY-MM-DD")
    return value


# A date is written as text (YYYY-MM-DD); a bare number such as 0 is not 1970-01-01.
Date = Annotated[dt.date, BeforeValidator(_date_text)]


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
]

# Ordered scales: the order of the Literal is the order of the scale, low to high.
Status = Literal["stub", "draft", "published", "verified"]
Severity = Literal["low", "low-medium", "medium", "medium-high", "high", "critical", "existential"]
Effectiveness = Literal["very-low", "low", "low-medium", "medium", "medium-high", "high", "very-high"]
LikelihoodLevel = Literal["very-unlikely", "unlikely", "uncertain", "likely", "very-likely"]
Strength = Literal["weak", "moderate", "strong"]

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


class ProbabilityRange(Strict):
    low: Percent
    high: Percent

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError("'low' is greater than 'high'")
        return self


# ---------------------------------------------------------------------------- records

SourceRefs = list[Ref("sources", label="cites", inverse="cited by")]
TopicRefs = list[Ref("topics", label="belongs to", inverse="covers")]


class Record(Strict):
    """Fields every kind has."""

    id: Slug
    summary: Paragraph
    aliases: list[Text] = []
    tags: list[Tag] = []
    sources: SourceRefs = []
    importance: Optional[Rating] = None
    quality: Optional[Rating] = None
    status: Optional[Status] = None
    last_edited: Optional[Date] = None
    review_by: Optional[Date] = None
    relations: list[Relation] = []

    @property
    def display_name(self) -> str:
        return getattr(self, "name", None) or getattr(self, "title")


class Named(Record):
    name: Text


class Position(Strict):
    """A stance someone holds on a topic: a paraphrased claim, a quotation, or both."""

    topic: Ref("topics", label="takes a position on", inverse="has a position from")
    claim: Optional[Text] = None
    quote: Optional[Text] = Field(None, description="Exact words, shown in quotation marks.")
    estimate: Optional[Quantity] = None
    date: Optional[PartialDate] = None
    source: Optional[Ref("sources", label="cites", inverse="cited by")] = None

    @model_validator(mode="after")
    def _check(self):
        if not self.claim and not self.quote:
            raise ValueError("give a 'claim' (in your words) or a 'quote' (their exact words)")
        if (self.quote or self.estimate) and not self.source:
            raise ValueError("a quotation or an estimate needs a 'source'")
        return self


class System(Named):
    developer: Optional[Ref("organizations", label="developed by", inverse="develops")] = None
    announced: Optional[PartialDate] = None
    capability: Text
    achievement: Text
    significance: Optional[Text] = None
    limitations: Optional[Text] = None
    url: Optional[Url] = None
    topics: TopicRefs = []


class Expert(Named):
    affiliation: Optional[Ref("organizations", label="affiliated with", inverse="affiliates")] = None
    role: Optional[Text] = None
    url: Optional[Url] = None
    positions: list[Position] = []


OrganizationType = Literal["frontier-lab", "safety-org", "research-org", "academic", "government",
                           "funder", "policy", "company", "nonprofit"]


class Organization(Named):
    type: OrganizationType
    website: Optional[Url] = None
    founded: Optional[Year] = None
    headquarters: Optional[Text] = None
    parent: Optional[Ref("organizations", label="part of", inverse="has part", hierarchy=True)] = None
    positions: list[Position] = []


class Likelihood(Strict):
    level: LikelihoodLevel
    low: Optional[Percent] = None
    high: Optional[Percent] = None
    note: Optional[Text] = None


class Risk(Named):
    description: Text
    evidence: Text
    severity: Severity
    likelihood: Optional[Likelihood] = None
    topics: TopicRefs = []


class Metric(Named):
    estimate: Quantity
    as_of: Optional[PartialDate] = None
    source: Ref("sources", label="sourced from", inverse="source of")
    implication: Text
    measures: Optional[Ref(label="measures", inverse="measured by")] = None
    topics: TopicRefs = []


class Response(Named):
    mechanism: Text
    current_status: Text
    effectiveness: Effectiveness
    effectiveness_note: Optional[Text] = None
    addresses: list[Ref("risks", label="addresses", inverse="addressed by")] = []
    organizations: list[Ref("organizations", label="backed by", inverse="backs")] = []
    topics: TopicRefs = []


SourceKind = Literal["paper", "report", "article", "dataset", "book", "essay", "blog-post",
                     "website", "benchmark"]


class Source(Named):
    title: Text
    kind: SourceKind
    authors: list[Text] = []
    year: Optional[Year] = None
    publisher: Optional[Text] = None
    organization: Optional[Ref("organizations", label="published by", inverse="publishes")] = None
    url: Optional[Url] = None


# ---------------------------------------------------------------------------- topics

EntityType = Literal["capability", "risk", "response", "concept", "scenario", "organization",
                     "governance", "research-area"]
SafetyRelevance = Literal["low", "medium", "high", "critical", "existential"]
TableId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=60)]


class AssessmentRow(Strict):
    dimension: Text
    rating: Text
    note: Text
    source: Optional[Ref("sources", label="cites", inverse="cited by")] = None


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
    source: Optional[Ref("sources", label="cites", inverse="cited by")] = None


class DataTable(Strict):
    """A small table of figures that fits no record kind (e.g. a benchmark comparison)."""

    title: Text
    columns: list[Text] = Field(min_length=2)
    rows: list[list[Text]] = Field(min_length=1)
    source: Optional[Ref("sources", label="cites", inverse="cited by")] = None

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


class Featured(Strict):
    """Records shown as tables on the topic page, in the order given."""

    positions: list[Ref("experts", "organizations", label="features", inverse="featured in")] = []
    systems: list[Ref("systems", label="features", inverse="featured in")] = []
    risks: list[Ref("risks", label="features", inverse="featured in")] = []
    metrics: list[Ref("metrics", label="features", inverse="featured in")] = []
    responses: list[Ref("responses", label="features", inverse="featured in")] = []


class Topic(Record):
    title: Text
    entity_type: EntityType = "concept"
    safety_relevance: Optional[SafetyRelevance] = None
    current_status: Optional[Text] = None
    related: list[Ref(label="related to", inverse="related to")] = []
    featured: Featured = Featured()
    assessment: list[AssessmentRow] = []
    milestones: list[Milestone] = []
    scenarios: list[Scenario] = []
    counter_evidence: list[Observation] = []
    tables: dict[TableId, DataTable] = {}
    diagrams: dict[TableId, Diagram] = {}
