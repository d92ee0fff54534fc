"""The registry: every kind of record declared once, and what each field of it shows as.

Adding a kind means adding a model in ``models.py`` and a line in ``KINDS``; no stage has to
be edited. Every stage reads the kinds from here and a model's fields through ``fields_of``,
which merges what the model declares (``models.Shown``, ``Ref``, pydantic's description) with
what its types imply, so no stage tests a kind's or a field's name.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import models
from .models import UNKNOWN, RefTo, Section, Shown, Table, Vocab


# A record is content/<kind>/<id>.yaml, or content/<kind>/<id>.md: its fields as YAML front matter
# between '---' lines, then its article, which is the body of its page.
YAML, MARKDOWN = ".yaml", ".md"
SUFFIXES = (YAML, MARKDOWN)


def suffix_of(name: str) -> str | None:
    """The record suffix a file name ends with, if any."""
    return next((suffix for suffix in SUFFIXES if name.endswith(suffix)), None)


@dataclass(frozen=True)
class Kind:
    folder: str  # content/<folder>/<id><suffix>; also the kind's name and URL segment
    singular: str
    title: str  # heading of the kind's index page
    model: type[BaseModel]
    colour: str  # CSS colour of the kind in infoboxes and diagrams
    columns: tuple[str, ...]  # fields shown in the kind's index table, after the name
    # ``kb new`` writes a Markdown page (the record as YAML front matter, then its article): a
    # record of any kind may be either file (SUFFIXES), this is only the form a new one starts in.
    markdown: bool = False
    # Records link to a record of this kind to say they belong to it: their pages list it under
    # "Appears in", and the home page lists the most important ones.
    hub: bool = False

    @property
    def suffix(self) -> str:
        """The suffix ``kb new`` writes."""
        return MARKDOWN if self.markdown else YAML

    @property
    def cited(self) -> bool:
        """Records of this kind are what others cite (the model says how: ``citation()``)."""
        return hasattr(self.model, "citation")


KINDS: dict[str, Kind] = {
    kind.folder: kind
    for kind in (
        Kind("topics", "topic", "Topics", models.Topic, "#6a1b9a",
             ("entity_type", "safety_relevance", "quality", "last_edited"), markdown=True, hub=True),
        Kind("systems", "system", "AI systems", models.System, "#1565c0",
             ("developer", "announced", "capability", "quality")),
        Kind("experts", "expert", "Experts", models.Expert, "#2e7d32",
             ("affiliation", "role", "quality")),
        Kind("organizations", "organization", "Organizations", models.Organization, "#5d4037",
             ("type", "founded", "headquarters", "quality")),
        Kind("risks", "risk mechanism", "Risk mechanisms", models.Risk, "#c62828",
             ("severity", "description", "quality")),
        Kind("metrics", "metric", "Metrics", models.Metric, "#00838f",
             ("estimate", "as_of", "source", "quality")),
        Kind("responses", "response", "Responses", models.Response, "#ef6c00",
             ("effectiveness", "current_status", "quality")),
        Kind("sources", "source", "Sources", models.Source, "#546e7a",
             ("kind", "authors", "year", "publisher")),
    )
}


@dataclass(frozen=True)
class DiagramMap:
    """A page that draws the most important records of a kind as a flowchart.

    With ``arrows`` (kind, field), an arrow from every record of that kind whose reference
    field names a drawn record, and a list of the drawn kind's records that none names; without,
    the edges between the drawn records, labelled with how they link. The introduction says what
    is drawn: ``every`` when all records fit, else ``some`` ({drawn} of {total}, at most {arrows}
    arrows into one record)."""

    path: str
    title: str
    nodes: str  # the kind drawn
    every: str
    some: str
    arrows: tuple[str, str] | None = None
    missing: str = ""  # heading of the list of records no arrow reaches, and how the map marks them
    missing_style: str = ""
    missing_none: str = ""
    home: str = ""  # what the home page says of the map, after its link


MAPS: tuple[DiagramMap, ...] = (
    DiagramMap("maps/risks.md", "Risks and the responses that address them", "risks",
               every="Every risk mechanism, with an arrow from each response that addresses it. ",
               some="The {drawn} most important of the {total} risk mechanisms, with an arrow from up to {arrows} "
                    "responses that address each; every risk page lists all of its responses. ",
               arrows=("responses", "addresses"), missing="Risks no response addresses",
               missing_style="Risks that no response addresses are drawn with a dashed red border.",
               missing_none="None: every risk has at least one response.",
               home="which responses address which risks, and which risks none addresses."),
    DiagramMap("maps/topics.md", "Map of topics", "topics",
               every="Every topic page and how the topics link to one another.",
               some="The {drawn} most important of the {total} topics and how they link to one another; "
                    "the [topic index](../topics/index.md) lists them all.",
               home="how the topics link to one another."),
)


def kind_for_folder(folder: str) -> str | None:
    return folder if folder in KINDS else None


# ---------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldSpec:
    """One field of a model as every stage sees it."""

    name: str
    label: str
    show: str  # models.SHOWS
    shown: Shown
    ref: RefTo | None  # the field names a record (or a list of them)
    choices: tuple  # the values of a Literal, in order (a scale's order)
    description: str
    required: bool
    info: FieldInfo
    vocabulary: Vocab | None = None  # the values are a list of the base's vocabulary

    def values(self, vocabulary) -> tuple:
        """The values the field takes, in order: its Literal's, or its list's in ``vocabulary``
        (``vocabulary.Vocabulary`` or ``Checked``), with UNKNOWN last for a judgment."""
        if self.vocabulary is None:
            return self.choices
        return vocabulary.values(self.vocabulary.key) + ((UNKNOWN,) if self.vocabulary.judgment else ())

    @property
    def infobox(self) -> str:
        return self.shown.infobox

    @property
    def table(self) -> Table | None:
        return self.shown.table

    @property
    def section(self) -> Section | None:
        return self.shown.section


def label_of(name: str) -> str:
    """A field's name read as words: 'as_of' -> 'As of', 'url' -> 'URL'."""
    return models.choice_text(name.replace("_", " "))


