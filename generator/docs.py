"""The README's tables of fields, generated from the models so that they say what the validator does.

``field_tables()`` is the Markdown README.md holds between ``<!-- kb:fields -->`` and
``<!-- /kb:fields -->``: the fields every record has, those of each kind, and those of each
value nested in a field (a relation, a position, a figure, a row of a topic's table). A row is
the field's name, whether it is required, what to write in plain words (from its type, through
``kinds.fields_of``) and the model's description. ``python -m generator.docs --write-readme``
rewrites that part of README.md; ``tests/test_docs.py`` fails when it is stale.
"""
from __future__ import annotations

import re
import sys
import typing
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import models
from .kinds import KINDS, FieldSpec, fields_of, unwrap
from .models import SLUG_PATTERN, UNKNOWN, RefTo, Shown, Vocab
from .vocabulary import FILE as VOCABULARY_FILE, Scales, Vocabulary

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- kb:fields -->", "<!-- /kb:fields -->"

# Plain words for the ways a value shows (models.SHOWS) that say more than its Python type.
SHOWN_AS = {
    "url": "a web address (`https://...`)",
    "date": "a date `YYYY-MM-DD`",
    "partial-date": "a partial date: `2024`, `2024-08` or `2024-08-12`",
    "rating": "a number from 0 to 100, at most one decimal (`78.5`)",
    "long": "text; paragraphs separated by a blank line",
    "year": "a year, e.g. `2024`",
}

# A value written in YAML and how the site shows it, for the nested models that show as one text.
EXAMPLES = {
    models.Quantity: "{value: 8, unit: months, approximate: true, low: 5, high: 14, confidence: 95}",
    models.Likelihood: "{level: likely, low: 10, high: 30, note: expert survey}",
}


