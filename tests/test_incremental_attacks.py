"""Attacks on kb serve's memo (generator/incremental.py): edits after which a run with the memo
might not give what a full run gives. Each test edits a base and compares, as
tests/test_incremental.py does (``Editing.check``); those that must fail a run compare the
diagnostics of the two runs instead."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from generator import incremental, load, pipeline

from test_incremental import DAY, RECORDS, STAGES, Editing, _edit, base  # noqa: F401 (base: a fixture)

REAL_BASE = Path(__file__).parent / "fixtures" / "real-base" / "content"


def _errors(run) -> list[str]:
    return [str(d) for d in run.diagnostics if d.severity == "error"]


def _both(base: Editing):
    """A run with the memo and a full one, neither asserted ok."""
    kept = base._run(base.memo)
    full = base._run(None)
    return kept, full


def _same_outcome(base: Editing) -> None:
    """The memo run fails exactly when the full run fails, with the same errors; if both
    succeed, their pages and scores are the same (Editing.check)."""
    kept, full = _both(base)
    assert (kept.ok, _errors(kept)) == (full.ok, _errors(full))
    if full.ok:
        base.check()


@pytest.fixture
def real(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "RACY_NS", 0)
    content = tmp_path / "content"
    shutil.copytree(REAL_BASE, content)
    return Editing(content)


# ---------------------------------------------------------------------------- validation reads files


def test_an_image_added_after_the_article_named_it(real):
    """Validation checks that an article's image exists (validate.py, images.found): the memo
    of validate, keyed by the document alone, keeps the error after the image is added."""
    article = real.content / "risks" / "deceptive-alignment.md"
    _edit(article, "(../images/deceptive-loop.png)", "(../images/added-later.png)")
    kept, full = _both(real)
    assert not kept.ok and not full.ok  # the image is not there yet
    shutil.copy(real.content / "images" / "deceptive-loop.png", real.content / "images" / "added-later.png")
    _same_outcome(real)


def test_an_image_deleted_that_an_article_shows(real):
    """The other way: the image goes; a full run reports it, the memo's validation does not."""
    (real.content / "images" / "deceptive-loop.png").unlink()
    _same_outcome(real)


# ---------------------------------------------------------------------------- what a record's print misses


def test_a_number_written_another_way_in_a_text_field(base):
    """YAML reads ``name: 1`` and ``name: 1.0`` as equal numbers (1 == 1.0), but validation gives
    a text field back as written (validate._restore_number_texts, document.number_texts), so the
    record's name changes while its data compares equal (incremental._entry_print)."""
    record_id = base.of_kind("organizations")[0]
    path = base.file(record_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"^name: .*$", "name: 1", text, count=1, flags=re.M), encoding="utf-8")
    base.check()
    _edit(path, "\nname: 1\n", "\nname: 1.0\n")
    base.check()


# ---------------------------------------------------------------------------- edits that held (regression tests)


def _set_line(path: Path, field: str, value: str) -> None:
    """The top-level ``field: ...`` line set to ``value`` (added at the end if absent)."""
    text = path.read_text(encoding="utf-8")
    if re.search(rf"^{field}: ", text, flags=re.M):
        text = re.sub(rf"^{field}: .*$", f"{field}: {value}", text, count=1, flags=re.M)
    elif text.startswith("---\n"):  # a Markdown record: into its front matter
        text = "---\n" + f"{field}: {value}\n" + text[4:]
    else:
        text += f"\n{field}: {value}\n"
    path.write_text(text, encoding="utf-8")


def _featured_holder(base: Editing) -> tuple[str, str]:
    """(topic, expert) such that the topic features the expert and the expert holds a position on it."""
    for topic_id, entry in base.graph.entries.items():
        if entry.kind != "topics":
            continue
        for holder in entry.record.featured.positions:
            other = base.graph.entries[holder]
            if other.kind == "experts" and other.document.path.endswith(".yaml") and \
                    any(p.topic == topic_id for p in other.record.positions) and other.record.affiliation:
                return topic_id, holder
    raise AssertionError("no featured expert with a position")


def test_a_featured_experts_claim_edited(base):
    topic, expert = _featured_holder(base)
    path = base.file(expert)
    _edit(path, "    claim: >-\n", "    claim: >-\n      Edited claim.\n")
    remade = base.check()
    assert remade["score"] >= 2, remade  # the expert and the topic's article (its positions table)


def test_a_featured_experts_affiliation_renamed(base):
    """The positions table of a topic's article shows each holder's affiliation (a link): a
    rename of the organization reaches the topic through the table, two records away."""
    topic, expert = _featured_holder(base)
    organization = base.graph.entries[expert].record.affiliation
    _set_line(base.file(organization), "name", "Renamed Organization For The Test")
    base.check()


