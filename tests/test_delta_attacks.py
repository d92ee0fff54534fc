"""Attacks on kb serve's search delta (generator/search_index.py: index_delta) and on the export's
memo and encoder (generator/export: json_text, Kept, WrittenFiles, the CSV rows memo).

Real Pagefind on small hand-written sites; real exports of checked content. A test that fails
shows a bug; the others are attacks that held."""
from __future__ import annotations

import enum
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from generator import search_index
from generator.core import Interrupted
from generator.export import export
from generator.export import csv as csv_export
from generator.export import json as json_export
from generator.export.files import indented_items, json_text
from generator.pipeline import check
from generator.search_index import PARTS_FILE, Delta, address, fragments_of, index_delta, index_search
from test_search_delta import page, small_site

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"


# ------------------------------------------------------------------------------------ search


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tests/test_search_delta.py's site, with a folder's index.html too."""
    return small_site(tmp_path, (Path("risks/index.html"), page("Risks", "Every risk, wombat.")))


def parts_of(site: Path) -> dict:
    return json.loads((site / "pagefind" / PARTS_FILE).read_text())


def searchable(site: Path) -> dict[str, str]:
    """What a search page would find: url -> fragment, over the whole index without what "hide"
    lists, and every merged index (later ones win, as the search page shows a page once)."""
    parts = parts_of(site)
    hidden = set(parts.get("hide", []))
    shown = {url: f for url, f in fragments_of(site / "pagefind").items() if f not in hidden}
    for part in parts["merge"]:
        if part.startswith(search_index.DELTA_PREFIX):
            shown.update(fragments_of(site / "pagefind" / part))
    return shown


def words_of(site: Path, url: str) -> str:
    """The text the index holds for ``url`` (in what the search page shows)."""
    import gzip
    fragment = searchable(site)[url]
    for folder in [site / "pagefind", *sorted((site / "pagefind").glob("kb-delta-*"))]:
        path = folder / "fragment" / f"{fragment}.pf_fragment"
        if path.is_file():
            data = gzip.decompress(path.read_bytes())
            return json.loads(data[len(search_index.FRAGMENT_SIGNATURE):])["content"]
    raise AssertionError(f"no fragment file for {url}")


def test_a_failed_delta_s_pages_are_indexed_by_the_next_one(site, monkeypatch):
    """Was a bug: a refresh whose Pagefind failed drops its pages: the next reload's refresh (with only
    its own pages in ``changed``) never indexes them, and their old words are still found."""
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))
    failing = [*search_index.PAGEFIND, "--no-such-option"]
    with monkeypatch.context() as patch:
        patch.setattr(search_index, "PAGEFIND", failing)
        assert index_delta(site, {"risks/record-1.html"}, delta) is not None
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert "giraffe" in words_of(site, "/risks/record-1.html"), "record 1 is found by its old words"


def test_an_interrupted_delta_s_pages_are_indexed_by_the_next_one(site):
    """Was a bug: Refresher.start() stops the refresh running (Run.stopping -> Interrupted) and the new
    build's run holds only the pages that build changed: those of the interrupted refresh are
    never indexed."""
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(Interrupted):
        index_delta(site, {"risks/record-1.html"}, delta, stopping)
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert "giraffe" in words_of(site, "/risks/record-1.html"), "record 1 is found by its old words"


def test_a_delta_that_failed_after_its_folder_was_in_place_does_not_block_the_next(site, monkeypatch):
    """Was a bug: an exception after kb-delta-<n+1>/ was renamed into place (writing kb-parts.json: a
    full disk, an Interrupted raised into the thread) leaves that folder, and ``delta.number``
    unchanged: every later refresh renames onto the same, non-empty, name and fails."""
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(search_index, "_write_atomic", full_disk)
        with pytest.raises(OSError):
            index_delta(site, {"risks/record-1.html"}, delta)
    assert parts_of(site)["merge"] == []  # kb-parts.json still says what it said
    leaked = sorted(p.name for p in (site / "pagefind").glob("kb-delta-*"))
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    try:
        problem = index_delta(site, {"risks/record-1.html", "risks/record-3.html"}, delta)
    except OSError as error:
        pytest.fail(f"the next refresh fails too ({error}); left behind: {leaked}")
    assert problem is None
    assert "tapir" in words_of(site, "/risks/record-3.html")



def test_a_new_kb_serve_keeps_what_the_last_one_s_delta_held(site):
    """Was a bug: a new kb serve that finds site/pagefind/ with the last session's kb-delta and
    "hide" has a new Delta (since empty): a delta would hide only what this session changed, and
    the last session's edits would be found by their old words."""
    last_session = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))
    assert index_delta(site, {"risks/record-1.html"}, last_session) is None
    assert index_delta(site, {"risks/record-1.html"}, last_session) is None  # kb-delta-2/
    this_session = Delta()
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    # fixed: a Delta that did not see the whole index made does not fit, so the index stage
    # indexes the whole site first (pipeline.search_refreshes_alone asks fits())
    assert not this_session.fits({"risks/record-3.html"}, 8)
    assert index_search(site) is None
    this_session.reset()
    assert this_session.fits({"risks/record-3.html"}, 8)
    assert "giraffe" in words_of(site, "/risks/record-1.html"), "record 1 is found by its new words"
    assert "tapir" in words_of(site, "/risks/record-3.html")