def field_tables(vocabulary: Vocabulary | None = None) -> str:
    """The Markdown of every table, ending in a newline; the lists of ``vocabulary`` (default:
    this repository's content/vocabulary.yaml)."""
    if vocabulary is None:
        from .pipeline import vocabulary_of
        vocabulary = vocabulary_of(README.parent / "content").vocabulary
    common = set(models.Record.model_fields)
    nested = _nested_models()
    parts = ["_Generated from `generator/models.py` by `.venv/bin/python -m generator.docs --write-readme`: "
             "to change a field or its description, change the model._",
             "### Fields every record has", _table(fields_of(models.Record)),
             "### Fields of each kind",
             "Each kind's own fields, besides those every record has. A field that names another record "
             "accepts only a record of the kind it says."]
    for kind in KINDS.values():
        where = f"`content/{kind.folder}/<id>.yaml` or the front matter of `<id>.md`"
        parts += [f"#### {kind.title} ({where})",
                  _table([spec for spec in fields_of(kind.model) if spec.name not in common])]
    parts += ["### Nested fields", "The values a field holds when it is more than one value."]
    for model, users in nested.items():
        title = _title(model)
        intro = [(model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
                 "In " + "; ".join(f"`{field}` of {' and '.join(owners)}" for field, owners in users.items()) + "."]
        parts += [f"#### {title}", " ".join(text for text in intro if text), _table(fields_of(model))]
        if model in EXAMPLES:
            value = model.model_validate(yaml.safe_load(EXAMPLES[model]))
            parts.append(f"`{EXAMPLES[model]}` shows as “{value.shown()}”.")
    parts += ["### Vocabulary",
              f"The values of choices and scales, as `content/{VOCABULARY_FILE}` declares them; extend a list "
              "there (a scale from low to high) and the validator, the schemas (`kb schema`), `kb new` and "
              "the pages follow. A list the file leaves out keeps the values shown here. Where a "
              f"judgment may not have been made, `{UNKNOWN}` is also allowed: the page shows it, and it "
              "counts as a missing field.", _vocabulary_table(vocabulary)]
    return "\n\n".join(parts) + "\n"


def _vocabulary_table(vocabulary: Vocabulary) -> str:
    rows = ["| list | description | values |", "| --- | --- | --- |"]
    for name, info in Vocabulary.model_fields.items():
        if name == "relation_types":
            values = ", ".join(f"`{key}` / {inverse}" for key, inverse in vocabulary.relation_types.items())
            rows.append(f"| `{name}` | {_cell(info.description)} (type / how it reads on the target's page) | "
                        f"{_cell(values)} |")
        elif name != "scales":
            rows.append(f"| `{name}` | {_cell(info.description)} | "
                        f"{', '.join(f'`{value}`' for value in vocabulary.values(name))} |")
    for name, info in Scales.model_fields.items():
        rows.append(f"| `scales: {name}` | {_cell(info.description)} | "
                    f"{' < '.join(f'`{value}`' for value in vocabulary.values(name))} |")
    return "\n".join(rows)


def _vocabulary_words(vocab: Vocab) -> str:
    unknown = f", or `{UNKNOWN}`" if vocab.judgment else ""
    if vocab.scale:
        return f"a step of the scale `{vocab.key}` ([vocabulary](#vocabulary)){unknown}"
    singular = vocab.key.removesuffix("s").replace("_", " ")
    return f"a {singular} ([vocabulary](#vocabulary), `{vocab.key}`){unknown}"


def _table(specs) -> str:
    rows = ["| field | required | what to write | description |", "| --- | --- | --- | --- |"]
    rows += [f"| `{spec.name}` | {'yes' if spec.required else ''} | {_cell(_what(spec))} | "
             f"{_cell(spec.description)} |" for spec in specs]
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------- what to write


def _what(spec: FieldSpec) -> str:
    """A field's type as an editor meets it: 'id of an organization', 'list, each a tag'."""
    return re.sub(r"^(an?|the) ", "", _words(spec.info.annotation, list(spec.info.metadata), spec.show))


def _words(annotation, metadata: list | None = None, show: str | None = None) -> str:
    bare, inner, _ = unwrap(annotation)
    metadata = (metadata or []) + inner
    declared = [item.show for item in metadata if isinstance(item, Shown) and item.show]
    show = show or (declared[0] if declared else None)
    ref = next((item for item in metadata if isinstance(item, RefTo)), None)
    vocab = next((item for item in metadata if isinstance(item, Vocab)), None)
    if vocab is not None:
        return _vocabulary_words(vocab)
    origin = typing.get_origin(bare)
    if ref is not None:
        return "the id of " + _kinds(ref)
    if origin in (list, tuple):
        return "a list, each " + _words(typing.get_args(bare)[0])
    if origin is dict:
        return "a mapping of names (slugs), each to " + _words(typing.get_args(bare)[1])
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return f"{_a(_title(bare).lower())} [{_title(bare).lower()}](#{_anchor(bare)})"
    if origin is Literal:
        values = typing.get_args(bare)
        if show == "scale":
            return " < ".join(f"`{value}`" for value in values)
        return "one of " + ", ".join(f"`{value}`" for value in values)
    if show in SHOWN_AS:
        return SHOWN_AS[show]
    if bare is bool:
        return "`true` or `false`"
    if bare in (int, float):
        number = "a whole number" if bare is int else "a number"
        bounds = [getattr(item, name) for item in _flat(metadata) for name in ("ge", "le")
                  if getattr(item, name, None) is not None]
        return f"{number} from {bounds[0]:g} to {bounds[1]:g}" if len(bounds) == 2 else number
    if any(getattr(item, "pattern", None) == SLUG_PATTERN for item in metadata):
        return "a slug (lowercase letters, digits and single hyphens)"
    return "text"


def _kinds(ref: RefTo) -> str:
    if not ref.kinds:
        return "any record"
    singulars = [KINDS[kind].singular for kind in ref.kinds]
    return f"{_a(singulars[0])} {' or '.join(singulars)}"


def _a(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _flat(metadata: list):
    """The metadata and, inside a ``Field(...)`` of a type (``Percent``), its constraints."""
    for item in metadata:
        yield item
        if isinstance(item, FieldInfo):
            yield from _flat(item.metadata)


def _title(model: type[BaseModel]) -> str:
    """'AssessmentRow' -> 'Assessment row'."""
    return re.sub(r"(?<!^)([A-Z])", r" \1", model.__name__).capitalize()


def _anchor(model: type[BaseModel]) -> str:
    """The heading's anchor on GitHub and in most Markdown renderers."""
    return _title(model).lower().replace(" ", "-")


def _nested_models() -> dict[type[BaseModel], dict[str, list[str]]]:
    """Every model held in a field of a record, in the order met, with where: {field: [owners]}."""
    found: dict[type[BaseModel], dict[str, list[str]]] = {}
    common = set(models.Record.model_fields)
    owners = [(models.Record, "every record")]
    owners += [(kind.model, kind.folder) for kind in KINDS.values()]
    while owners:
        model, owner = owners.pop(0)
        for spec in fields_of(model):
            if model is not models.Record and issubclass(model, models.Record) and spec.name in common:
                continue  # listed once, for every record
            for held in _models_in(spec.info.annotation):
                if held not in found:
                    found[held] = {}
                    owners.append((held, f"{_a(_title(held).lower())} {_title(held).lower()}"))
                users = found[held].setdefault(spec.name, [])
                if owner not in users:
                    users.append(owner)
    return found


def _models_in(annotation) -> list[type[BaseModel]]:
    bare, _, _ = unwrap(annotation)
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return [bare]
    return [model for arg in typing.get_args(bare) for model in _models_in(arg)]


# ---------------------------------------------------------------------------- README


def readme_with_tables(text: str) -> str:
    """``text`` (README.md) with the part between the markers replaced by ``field_tables()``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the lines {BEGIN} and {END} around the tables of fields")
    return text[:start + len(BEGIN)] + "\n\n" + field_tables() + "\n" + text[end:]


def write_readme(path: Path = README) -> bool:
    """Put ``field_tables()`` into README.md between its markers. Returns whether the file changed."""
    text = path.read_text(encoding="utf-8")
    updated = readme_with_tables(text)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    # python -m generator.docs --write-readme: after a change of a model's fields or descriptions.
    if sys.argv[1:] != ["--write-readme"]:
        raise SystemExit("usage: python -m generator.docs --write-readme")
    print(f"{README}: {'updated' if write_readme() else 'already up to date'}")
