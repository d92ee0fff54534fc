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
from .models import UNKNOWN
from .vocabulary import DEFAULT, FILE as VOCABULARY_FILE, Vocabulary

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic emits
EXPORT_FILE = "export.schema.json"  # the export format's schema, beside the kinds' ones
VOCABULARY_SCHEMA_FILE = "vocabulary.schema.json"  # the vocabulary file's


def schema_for(kind: Kind, vocabulary: Vocabulary = DEFAULT) -> dict[str, Any]:
    """The editor's schema of a kind, its choices and scales those of the base's ``vocabulary``."""
    schema = _agree_with_validator(_with_vocabulary(kind.model.model_json_schema(), vocabulary))
    what = f"{kind.singular} record"
    schema["$schema"] = JSON_SCHEMA_DIALECT
    # A URN, not a web address: the schemas are files in the repository, served by no one.
    schema["$id"] = f"urn:kb-wiki:schema:{kind.folder}"
    schema["title"] = (f"{what[0].upper()}{what[1:]} (content/{kind.folder}/<id>.yaml, or the front matter of "
                       f"content/{kind.folder}/<id>.md)")
    return schema


def _with_vocabulary(node: Any, vocabulary: Vocabulary) -> Any:
    """Each field marked with a list of the vocabulary (``models.Vocab``) gets its values as an enum."""
    if isinstance(node, list):
        return [_with_vocabulary(item, vocabulary) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _with_vocabulary(value, vocabulary) for key, value in node.items()}
    key = node.pop("x-kb-vocabulary", None)
    judgment = node.pop("x-kb-judgment", False)
    if key is not None:
        node["enum"] = list(vocabulary.values(key)) + ([UNKNOWN] if judgment else [])
    return node


def vocabulary_schema() -> dict[str, Any]:
    """The schema of the vocabulary file itself (content/vocabulary.yaml)."""
    schema = _agree_with_validator(Vocabulary.model_json_schema())
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = "urn:kb-wiki:schema:vocabulary"
    schema["title"] = f"The base's vocabulary (content/{VOCABULARY_FILE})"
    return schema


def _agree_with_validator(node: Any) -> Any:
    """Adjust pydantic's schema where it would judge a record differently from ``kb validate``.

    * Text fields also accept numbers: the loader keeps the text of a plain number and the
      validator gives it back where a field wants text (``announced: 2024``, ``rating: 2.50``).
      Fields with a fixed set of values or a format (dates) are left as they are.
    * pydantic writes ``dict[Slug, X]`` as ``patternProperties`` whose pattern does not bind
      keys that miss it; the pattern is added to ``propertyNames`` so such a key is rejected.
    * JSON Schema patterns are ECMA-262 regexes, in which ``\\"`` (fine in Python) is an
      invalid escape; a quote needs no escape in either dialect.
    """
    if isinstance(node, list):
        return [_agree_with_validator(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _agree_with_validator(value) for key, value in node.items()}
    if node.get("type") == "string" and not {"enum", "const", "format"} & node.keys():
        node["type"] = ["number", "string"]
    if isinstance(node.get("pattern"), str):
        node["pattern"] = _ecma_pattern(node["pattern"])
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict):
        node["patternProperties"] = {_ecma_pattern(key): value for key, value in patterns.items()}
        if len(patterns) == 1 and "additionalProperties" not in node:
            (pattern,) = node["patternProperties"]
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
    return node


def _ecma_pattern(pattern: str) -> str:
    return pattern.replace('\\"', '"')


def render_schema(kind: Kind, vocabulary: Vocabulary = DEFAULT) -> str:
    return _json(schema_for(kind, vocabulary))


def _json(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(out: Path, dry_run: bool = False, vocabulary: Vocabulary = DEFAULT) -> list[Path]:
    """Write ``<out>/<kind>.schema.json`` for every kind and ``<out>/export.schema.json`` (the
    export format's, ``export/schema.py``); return the files whose text changed.

    With ``dry_run`` nothing is written: the list says what a real run would change, which is
    what ``kb schema --check`` and the drift test need.
    """
    from .export import schema as export_schema

    out = Path(out)
    changed: list[Path] = []
    texts = {f"{kind.folder}.schema.json": render_schema(kind, vocabulary) for kind in KINDS.values()}
    texts[EXPORT_FILE] = export_schema.render(vocabulary)
    texts[VOCABULARY_SCHEMA_FILE] = _json(vocabulary_schema())
    for name, text in texts.items():
        path = out / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return changed