def test_a_featured_experts_affiliation_changed(base):
    topic, expert = _featured_holder(base)
    other = next(i for i in base.of_kind("organizations") if i != base.graph.entries[expert].record.affiliation)
    _set_line(base.file(expert), "affiliation", other)
    base.check()


def test_a_source_title_edited(base):
    source = base.linked("sources")
    _set_line(base.file(source), "title", "A new title for the test")
    remade = base.check()
    assert remade["render"] > 1, remade


def test_a_source_newly_cited_elsewhere(base):
    """Whether a source is cited (its 'uncited' flag) is read from every record's edges."""
    uncited = [i for i in base.of_kind("sources") if not any(
        base.graph.kind_of(s) != "sources" for s in base.graph.backlink_sources(i))]
    cited_by = {e.source for i in base.of_kind("sources") for e in base.graph.incoming.get(i, ())}
    source = next((i for i in uncited if i not in cited_by), None)
    if source is None:  # make one: a new source nobody cites
        template = base.file(base.of_kind("sources")[0])
        source = "a-new-uncited-source"
        added = template.with_name(f"{source}.yaml")
        added.write_text(re.sub(r"^id: .*$", f"id: {source}", template.read_text(encoding="utf-8"),
                                count=1, flags=re.M), encoding="utf-8")
        base.check()
    citing = base.file(base.of_kind("risks")[0])
    text = citing.read_text(encoding="utf-8")
    citing.write_text(re.sub(r"^sources: \[", f"sources: [{source}, ", text, count=1, flags=re.M), encoding="utf-8")
    base.check()
    citing.write_text(text, encoding="utf-8")  # and no more
    base.check()


def test_a_citation_added_before_the_others_renumbers_them(base):
    article = base.of_kind("organizations", ".md")[0]
    source = base.of_kind("sources")[-1]
    path = base.file(article)
    _edit(path, "\n## ", f"\nA first citation [[cite:{source}]].\n\n## ")
    base.check()


def test_a_listed_records_field_edited(base):
    """A risk's page lists the responses that address it, with columns of theirs."""
    response = next(i for i in base.of_kind("responses") if base.graph.entries[i].record.addresses)
    text = base.file(response).read_text(encoding="utf-8")
    effectiveness = re.search(r"^effectiveness: (.*)$", text, flags=re.M)
    assert effectiveness is not None
    new = "high" if effectiveness.group(1) != "high" else "low"
    _set_line(base.file(response), "effectiveness", new)
    base.check()
    _set_line(base.file(response), "name", "A renamed response")
    base.check()


def test_tags_added_and_removed(base):
    records = base.of_kind("systems")[:3]
    for record_id in records:
        _set_line(base.file(record_id), "tags", "[shared-tag-for-the-test]")
    base.check()
    _set_line(base.file(records[0]), "tags", "[]")
    base.check()


def test_a_relation_note_and_strength_edited(base):
    record_id = next(i for i in base.of_kind("sources") if base.graph.entries[i].record.relations)
    path = base.file(record_id)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^    note: .*$", "    note: An edited note.", text, count=1, flags=re.M)
    text = re.sub(r"^    strength: \w+", "    strength: weak", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    base.check()


def test_a_record_gains_a_hub(base):
    """'Appears in topics' on a record's page: a topic that names it in `related`."""
    topic = next(i for i in base.of_kind("topics", ".md"))
    record_id = next(i for i in base.of_kind("metrics") if topic not in base.graph.neighbours(i))
    path = base.file(topic)
    _edit(path, "\nrelated: [", f"\nrelated: [{record_id}, ")
    base.check()


def test_a_yaml_record_becomes_an_article_and_back(base):
    record_id = next(i for i in base.of_kind("organizations") if base.graph.backlink_sources(i))
    yaml_file = base.file(record_id)
    text = yaml_file.read_text(encoding="utf-8")
    other = base.linked("risks")
    md_file = yaml_file.with_suffix(".md")
    md_file.write_text(f"---\n{text}---\n## Overview\n\nIt works on [[{other}]].\n", encoding="utf-8")
    yaml_file.unlink()
    base.check()
    yaml_file.write_text(text, encoding="utf-8")
    md_file.unlink()
    base.check()


def test_a_record_renamed_to_another_id(base):
    """A file renamed (a new id), nothing linking to it: the old id is gone, a new one comes."""
    template = base.file(base.of_kind("experts")[1])
    first = template.with_name("renamed-expert-before.yaml")
    text = template.read_text(encoding="utf-8")
    first.write_text(re.sub(r"^id: .*$", "id: renamed-expert-before", text, count=1, flags=re.M), encoding="utf-8")
    base.check()
    second = template.with_name("renamed-expert-after.yaml")
    second.write_text(re.sub(r"^id: .*$", "id: renamed-expert-after", text, count=1, flags=re.M), encoding="utf-8")
    first.unlink()
    base.check()


def test_a_record_rejected_then_valid_as_it_was(base):
    record_id = base.linked("organizations")
    path = base.file(record_id)
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("\nname: ", "\nname_typo: ", 1), encoding="utf-8")
    failed = base._run(base.memo)
    assert not failed.ok
    path.write_text(good, encoding="utf-8")
    assert base.check() == {"score": 0, "render": 0}


