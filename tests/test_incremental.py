"""A run with a memo (kb serve's reloads, generator/incremental.py) makes again only what read
something that changed, and its pages and scores are byte for byte those of a full run of the
same content, after edits of every sort."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from pathlib import Path

import pytest

from generator import incremental, load, pipeline, processes, validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

STAGES = pipeline.NAMES[:pipeline.NAMES.index("render") + 1]
RECORDS = 200
DAY = dt.date(2026, 6, 1)


class Editing:
    """A base being edited: each check is a run with the memo, compared with a full run."""

    def __init__(self, content: Path):
        self.content = content
        self.memo = incremental.Memo()
        self.day = DAY
        first = self._run(self.memo)
        assert first.ok, [str(d) for d in first.diagnostics][:5]
        self.records = len(first.graph.entries)
        self.graph = first.graph

    def _run(self, memo):
        return pipeline.run(pipeline.Run(self.content, memo=memo, day=self.day), STAGES)

    def check(self) -> dict[str, int]:
        """Run with the memo and without; the same pages in the same order, the same scores."""
        kept = self._run(self.memo)
        assert kept.ok, [str(d) for d in kept.diagnostics][:5]
        full = self._run(None)
        assert [(p, page.data) for p, page in kept.rendered.pages.items()] == \
               [(p, page.data) for p, page in full.rendered.pages.items()]
        assert kept.rendered.counts == full.rendered.counts
        assert kept.scores == full.scores
        # link's graph, with what it kept: every list and key in the same order
        for table in ("outgoing", "incoming", "tags"):
            assert list(getattr(kept.graph, table).items()) == list(getattr(full.graph, table).items()), table
        assert list(kept.graph.entries) == list(full.graph.entries)
        assert kept.diagnostics == full.diagnostics
        self.graph = full.graph
        self.parts = {stage: n for stage, n in self.memo.remade.items() if ":" in stage}
        self.related = self.memo.remade["related"]  # records whose related records were worked out again
        self.walked = self.memo.remade["link"]  # records whose edges link made again
        return {stage: n for stage, n in self.memo.remade.items() if ":" not in stage
                and stage not in ("related", "link")}

    def file(self, record_id: str) -> Path:
        return Path(self.graph.entries[record_id].document.path)

    def of_kind(self, kind: str, suffix: str = ".yaml") -> list[str]:
        return [i for i, e in self.graph.entries.items() if e.kind == kind and e.document.path.endswith(suffix)]

    def linked(self, kind: str) -> str:
        """A record of ``kind`` that many others link to."""
        return max(self.of_kind(kind), key=lambda i: len(self.graph.backlink_sources(i)))


@pytest.fixture
def base(tmp_path, monkeypatch):
    import benchmark

    # the files were all written just now: without this, load would read every one again
    # each run (load.RACY_NS), and its memo would go untested here
    monkeypatch.setattr(load, "RACY_NS", 0)
    # render's pages in two processes, as for a large base: what the child read comes back pickled
    monkeypatch.setattr(processes, "PARALLEL_FROM", 50)
    benchmark.write_records(tmp_path / "content", RECORDS, seed=11)
    return Editing(tmp_path / "content")


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_nothing_changed_makes_nothing_again(base):
    assert base.check() == {"score": 0, "render": 0}
    assert base.walked == 0


def test_link_walks_again_only_the_records_edited_or_naming_what_changed(base):
    """A summary or a name is walked again alone (edges carry no names); a new record and its
    deletion touch only the records that name it (none); the graph each time equals a full
    link's (Editing.check)."""
    record_id = base.linked("organizations")
    _edit(base.file(record_id), "\nname: ", "\nname: Renamed ")
    base.check()
    assert base.walked == 1
    added = _added_expert(base)
    base.check()
    assert base.walked == 1
    added.unlink()
    base.check()
    assert base.walked == 0


def _errors(run) -> list[str]:
    return [str(d) for d in run.diagnostics]


