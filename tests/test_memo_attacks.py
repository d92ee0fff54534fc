"""What a hostile review of the link and export memos (kb serve's reloads) found no test catching:
each test fails when the guard it names is taken out (checked by taking it out)."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from generator import incremental, load, pipeline, processes
from generator.export import export

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_incremental import DAY, STAGES  # noqa: E402


@pytest.fixture
def content(tmp_path, monkeypatch):
    import benchmark

    monkeypatch.setattr(load, "RACY_NS", 0)
    monkeypatch.setattr(processes, "PARALLEL_FROM", 50)
    benchmark.write_records(tmp_path / "content", 120, seed=11)
    return tmp_path / "content"


def _runs(content: Path, memo, stages=STAGES):
    kept = pipeline.run(pipeline.Run(content, memo=memo, day=DAY), stages)
    full = pipeline.run(pipeline.Run(content, day=DAY), stages)
    return kept, full


def _errors(run) -> list[str]:
    return [str(d) for d in run.diagnostics]


def _id(path: Path) -> str:
    return re.search(r"^id: (.*)$", path.read_text(), re.M).group(1)


def test_a_record_with_a_problem_reports_it_again_after_an_unrelated_edit(content):
    """link keeps no record that had a problem (``len(problems) == found``): two failing runs in a
    row, the second after an edit elsewhere, report the same errors as a full link."""
    memo = incremental.Memo()
    assert pipeline.run(pipeline.Run(content, memo=memo, day=DAY), pipeline.CHECK).ok
    risk = sorted((content / "risks").glob("*.yaml"))[0]
    text = risk.read_text()
    relation = "  - type: affects\n    target: no-such-record\n"
    risk.write_text(text.replace("\nrelations:\n", "\nrelations:\n" + relation, 1) if "\nrelations:\n" in text
                    else text + "relations:\n" + relation)
    kept, full = _runs(content, memo, pipeline.CHECK)
    assert not full.ok and _errors(kept) == _errors(full)
    other = sorted((content / "experts").glob("*.yaml"))[0]  # an edit that names nothing the risk names
    other.write_text(other.read_text().replace("summary: >-\n", "summary: >-\n  Edited.\n", 1))
    kept, full = _runs(content, memo, pipeline.CHECK)
    assert not full.ok and _errors(kept) == _errors(full)


def test_a_reference_hidden_by_a_duplicate_id_is_judged_again_when_the_duplicate_goes(content):
    """A system's developer naming an expert is silent while a second file (an organization) has
    the expert's id (the duplicate-id error settles it); with that file gone, the wrong kind is an
    error. Only the id's "duplicated" answer changed (the index still holds the expert)."""
    memo = incremental.Memo()
    assert pipeline.run(pipeline.Run(content, memo=memo, day=DAY), pipeline.CHECK).ok
    expert = sorted((content / "experts").glob("*.yaml"))[0]
    expert_id = _id(expert)
    organization = sorted((content / "organizations").glob("*.yaml"))[0]
    twin = content / "organizations" / expert.name  # loaded after experts/: the index keeps the expert
    twin.write_text(re.sub(r"^id: .*$", f"id: {expert_id}", organization.read_text(), count=1, flags=re.M))
    system = next(p for p in sorted((content / "systems").glob("*.yaml")) if "\ndeveloper: " in p.read_text())
    system.write_text(re.sub(r"^developer: .*$", f"developer: {expert_id}", system.read_text(), count=1, flags=re.M))
    kept, full = _runs(content, memo, pipeline.CHECK)
    assert not full.ok and _errors(kept) == _errors(full)
    assert not any("needs an organization" in e for e in _errors(full))  # hidden by the duplicate
    twin.unlink()
    kept, full = _runs(content, memo, pipeline.CHECK)
    assert any("needs an organization" in e for e in _errors(full))
    assert _errors(kept) == _errors(full)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_export_sees_the_record_at_the_other_end_of_an_edge_change_kind(content, tmp_path):
    """A risk relates to a record, which then becomes an expert (the same id, another folder):
    the risk's JSON ("references": kind) and all.json's relations (target_kind) change though the
    risk's entry and its edges are as they were (View.record_inputs' kinds; Kept.edges' kinds)."""
    memo, kept, out = incremental.Memo(), {}, tmp_path / "data"
    # no references of its own in either kind: its edges, and so all.json's, stay the same
    hopper = content / "organizations" / "kind-hopper.yaml"
    hopper.write_text("id: kind-hopper\nname: Kind Hopper\ntype: policy\nsummary: No references.\n")
    risk = sorted((content / "risks").glob("*.yaml"))[0]
    text, relation = risk.read_text(), "  - type: related-to\n    target: kind-hopper\n"
    risk.write_text(text.replace("\nrelations:\n", "\nrelations:\n" + relation, 1) if "\nrelations:\n" in text
                    else text + "relations:\n" + relation)

    def exported(n: int) -> None:
        run = pipeline.run(pipeline.Run(content, memo=memo, day=DAY), pipeline.CHECK)
        assert run.ok, _errors(run)[:3]
        export(run.graph, out, ["json", "csv"], kept)
        fresh = tmp_path / f"fresh-{n}"
        export(run.graph, fresh, ["json", "csv"])
        assert _files(out) == _files(fresh)

    exported(0)
    (content / "experts" / "kind-hopper.yaml").write_text("id: kind-hopper\nname: Kind Hopper\nsummary: No references.\n")
    hopper.unlink()
    exported(1)
