"""``kb new``: start a record with every required field present and visibly unfinished.

Each required field the name does not fill is written empty, with the field's description from
the model as a comment (and its values, when they are a fixed set), so the new file fails
validation, naming each field, until an editor fills it in. The optional fields follow as
comments, each with its description. The first line points editors that
speak the YAML language server at the kind's JSON Schema.
"""
from __future__ import annotations

import json
from pathlib import Path

from .kinds import KINDS, MARKDOWN, YAML, FieldSpec, Kind, fields_of
from .load import _LoadError, parse_yaml
from .validate import _slugify
from .vocabulary import DEFAULT

MAX_ID_LENGTH = 80  # models.Slug
_NAME_FIELDS = ("name", "title")


def new_record(content: Path, kind: str, name: str, article: bool | None = None, vocabulary=DEFAULT) -> Path:
    """Write ``content/<kind>/<id>.<yaml|md>`` for a new record; the id is slugged from the name.
    With ``article`` (default: what the kind starts as), a Markdown page with an article; the
    values of choices listed are those of ``vocabulary`` (the base's)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind '{kind}': one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    record_id = _slugify(name)[:MAX_ID_LENGTH].rstrip("-")
    article = spec.markdown if article is None else article
    path = Path(content) / kind / f"{record_id}{MARKDOWN if article else YAML}"
    if path.with_suffix(YAML if article else MARKDOWN).exists():
        raise FileExistsError(str(path.with_suffix(YAML if article else MARKDOWN)))
    if path.exists():
        raise FileExistsError(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as file:
        file.write(render_new_record(spec, record_id, name, article, vocabulary))
    return path


def render_new_record(spec: Kind, record_id: str, name: str, article: bool | None = None,
                      vocabulary=DEFAULT) -> str:
    fields = fields_of(spec.model)
    names = [field.name for field in fields]
    lines = [f"# yaml-language-server: $schema=../../schemas/{spec.folder}.schema.json",
             f"id: {_yaml_text(record_id)}"]
    lines += [f"{field}: {_yaml_text(name)}" for field in _NAME_FIELDS if field in names]
    for field in fields:
        if field.required and field.name != "id" and field.name not in _NAME_FIELDS:
            lines.append(f"{field.name}:  # required: {what_to_write(field, vocabulary)}")
    lines.append("# optional: remove the '# ' before a field to fill it in")
    lines += [f"# {field.name}:  # {what_to_write(field, vocabulary)}" for field in fields if not field.required]
    front = "\n".join(lines) + "\n"
    if not (spec.markdown if article is None else article):
        return front
    return (f"---\n{front}---\n## Overview\n\n"
            "Replace this paragraph. To link another record, put its id in double square brackets.\n")


def what_to_write(field: FieldSpec, vocabulary=DEFAULT) -> str:
    """The comment beside a placeholder: the field's description, then its values if they are
    fixed (a choice's, from the base's vocabulary)."""
    values = field.values(vocabulary)
    if values:
        return f"{field.description} One of: {', '.join(map(str, values))}."
    return field.description


def _yaml_text(text: str) -> str:
    """The text as a YAML scalar: plain if it reads back unchanged, else double-quoted."""
    try:
        data, _ = parse_yaml(f"value: {text}\n")
    except _LoadError:
        data = None
    if isinstance(data, dict) and data.get("value") == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