def test_link_sees_a_record_that_others_name_go_and_come_back(base):
    """The records that name a deleted record are walked again and report it, as a full link
    does; with it back (or a second file of its id), the graph is a full link's again."""
    record_id = base.linked("experts")
    path = base.file(record_id)
    text = path.read_text(encoding="utf-8")
    path.unlink()
    kept, full = base._run(base.memo), base._run(None)
    assert not full.ok and _errors(kept) == _errors(full)
    assert base.memo.remade["link"] >= len(base.graph.backlink_sources(record_id))
    path.write_text(text, encoding="utf-8")
    base.check()
    twin = path.parent.parent / "organizations" / path.name
    twin.write_text(text, encoding="utf-8")  # the same id in another kind: a duplicate, an error
    kept, full = base._run(base.memo), base._run(None)
    assert not full.ok and _errors(kept) == _errors(full)
    twin.unlink()
    base.check()


def test_a_summary_edit_remakes_a_few_pages(base):
    record_id = base.of_kind("risks")[0]
    _edit(base.file(record_id), "summary: >-\n", "summary: >-\n  Edited for the test.\n")
    remade = base.check()
    assert 1 <= remade["render"] <= RECORDS // 20, remade  # its page and the few that show its summary
    assert remade["score"] <= RECORDS // 20, remade
    # the page of the index of risks that lists it, and the dashboard's page that does (and its
    # first, whose lists read every score)
    assert base.parts["render:index"] == 1 and 1 <= base.parts["render:dashboard"] <= 2, base.parts


def test_a_name_edit_remakes_the_pages_that_link_to_it(base):
    record_id = base.linked("organizations")
    sources = len(base.graph.backlink_sources(record_id))
    text = base.file(record_id).read_text(encoding="utf-8")
    base.file(record_id).write_text(re.sub(r"^name: (.*)$", r"name: \1 Renamed", text, count=1, flags=re.M),
                                    encoding="utf-8")
    remade = base.check()
    assert sources + 1 <= remade["render"] < RECORDS, (sources, remade)


def test_a_new_link_and_citation_in_an_article(base):
    article = base.of_kind("organizations", ".md")[0]
    target = base.linked("experts")
    source = base.of_kind("sources")[0]
    path = base.file(article)
    path.write_text(path.read_text(encoding="utf-8")
                    + f"\n\nA new paragraph on [[{target}]], as reported [[cite:{source}]].\n", encoding="utf-8")
    remade = base.check()
    assert 0 < remade["render"] < RECORDS and 0 < remade["score"] < RECORDS, remade


def test_a_new_relation_and_new_tags(base):
    record_id = base.of_kind("experts")[0]
    other = base.linked("risks")
    path = base.file(record_id)
    text = path.read_text(encoding="utf-8")
    if "\nrelations:\n" in text:
        text = text.replace("\nrelations:\n", f"\nrelations:\n  - type: affects\n    target: {other}\n", 1)
    else:
        text += f"relations:\n  - type: affects\n    target: {other}\n"
    text = re.sub(r"^tags: .*\n", "", text, flags=re.M) + "tags: [edited-tag, another-edited-tag]\n"
    path.write_text(text, encoding="utf-8")
    remade = base.check()
    assert 0 < remade["render"] < RECORDS, remade


def test_an_article_edit(base):
    article = base.of_kind("risks", ".md")[0]
    _edit(base.file(article), "\n## ", "\nA sentence the editor added, with *emphasis* and $x^2$.\n\n## ")
    remade = base.check()
    assert remade["score"] >= 1 and remade["render"] >= 1, remade


def test_a_record_added_and_deleted(base):
    added = _added_expert(base)
    remade = base.check()
    # its page, and the pages whose related records now include it: the related records of the
    # records near those it names, or sharing its tags, are worked out again (in a small base,
    # many), and only the pages whose related records changed are made again
    assert 1 <= remade["render"] < base.related < base.records, (remade, base.related)
    added.unlink()  # nothing links to it yet: it can go
    remade = base.check()
    assert remade["render"] < base.related < base.records, (remade, base.related)