def test_a_new_kb_serve_s_first_delta_does_not_collide_with_the_last_one_s(site):
    """Was a bug: the last session ended on kb-delta-1/; the new session's Delta numbers from 0 again
    and renames .kb-delta-new onto the existing, non-empty kb-delta-1/: OSError, every reload."""
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))
    assert index_delta(site, {"risks/record-1.html"}, Delta()) is None
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    try:
        problem = index_delta(site, {"risks/record-3.html"}, Delta())
    except OSError as error:
        pytest.fail(f"the new session's refresh fails: {error}")
    assert problem is None and "tapir" in words_of(site, "/risks/record-3.html")

def test_odd_page_names_have_the_address_pagefind_gives(tmp_path):
    site = tmp_path / "site"
    names = ["risks/a b.html", "risks/café.html", "risks/sub/index.html", "risks/Index.html",
             "risks/x%20y.html", "risks/q&a.html", "index.html", "deep/er/still/index.html"]
    for name in names:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(page("T", "words"))
    assert index_search(site) is None
    assert set(fragments_of(site / "pagefind")) == {address(name) for name in names}


def test_a_moved_page_is_found_once_at_its_new_address(site):
    delta = Delta()
    whole = fragments_of(site / "pagefind")
    (site / "risks/record-1.html").rename(site / "systems/record-1.html")
    changed = {"risks/record-1.html", "systems/record-1.html"}
    assert index_delta(site, changed, delta) is None
    shown = searchable(site)
    assert "/risks/record-1.html" not in shown and "/systems/record-1.html" in shown
    assert whole["/risks/record-1.html"] in parts_of(site)["hide"]


def test_an_index_page_in_a_folder_edited_then_removed(site):
    delta = Delta()
    (site / "risks/index.html").write_text(page("Risks", "Every risk, now a numbat."))
    assert index_delta(site, {"risks/index.html"}, delta) is None
    assert "numbat" in words_of(site, "/risks/")
    (site / "risks/index.html").unlink()
    assert index_delta(site, {"risks/index.html"}, delta) is None
    assert "/risks/" not in searchable(site)
    # the delta before (kb-delta-1) stays one refresh longer, for a search page opened before
    assert parts_of(site)["merge"] == [] and [p.name for p in (site / "pagefind").glob("kb-delta-*")] == ["kb-delta-1"]


def test_a_page_added_then_removed_in_deltas_is_gone_and_nothing_leaks(site):
    delta = Delta()
    (site / "risks/new.html").write_text(page("New", "okapi"))
    assert index_delta(site, {"risks/new.html"}, delta) is None
    assert "/risks/new.html" in searchable(site)
    (site / "risks/new.html").unlink()
    assert index_delta(site, {"risks/new.html"}, delta) is None
    assert "/risks/new.html" not in searchable(site)
    assert not (site / "pagefind" / ".kb-delta-new").exists() and not list(site.glob(".pagefind-pages-*"))


