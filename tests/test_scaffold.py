"""`kb new`: a new record fails validation on each placeholder until an editor fills it in."""
from __future__ import annotations

import re
import shutil
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from generator import pipeline
from generator.kinds import KINDS, field_of
from generator.models import Quantity, RefTo
from generator.scaffold import new_record
from generator.vocabulary import DEFAULT

REPO = Path(__file__).resolve().parent.parent
VALID = Path(__file__).parent / "fixtures" / "valid" / "content"
FILLED_MODELS = {Quantity: "{value: 3, unit: months}"}


@pytest.fixture
def content(tmp_path, monkeypatch) -> Path:
    """A copy of the valid fixtures, so references in filled-in records can resolve."""
    shutil.copytree(VALID, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    return Path("content")


def placeholders(kind: str) -> list[str]:
    fields = KINDS[kind].model.model_fields
    return [name for name, info in fields.items()
            if info.is_required() and name not in ("id", "name", "title")]


def filled_value(kind: str, field: str) -> str:
    info = KINDS[kind].model.model_fields[field]
    if typing.get_origin(info.annotation) is typing.Literal:
        return typing.get_args(info.annotation)[0]
    values = field_of(KINDS[kind].model, field).values(DEFAULT)  # a choice of the vocabulary
    if values:
        return values[0]
    ref = next((m for m in info.metadata if isinstance(m, RefTo)), None)
    if ref is not None:
        return sorted(p.stem for p in (VALID / ref.kinds[0]).iterdir())[0]
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
        return FILLED_MODELS[info.annotation]
    return f"Filled-in {field.replace('_', ' ')}."


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_new_record_fails_on_each_placeholder_until_filled(content, kind):
    path = new_record(content, kind, "Foo Bar")
    assert path == content / kind / f"foo-bar{KINDS[kind].suffix}"
    errors = pipeline.check(content).diagnostics
    assert {d.file for d in errors} == {path.as_posix()}
    assert sorted(d.field for d in errors) == sorted(placeholders(kind))
    assert all(d.message == f"{d.field} is empty" for d in errors)

    text = path.read_text(encoding="utf-8")
    for field in placeholders(kind):
        text, count = re.subn(rf"^{field}:.*$", f"{field}: {filled_value(kind, field)}", text,
                              flags=re.MULTILINE)
        assert count == 1
    path.write_text(text, encoding="utf-8")
    checked = pipeline.check(content)
    assert checked.diagnostics == []
    (entry,) = [e for e in checked.entries if e.id == "foo-bar"]
    assert entry.name == "Foo Bar"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_new_record_starts_with_the_schema_modeline(content, kind):
    lines = new_record(content, kind, "Foo Bar").read_text(encoding="utf-8").splitlines()
    modeline = f"# yaml-language-server: $schema=../../schemas/{kind}.schema.json"
    # A topic is Markdown: the modeline is the first line of its YAML front matter.
    assert lines[:2] == ["---", modeline] if KINDS[kind].markdown else lines[0] == modeline
    assert (REPO / "content" / kind / "../../schemas" / f"{kind}.schema.json").resolve().is_file()


def test_new_topic_has_a_starter_body(content):
    text = new_record(content, "topics", "Scalable oversight").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    assert body.startswith("## Overview\n")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_placeholder_says_what_the_model_describes(content, kind):
    """The comment is the field's pydantic description: written once, in the model."""
    lines = new_record(content, kind, "Foo Bar").read_text(encoding="utf-8").splitlines()
    for field in placeholders(kind):
        (line,) = [line for line in lines if line.startswith(f"{field}:")]
        description = field_of(KINDS[kind].model, field).description
        assert description and line.startswith(f"{field}:  # required: {description}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_optional_field_is_listed_with_its_description(content, kind):
    """The optional fields are comments an editor can uncomment, each saying what to write."""
    lines = new_record(content, kind, "Foo Bar").read_text(encoding="utf-8").splitlines()
    optional = [name for name, info in KINDS[kind].model.model_fields.items() if not info.is_required()]
    assert optional
    for field in optional:
        description = field_of(KINDS[kind].model, field).description
        assert description and [line for line in lines if line.startswith(f"# {field}:  # {description}")], field


def test_literal_placeholders_list_the_choices(content):
    text = new_record(content, "organizations", "Foo Bar").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("type:")]
    assert line == ("type:  # required: What kind of organization it is. One of: frontier-lab, safety-org, "
                    "research-org, academic, government, funder, policy, company, nonprofit.")


def test_id_is_an_ascii_slug_of_the_name(content):
    assert new_record(content, "experts", "Ünïcödé Café: GPT-5 (2025)").name == "unicode-cafe-gpt-5-2025.yaml"


@pytest.mark.parametrize("name", ["yes", "1.10", "null", "true", "2024", "Foo: Bar", "#1 pick", "- dash", "'quoted'",
                                  '"double"', "  padded  ", "back\\slash", "[list]"])
def test_names_that_are_yaml_syntax_are_kept_as_written(content, name):
    path = new_record(content, "experts", name)
    text = path.read_text(encoding="utf-8").replace("summary:", "summary: Filled in.")
    path.write_text(text, encoding="utf-8")
    checked = pipeline.check(content)
    assert checked.diagnostics == []
    (entry,) = [e for e in checked.entries if e.document.path == path.as_posix()]
    assert entry.record.name == name


def test_new_record_refuses_to_overwrite(content):
    new_record(content, "systems", "Foo Bar")
    with pytest.raises(FileExistsError):
        new_record(content, "systems", "foo bar")
