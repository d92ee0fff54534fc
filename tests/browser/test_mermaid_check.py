"""Mermaid itself checks the diagrams editors write: in headless Chromium, at validate time, so
that `kb validate` and `kb build` fail on a diagram that would not draw, at its file and line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator import diagram_check, diagrams, pipeline
from generator.cli import main

REPO = Path(__file__).resolve().parents[2]
PARSE_ERROR = REPO / "tests" / "fixtures" / "mermaid" / "parse-error" / "content"
VALID_FIXTURES = REPO / "tests" / "fixtures" / "valid" / "content"

pytestmark = pytest.mark.skipif(diagrams.unavailable() is not None,
                                reason=f"needs Debian's chromium and playwright: {diagrams.unavailable()}")


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    """No verdict from an earlier run, in memory or on disk."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(diagrams, "_verdicts", {})


def test_kb_validate_reports_mermaids_parse_errors_at_their_file_lines(tmp_path, monkeypatch, capsys):
    shutil.copytree(PARSE_ERROR, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["diagnostics"]
    assert [(p["file"], p["line"], p["field"], p["code"], p["severity"]) for p in problems] == [
        ("content/topics/ai-alignment.md", 13, "diagrams.threat-model.mermaid", "mermaid", "error"),
        ("content/topics/ai-alignment.md", 24, "body", "mermaid", "error")]
    assert problems[0]["message"].startswith("Mermaid cannot parse this diagram: Parse error on line 2: ")
    assert "got 'SQS'" in problems[0]["message"]
    assert problems[1]["message"].startswith("Mermaid cannot parse this diagram: Parse error on line 3: ")


def test_kb_build_fails_on_a_diagram_mermaid_cannot_parse(tmp_path, capsys):
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")  # as tests/test_build.py's project
    shutil.copytree(VALID_FIXTURES, tmp_path / "content")
    shutil.copy(PARSE_ERROR / "topics" / "ai-alignment.md", tmp_path / "content" / "topics" / "ai-alignment.md")
    assert main(["build", "--config", str(tmp_path / "mkdocs.yml")]) == 1
    printed = capsys.readouterr().err
    assert "content/topics/ai-alignment.md:13:1: error: Mermaid cannot parse this diagram" in printed
    assert "content/topics/ai-alignment.md:24:3: error: Mermaid cannot parse this diagram" in printed
    assert not (tmp_path / "site").exists()


def test_valid_diagrams_of_every_type_parse():
    from tests.test_diagram_check import VALID

    verdicts, parsed, why = diagrams.parse(list(VALID.values()))
    assert why is None and parsed == len(VALID)
    assert {name: verdicts[source] for name, source in VALID.items() if verdicts[source]} == {}


def test_the_bases_diagrams_parse():
    for content in (REPO / "content", VALID_FIXTURES, REPO / "tests/fixtures/hostile/content",
                    REPO / "tests/fixtures/hostile-prose/content"):
        checked = pipeline.check(content)
        assert not [d for d in checked.diagnostics if d.code.startswith("mermaid")], content


def test_a_second_run_launches_no_browser(monkeypatch):
    first = pipeline.check(PARSE_ERROR)
    assert len([d for d in first.diagnostics if d.code == "mermaid"]) == 2

    def launched(*args, **kwargs):
        raise AssertionError("Chromium was launched")

    monkeypatch.setattr(diagrams, "_parse_in_chromium", launched)
    again = pipeline.check(PARSE_ERROR)  # from memory (kb serve)
    assert again.diagnostics == first.diagnostics
    monkeypatch.setattr(diagrams, "_verdicts", {})
    from_file = pipeline.check(PARSE_ERROR)  # from the file (the next kb validate)
    assert from_file.diagnostics == first.diagnostics
    count, problems, note = diagram_check.check([(d, None) for d in from_file.documents])
    assert note == "0 parsed by Mermaid 11.17.2, 2 from cache"
