import os
import shutil
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
os.environ.setdefault("KB_TODAY", "2026-01-07")

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester"]  # tests/test_ci_skips.py runs the hook below on its own cases

# A skip whose reason starts so is a case that does not apply (another engine, another content
# tree); any other skip is a test that could not run, which CI (CI set, as GitHub sets it) fails.
NOT_APPLICABLE = "not applicable: "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a test that cannot run fails: CI installs Chromium, Playwright and the npm packages,
    so a skip for a missing one means the check did not happen."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() not in ("", "0", "false", "no") \
            and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.removeprefix("Skipped: ").startswith(NOT_APPLICABLE):
            report.outcome = "failed"
            report.longrepr = f"skipped under CI, where it must run: {reason}"


@pytest.fixture
def write_records(tmp_path):
    """Write {"systems/foo.yaml": "yaml text"} under a fresh content root; return the root."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "content"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return write


@pytest.fixture
def valid_project(tmp_path, monkeypatch):
    """A project folder: the repo's mkdocs.yml and generator beside a copy of the valid fixtures
    (diagrams left to the browser, the day pinned), the working directory."""
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")
    shutil.copytree(REPO / "tests" / "fixtures" / "valid" / "content", tmp_path / "content")
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    monkeypatch.setenv("KB_TODAY", "2026-01-07")
    monkeypatch.chdir(tmp_path)
    return tmp_path
