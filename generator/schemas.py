"""JSON Schemas of the record kinds, generated from the models so that editors can check a
record as it is typed (the modeline ``# yaml-language-server: $schema=...`` that ``kb new``
writes points at these files).

The models stay the single definition: the schema files are written by ``kb schema`` and
committed, and a test fails when they drift. A schema can say less than the validator
(references, real calendar dates in partial dates, one-paragraph summaries, tables placed in
the prose); it must never reject a record the validator accepts.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .kinds import KINDS, Kind

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic emits


def schema_for(kind: Kind) -> dict[str, Any]:
    schema = kind.model.model_json_schema()
    _constrain_dict_keys(schema)
    what = "front matter of a topic page" if kind.markdown else f"{kind.singular} record"
    schema["$schema"] = JSON_SCHEMA_DIALECT
    # A URN, not a web address: the schemas are files in the repository, served by no one.
    schema["$id"] = f"urn:kb-wiki:schema:{kind.folder}"
    schema["title"] = f"{what[0].upper()}{what[1:]} (content/{kind.folder}/<id>{kind.suffix})"
    return schema


def _constrain_dict_keys(node: Any) -> None:
    """Make a mapping's key pattern binding.

    pydantic writes ``dict[Slug, X]`` as ``patternProperties`` plus ``propertyNames`` without
    the pattern, so a key that misses the pattern would pass unchecked. Moving the pattern into
    ``propertyNames`` makes the schema reject such a key, as the validator does.
    """
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            (pattern,) = patterns
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        for value in node.values():
            _constrain_dict_keys(value)
    elif isinstance(node, list):
        for value in node:
            _constrain_dict_keys(value)


def render_schema(kind: Kind) -> str:
    return json.dumps(schema_for(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(out: Path, dry_run: bool = False) -> list[Path]:
    """Write ``<out>/<kind>.schema.json`` for every kind; return the files whose text changed.

    With ``dry_run`` nothing is written: the list says what a real run would change, which is
    what ``kb schema --check`` and the drift test need.
    """
    out = Path(out)
    changed: list[Path] = []
    for kind in KINDS.values():
        path = out / f"{kind.folder}.schema.json"
        text = render_schema(kind)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return changed
