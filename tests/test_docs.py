"""The README's tables of fields are the models' own: a field, its type or its description
changed in ``generator/models.py`` and not in README.md fails here (as Datasette's test_docs
fails for an undocumented setting)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from generator import docs, models
from generator.vocabulary import DEFAULT
from generator.kinds import KINDS, fields_of

README = Path(__file__).resolve().parent.parent / "README.md"


def all_models() -> list[type[BaseModel]]:
    return [models.Record] + [kind.model for kind in KINDS.values()] + list(docs._nested_models())


def section(text: str, heading: str) -> str:
    """The Markdown under ``heading`` up to the next heading."""
    start = text.index(f"\n{heading}\n")
    following = re.search(r"\n#{2,4} ", text[start + len(heading) + 2:])
    return text[start:start + len(heading) + 2 + following.start()] if following else text[start:]


def test_readme_field_tables_are_what_the_models_say():
    text = README.read_text(encoding="utf-8")
    assert docs.BEGIN in text and docs.END in text
    assert docs.readme_with_tables(text) == text, "run: .venv/bin/python -m generator.docs --write-readme"


def test_every_field_has_a_description_of_one_line():
    for model in all_models():
        for spec in fields_of(model):
            where = f"{model.__name__}.{spec.name}"
            assert spec.description.strip(), f"{where} has no description: add Field(description=...)"
            assert "\n" not in spec.description and len(spec.description) <= 120, where


def test_the_tables_list_every_field_of_every_model_with_its_description():
    tables = docs.field_tables()
    common = set(models.Record.model_fields)
    headings = {models.Record: "### Fields every record has"}
    headings |= {kind.model: next(line for line in tables.splitlines()
                                  if line.startswith(f"#### {kind.title} (`content/{kind.folder}/"))
                 for kind in KINDS.values()}
    headings |= {model: f"#### {docs._title(model)}" for model in docs._nested_models()}
    for model, heading in headings.items():
        rows = [line for line in section(tables, heading).splitlines() if line.startswith("| `")]
        own = [spec for spec in fields_of(model)
               if model is models.Record or not issubclass(model, models.Record) or spec.name not in common]
        assert [row.split(" | ")[0] for row in rows] == [f"| `{spec.name}`" for spec in own], heading
        for row, spec in zip(rows, own):
            assert row.endswith(f" | {spec.description} |")
            assert row.split(" | ")[1] == ("yes" if spec.required else "")


def test_nested_values_are_found_wherever_a_field_holds_them():
    nested = docs._nested_models()
    assert nested[models.Position] == {"positions": ["experts", "organizations"]}
    assert nested[models.Quantity] == {"estimate": ["metrics", "a position"]}
    assert nested[models.Relation] == {"relations": ["every record"]}
    assert models.ProbabilityRange in nested and models.DataTable in nested


def test_what_to_write_reads_the_type():
    tables = docs.field_tables()
    assert "| `developer` |  | id of an organization |" in tables
    assert "| `severity` | yes | step of the scale `severity` ([vocabulary](#vocabulary)), or `unknown` |" in tables
    assert "| `scales: severity` | How severe a risk's harm would be, low to high. | `low` < `low-medium` < " in tables
    assert "| `positions` |  | list, each a [position](#position) |" in tables
    assert "| `confidence` |  | number from 0 to 100 |" in tables
    # the figure's example is shown by the model itself, so it cannot drift
    assert "shows as “~8 months (95% CI: 5-14 months)”" in tables
    for name, inverse in DEFAULT.relation_types.items():
        assert f"`{name}` / {inverse}" in tables


def test_write_readme_replaces_only_the_marked_part(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{docs.BEGIN}\nold tables\n{docs.END}\n\nAfter.\n", encoding="utf-8")
    assert docs.write_readme(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nBefore.\n\n") and text.endswith(f"{docs.END}\n\nAfter.\n")
    assert "old tables" not in text and docs.field_tables() in text
    assert docs.write_readme(readme) is False  # already up to date
    readme.write_text("# Title\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kb:fields"):
        docs.write_readme(readme)


def test_every_example_record_starts_with_its_schema_modeline():
    """Each example in "Examples, one per kind" is a file an editor can copy: its first lines name
    the file and point the YAML language server at its kind's schema, as `kb new` writes them."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index("\n### Examples, one per kind\n"):]  # the topic's prose has its own headings
    kinds = set()
    for example in re.findall(r"```(?:yaml|markdown)\n(.*?)\n```\n", after, re.S):
        named = re.match(r"(?:# |<!-- )content/([a-z]+)/", example)
        if not named:
            break
        folder = named.group(1)
        kinds.add(folder)
        assert f"# yaml-language-server: $schema=../../schemas/{folder}.schema.json\n" in example, example
    assert kinds == set(KINDS)
