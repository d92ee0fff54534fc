"""kb serve's search refresh (generator/search_index.py, ``index_delta``): after an edit, only the
pages changed since the whole site was indexed are indexed again, into an index merged last, and
kb-parts.json hides what those pages were in the whole index. Real Pagefind runs on a small site
of hand-written pages; the browser test (tests/browser/test_search_parts.py) searches one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import search_index
from generator.search_index import PARTS_FILE, Delta, address, fragments_of, index_delta, index_search


def page(title: str, text: str) -> str:
    return (f"<!doctype html><html lang='en'><head><title>{title}</title></head>"
            f"<body><main data-pagefind-body><h1>{title}</h1><p>{text}</p></main></body></html>")


def small_site(tmp_path: Path, *more: tuple[Path, str]) -> Path:
    """Six record pages, a home page and ``more`` (path, HTML), indexed whole."""
    site = tmp_path / "site"
    for number in range(6):
        path = site / ("risks" if number % 2 else "systems") / f"record-{number}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(f"Record {number}", f"The original words of record {number}, zebra{number}."))
    (site / "index.html").write_text(page("Home", "Every record."))
    for path, text in more:
        (site / path).write_text(text)
    assert index_search(site) is None
    return site


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return small_site(tmp_path)


def parts_of(site: Path) -> dict:
    return json.loads((site / "pagefind" / PARTS_FILE).read_text())


def urls_in(folder: Path) -> set[str]:
    return set(fragments_of(folder))


def test_address_is_the_one_pagefind_gives():
    assert address("risks/goal-drift.html") == "/risks/goal-drift.html"
    assert address("risks/index.html") == "/risks/"
    assert address("index.html") == "/"


def test_fragments_of_reads_every_page_of_the_whole_index(site):
    found = fragments_of(site / "pagefind")
    assert set(found) == {"/", *(f"/{'risks' if n % 2 else 'systems'}/record-{n}.html" for n in range(6))}
    assert all((site / "pagefind" / "fragment" / f"{fragment}.pf_fragment").is_file() for fragment in found.values())


def test_a_delta_indexes_the_changed_pages_alone_and_hides_what_they_were(site):
    whole = fragments_of(site / "pagefind")
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited words, giraffe."))
    (site / "systems/record-2.html").unlink()
    (site / "systems/record-6.html").write_text(page("Record 6", "A new record, okapi."))
    changed = {"risks/record-1.html", "systems/record-2.html", "systems/record-6.html"}
    delta.reset()  # the site was indexed whole by this process (the fixture)
    assert delta.fits(changed, 8)
    assert index_delta(site, changed, delta) is None

    parts = parts_of(site)
    assert parts["merge"] == ["kb-delta-1/"]
    folder = site / "pagefind" / "kb-delta-1"
    assert urls_in(folder) == {"/risks/record-1.html", "/systems/record-6.html"}  # the deleted page is not
    assert sorted(parts["hide"]) == sorted([whole["/risks/record-1.html"], whole["/systems/record-2.html"]])
    assert delta.since == changed and delta.number == 1
    assert not list(site.glob(".pagefind-pages-*")) and not (site / "pagefind" / ".kb-delta-new").exists()
    # the whole index is as it was: its fragments of the changed pages are there, only hidden
    assert fragments_of(site / "pagefind") == whole

    # a second edit: the pages changed since the whole index are indexed again, the first delta goes
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited again, tapir."))
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    parts = parts_of(site)
    assert parts["merge"] == ["kb-delta-2/"]
    assert folder.exists(), "the delta before stays one refresh longer, for a search page opened before"
    assert urls_in(site / "pagefind" / "kb-delta-2") == {"/risks/record-1.html", "/systems/record-6.html",
                                                         "/risks/record-3.html"}
    assert set(parts["hide"]) == {whole[url] for url in ("/risks/record-1.html", "/systems/record-2.html",
                                                         "/risks/record-3.html")}
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert parts_of(site)["merge"] == ["kb-delta-3/"] and not folder.exists()
    assert sorted(p.name for p in (site / "pagefind").glob("kb-delta-*")) == ["kb-delta-2", "kb-delta-3"]


def test_a_page_edited_back_to_what_it_was_is_not_hidden(site):
    whole = fragments_of(site / "pagefind")
    original = (site / "risks/record-1.html").read_text()
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "For a moment."))
    assert index_delta(site, {"risks/record-1.html"}, delta) is None
    assert parts_of(site)["hide"] == [whole["/risks/record-1.html"]]
    (site / "risks/record-1.html").write_text(original)
    assert index_delta(site, {"risks/record-1.html"}, delta) is None
    # its fragment is the whole index's again: hidden, it would not be found at all
    assert fragments_of(site / "pagefind" / "kb-delta-2")["/risks/record-1.html"] == whole["/risks/record-1.html"]
    assert parts_of(site)["hide"] == []


def test_a_large_site_keeps_its_parts_before_the_delta(site, monkeypatch):
    monkeypatch.setattr(search_index, "PART_BYTES", 600)  # one part a page or two
    assert index_search(site) is None
    merged = parts_of(site)["merge"]
    assert len(merged) >= 2
    whole = fragments_of(site / "pagefind")
    assert len(whole) == 7, "fragments are read from every part"
    (site / "risks/record-5.html").write_text(page("Record 5", "Edited, in some part."))
    assert index_delta(site, {"risks/record-5.html"}, Delta()) is None
    assert parts_of(site) == {"merge": merged + ["kb-delta-1/"], "hide": [whole["/risks/record-5.html"]]}


def test_indexing_the_whole_site_again_ends_the_deltas(site):
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited."))
    assert index_delta(site, {"risks/record-1.html"}, delta) is None
    assert index_search(site) is None
    delta.reset()
    assert parts_of(site) == {"merge": []}
    assert not list((site / "pagefind").glob("kb-delta-*"))
    assert delta.since == set() and delta.fragments is None


def test_a_delta_fits_while_few_pages_changed_since_the_whole_index():
    delta = Delta(since={f"p{n}.html" for n in range(40)}, indexed=True)
    assert delta.fits({"q.html"}, 100)  # at least 50 pages, whatever the site's size
    assert delta.fits({f"q{n}.html" for n in range(10)}, 100)
    assert not delta.fits({f"q{n}.html" for n in range(11)}, 100)
    assert delta.fits({f"q{n}.html" for n in range(160)}, 1000)  # a fifth of the pages
    assert not delta.fits({f"q{n}.html" for n in range(161)}, 1000)


def test_a_failed_delta_leaves_the_index_as_it_was(site, monkeypatch):
    before = parts_of(site)
    monkeypatch.setattr(search_index, "PAGEFIND", [*search_index.PAGEFIND, "--no-such-option"])
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited."))
    delta = Delta()
    problem = index_delta(site, {"risks/record-1.html"}, delta)
    assert problem is not None and "pagefind failed" in problem.message
    assert parts_of(site) == before and delta.number == 0
    assert not list((site / "pagefind").glob("*delta*")) and not list(site.glob(".pagefind-pages-*"))
    # the page is still changed since the whole index: the next refresh that ends indexes it too
    assert delta.since == {"risks/record-1.html"}
    monkeypatch.undo()
    (site / "risks/record-3.html").write_text(page("Record 3", "Edited later."))
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert urls_in(site / "pagefind" / "kb-delta-1") == {"/risks/record-1.html", "/risks/record-3.html"}


def test_a_stopped_delta_leaves_its_pages_to_the_next(site):
    """A refresh stopped by the next reload (``stopping`` set) indexes nothing; the pages of its
    reload are indexed by the next refresh, with that reload's own."""
    import threading

    from generator.core import Interrupted

    delta = Delta()
    stopped = threading.Event()
    stopped.set()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited, then stopped."))
    with pytest.raises(Interrupted):
        index_delta(site, {"risks/record-1.html"}, delta, stopped)
    assert parts_of(site) == {"merge": []} and not list((site / "pagefind").glob("*delta*"))
    assert index_delta(site, {"systems/record-2.html"}, delta) is None
    assert urls_in(site / "pagefind" / "kb-delta-1") == {"/risks/record-1.html", "/systems/record-2.html"}