def unwrap(annotation) -> tuple[Any, list, bool]:
    """Strip Annotated and Optional: (bare type, metadata found on the way, may be None)."""
    metadata: list = []
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            metadata += list(annotation.__metadata__)
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, nullable
            annotation = args[0]
        else:
            return annotation, metadata, nullable


def _merged(found: list[Shown]) -> Shown:
    """The Shown of a type and of its field: later (the field's own) values win over defaults."""
    result: dict[str, Any] = {}
    default = Shown()
    for shown in found:
        for name in Shown.__dataclass_fields__:
            value = getattr(shown, name)
            if value != getattr(default, name):
                result[name] = value
    return Shown(**result)


def _show_of(bare, ref: RefTo | None, item_bare) -> str:
    if ref is not None:
        return "link"
    if typing.get_origin(bare) is Literal:
        return "choice"
    if bare is models.Quantity:
        return "figure"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return "model"
    if typing.get_origin(bare) in (list, tuple, dict):
        return "list"
    if bare in (int, float):
        return "number"
    return "text"


@lru_cache(maxsize=None)
def fields_of(model: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """Every field of ``model``, in model order, with how it shows."""
    specs = []
    for name, info in model.model_fields.items():
        bare, metadata, _ = unwrap(info.annotation)
        metadata = list(info.metadata) + metadata
        item_bare, item_metadata = None, []
        if typing.get_origin(bare) in (list, tuple):
            item_bare, item_metadata, _ = unwrap(typing.get_args(bare)[0])
        everything = metadata + item_metadata
        ref = next((item for item in everything if isinstance(item, RefTo)), None)
        vocab = next((item for item in everything if isinstance(item, Vocab)), None)
        # The type's own Shown first (Severity's SCALE), the field's last: the field's wins.
        found = [item for item in reversed(everything) if isinstance(item, Shown)]
        shown = _merged(found)
        choices = typing.get_args(bare) if typing.get_origin(bare) is Literal else ()
        show = shown.show or _show_of(bare, ref, item_bare)
        description = info.description or next(
            (item.description for item in metadata if isinstance(item, FieldInfo) and item.description), "")
        specs.append(FieldSpec(name, shown.label or label_of(name), show, shown, ref, choices,
                               description, info.is_required(), info, vocab))
    return tuple(specs)


def field_of(model: type[BaseModel], name: str) -> FieldSpec:
    return _by_name(model)[name]


@lru_cache(maxsize=None)
def _by_name(model: type[BaseModel]) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in fields_of(model)}


@lru_cache(maxsize=None)
def tables_of(model: type[BaseModel]) -> tuple[tuple[str, tuple[str, ...], FieldSpec], ...]:
    """The tables a record of ``model`` can place in its prose: (name, path of the field, field).
    A nested model's tables count as the record's own (a topic's ``featured.systems``); the
    name is the field's, hyphenated (``counter_evidence`` -> ``counter-evidence``)."""
    found = []
    for spec in fields_of(model):
        if spec.table is not None:
            found.append((spec.name.replace("_", "-"), (spec.name,), spec))
            continue
        bare, _, _ = unwrap(spec.info.annotation)
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            found += [(name, (spec.name, *path), inner) for name, path, inner in tables_of(bare)]
    return tuple(found)


def placed_of(record: BaseModel, what: str) -> dict[str, tuple[str, Any]]:
    """name -> (field, item) of what a record places in its prose by name, ``what`` "table" or
    "diagram": the items of its fields declared ``Shown(placed=what)`` (a topic's ``tables``)."""
    return {name: (field, item) for field in _placed_fields(type(record), what)
            for name, item in (getattr(record, field) or {}).items()}


def placed_field(model: type[BaseModel], what: str) -> str | None:
    """The field that holds what a record of ``model`` places as ``what``, if any."""
    return next(iter(_placed_fields(model, what)), None)


@lru_cache(maxsize=None)
def _placed_fields(model: type[BaseModel], what: str) -> tuple[str, ...]:
    """The fields declared ``Shown(placed=what)``: worked out once per model (validation asks
    for each article's tables and diagrams several times)."""
    return tuple(spec.name for spec in fields_of(model) if spec.shown.placed == what)


@lru_cache(maxsize=None)
def positions_of(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(list field, field naming the topic) of each list of positions a model holds: items whose
    reference is a position (``Ref(origin="position")``)."""
    found = []
    for spec in fields_of(model):
        bare, _, _ = unwrap(spec.info.annotation)
        if typing.get_origin(bare) not in (list, tuple):
            continue
        item, _, _ = unwrap(typing.get_args(bare)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            found += [(spec.name, inner.name) for inner in fields_of(item)
                      if inner.ref is not None and inner.ref.origin == "position"]
    return tuple(found)


def value_at(record: BaseModel, path: tuple[str, ...]) -> Any:
    for name in path:
        record = getattr(record, name)
    return record


def facets_of(kind: Kind) -> list:
    """The kind's facets in the SQLite export: its own fields first, then those every kind has."""
    common = set(models.Record.model_fields)
    specs = [spec for spec in fields_of(kind.model) if spec.shown.facet]
    lists = [s for s in specs if s.show in ("tags", "list")]
    ordered = [s for s in specs if s.name not in common and s not in lists]
    ordered += [s for s in specs if s.name in common and s not in lists] + lists
    return [{"array": spec.name} if spec in lists else spec.name for spec in ordered]
