"""`kb validate`, `kb new` and `kb schema` as an editor and CI call them."""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
from generator.core import CODES
from generator.kinds import KINDS

REPO = Path(__file__).resolve().parent.parent
KB = Path(sys.executable).parent / "kb"
FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid" / "content"
INVALID = FIXTURES / "invalid"
SEVERAL = INVALID / "several-faults-two-files"


def test_validate_exits_0_on_valid_content(capsys):
    assert main(["validate", str(VALID)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "content is valid" in err


def test_validate_exits_1_and_counts_errors(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    assert main(["validate"]) == 1  # default folder: content
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "content/organizations/openai.yaml:3:7: error: 'lab' is not an allowed type [type]"
    assert "6 errors in 2 file(s)" in err


@pytest.mark.parametrize("argv", [["validate", "no/such/folder"],
                                  ["validate", str(REPO / "pyproject.toml")]])
def test_validate_exits_2_on_a_usage_error(capsys, argv):
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("kb validate: ")


def test_validate_exits_2_on_an_unknown_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--format", "xml"])
    assert exit_.value.code == 2


def test_validate_json_lists_every_diagnostic(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    assert main(["validate", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 6
    first = report["diagnostics"][0]
    assert first == {"file": "content/organizations/openai.yaml", "line": 3, "column": 7,
                     "message": "'lab' is not an allowed type", "field": "type",
                     "hint": first["hint"], "code": "choice", "severity": "error", "given": True}
    assert [d["line"] for d in report["diagnostics"]] == [3, 5, 6, 6, 7, 8]


def test_validate_json_on_valid_content_has_no_diagnostics(capsys):
    assert main(["validate", "--format", "json", str(VALID)]) == 0
    assert json.loads(capsys.readouterr().out) == {"format_version": 1, "errors": 0, "diagnostics": []}


def _readme_table(after: str) -> dict[str, str]:
    """The first Markdown table after the README line that starts with ``after``, as
    {first cell without its backticks: second cell}."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(after))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[2:]]  # past head and rule
    return {key.strip("`"): value for key, value, *_ in cells}


def test_readme_documents_the_json_report_as_kb_writes_it(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    assert main(["validate", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(_readme_table("`kb validate --format json` prints")) == set(report)
    assert f"`format_version` is {report['format_version']}" in (REPO / "README.md").read_text(encoding="utf-8")
    assert set(_readme_table("Each diagnostic has")) == set(report["diagnostics"][0])
    assert _readme_table("The codes, in the order") == CODES


def _emitted_codes() -> tuple[dict[str, set[str]], list[str]]:
    """Every code the generator's source can give a diagnostic, read from its syntax tree: a
    ``code=`` argument, a ``code`` parameter's default or dataclass field, and the positional
    argument in the code's place of a call to a function or class that takes ``code``. Returns
    {code: places} and the places that pass anything but a string or a forwarded ``code``."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted((REPO / "generator").rglob("*.py"))}
    place = {}  # function or class name -> position of its code parameter
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                if "code" in fields:
                    place[node.name] = fields.index("code")
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                names = names[1:] if names[:1] == ["self"] else names
                if "code" in names:
                    owner = next((c.name for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and node in c.body), None)
                    place[owner if node.name == "__init__" else node.name] = names.index("code")
    codes, loose = {}, []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.FunctionDef):
                arguments = node.args.posonlyargs + node.args.args
                values = [d for a, d in zip(arguments[len(arguments) - len(node.args.defaults):], node.args.defaults)
                          if a.arg == "code"]
                values += [d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if a.arg == "code" and d]
            elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "code" and node.value:
                values = [node.value]
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                values = [k.value for k in node.keywords if k.arg == "code"]
                if name in place and len(node.args) > place[name]:
                    values.append(node.args[place[name]])
            for value in values:
                where = f"{path.relative_to(REPO)}:{value.lineno}"
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    codes.setdefault(value.value, set()).add(where)
                elif not (getattr(value, "id", None) == "code" or getattr(value, "attr", None) == "code"):
                    loose.append(f"{where}: {ast.unparse(value)}")
    return codes, loose


def test_every_diagnostic_code_is_declared_in_the_table():
    codes, loose = _emitted_codes()
    assert not loose, "a diagnostic code must be written as a string of core.CODES, or passed on as `code`"
    assert {code: places for code, places in codes.items() if code not in CODES} == {}, \
        "add each new code to core.CODES with its meaning (and to the README's table)"
    assert set(CODES) - set(codes) == set(), "core.CODES lists a code that nothing gives"
    assert {"unknown-field", "choice", "duplicate-id", "yaml"} <= set(codes)  # the reader finds calls at all


def test_validate_github_writes_workflow_annotations(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # in CI: no summary of this fixture
    assert main(["validate", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    annotation = re.compile(r"^::error file=([^,]+),line=(\d+),col=(\d+)(?:,title=[^:]*)?::(.+)$")
    matches = [annotation.match(line) for line in lines]
    assert all(matches), lines
    assert matches[0].groups()[:3] == ("content/organizations/openai.yaml", "3", "7")
    assert "did you mean 'capability'?" in matches[5].group(4)


def test_validate_given_files_reports_their_errors_first_then_the_others(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    assert main(["validate", "--format", "json", "content/systems/gpt-4.yaml"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(d["file"], d["given"]) for d in report["diagnostics"]] == (
        [("content/systems/gpt-4.yaml", True)] * 3 + [("content/organizations/openai.yaml", False)] * 3)
    assert report["errors"] == 6


def test_validate_given_a_valid_file_fails_if_others_fail(capsys, monkeypatch, tmp_path):
    for path in VALID.rglob("*.*"):
        target = tmp_path / "content" / path.relative_to(VALID)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (tmp_path / "content" / "systems" / "broken.yaml").write_text("id: broken\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "content/systems/gpt-4.yaml"]) == 1  # the whole base is judged
    out = capsys.readouterr().out
    assert out.startswith("elsewhere in the base, 4 errors:\ncontent/systems/broken.yaml:1:1: ")
    assert main(["validate", "content/systems/broken.yaml"]) == 1
    assert capsys.readouterr().out.startswith("content/systems/broken.yaml:1:1: ")


def test_validate_given_a_new_file_whose_id_is_taken_fails(capsys, monkeypatch, tmp_path):
    """A pre-commit hook checks the files a commit touches: adding organizations/o3.yaml while
    systems/o3.yaml exists must fail there (organizations are read first, so the error used to
    land on the untouched system's file only)."""
    shutil.copytree(VALID, tmp_path / "content")
    existing = next((tmp_path / "content" / "systems").glob("*.yaml"))
    new = tmp_path / "content" / "organizations" / existing.name
    new.write_text(f"id: {existing.stem}\nname: New\ntype: frontier-lab\nsummary: s\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "json", f"content/organizations/{existing.name}"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["given"]) for d in report["diagnostics"]] == [("duplicate-id", True), ("duplicate-id", False)]
    assert f"content/systems/{existing.name}" in report["diagnostics"][0]["message"]
    assert report["diagnostics"][1]["file"] == f"content/systems/{existing.name}"


def test_kb_script_never_prints_a_traceback():
    """One run of the installed script over every fixture tree at once."""
    cases = sorted(str(path / "content") for path in INVALID.iterdir() if (path / "content").is_dir())
    result = subprocess.run([str(KB), "validate", "--format", "json", *cases, str(VALID)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    files_with_errors = {d["file"].split("/content/")[0].rsplit("/", 1)[-1] for d in report["diagnostics"]}
    assert files_with_errors == {Path(case).parent.name for case in cases}
    assert {d["code"] for d in report["diagnostics"]} <= set(CODES)


def test_kb_script_exit_codes():
    ok = subprocess.run([str(KB), "validate", str(VALID)], capture_output=True, text=True)
    usage = subprocess.run([str(KB), "validate", "no/such/folder"], capture_output=True, text=True)
    assert (ok.returncode, usage.returncode) == (0, 2)
    assert "Traceback" not in ok.stderr + usage.stderr


def test_new_prints_the_path_and_refuses_to_overwrite(capsys, tmp_path):
    content = tmp_path / "content"
    assert main(["new", "systems", "Foo Bar", "--content", str(content)]) == 0
    path = content / "systems" / "foo-bar.yaml"
    assert capsys.readouterr().out.strip() == str(path)
    assert path.read_text().startswith("# yaml-language-server: $schema=../../schemas/systems.schema.json\n")
    assert main(["new", "systems", "Foo  bar!", "--content", str(content)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_schema_check_passes_on_the_committed_schemas(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["schema", "--check"]) == 0


def test_schema_check_fails_when_schemas_are_missing(capsys, tmp_path):
    assert main(["schema", "--check", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().out.count("would change") == len(KINDS) + 2  # and the export's and the vocabulary's
    assert list(tmp_path.iterdir()) == []


def test_validate_given_files_by_absolute_path_outside_the_working_folder(capsys, monkeypatch, tmp_path):
    shutil.copytree(SEVERAL / "content", tmp_path / "content")
    monkeypatch.chdir(REPO)
    target = tmp_path / "content" / "organizations" / "openai.yaml"
    assert main(["validate", "--format", "json", str(target)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [d["file"] for d in report["diagnostics"] if d["given"]] == [target.as_posix()] * 3
    assert report["errors"] == 6