def test_a_delta_needs_the_whole_index_of_this_process(site):
    """A new kb serve finds the index (and deltas) another process left: it does not know what
    changed since, so the whole site is indexed first; and a delta never lands on a folder
    another left."""
    delta = Delta()
    assert not delta.fits({"risks/record-1.html"}, 8)
    delta.reset()
    assert delta.fits({"risks/record-1.html"}, 8)
    left = Delta()
    assert index_delta(site, {"risks/record-1.html"}, left) is None
    assert index_delta(site, {"risks/record-1.html"}, left) is None  # kb-delta-1 and -2 are there
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert parts_of(site)["merge"] == ["kb-delta-3/"]


def test_a_delta_that_fails_after_its_folder_is_placed_takes_it_away(site, monkeypatch):
    delta = Delta()
    (site / "risks/record-1.html").write_text(page("Record 1", "Edited."))

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search_index, "_write_atomic", full_disk)
    with pytest.raises(OSError):
        index_delta(site, {"risks/record-1.html"}, delta)
    assert not list((site / "pagefind").glob("*delta*")) and parts_of(site) == {"merge": []}
    monkeypatch.undo()
    assert index_delta(site, {"risks/record-3.html"}, delta) is None
    assert urls_in(site / "pagefind" / "kb-delta-1") == {"/risks/record-1.html", "/risks/record-3.html"}