@pytest.mark.parametrize("through", ["relations: [{type: related-to, target: hub}]", "tags: [shared]"])
def test_a_record_that_stops_being_a_hub(tmp_path, monkeypatch, through):
    """Related records skip a hub's neighbours (a tag's records, when many carry it), and the memo
    notes only that it was one: when it falls back under the limit, who ranked through it must be
    made again (and when it passes the limit, as its neighbours changed)."""
    from generator import link

    monkeypatch.setattr(load, "RACY_NS", 0)
    monkeypatch.setattr(link, "HUB_LIMIT", 3)
    content = tmp_path / "content"
    (content / "risks").mkdir(parents=True)
    (content / "sources").mkdir()
    (content / "risks" / "hub.yaml").write_text(
        "id: hub\nname: Hub\nsummary: A risk many sources name.\ndescription: It.\nevidence: Seen.\nseverity: high\n")
    for name in "abcd":
        (content / "sources" / f"{name}.yaml").write_text(
            f"id: {name}\nname: Source {name.upper()} 2024\ntitle: {name}\nkind: paper\nsummary: Names the hub.\n"
            f"{through}\n")
    base = Editing(content)  # the hub has four neighbours: a's related records skip it
    assert "Source B 2024" not in _related_of(base, "sources/a.md")
    (content / "sources" / "d.yaml").unlink()  # three: no longer a hub
    base.check()
    assert "Source B 2024" in _related_of(base, "sources/a.md")
    (content / "sources" / "d.yaml").write_text((content / "sources" / "c.yaml").read_text()
                                                .replace("id: c", "id: d").replace("Source C", "Source D"))
    base.check()
    assert "Source B 2024" not in _related_of(base, "sources/a.md")


def _related_of(base, page: str) -> str:
    run = base._run(None)
    return run.rendered.pages[page].markdown.split("Related", 1)[-1]


def _added_expert(base) -> Path:
    template = base.file(base.of_kind("experts")[1])
    added = template.with_name("new-expert-for-the-test.yaml")
    text = re.sub(r"^id: .*$", "id: new-expert-for-the-test", template.read_text(encoding="utf-8"), count=1, flags=re.M)
    added.write_text(re.sub(r"^name: .*$", "name: New Expert", text, count=1, flags=re.M), encoding="utf-8")
    return added


def test_the_comparison_sees_related_records_change(base, monkeypatch):
    """If the memo did not compare the related records it worked out again, the pages that now
    show the new record among them would stay as they were: the check must then fail."""
    add_table = incremental.Memo.add_table

    def blind(memo, view, name, table, before):  # every record's related records as they were
        add_table(memo, view, name, dict.fromkeys(table), before)

    monkeypatch.setattr(incremental.Memo, "add_table", blind)
    base.check()
    _added_expert(base)
    with pytest.raises(AssertionError):
        base.check()


def test_a_record_moved_to_another_kind_remakes_everything(base):
    source = base.file(base.of_kind("sources")[0])  # a new source, cited by none: it can move
    added = source.with_name("moved-record.yaml")
    added.write_text(re.sub(r"^id: .*$", "id: moved-record", source.read_text(encoding="utf-8"), count=1,
                            flags=re.M), encoding="utf-8")
    base.check()
    organization = base.file(base.of_kind("organizations")[0]).read_text(encoding="utf-8")
    moved = added.parent.parent / "organizations" / added.name
    moved.write_text(re.sub(r"^id: .*$", "id: moved-record", organization, count=1, flags=re.M), encoding="utf-8")
    added.unlink()
    records = base.records + 1
    assert base.check() == {"score": records, "render": records}


def test_another_day_remakes_everything(base):
    base.day = DAY + dt.timedelta(days=400)  # reviews fall due, last edits grow stale
    assert base.check() == {"score": base.records, "render": base.records}


def test_a_failed_run_between_keeps_the_memo_right(base):
    record_id = base.of_kind("metrics")[0]
    path = base.file(record_id)
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "no_such_field: 1\n", encoding="utf-8")
    failed = base._run(base.memo)
    assert not failed.ok
    path.write_text(good.replace("summary: >-\n", "summary: >-\n  Fixed and edited.\n", 1), encoding="utf-8")
    base.check()


