"""The committed JSON Schemas: generated, not hand-edited, and in agreement with `kb validate`.

What JSON Schema cannot express, so only `kb validate` checks it (pinned by
test_schema_passes_what_only_the_validator_catches below):

* references: that an id names an existing record, of the right kind, and is unique across kinds;
* that the id matches the file name, and where the file lives (kind folders, suffix);
* real calendar dates in partial dates ("2023-02-30" matches the pattern, which bounds the month
  to 01-12 and the day to 01-31); full dates *are* checked, through ``format: date``;
* a one-paragraph summary (no blank lines) and text that is not only spaces;
* the rules across fields that compare values: low <= high, rectangular tables (those that say
  which fields go together, a position's claim or quote, a quantity's value or text, a source for
  a quote or an estimate, are in the schemas: test_schema_rejects_what_the_validator_rejects...);
* topic prose: [[links]], [[table:...]] and [[diagram:...]] directives, tables never placed,
  Mermaid syntax;
* YAML policy: anchors and aliases (check-jsonschema's loader expands them), tags;
* the form of a number written where patterned text is wanted: the loader keeps a number's text
  ("2.50", not 2.5) and the schemas let text fields take numbers, so both accept
  ``announced: 2024``; but JSON Schema applies patterns to strings only, so ``announced:
  2023.10`` passes the schema and fails the validator's partial-date pattern.

The other way round, the schema is stricter than pydantic's lax mode, which accepts a quoted
number in a number field (``quality: "80"``), true as 1 (``importance: true``) and a number of
seconds as a date (``last_edited: 0`` is 1970-01-01). No fixture relies on those coercions.

Dates: check-jsonschema loads YAML with ruamel.yaml but turns its timestamps back into strings
(check_jsonschema/parsers/yaml.py), so an unquoted ``last_edited: 2025-01-15`` is checked as the
string "2025-01-15" against ``format: date``, as our loader also keeps it text. No quoting needed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import models, pipeline
from generator.kinds import KINDS, fields_of
from generator.load import split_front_matter
from generator.schemas import write_schemas

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"

# Invalid cases whose every fault JSON Schema can express (plus parse-level faults, which both
# reject). The alias bomb is left out on purpose: check-jsonschema's loader would expand it.
EXPRESSIBLE = ["unknown-field", "wrong-type", "out-of-range", "wrong-choice", "missing-required-field",
               "id-not-slug", "bad-date", "several-faults-two-files", "yaml-1-1-booleans", "yaml-syntax-error", "tab-indentation", "duplicate-key",
               "empty-file", "list-not-record", "scalar-not-record", "not-utf8"]


# ---------------------------------------------------------------------------- generation


def test_committed_schemas_match_the_models():
    assert write_schemas(SCHEMAS, dry_run=True) == [], "run `kb schema` and commit schemas/"


def test_write_schemas_reports_only_changed_files(tmp_path):
    written = write_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted([f"{kind}.schema.json" for kind in KINDS]
                                                          + ["export.schema.json", "vocabulary.schema.json"])
    assert write_schemas(tmp_path) == []
    (tmp_path / "risks.schema.json").write_text("{}\n")
    assert write_schemas(tmp_path, dry_run=True) == [tmp_path / "risks.schema.json"]
    assert (tmp_path / "risks.schema.json").read_text() == "{}\n"  # dry run wrote nothing


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schema_files_are_stable_json(kind):
    text = (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["$id"] == f"urn:kb-wiki:schema:{kind}"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert f"content/{kind}/" in schema["title"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schemas_carry_each_fields_description_from_the_model(kind):
    """An editor's hover text is the model's description, for the record's fields and for those
    of every value nested in it (a position, a figure...)."""
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    described = [(KINDS[kind].model, schema["properties"])]
    described += [(getattr(models, name), definition["properties"]) for name, definition in schema["$defs"].items()]
    for model, properties in described:
        for spec in fields_of(model):
            assert properties[spec.name]["description"] == spec.description, f"{model.__name__}.{spec.name}"


# ---------------------------------------------------------------------------- same verdicts


def jsonschema_failures(files: list[tuple[str, Path]], scratch: Path) -> set[Path]:
    """Run check-jsonschema per kind; return the files it rejects (topics: their front matter)."""
    checked: dict[str, list[tuple[Path, Path]]] = {}
    for number, (kind, path) in enumerate(files):
        target = path
        if KINDS[kind].markdown:
            parts = split_front_matter(path.read_text(encoding="utf-8"))
            target = scratch / f"{number}-{path.stem}.yaml"
            target.write_text(parts[0] if parts else "", encoding="utf-8")
        checked.setdefault(kind, []).append((path, target))
    failed: set[Path] = set()
    for kind, pairs in checked.items():
        result = subprocess.run(
            [str(CHECK_JSONSCHEMA), "--output-format", "json", "--schemafile",
             str(SCHEMAS / f"{kind}.schema.json"), *(str(target) for _, target in pairs)],
            capture_output=True, text=True, timeout=120)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        report = json.loads(result.stdout)
        rejected = {item["filename"] for item in report.get("errors", []) + report.get("parse_errors", [])}
        failed |= {source for source, target in pairs if str(target) in rejected}
    return failed


def validator_failures(case: Path, monkeypatch) -> set[Path]:
    monkeypatch.chdir(case)
    checked = pipeline.check(Path("content"))
    return {(case / d.file).resolve() for d in checked.diagnostics if d.severity == "error"}


def record_files(case: Path) -> list[tuple[str, Path]]:
    return [(path.parent.name, path.resolve()) for path in sorted((case / "content").rglob("*.*"))
            if path.parent.name in KINDS]


def test_check_jsonschema_and_kb_validate_agree_file_by_file(tmp_path, monkeypatch):
    cases = [VALID] + [INVALID / name for name in EXPRESSIBLE]
    files = [item for case in cases for item in record_files(case)]
    ours: set[Path] = set()
    for case in cases:
        ours |= validator_failures(case, monkeypatch)
    theirs = jsonschema_failures(files, tmp_path)
    verdicts = {path.relative_to(FIXTURES).as_posix(): (path in ours, path in theirs) for _, path in files}
    disagreements = {name: v for name, v in verdicts.items() if v[0] != v[1]}
    assert disagreements == {}, "(kb validate rejects, check-jsonschema rejects)"
    # Both sides really judged: the valid files pass, and most invalid ones fail.
    assert not any(failed for name, (failed, _) in verdicts.items() if name.startswith("valid/"))
    assert sum(failed for failed, _ in verdicts.values()) >= len(EXPRESSIBLE)


def test_schema_rejects_a_table_name_that_is_not_an_id(tmp_path, monkeypatch):
    topic = (VALID / "content" / "topics" / "ai-alignment.md").read_text(encoding="utf-8")
    case = tmp_path / "case"
    for kind, path in record_files(VALID):
        target = case / "content" / kind / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    bad = case / "content" / "topics" / "ai-alignment.md"
    bad.write_text(topic.replace("benchmark-scores", "Benchmark_Scores"), encoding="utf-8")
    assert validator_failures(case, monkeypatch) == {bad.resolve()}
    assert jsonschema_failures([("topics", bad)], tmp_path) == {bad}


SYSTEM = """id: {id}
name: A system
summary: A system.
capability: Learns new tasks from a few examples.
achievement: Showed that scale gives few-shot ability.
{extra}
"""
EXPERT = """id: {id}
name: An expert
summary: An expert.
{extra}
"""
# Rules across fields and date bounds that the schemas state too (json_schema_extra beside each
# model validator, PARTIAL_DATE_SCHEMA_PATTERN): the editor rejects what kb validate rejects.
BOTH_REJECT = {
    "systems/month-13.yaml": SYSTEM.format(id="month-13", extra="announced: 2020-13"),
    "systems/day-32.yaml": SYSTEM.format(id="day-32", extra="announced: 2020-01-32"),
    "metrics/no-figure.yaml": """id: no-figure