def test_a_record_rejected_then_valid_renamed(base):
    record_id = base.linked("organizations")
    path = base.file(record_id)
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("\nname: ", "\nname_typo: ", 1), encoding="utf-8")
    assert not base._run(base.memo).ok
    path.write_text(re.sub(r"^name: (.*)$", r"name: \1 Again", good, count=1, flags=re.M), encoding="utf-8")
    base.check()


def test_a_file_that_fails_to_load_then_loads(base):
    record_id = base.linked("systems")
    path = base.file(record_id)
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "\n  : : broken: [\n", encoding="utf-8")
    assert not base._run(base.memo).ok
    assert not base._run(base.memo).ok  # the failure itself is taken from the memo: still reported
    path.write_text(good.replace("summary: >-\n", "summary: >-\n  Loaded again.\n", 1), encoding="utf-8")
    base.check()


def test_an_edit_keeping_size_and_modification_time(base):
    """The same size, the modification time put back: the change time still tells."""
    record_id = base.of_kind("risks")[0]
    path = base.file(record_id)
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r"^(summary: >-\n  )(\w)", lambda m: m.group(1) + ("Z" if m.group(2) != "Z" else "Y"),
                    text, count=1, flags=re.M)
    assert edited != text and len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    base.check()


def test_a_file_replaced_by_another_of_the_same_size_and_times(base):
    """mv of a copy made with its times (cp -p): a new inode."""
    record_id = base.of_kind("risks")[1]
    path = base.file(record_id)
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r"^(summary: >-\n  )(\w)", lambda m: m.group(1) + ("Z" if m.group(2) != "Z" else "Y"),
                    text, count=1, flags=re.M)
    before = path.stat()
    copy = path.with_name(".copy")
    copy.write_text(edited, encoding="utf-8")
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(copy, path)
    base.check()


def test_a_record_moved_kind_through_a_deletion(base):
    """Deleted in one run, back under another kind in the next: View.changes sees no kind change
    (the record is new to it)."""
    source = base.file(base.of_kind("sources")[0])
    added = source.with_name("moving-record.yaml")
    added.write_text(re.sub(r"^id: .*$", "id: moving-record", source.read_text(encoding="utf-8"), count=1,
                            flags=re.M), encoding="utf-8")
    base.check()
    added.unlink()
    base.check()
    organization = base.file(base.of_kind("organizations")[0]).read_text(encoding="utf-8")
    moved = added.parent.parent / "organizations" / added.name
    moved.write_text(re.sub(r"^id: .*$", "id: moving-record", organization, count=1, flags=re.M), encoding="utf-8")
    base.check()


def test_days_back_and_forth(base):
    base.day = DAY.replace(year=DAY.year + 1)
    base.check()
    base.day = DAY
    base.check()


def test_a_vocabulary_edit(real):
    vocabulary = real.content / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    relation = re.search(r"^relation_types:\n((?:  .*\n)+)", text, flags=re.M)
    assert relation is not None, text[:500]
    real.check()
    # a relation's inverse, as the pages read it
    first = relation.group(1).splitlines()[0]
    key = first.strip().split(":")[0]
    vocabulary.write_text(text.replace(first, f"  {key}: an edited inverse", 1), encoding="utf-8")
    remade = real.check()
    assert remade == {"score": real.records, "render": real.records}, remade


# ---------------------------------------------------------------------------- reads made in a forked child


def test_a_walk_of_a_whole_table_in_a_forked_child(base, monkeypatch):
    """split_map makes half of the stale records in a forked child, whose reads come back
    pickled: ALL (a bare object()) comes back as another object, so a page that walked a whole
    table in the child is never made again when the table changes. (No emitter walks a table
    today; the module's docstring promises it works.) kb serve does not fork (it has threads),
    `kb build` has no memo; the tests fork (score: from 8 stale articles)."""
    from generator import processes
    from generator.emitters import record

    monkeypatch.setattr(processes, "PARALLEL_FROM", 2)
    context = record.context

    def counting(base, entry):  # a page that says how many records the base has
        values = context(base, entry)
        values["summary"] += f" ({len(base.graph.entries)} records)"
        return values

    monkeypatch.setattr(record, "context", counting)
    base.memo = incremental.Memo()
    base._run(base.memo)  # every page made, half of them in the child
    template = base.file(base.of_kind("experts")[1])
    added = template.with_name("one-more-record.yaml")
    text = re.sub(r"^id: .*$", "id: one-more-record", template.read_text(encoding="utf-8"), count=1, flags=re.M)
    added.write_text(text, encoding="utf-8")
    base.check()


