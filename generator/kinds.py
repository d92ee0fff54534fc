"""The registry: every kind of record declared once. Every stage reads this table.

Adding a kind means adding a model in ``models.py``, a line here and a template; no stage
has to be edited.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from . import models


@dataclass(frozen=True)
class Kind:
    folder: str  # content/<folder>/<id><suffix>; also the kind's name and URL segment
    singular: str
    title: str  # heading of the kind's index page
    model: type[BaseModel]
    colour: str  # CSS colour of the kind in infoboxes and diagrams
    columns: tuple[str, ...]  # key fields shown in the kind's index table, after the name
    markdown: bool = False  # a Markdown page with the record as YAML front matter
    template: str = "record.md.j2"

    @property
    def suffix(self) -> str:
        return ".md" if self.markdown else ".yaml"


KINDS: dict[str, Kind] = {
    kind.folder: kind
    for kind in (
        Kind("topics", "topic", "Topics", models.Topic, "#6a1b9a",
             ("entity_type", "safety_relevance", "quality", "last_edited"), markdown=True,
             template="topic.md.j2"),
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


def kind_for_folder(folder: str) -> str | None:
    return folder if folder in KINDS else None
