"""`kb validate`, `kb new` and `kb schema` as an editor and CI call them."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
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
    assert "5 errors in 2 file(s)" in err


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
    assert report["errors"] == 5
    first = report["diagnostics"][0]
    assert first == {"file": "content/organizations/openai.yaml", "line": 3, "column": 7,
                     "message": "'lab' is not an allowed type", "field": "type",
                     "hint": first["hint"], "code": "choice", "severity": "error", "given": True}
    assert [d["line"] for d in report["diagnostics"]] == [3, 5, 6, 7, 8]


def test_validate_json_on_valid_content_has_no_diagnostics(capsys):
    assert main(["validate", "--format", "json", str(VALID)]) == 0
    assert json.loads(capsys.readouterr().out) == {"errors": 0, "diagnostics": []}


def test_validate_github_writes_workflow_annotations(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # in CI: no summary of this fixture
    assert main(["validate", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    annotation = re.compile(r"^::error file=([^,]+),line=(\d+),col=(\d+)(?:,title=[^:]*)?::(.+)$")
    matches = [annotation.match(line) for line in lines]
    assert all(matches), lines
    assert matches[0].groups()[:3] == ("content/organizations/openai.yaml", "3", "7")
    assert "did you mean 'capability'?" in matches[4].group(4)


def test_validate_given_files_reports_their_errors_first_then_the_others(capsys, monkeypatch):
    monkeypatch.chdir(SEVERAL)
    assert main(["validate", "--format", "json", "content/systems/gpt-4.yaml"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(d["file"], d["given"]) for d in report["diagnostics"]] == (
        [("content/systems/gpt-4.yaml", True)] * 2 + [("content/organizations/openai.yaml", False)] * 3)
    assert report["errors"] == 5


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
    assert capsys.readouterr().out.count("would change") == len(KINDS)
    assert list(tmp_path.iterdir()) == []


def test_validate_given_files_by_absolute_path_outside_the_working_folder(capsys, monkeypatch, tmp_path):
    shutil.copytree(SEVERAL / "content", tmp_path / "content")
    monkeypatch.chdir(REPO)
    target = tmp_path / "content" / "organizations" / "openai.yaml"
    assert main(["validate", "--format", "json", str(target)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [d["file"] for d in report["diagnostics"] if d["given"]] == [target.as_posix()] * 3
    assert report["errors"] == 5