name: A figure without a number
summary: A metric whose estimate has a unit but neither a value nor a text.
estimate: {unit: months}
source: compute-trends-paper
implication: None.
""",
    "metrics/low-without-high.yaml": """id: low-without-high
name: A range with one end
summary: A metric whose range has only a lower end.
estimate: {value: 2, low: 1}
source: compute-trends-paper
implication: None.
""",
    "metrics/confidence-without-range.yaml": """id: confidence-without-range
name: A confidence without a range
summary: A metric with a confidence level but no range.
estimate: {value: 2, confidence: 95}
source: compute-trends-paper
implication: None.
""",
    "risks/likelihood-low-only.yaml": """id: likelihood-low-only
name: A likelihood with one end
summary: A risk whose likelihood has a lower estimate but no higher one.
description: Comes about somehow.
evidence: None yet.
severity: high
likelihood: {level: likely, low: 10}
""",
    "experts/neither-claim-nor-quote.yaml": EXPERT.format(
        id="neither-claim-nor-quote", extra="positions:\n  - {topic: ai-alignment, date: '2024'}"),
    "experts/null-claim.yaml": EXPERT.format(
        id="null-claim", extra="positions:\n  - {topic: ai-alignment, claim: null}"),
    "experts/quote-without-source.yaml": EXPERT.format(
        id="quote-without-source", extra="positions:\n  - {topic: ai-alignment, quote: Their words.}"),
}
# And what must stay accepted by both: null where a rule's field is absent.
BOTH_ACCEPT = {
    "experts/null-quote-no-source.yaml": EXPERT.format(
        id="null-quote-no-source", extra="positions:\n  - {topic: ai-alignment, claim: Likely., quote: null}"),
    "metrics/text-figure.yaml": """id: text-figure
