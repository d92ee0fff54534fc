"""Pull-request checks that cannot be fooled (issue 14): `kb validate FILE...`, as pre-commit
calls it with the files a commit touches, judges the whole base after the change and reports the
errors of those files first; on GitHub it appends a job summary (generator/review.py) of the
errors and of the records the change adds, changes or removes, with their quality before and after.

Each case runs the real command line (`python -m generator`, or pre-commit with the repository's
hook config) on a copy of the valid fixtures in a temporary folder.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator import pipeline, review

REPO = Path(__file__).resolve().parent.parent
VALID = Path(__file__).parent / "fixtures" / "valid" / "content"
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
GIT_ENV = {"GIT_AUTHOR_NAME": "kb tests", "GIT_AUTHOR_EMAIL": "tests@kb.invalid",
           "GIT_COMMITTER_NAME": "kb tests", "GIT_COMMITTER_EMAIL": "tests@kb.invalid"}


def kb(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**{k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}, **(env or {})}
    result = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.fixture
def base(tmp_path) -> Path:
    """A folder holding content/: the valid fixtures."""
    shutil.copytree(VALID, tmp_path / "content")
    return tmp_path


# ---------------------------------------------------------------------------- the whole base


def git(*args, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def test_the_hook_fails_a_commit_that_deletes_a_referenced_record(base):
    """pre-commit passes no file for a deletion: the hook runs all the same, on the whole base."""
    shutil.copy(REPO / ".pre-commit-config.yaml", base / ".pre-commit-config.yaml")
    (base / ".venv").symlink_to(REPO / ".venv")
    git("init", "-q", "-b", "main", cwd=base)
    git("add", "-A", cwd=base)
    git("commit", "-q", "-m", "base", cwd=base)
    git("rm", "-q", "content/systems/gpt-3.yaml", cwd=base)  # systems/gpt-4.yaml builds on it
    environment = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(base.parent / "pre-commit-home")}
    environment.pop("PRE_COMMIT", None)
    hook = subprocess.run([str(PRE_COMMIT), "run", "kb-validate"], cwd=base, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert "content/systems/gpt-4.yaml:17:13: error: record 'gpt-3' does not exist" in hook.stdout
    assert kb("validate", cwd=base).returncode == 1  # no files: the whole of content/


def test_the_published_hook_runs_like_the_local_one():
    """Another repository's hook (.pre-commit-hooks.yaml, or the config `kb init` writes) runs on
    every commit too."""
    from generator.starter import PRE_COMMIT as STARTED

    published = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    local, started = (yaml.safe_load(text)["repos"][0]["hooks"]
                      for text in ((REPO / ".pre-commit-config.yaml").read_text(), STARTED))
    for hook in (next(h for h in hooks if h["id"] == "kb-validate") for hooks in (published, local, started)):
        assert (hook.get("always_run"), hook["pass_filenames"], hook["require_serial"]) == (True, True, True)


def test_renaming_a_record_without_its_references_fails(base):
    content = base / "content"
    old = content / "systems" / "gpt-3.yaml"
    (content / "systems" / "gpt-3-davinci.yaml").write_text(old.read_text().replace("id: gpt-3", "id: gpt-3-davinci"))
    old.unlink()
    result = kb("validate", "content/systems/gpt-3-davinci.yaml", cwd=base)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "elsewhere in the base, 1 error:"  # the renamed file itself is valid
    assert lines[1].startswith("content/systems/gpt-4.yaml:17:13: error: record 'gpt-3' does not exist")
    assert "1 error in 1 file(s)" in result.stderr


def test_an_organization_with_a_systems_id_fails_on_both_files_the_new_one_first(base):
    new = base / "content" / "organizations" / "gpt-4.yaml"
    new.write_text("id: gpt-4\nname: New\ntype: frontier-lab\nsummary: s\n")
    text = kb("validate", "content/organizations/gpt-4.yaml", cwd=base)
    assert text.returncode == 1
    lines = [line for line in text.stdout.splitlines() if not line.startswith("    hint")]
    assert lines[0].startswith("content/organizations/gpt-4.yaml:1:")
    assert "duplicate-id" not in lines[0] and "content/systems/gpt-4.yaml" in lines[0]
    # the systems file; the topic featuring gpt-4 may mean either record: no wrong-kind cascade
    assert lines[1] == "elsewhere in the base, 1 error:"
    assert lines[2].startswith("content/systems/gpt-4.yaml:1:") and "content/organizations/gpt-4.yaml" in lines[2]

    report = json.loads(kb("validate", "--format", "json", "content/organizations/gpt-4.yaml", cwd=base).stdout)
    assert [(d["file"], d["code"], d["given"]) for d in report["diagnostics"]][:2] == [
        ("content/organizations/gpt-4.yaml", "duplicate-id", True),
        ("content/systems/gpt-4.yaml", "duplicate-id", False)]
    assert report["errors"] == 2 and [d["given"] for d in report["diagnostics"]] == [True, False]

    github = kb("validate", "--format", "github", "content/systems/gpt-4.yaml", cwd=base)
    files = [re.match(r"::error file=([^,]+),", line).group(1) for line in github.stdout.splitlines()]
    assert (github.returncode, files[0]) == (1, "content/systems/gpt-4.yaml")
    assert files[1:] == ["content/organizations/gpt-4.yaml"]


def test_json_of_the_whole_base_marks_every_diagnostic_given(base):
    (base / "content" / "systems" / "gpt-3.yaml").unlink()
    report = json.loads(kb("validate", "--format", "json", cwd=base).stdout)
    assert report["errors"] == 1 and [d["given"] for d in report["diagnostics"]] == [True]


# ---------------------------------------------------------------------------- the job summary


def table(markdown: str, first_header: str) -> list[list[str]]:
    """The rows of the table whose first column is ``first_header``, as cells (escapes kept)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def scored(content: Path) -> pipeline.Run:
    return pipeline.run(pipeline.Run(content), (*pipeline.CHECK, "score"))