def test_an_image_changed_builds_every_article_again(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent / "fixtures" / "real-base" / "content", content)
    base = Editing(content)
    image = next((content / "images").glob("*.png"))
    image.write_bytes(image.read_bytes() + b"\0")  # the same image, another file
    remade = base.check()
    # every article is built again; the pages read the articles, which came out the same
    assert remade == {"score": base.records, "render": 0}


def test_the_comparison_sees_a_change_that_is_not_noted(base, monkeypatch):
    """If the memo did not see names change, a rename would leave stale pages: the check above
    must then fail (it is not comparing things that are equal anyway)."""
    of = incremental.View.of

    def blind(*args, **kwargs):
        view = of(*args, **kwargs)
        view.tables["label"] = dict.fromkeys(view.tables["label"])  # every name as it was
        return view

    monkeypatch.setattr(incremental.View, "of", blind)
    base.check()  # a view made blind
    record_id = base.linked("organizations")
    text = base.file(record_id).read_text(encoding="utf-8")
    base.file(record_id).write_text(re.sub(r"^name: (.*)$", r"name: \1 Renamed", text, count=1, flags=re.M),
                                    encoding="utf-8")
    with pytest.raises(AssertionError):
        base.check()


def test_a_walk_of_a_whole_table_depends_on_all_of_it():
    reads = incremental.Reads()
    tracked = incremental._Tracked({"a": 1, "b": 2}, reads.tables["entry"])
    assert tracked["a"] == 1 and tracked.get("c") is None and "b" in tracked
    assert reads.done() == {"entry": frozenset({"a", "b", "c"})}
    assert list(tracked.values()) == [1, 2]
    assert incremental.touches(reads.done(), {"entry": {incremental.ALL, "z"}})
    assert not incremental.touches(reads.done(), {"entry": set(), "label": {"a", incremental.ALL}})


def test_load_and_validate_take_again_what_did_not_change(tmp_path, monkeypatch):
    import benchmark

    monkeypatch.setattr(load, "RACY_NS", 0)
    root = tmp_path / "content"
    benchmark.write_records(root, 60, seed=3)
    loaded, validated = {}, {}
    first, _ = load.load(root, loaded)
    entries, _, _ = validate.validate(first, kept=validated)
    again, _ = load.load(root, loaded)
    assert all(a is b for a, b in zip(first, again)) and len(first) == len(again)
    edited = next(d for d in first if d.path.endswith(".yaml"))
    path = root / Path(edited.path).parent.name / Path(edited.path).name
    path.write_text(path.read_text(encoding="utf-8").replace("summary: >-\n", "summary: >-\n  Edited.\n", 1),
                    encoding="utf-8")
    third, _ = load.load(root, loaded)
    changed = [b for a, b in zip(first, third) if a is not b]
    assert [d.path for d in changed] == [edited.path] and changed[0].data["summary"].startswith("Edited.")
    entries_again, _, _ = validate.validate(third, kept=validated)
    remade = [b for a, b in zip(entries, entries_again) if a is not b]
    assert len(remade) == 1 and remade[0].record.summary.startswith("Edited.")


def test_a_file_changed_just_now_is_read_again(tmp_path):
    """Within load.RACY_NS of a change, a file may change again keeping its size and times."""
    import benchmark

    root = tmp_path / "content"
    benchmark.write_records(root, 30, seed=3)
    loaded: dict = {}
    first, _ = load.load(root, loaded)
    assert loaded == {}  # every file was written just now
    again, _ = load.load(root, loaded)
    assert not any(a is b for a, b in zip(first, again))


