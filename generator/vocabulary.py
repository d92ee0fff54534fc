"""The base's own words: the values a choice or a scale may take, declared as data in
``content/vocabulary.yaml`` so that editors extend them without touching Python.

A field of a model says which list it takes its values from (``models.Choice("source_kinds")``,
``models.Scale("severity")``); this module holds the lists. Validation checks each value against
the base's vocabulary (a pydantic validation context), the link stage reads each relation
type's inverse label from it, the schemas list its values as enums, and ``kb new``, the
README's tables and the pages (a scale sorts by its order) follow it. Without the file, the
defaults below apply; the file replaces a list it names and keeps the defaults of the others.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from .models import UNKNOWN, Strict, rule

FILE = "vocabulary.yaml"  # at the root of the content folder

# A word holds a letter: a record's `kind: 2024` would be read as a number, never as the word "2024".
WORD_PATTERN = r"^(?=[a-z0-9-]*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_WORDS = 1000  # in one list: an editor's hint lists them, a page's filter shows them


def _word(text: str) -> str:
    if not re.match(WORD_PATTERN, text):
        raise ValueError(f"'{text}' is not a word of the vocabulary: lowercase letters, digits and single "
                         "hyphens, with at least one letter (e.g. 'court-filing')")
    return text


def _one_line(text: str) -> str:
    if re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", text) or not re.search(r"[^\s\u200b-\u200d\ufeff]", text):
        raise ValueError("an inverse label is one line of visible text, e.g. 'caused by'")
    return text


Word = Annotated[str, StringConstraints(max_length=60), AfterValidator(_word),
                 Field(json_schema_extra={"pattern": WORD_PATTERN})]
Inverse = Annotated[str, StringConstraints(max_length=60), AfterValidator(_one_line),
                    Field(json_schema_extra={"pattern": r"^[^\n\r]*\S[^\n\r]*$"})]


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise rule(f"'{value}' is listed twice (items {seen[value] + 1} and {index + 1})", index,
                       hint="remove one of the two")
        seen[value] = index
    return values


def _no_unknown(values: list[str]) -> list[str]:
    if UNKNOWN in values:
        raise rule(f"'{UNKNOWN}' is reserved: a judgment not yet made (severity, effectiveness, likelihood, "
                   f"safety relevance) is written '{UNKNOWN}' without declaring it, and other fields leave "
                   "out what is not known", values.index(UNKNOWN), hint=f"remove '{UNKNOWN}' from the list")
    return values


class Scales(Strict):
    """Ordered scales, each from low to high. A judgment (severity, effectiveness, likelihood,
    its status, safety relevance) also takes ``unknown``: not assessed, counted as missing."""

    severity: list[Word] = Field(
        ["low", "low-medium", "medium", "medium-high", "high", "critical", "catastrophic", "existential"],
        min_length=2, description="How severe a risk's harm would be, low to high.")
    likelihood: list[Word] = Field(
        ["very-unlikely", "unlikely", "uncertain", "likely", "very-likely"], min_length=2, max_length=MAX_WORDS,
        description="How likely a risk is to come about, low to high.")
    likelihood_status: list[Word] = Field(
        ["theoretical", "emerging", "occurring", "established"], min_length=2, max_length=MAX_WORDS,
        description="How far a risk has been observed, from only argued to well established.")
    confidence: list[Word] = Field(
        ["low", "medium", "high"], min_length=2, max_length=MAX_WORDS,
        description="How confident an estimate or a position is, low to high.")
    effectiveness: list[Word] = Field(
        ["very-low", "low", "low-medium", "medium", "medium-high", "high", "very-high"], min_length=2, max_length=MAX_WORDS,
        description="How effective a response is judged to be, low to high.")
    strength: list[Word] = Field(["weak", "moderate", "strong"], min_length=2, max_length=MAX_WORDS,
                                 description="How strong a relation is, weak to strong.")
    safety_relevance: list[Word] = Field(
        ["low", "medium", "high", "critical", "existential"], min_length=2, max_length=MAX_WORDS,
        description="How much a topic matters for AI safety, low to high.")

    @field_validator("*")
    @classmethod
    def _steps(cls, values: list[str]) -> list[str]:
        return _no_unknown(_unique(values))


class Vocabulary(Strict):
    """content/vocabulary.yaml: every list a choice or a scale of a record takes its values from."""

    source_kinds: list[Word] = Field(
        ["paper", "report", "article", "dataset", "book", "essay", "blog-post", "blog", "website", "web-page",
         "benchmark", "talk", "video", "podcast", "government-document", "reference-work"], min_length=1, max_length=MAX_WORDS,
        description="What kind of work a source is.")
    entity_types: list[Word] = Field(
        ["capability", "risk", "response", "concept", "scenario", "organization", "person", "governance",
         "research-area", "analytical-model", "crux", "debate", "parameter", "historical-period"], min_length=1, max_length=MAX_WORDS,
        description="What a topic is about.")
    organization_types: list[Word] = Field(
        ["frontier-lab", "safety-org", "research-org", "academic", "government", "funder", "policy", "company",
         "nonprofit"], min_length=1, max_length=MAX_WORDS, description="What kind of organization it is.")
    relation_types: dict[Word, Inverse] = Field(
        {"related-to": "related to", "causes": "caused by", "mitigates": "mitigated by", "enables": "enabled by",
         "requires": "required by", "measures": "measured by", "part-of": "has part", "composed-of": "component of",
         "cites": "cited by", "addresses": "addressed by", "supports": "supported by",
         "contradicts": "contradicted by", "exemplifies": "exemplified by", "builds-on": "built on by",
         "succeeds": "succeeded by", "increases": "increased by", "decreases": "decreased by",
         "affects": "affected by", "analyzed-by": "analyzes", "models": "modelled by"}, min_length=1, max_length=MAX_WORDS,
        description="How one record relates to another, each type with how it reads from the other side "
                    "(causes: caused by).")
    scales: Scales = Field(Scales(), description="Ordered scales, each from low to high.")

    @field_validator("source_kinds", "entity_types", "organization_types")
    @classmethod
    def _values(cls, values: list[str]) -> list[str]:
        return _no_unknown(_unique(values))

    @model_validator(mode="after")
    def _relations_are_not_unknown(self):
        if UNKNOWN in self.relation_types:
            raise rule(f"'{UNKNOWN}' is not a relation type", ("relation_types", UNKNOWN),
                       hint="name how the records relate, e.g. related-to")
        return self

    def values(self, key: str) -> tuple[str, ...]:
        """The values of list ``key`` (a scale's in order): 'source_kinds', 'severity', ..."""
        return tuple(_lookup(self, key))


def _lookup(vocabulary: Vocabulary, key: str):
    if key in Scales.model_fields:
        return getattr(vocabulary.scales, key)
    return getattr(vocabulary, key)


DEFAULT = Vocabulary()


@dataclass(frozen=True)
class Checked:
    """The vocabulary a run validates with: the base's, and the lists that its file got wrong
    (``unchecked``): a value there is not judged, so that one mistake in the vocabulary is one
    error, not one in every record using the list."""

    vocabulary: Vocabulary = DEFAULT
    unchecked: frozenset[str] = frozenset()

    def allows(self, key: str, value: str) -> bool:
        return key in self.unchecked or value in self._sets[key]

    @cached_property
    def _sets(self) -> dict[str, frozenset[str]]:
        return {key: frozenset(self.vocabulary.values(key)) for key in keys()}

    def values(self, key: str) -> tuple[str, ...]:
        return self.vocabulary.values(key)

    @property
    def relation_types(self) -> dict[str, str]:
        return self.vocabulary.relation_types


def render(vocabulary: Vocabulary = DEFAULT) -> str:
    """The vocabulary as the file an editor extends, each list with its description (``kb init``
    writes the defaults; the repository's content/vocabulary.yaml is this text too)."""
    lines = ["# yaml-language-server: $schema=../schemas/vocabulary.schema.json",
             "# The base's own words: the values each choice and scale of a record may take.",
             "# Add a value to a list (a scale's steps go from low to high) and every record may use it;",
             "# `kb schema` then writes it into the editors' schemas. A list left out keeps its defaults.",
             f"# Where a judgment has not been made, records may write `{UNKNOWN}`: it is not declared here."]
    for name, info in Vocabulary.model_fields.items():
        lines.append(f"\n# {info.description}")
        if name == "scales":
            lines.append("scales:")
            for scale, scale_info in Scales.model_fields.items():
                lines += [f"  # {scale_info.description}", f"  {scale}: [{', '.join(vocabulary.values(scale))}]"]
        elif name == "relation_types":
            lines.append(f"{name}:")
            lines += [f"  {key}: {inverse}" for key, inverse in vocabulary.relation_types.items()]
        else:
            lines.append(f"{name}: [{', '.join(vocabulary.values(name))}]")
    return "\n".join(lines) + "\n"


def keys() -> tuple[str, ...]:
    """Every list a model may name."""
    return (*(name for name in Vocabulary.model_fields if name != "scales"), *Scales.model_fields)