def test_all_survives_pickling():
    import pickle

    assert pickle.loads(pickle.dumps(incremental.ALL)) is incremental.ALL


def test_an_estimate_written_as_minus_zero(base):
    """0 == -0.0, so the data compare equal; the page shows '-0' (models._number, '{:g}'). The
    same hole as above: the print compares what YAML made of the text, not the text. (A rating
    holds: models._one_decimal turns -0.0 into 0.)"""
    record_id = next(i for i in base.of_kind("metrics") if "\n  low: " in base.file(i).read_text(encoding="utf-8"))
    path = base.file(record_id)
    path.write_text(re.sub(r"^  low: .*$", "  low: 0", path.read_text(encoding="utf-8"), count=1, flags=re.M),
                    encoding="utf-8")
    base.check()
    _edit(path, "\n  low: 0\n", "\n  low: -0.0\n")
    base.check()


def test_a_placed_tables_source_renamed(base):
    """A topic's own data table names its source: the article shows the source's name."""
    topic = next(i for i in base.of_kind("topics", ".md")
                 if any(t.source for t in base.graph.entries[i].record.tables.values()))
    source = next(t.source for t in base.graph.entries[topic].record.tables.values() if t.source)
    _set_line(base.file(source), "name", "A renamed source")
    base.check()


def test_a_featured_systems_developer_renamed(base):
    """The systems table of a topic shows each system's developer: two records away."""
    for topic in base.of_kind("topics", ".md"):
        systems = base.graph.entries[topic].record.featured.systems
        developers = [base.graph.entries[s].record.developer for s in systems if base.graph.entries[s].record.developer]
        if developers:
            break
    else:
        pytest.skip("no featured system with a developer")
    _set_line(base.file(developers[0]), "name", "A renamed developer")
    base.check()
    system = next(s for s in systems if base.graph.entries[s].record.developer)
    other = next(i for i in base.of_kind("organizations") if i != developers[0])
    _set_line(base.file(system), "developer", other)
    base.check()


# ---------------------------------------------------------------------------- kb serve's hooks


def test_the_served_docs_after_a_failed_reload_are_a_full_builds(tmp_path, monkeypatch):
    """mkdocs_hooks.on_config as `kb serve` calls it on each reload (its module-wide memo): an
    edit, then a reload with an error (held, no score or render), then a fix with another edit;
    the docs tree written is what a full build writes."""
    from mkdocs.config import load_config

    from generator import mkdocs_hooks

    repo = Path(__file__).resolve().parent.parent
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(repo / "mkdocs.yml", project / "mkdocs.yml")
    (project / "generator").symlink_to(repo / "generator")
    shutil.copytree(repo / "tests" / "fixtures" / "valid" / "content", project / "content")
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    monkeypatch.chdir(project)
    monkeypatch.setattr(load, "RACY_NS", 0)
    monkeypatch.setattr(mkdocs_hooks, "_memo", incremental.Memo())

    def reload():
        config = load_config(str(project / "mkdocs.yml"))
        mkdocs_hooks.on_config(config)
        return config

    mkdocs_hooks.on_startup("serve", True)
    try:
        reload()
        organization = project / "content" / "organizations" / "openai.yaml"
        risk = project / "content" / "risks" / "deceptive-alignment.yaml"
        _set_line(organization, "name", "OpenAI Renamed Once")
        reload()
        good = risk.read_text(encoding="utf-8")
        risk.write_text(good + "no_such_field: 1\n", encoding="utf-8")
        _set_line(organization, "name", "OpenAI Renamed Twice")  # while the base has an error
        reload()
        assert mkdocs_hooks._run is None  # held: nothing rendered
        risk.write_text(good.replace("summary: ", "summary: Fixed. ", 1), encoding="utf-8")
        reload()
        served = mkdocs_hooks._run
        assert served is not None and served.ok
        assert mkdocs_hooks._memo.remade["render"] < len(served.graph.entries)
    finally:
        mkdocs_hooks.on_shutdown()
    full = pipeline.run(pipeline.Run(project / "content", docs=tmp_path / "full-docs", cache=tmp_path / "cache",
                                     day=served.day), pipeline.GENERATE)
    assert full.ok
    docs = project / pipeline.GENERATED_DIR

    def tree(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.md"))}

    assert tree(docs) == tree(tmp_path / "full-docs")