def test_a_number_written_otherwise_is_seen(base):
    """``headquarters: 1.10`` and ``1.1`` load as the same float; the text keeps what was written."""
    path = base.file(base.of_kind("organizations")[0])
    text = re.sub(r"^headquarters: .*$", "headquarters: 1.10", path.read_text(encoding="utf-8"), count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    base.check()
    path.write_text(text.replace("headquarters: 1.10", "headquarters: 1.1"), encoding="utf-8")
    assert base.check()["render"] >= 1


def test_write_compares_again_only_pages_it_did_not_keep(tmp_path, monkeypatch):
    pages = {"a.md": b"page a\n", "b/c.md": b"page c\n"}
    kept: dict = {}
    assert pipeline.write_changed(tmp_path, pages, kept) == (["a.md", "b/c.md"], [])
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    assert pipeline.write_changed(tmp_path, pages, kept) == ([], [])
    assert read == []  # the same bytes, the files as they were: nothing read
    (tmp_path / "a.md").write_bytes(b"changed by someone else\n")
    again = {**pages, "b/c.md": b"page c, edited\n"}
    assert pipeline.write_changed(tmp_path, again, kept) == (["a.md", "b/c.md"], [])
    assert (tmp_path / "a.md").read_bytes() == b"page a\n"


def test_a_walk_noted_in_a_forked_child_is_still_a_walk():
    import pickle

    reads = incremental.Reads()
    list(incremental._Tracked({"a": 1}, reads.tables["entry"]).values())
    again = pickle.loads(pickle.dumps(reads.done()))
    assert incremental.touches(again, {"entry": {incremental.ALL}})


def test_pages_with_diagrams_are_searched_and_inlined_again_only_when_they_or_the_drawings_change(tmp_path, monkeypatch):
    """kb serve's memo keeps which pages have a diagram and each such page with its drawings in
    (pipeline._marked, _inlined): what it writes is still what a run without the memo writes,
    after the page changes and after a drawing is added to the cache."""
    import benchmark

    from generator import diagrams

    monkeypatch.setenv("KB_DIAGRAMS", "client")  # no Chromium: the drawings are put in the cache below
    benchmark.write_records(tmp_path / "content", RECORDS, seed=11)
    memo = incremental.Memo()

    def generate(docs: Path, memo) -> pipeline.Run:
        run = pipeline.run(pipeline.Run(tmp_path / "content", docs=docs, cache=tmp_path / "cache", memo=memo, day=DAY),
                           pipeline.GENERATE)
        assert run.ok, [str(d) for d in run.diagnostics if d.severity == "error"][:3]
        return run

    def same_as_without_memo(run) -> None:
        fresh = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
        generate(fresh, None)
        assert {p: (fresh / p).read_bytes() for p in run.rendered.pages} == \
               {p: (tmp_path / "docs" / p).read_bytes() for p in run.rendered.pages}

    first = generate(tmp_path / "docs", memo)
    with_diagrams = [path for path, page in first.rendered.pages.items() if diagrams.MARK in page.data]
    assert with_diagrams and len(with_diagrams) < len(first.rendered.pages)
    inlined = []
    original = diagrams.inline_markdown
    monkeypatch.setattr(diagrams, "inline_markdown", lambda markdown, cache: inlined.append(1) or original(markdown, cache))
    again = generate(tmp_path / "docs", memo)
    # only the pages render made again (the maps: made again every run) are inlined again
    remade = [path for path in with_diagrams if again.rendered.pages[path].data is not first.rendered.pages[path].data]
    assert len(inlined) == len(remade) < len(with_diagrams) and again.written == []
    # a drawing in the cache: every page with that diagram shows it
    page = first.rendered.pages[with_diagrams[0]].markdown
    diagram = next(iter(diagrams.found_in(page)))
    diagrams.cached(tmp_path / "cache", diagram).write_text('<svg xmlns="http://www.w3.org/2000/svg"><g>drawn</g></svg>')
    drawn = generate(tmp_path / "docs", memo)
    assert with_diagrams[0] in drawn.written and b"<g>drawn</g>" in (tmp_path / "docs" / with_diagrams[0]).read_bytes()
    same_as_without_memo(drawn)


def test_the_related_records_do_not_make_the_pages_compare_every_table_again(base, monkeypatch):
    """Score compares its view, and render's stages share that comparison: the scores' and the
    related records' changes are added to it (Memo.add_table), not found by comparing every table
    once more. One comparison a run."""
    changes, counted = incremental.View.changes, []
    monkeypatch.setattr(incremental.View, "changes", lambda self, before: counted.append(1) or changes(self, before))
    record_id = base.of_kind("risks")[0]
    _edit(base.file(record_id), "summary: >-\n", "summary: >-\n  Edited for the test.\n")
    base.check()
    assert len(counted) == 1