name: A figure in words
summary: A metric whose estimate is a text.
estimate: {text: First since 1969, low: null}
source: compute-trends-paper
implication: None.
""",
}
ONLY_THE_VALIDATOR_CATCHES = {
    "systems/not-a-real-date.yaml": SYSTEM.format(id="not-a-real-date", extra="announced: 2021-02-30"),
    "systems/two-paragraphs.yaml": SYSTEM.format(id="two-paragraphs", extra="").replace(
        "summary: A system.", "summary: |\n  One paragraph.\n\n  Another."),
    "systems/blank-name.yaml": SYSTEM.format(id="blank-name", extra="").replace(
        "name: A system", 'name: "   "'),
    "systems/wrong-kind.yaml": SYSTEM.format(id="wrong-kind", extra="developer: gpt-4"),
    "systems/relation-to-nothing.yaml": SYSTEM.format(
        id="relation-to-nothing", extra="relations:\n  - {type: builds-on, target: gpt-404}"),
}


def copy_valid_case(tmp_path: Path, records: dict[str, str]) -> tuple[Path, list[tuple[str, Path]]]:
    """The valid fixture base plus ``records`` (path under content/ -> text); returns the case and the added files."""
    case = tmp_path / "case"
    for kind, path in record_files(VALID):
        target = case / "content" / kind / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    made = []
    for relative, text in records.items():
        target = case / "content" / relative
        target.write_text(text, encoding="utf-8")
        made.append((target.parent.name, target.resolve()))
    return case, made


def test_schema_rejects_what_the_validator_rejects_across_fields(tmp_path, monkeypatch):
    case, made = copy_valid_case(tmp_path, {**BOTH_REJECT, **BOTH_ACCEPT})
    rejected = {path for _, path in made[:len(BOTH_REJECT)]}
    assert validator_failures(case, monkeypatch) == rejected
    assert jsonschema_failures(made, tmp_path) == rejected


def test_schema_passes_what_only_the_validator_catches(tmp_path, monkeypatch):
    """Pins the list in this module's docstring: if a line here starts failing, update it."""
    case, made = copy_valid_case(tmp_path, ONLY_THE_VALIDATOR_CATCHES)
    assert validator_failures(case, monkeypatch) == {path for _, path in made}
    files = list(made)
    for name in ("missing-reference", "wrong-kind-reference", "duplicate-id", "id-not-file-name",
                 "prose-missing-link", "bad-mermaid", "undeclared-table", "anchors-and-aliases",
                 "numbers-keep-their-text"):
        failed = validator_failures(INVALID / name, monkeypatch)
        assert failed, name
        files += [(kind, path) for kind, path in record_files(INVALID / name) if path in failed]
    assert jsonschema_failures(files, tmp_path) == set()


def test_reference_descriptions_name_the_kind_of_record():
    """A reference field's hover says it takes the id of a record and of which kind (from its Ref)."""
    nested = {model for kind in KINDS.values() for model in [kind.model] + [
        getattr(models, name) for name in kind.model.model_json_schema().get("$defs", {})]}
    refs = [(model, spec) for model in nested for spec in fields_of(model) if spec.ref is not None]
    assert refs
    for model, spec in refs:
        words = [folder.removesuffix("s") for folder in spec.ref.kinds] or ["any kind"]  # "risk", not "risk mechanism"
        where = f"{model.__name__}.{spec.name}: {spec.description}"
        assert spec.description.startswith("Id"), where
        assert all(word in spec.description for word in words), where
