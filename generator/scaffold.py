"""``kb new``: start a record with every required field present and visibly unfinished.

Each required field the name does not fill is written empty, with a comment saying what to
write, so the new file fails validation, naming each field, until an editor fills it in. The
first line points editors that speak the YAML language server at the kind's JSON Schema.
"""
from __future__ import annotations

import json
import typing
from pathlib import Path

from pydantic import BaseModel

from .kinds import KINDS, Kind
from .load import _LoadError, parse_yaml
from .models import RefTo
from .validate import _slugify

MAX_ID_LENGTH = 80  # models.Slug

# Fields whose name alone does not say what belongs there. Everything else is described from
# its type in the model: the choices of a Literal, the kind a reference names.
GUIDANCE = {
    "summary": "one paragraph: what it is and why it matters",
    "capability": "what the system can do, in one or two sentences",
    "achievement": "the milestone it reached, e.g. 'First model to ...'",
    "description": "how the risk comes about",
    "evidence": "what has been observed that supports it",
    "mechanism": "how the response works",
    "current_status": "where it stands today",
    "implication": "what the figure means",
}

_NAME_FIELDS = ("name", "title")


def new_record(content: Path, kind: str, name: str) -> Path:
    """Write ``content/<kind>/<id>.<yaml|md>`` for a new record; the id is slugged from the name."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind '{kind}': one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    record_id = _slugify(name)[:MAX_ID_LENGTH].rstrip("-")
    path = Path(content) / kind / f"{record_id}{spec.suffix}"
    if path.exists():
        raise FileExistsError(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as file:
        file.write(render_new_record(spec, record_id, name))
    return path


def render_new_record(spec: Kind, record_id: str, name: str) -> str:
    fields = spec.model.model_fields
    lines = [f"# yaml-language-server: $schema=../../schemas/{spec.folder}.schema.json",
             f"id: {_yaml_text(record_id)}"]
    lines += [f"{field}: {_yaml_text(name)}" for field in _NAME_FIELDS if field in fields]
    for field, info in fields.items():
        if info.is_required() and field != "id" and field not in _NAME_FIELDS:
            lines.append(f"{field}:  # required: {_guidance(field, info)}")
    optional = [field for field, info in fields.items() if not info.is_required()]
    lines.append("# optional: " + ", ".join(optional))
    front = "\n".join(lines) + "\n"
    if not spec.markdown:
        return front
    return (f"---\n{front}---\n## Overview\n\n"
            "Replace this paragraph. To link another record, put its id in double square brackets.\n")


def _guidance(field: str, info) -> str:
    if field in GUIDANCE:
        return GUIDANCE[field]
    if info.description:
        return info.description
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "one of: " + ", ".join(typing.get_args(annotation))
    ref = next((item for item in info.metadata if isinstance(item, RefTo)), None)
    if ref is not None:
        kinds = " or ".join(KINDS[k].singular for k in ref.kinds) or "record"
        return f"the id of the {kinds}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        doc = (annotation.__doc__ or "a mapping.").strip().splitlines()[0]
        return f"{doc[0].lower()}{doc[1:]} Fields: " + ", ".join(annotation.model_fields)
    return "text"


def _yaml_text(text: str) -> str:
    """The text as a YAML scalar: plain if it reads back unchanged, else double-quoted."""
    try:
        data, _ = parse_yaml(f"value: {text}\n")
    except _LoadError:
        data = None
    if isinstance(data, dict) and data.get("value") == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