@pytest.fixture
def change(tmp_path) -> tuple[Path, Path]:
    """A base with an extra source; the change removes it, adds another, and lowers openai's quality."""
    before, after = tmp_path / "before" / "content", tmp_path / "after" / "content"
    shutil.copytree(VALID, before)
    shutil.copytree(VALID, after)
    source = (VALID / "sources" / "compute-trends-paper.yaml").read_text()
    (before / "sources" / "old-paper.yaml").write_text(source.replace("id: compute-trends-paper", "id: old-paper"))
    (after / "sources" / "new-paper.yaml").write_text(source.replace("id: compute-trends-paper", "id: new-paper"))
    openai = after / "organizations" / "openai.yaml"
    openai.write_text(openai.read_text().replace("quality: 60", "quality: 20"))
    return before, after


def test_summary_lists_the_records_added_changed_and_removed_with_quality(change, tmp_path):
    before, after = change
    summary = tmp_path / "summary.md"
    result = kb("validate", after, "--base", before, "--summary", summary, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    markdown = summary.read_text()
    assert markdown.startswith("## kb validate: content is valid\n")
    assert "| File |" not in markdown
    old, new = scored(before).scores["old-paper"].quality, scored(after).scores["new-paper"].quality
    assert table(markdown, "Change") == [
        ["changed", r"after\/content\/organizations\/openai\.yaml", r"organizations\/openai\.md", "60", "20"],
        ["added", r"after\/content\/sources\/new\-paper\.yaml", r"sources\/new\-paper\.md", "–", str(new)],
        ["removed", r"after\/content\/sources\/old\-paper\.yaml", r"sources\/old\-paper\.md", str(old), "–"]]
    assert "### Records: 1 added, 1 changed, 1 removed\n" in markdown


def test_summary_tables_the_errors_changed_files_first_without_quality_after(change, tmp_path):
    before, after = change
    (after / "systems" / "gpt-3.yaml").unlink()  # gpt-4 builds on it: an error in an unchanged file
    (after / "sources" / "new-paper.yaml").write_text("id: new-paper\nname: New\n")
    summary = tmp_path / "summary.md"
    result = kb("validate", after, "--base", before, "--summary", summary, cwd=tmp_path)
    assert result.returncode == 1
    markdown = summary.read_text()
    errors = table(markdown, "File")
    assert [row[0] for row in errors] == [r"after\/content\/sources\/new\-paper\.yaml"] * (len(errors) - 1) + [
        r"after\/content\/systems\/gpt\-4\.yaml"]
    assert errors[-1][1:3] == ["17", r"relations\[0\]\.target"]
    assert r"record &#39;gpt\-3&#39; does not exist" in errors[-1][3]
    assert markdown.startswith(f"## kb validate: {len(errors)} errors\n")
    removed = [row for row in table(markdown, "Change") if row[0] == "removed"]
    assert [row[1] for row in removed] == [r"after\/content\/sources\/old\-paper\.yaml",
                                          r"after\/content\/systems\/gpt\-3\.yaml"]
    assert "not scored while the base has errors" in markdown


def test_summary_escapes_hostile_record_text(base, tmp_path):
    hostile = 'x | y\n<img src=x onerror=alert(1)> [link](https://evil.example) `code` **b** $m$ @team'
    record = base / "content" / "systems" / "gpt-3.yaml"
    record.write_text(record.read_text() + yaml.safe_dump({hostile: 1}))
    summary = tmp_path / "summary.md"
    assert kb("validate", "--summary", summary, cwd=base).returncode == 1
    markdown = summary.read_text()
    rows = table(markdown, "File")
    assert len(rows) == 1 and len(rows[0]) == 4  # one row of four cells: no pipe or newline got through
    for unsafe in ("<img", "](", "`code`", "**b**", "$m$", " @team", "\nx"):
        assert unsafe not in markdown
    assert not re.search(r"[^\\]\| y", markdown)
    assert review.cell("a|b\r\nc<d>&") == r"a\|b<br>c&lt;d&gt;&amp;"


def test_on_github_the_summary_is_appended_to_the_step_summary(base, tmp_path):
    """A push has no base: the summary has the errors, and says it lists no changed records."""
    (base / "content" / "systems" / "gpt-3.yaml").unlink()
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    result = kb("validate", "--format", "github", cwd=base, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=content/systems/gpt-4.yaml,line=17,col=13,")
    markdown = summary.read_text()
    assert markdown.startswith("earlier step\n## kb validate: 1 error\n")
    assert len(table(markdown, "File")) == 1
    assert "the changed records are not listed" in markdown and "| Change |" not in markdown
    assert kb("validate", cwd=base, env={"GITHUB_STEP_SUMMARY": str(summary)}).returncode == 1
    assert summary.read_text() == markdown  # the text format writes no summary unless asked


@pytest.mark.parametrize("extra", [["--base", "content"], ["--base", "no/such", "--summary", "s.md"],
                                   ["content", "content/../other", "--base", "content", "--summary", "s.md"]])
def test_base_needs_one_content_folder_and_a_summary(base, extra):
    (base / "other").mkdir()
    result = kb("validate", *extra, cwd=base)
    assert result.returncode == 2 and result.stderr.startswith("kb validate: --base"), result.stderr
