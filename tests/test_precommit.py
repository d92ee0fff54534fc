"""The pre-commit hooks run `kb validate` on the records a commit touches and reject a bad one.

pre-commit installs this repository into a fresh virtual environment with pip (`repo:` and `rev:` in a
user of `.pre-commit-hooks.yaml` would get it (PyPI must be reachable). It clones a commit, so
the tests copy the working tree, uncommitted changes included, into a temporary repository and
commit it there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
VALID = Path(__file__).parent / "fixtures" / "valid" / "content"
BAD_RECORD = Path(__file__).parent / "fixtures" / "invalid" / "unknown-field" / "content" / "systems" / "gpt-4.yaml"
GIT_ENV = {"GIT_AUTHOR_NAME": "kb tests", "GIT_AUTHOR_EMAIL": "tests@kb.invalid",
           "GIT_COMMITTER_NAME": "kb tests", "GIT_COMMITTER_EMAIL": "tests@kb.invalid"}


def run(*command, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {**os.environ, **GIT_ENV, **(env or {})}
    environment.pop("PRE_COMMIT", None)
    return subprocess.run([str(c) for c in command], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def commit_all(folder: Path) -> str:
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "snapshot"]):
        result = run(*command, cwd=folder)
        assert result.returncode == 0, result.stderr
    return run("git", "rev-parse", "HEAD", cwd=folder).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """This working tree (tracked and untracked files, less ignored ones) as a fresh commit."""
    copy = tmp_path_factory.mktemp("hook-repo")
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return copy, commit_all(copy)


@pytest.fixture
def project(tmp_path) -> Path:
    """A repository of records: the valid fixtures plus one record with an unknown field."""
    shutil.copytree(VALID, tmp_path / "content")
    shutil.copy(BAD_RECORD, tmp_path / "content" / "systems" / "bad.yaml")
    bad = tmp_path / "content" / "systems" / "bad.yaml"
    bad.write_text(bad.read_text().replace("id: gpt-4", "id: bad"))
    commit_all(tmp_path)
    return tmp_path


CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def test_hook_manifest_config_and_workflow_are_well_formed():
    assert run(PRE_COMMIT, "validate-manifest", ".pre-commit-hooks.yaml", cwd=REPO).returncode == 0
    assert run(PRE_COMMIT, "validate-config", ".pre-commit-config.yaml", cwd=REPO).returncode == 0
    workflow = run(CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows",
                   ".github/workflows/validate.yml", cwd=REPO)
    assert workflow.returncode == 0, workflow.stdout + workflow.stderr


def test_the_workflow_is_pinned_reads_only_builds_and_runs_every_test():
    """Actions pinned by commit, a read-only token, and after the check the site's build and the
    README's test command in Debian (where ./dev test installs Chromium: no test is left out)."""
    import re

    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "validate.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert "bookworm" in job["container"]
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use) for use in uses), uses
    runs = [step.get("run", "") for step in job["steps"]]
    at = {what: next(i for i, run in enumerate(runs) if what in run) for what in ("kb validate --format github", "kb schema --check")}
    at.update({what: runs.index(what) for what in ("python3 dev test", "python3 dev build")})  # whole: nothing left out
    assert list(at) == sorted(at, key=at.get), at  # the build after the tests installed Chromium
    assert runs.index('git config --global --add safe.directory "$GITHUB_WORKSPACE"') < at["kb validate --format github"]
    assert (REPO / ".ci" / "run").read_text().strip().endswith("exec ./dev test")


HOOK_ENV_LIMIT_MB = 130  # measured 106 MB of files (README, "Pre-commit"); 294 MB with Playwright and Pagefind


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.mark.slow
def test_published_hook_rejects_a_bad_record_and_names_its_fault(hook_repo, project, tmp_path):
    """Another repository's config names this one (`repo:`, `rev:`, as the README shows): pre-commit
    installs the hook into its own environment, which checks and holds no browser packages
    (Playwright and Pagefind are the `site` extra)."""
    repo, commit = hook_repo
    home = tmp_path / "pre-commit-home"
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {commit}\n    hooks:\n      - id: kb-validate\n")
    commit_all(project)
    result = run(PRE_COMMIT, "run", "kb-validate", "--files", "content/systems/bad.yaml",
                 "content/systems/gpt-4.yaml", cwd=project, env={"PRE_COMMIT_HOME": str(home)})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "kb validate" in output and "Failed" in output
    assert "content/systems/bad.yaml:4:1: error: unknown field 'capabilty'" in output
    assert "did you mean 'capability'?" in output
    assert "content/systems/gpt-4.yaml" not in output.replace("--files", "")  # the good file is quiet
    assert "Traceback" not in output
    environments = [p.parent.parent for p in home.glob("*/py_env-*/bin/kb")]
    assert len(environments) == 1, list(home.rglob("bin/kb"))
    packages = {p.name.split("-")[0].lower() for p in environments[0].glob("lib/python*/site-packages/*.dist-info")}
    assert {"mkdocs", "pydantic", "pyyaml"} <= packages and not packages & {"playwright", "pagefind", "pagefind_bin"}
    size = size_mb(environments[0])
    print(f"hook environment: {size:.0f} MB, {len(packages)} packages")
    assert size < HOOK_ENV_LIMIT_MB


def test_local_hook_passes_a_good_record_and_rejects_a_bad_one(hook_repo, project):
    repo, _ = hook_repo
    shutil.copy(repo / ".pre-commit-config.yaml", project / ".pre-commit-config.yaml")
    (project / ".venv").symlink_to(REPO / ".venv")
    commit_all(project)
    home = {"PRE_COMMIT_HOME": str(project.parent / "pre-commit-home")}
    bad = run(PRE_COMMIT, "run", "kb-validate", "--files", "content/systems/bad.yaml", cwd=project, env=home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "unknown field 'capabilty'" in bad.stdout
    # A good record, or a file outside content/ (a deletion passes none), still fails while the
    # base has a bad record: the hook judges the whole base, the given file's errors first.
    for given in ("content/systems/gpt-4.yaml", "README.md"):
        other = run(PRE_COMMIT, "run", "kb-validate", "--files", given, cwd=project, env=home)
        assert other.returncode == 1 and "unknown field 'capabilty'" in other.stdout, other.stdout
        assert ("elsewhere in the base, 2 errors:" in other.stdout) == (given != "README.md")  # none given: all
    (project / "content" / "systems" / "bad.yaml").unlink()
    good = run(PRE_COMMIT, "run", "kb-validate", "--files", "content/systems/gpt-4.yaml", cwd=project, env=home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