def test_a_full_index_after_deltas_then_a_delta_hides_the_new_whole_fragments(site):
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "giraffe"))
    assert index_delta(site, {"risks/record-1.html"}, delta) is None
    assert index_search(site) is None
    delta.reset()
    (site / "risks/record-1.html").write_text(page("Record 1", "tapir"))
    assert index_delta(site, {"risks/record-1.html"}, delta) is None
    assert "tapir" in words_of(site, "/risks/record-1.html")
    assert len(parts_of(site)["hide"]) == 1


# ------------------------------------------------------------------------------------ encoder


class Colour(str, enum.Enum):
    RED = "red"


class Number(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


@pytest.mark.parametrize("value", [
    1e16, -0.0, 0.0, 1e-7, 123456789012345678901234567890, -(2 ** 63), 5e-324, 1.7976931348623157e308,
    float("nan"), float("inf"), [float("-inf")], True, False, None, 0, "", [], {}, [[]], [{}], {"a": {}},
    {"a": [[], {}, [[]]]}, (1, (2, 3)), ["\ud800", "a\u2028b\u2029", "\x00\x1f\x7f", "é\n\"\\/"],
    {1: "a"}, {True: 1, None: 2, 1.5: 3}, {"k": Colour.RED}, {"k": Number.ONE}, {Text("k"): Text("v")},
    [Colour.RED, Number.ONE], {"nested": [{"deep": [1, 2.5, "x", None, True, {"z": []}]}]},
    {"\ud83d": "\udc00"}, "\u2028", [1, "a"] * 3,
    __import__("collections").OrderedDict(a=1), type("L", (list,), {})([1]), type("F", (float,), {})(1.5),
    {"k": type("D", (dict,), {})(a=[])}, [type("I", (int,), {})(7)], 10 ** 300, -1e-300, 2.5e-5, 1e22,
])
def test_json_text_is_json_dumps(value):
    assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def test_json_text_fails_as_json_dumps_does_on_what_json_cannot_hold():
    for value in [{"k": object()}, [{1, 2}], {(1, 2): "tuple key"}, {"k": b"bytes"}]:
        with pytest.raises(TypeError):
            json.dumps(value, ensure_ascii=False, indent=2)
        with pytest.raises(TypeError):
            json_text(value)


def test_indented_items_is_json_text_of_the_list():
    items = [{"a": "x\ny", "b": [1, {"c": []}]}, [], {}, "s", 1.5, None, [[["deep"]]]]
    assert indented_items([json_text(item) for item in items]) == json_text(items)
    assert indented_items([]) == json_text([])


def test_json_text_of_a_circular_value_fails_as_json_dumps_does():
    """Minor: json.dumps says ValueError("Circular reference detected"); json_text recurses until
    RecursionError (a RuntimeError, after a deep stack)."""
    value: list = []
    value.append(value)
    with pytest.raises(ValueError):
        json.dumps(value, ensure_ascii=False, indent=2)
    with pytest.raises(ValueError):
        json_text(value)


# ------------------------------------------------------------------------------------ export memo


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def base(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out, kept = tmp_path / "data", {}

    def exported(**kwargs) -> None:
        checked = check(content)
        assert checked.ok, [d.as_text() for d in checked.diagnostics]
        export(checked.graph, out, ["json", "csv"], kept)

    def fresh() -> dict[str, bytes]:
        checked = check(content)
        folder = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
        export(checked.graph, folder, ["json", "csv"])
        return _files(folder)

    return content, out, kept, exported, fresh


def test_a_figure_edited_from_0_to_minus_0_is_exported_as_a_fresh_export_does(base):
    """Was a bug (small): the memo compares a record's dict with ==, and 0.0 == -0.0 (also in the CSV's
    rows), though json_text writes them "0.0" and "-0.0": data/ keeps the old text."""
    content, out, kept, exported, fresh = base
    metric = content / "metrics" / "alphaevolve-compute-recovery.yaml"
    metric.write_text(metric.read_text().replace("  value: 0.7\n", "  value: 0.0\n", 1))
    exported()
    metric.write_text(metric.read_text().replace("  value: 0.0\n", "  value: -0.0\n", 1))
    time.sleep(0.01)
    exported()
    assert b'"value": -0.0' in fresh()["metrics/alphaevolve-compute-recovery.json"]
    assert _files(out) == fresh()


def test_a_csv_export_interrupted_while_writing_a_kind_leaves_it_to_the_next(base, monkeypatch):
    """Was a bug: csv.write notes a kind's rows in the memo before writing its file: an export
    interrupted there (Refresher.stop raises Interrupted in the thread) leaves the file as it
    was and the memo saying it holds the new rows, so the next export skips it."""
    content, out, kept, exported, fresh = base
    exported()
    edited = sorted((content / "risks").glob("*.yaml"))[0]
    edited.write_text(edited.read_text().replace("summary: >-\n", "summary: >-\n  Edited for the export.\n", 1))
    real = csv_export.write_text

    def interrupted(path, text):
        if path.name == "risks.csv":
            raise Interrupted()
        return real(path, text)

    with monkeypatch.context() as patch:
        patch.setattr(csv_export, "write_text", interrupted)
        with pytest.raises(Interrupted):
            exported()
    time.sleep(0.01)
    exported()  # the next reload's export, nothing edited since
    assert _files(out)["risks.csv"] == fresh()["risks.csv"]


def test_a_json_export_interrupted_then_the_edit_undone_writes_what_a_fresh_one_does(base, monkeypatch):
    """Was a bug: an interrupted JSON export has written (and noted in kept.files) the files of the
    edit, but kept.records still holds the records before it: undo the edit and the next export
    finds each record equal to the kept one and its file "as written", and keeps the edit's."""
    content, out, kept, exported, fresh = base
    exported()
    edited = sorted((content / "risks").glob("*.yaml"))[0]
    original = edited.read_text()
    edited.write_text(original.replace("summary: >-\n", "summary: >-\n  Edited for the export.\n", 1))
    real = json_export.write_pieces

    def interrupted(path, pieces):  # all.json is written last: the others are written by then
        raise Interrupted()

    with monkeypatch.context() as patch:
        patch.setattr(json_export, "write_pieces", interrupted)
        with pytest.raises(Interrupted):
            exported()
    assert "Edited for the export." in (out / "risks" / f"{edited.stem}.json").read_text()
    edited.write_text(original)  # undo
    time.sleep(0.01)
    exported()
    expected = fresh()
    stale = sorted(name for name, data in _files(out).items() if expected.get(name) != data)
    assert stale == []


def test_files_replaced_or_deleted_between_exports_are_written_again(base):
    content, out, kept, exported, fresh = base
    exported()
    time.sleep(0.01)
    # same size and mtime, other bytes: in place and as a new file (maybe the same inode)
    target = sorted((out / "systems").glob("*.json"))[0]
    stat = target.stat()
    data = target.read_bytes()
    with open(target, "r+b") as file:
        file.write(b"X" if data[:1] != b"X" else b"Y")
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    other = out / "risks.csv"
    stat2, data2 = other.stat(), other.read_bytes()
    other.unlink()
    other.write_bytes(b"Z" * len(data2))
    os.utime(other, ns=(stat2.st_atime_ns, stat2.st_mtime_ns))
    shutil.rmtree(out / "experts")
    (out / "all.json").unlink()
    (out / "stray.json").write_text("{}")
    exported()
    found = _files(out)
    found.pop("stray.json")  # not the export's: left as a fresh export into the folder would
    assert found == fresh()


def test_a_vocabulary_change_changing_columns_is_exported_as_a_fresh_export_does(base):
    content, out, kept, exported, fresh = base
    exported()
    vocabulary = content / "vocabulary.yaml"
    text = vocabulary.read_text()
    vocabulary.write_text(text + "\n" if text.endswith("\n") else text + "\n\n")
    time.sleep(0.01)
    exported()
    assert _files(out) == fresh()


def test_a_record_changing_only_its_article_is_exported_as_a_fresh_export_does(base):
    content, out, kept, exported, fresh = base
    exported()
    article = content / "topics" / "ai-coding.md"
    article.write_text(article.read_text() + "\nA paragraph added for the export, =1+1.\n")
    time.sleep(0.01)
    exported()
    assert b"A paragraph added for the export" in _files(out)["topics.csv"]
    assert _files(out) == fresh()

