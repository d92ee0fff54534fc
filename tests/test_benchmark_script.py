"""scripts/benchmark.py at a tiny size: it runs, every stage is measured, the base is valid."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "benchmark.py"

_spec = importlib.util.spec_from_file_location("kb_benchmark_script", SCRIPT)
benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark)

# Stages the table and the JSON must show: the bare parse, then every stage of the runner's table.
STAGES = ("parse", "load", "validate", "link", "score", "render", "draw", "write", "site", "export", "index")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmark")
    out = folder / "result.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--records", "60", "--diagrams", "client",
                           "--repeat", "1", "--json", str(out), "--keep", str(folder / "projects")],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text()), folder / "projects"


def test_the_table_shows_every_stage(run):
    table, _, _ = run
    assert "| | 60 records |" in table
    for stage in STAGES:
        assert f"**{stage}**" in table, stage
    for row in ("peak memory of the build", "site size per record", "largest page", "incremental: files written",
                "reader: topic page + assets", "reader: record page + assets", "reader: first search fetches"):
        assert row in table, row
    assert "## Targets" in table and "validation of 60 records <= 1.5x bare parse" in table


def test_the_json_has_every_stage_and_a_valid_base(run):
    _, report, _ = run
    (size,) = report["sizes"]
    assert size["records"] == 60 and size["worker_exit"] == 0
    assert size["build"]["ok"], size["build"]["errors"]
    stages = size["build"]["summary"]["stages"]
    for stage in STAGES[1:]:
        assert stage in stages, stage
    assert set(STAGES[1:]) | {"generate"} <= set(size["build"]["spans"])  # each stage's wall, CPU and memory
    validation = size["validation"]
    assert validation["errors"] == 0 and validation["warnings"] == 0, validation["first_diagnostics"]
    assert validation["records"] == 60 and validation["parse_wall"] > 0 and validation["check_wall"] > 0
    assert size["peak_rss"] > 0 and size["peak_rss_after_build"] > 0
    assert size["site"]["bytes"] > 0 and size["site"]["largest_page"].endswith(".html")
    assert size["readers"]["topic"]["requests"] >= 2 and size["readers"]["record"]["html_bytes"] > 0
    assert size["incremental"]["ok"] and size["incremental"]["written"] >= 1
    assert {c["check"] for c in report["checks"]} >= {"validation of 60 records <= 1.5x bare parse"}


def test_the_synthetic_base_has_every_kind_and_is_the_same_for_the_same_seed(tmp_path):
    first = benchmark.write_records(tmp_path / "a", 120, seed=7)
    benchmark.write_records(tmp_path / "b", 120, seed=7)
    assert sum(first.values()) == 120 and all(count >= 2 for count in first.values())
    for path in sorted((tmp_path / "a").rglob("*.*")):
        assert path.read_text() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_text(), path
    topic = next((tmp_path / "a" / "topics").glob("*.md")).read_text()
    for piece in ("featured:", "assessment:", "milestones:", "scenarios:", "diagrams:", "[[table:milestones]]",
                  "[[diagram:", "]] "):
        assert piece in topic, piece


def test_a_folder_it_did_not_make_is_left_alone(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        benchmark.make_project(tmp_path / "mine", 10, seed=1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
