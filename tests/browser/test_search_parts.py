"""A large site's search index is built in parts (generator/search_index.py), one Pagefind run
each, so that no run holds the whole site; the search page merges them. Here the repository's
content is built with parts of 2 MB of HTML: the parts exist, every page is in exactly one, and
a search in Chromium finds records whose pages were indexed in different parts, with nothing
fetched from elsewhere and no console error."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from urllib.parse import urljoin

import pytest
from conftest import OPEN_SHADOW_ROOTS, Watch, build_site, content_under_test, search, serve

from generator import search_index


@pytest.fixture(scope="module")
def parted(tmp_path_factory):
    built = build_site(content_under_test(), tmp_path_factory.mktemp("kb-parted-site"),
                       KB_DIAGRAMS="client", KB_SEARCH_PART_MB="2")
    with serve(built.root) as running:
        yield built, running


def _parts(site):
    return search_index.parts(search_index._pages(site.root), 2 * 1024 ** 2)


def test_the_index_is_in_parts_that_the_search_page_merges(parted):
    site, _ = parted
    parts = _parts(site)
    assert len(parts) >= 3
    listed = json.loads((site.root / "pagefind" / search_index.PARTS_FILE).read_text())
    assert listed == {"merge": [f"part-{n}/" for n in range(1, len(parts))]}
    for number in range(len(parts)):
        folder = site.root / "pagefind" / (f"part-{number}" if number else "")
        assert (folder / "pagefind-entry.json").is_file() and (folder / "pagefind.js").is_file()
    assert sorted(page for part in parts for page in part) == sorted(search_index._pages(site.root))
    assert not list(site.root.glob(".pagefind*")), "the folders of links and the new index are gone"


def _name_in(site, part: list[str]) -> tuple[str, str]:
    for page in part:
        if page.startswith("systems/") and page != "systems/index.html":
            title = re.search(r"<h1[^>]*>(.*?)<", site.html(page), re.S).group(1).strip()
            return title, page
    raise AssertionError("no system page in this part")


def test_a_search_finds_pages_of_every_part(browser, parted):
    site, server = parted
    parts = [part for part in _parts(site) if any(p.startswith("systems/") and p != "systems/index.html" for p in part)]
    assert len(parts) >= 2, "the systems' pages are in one part: the test would not see a merge"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(OPEN_SHADOW_ROOTS)
        watch = Watch().attach(page)
        for part in (parts[0], parts[-1]):
            name, target = _name_in(site, part)
            page.goto(server("index.html"), wait_until="load")
            results = search(page, server, name)
            page.wait_for_timeout(300)
            hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
            paths = [re.sub(r"[?#].*$", "", urljoin(page.url, h)).replace(server.url, "") for h in hrefs]
            assert target in paths, (name, target, paths[:15])
        watch.assert_clean("searches across the parts")
        assert all(u.startswith(server.url) for u in watch.requests), watch.requests
        assert any("/pagefind/part-" in u for u in watch.requests), "no part after the first was fetched"
    finally:
        context.close()


# ------------------------------------------------------- kb serve: the pages an edit changed, alone

def _searched(page, server, query: str) -> list[str]:
    """The pages (paths in the site) that search.html lists for ``query``; [] once it says none."""
    page.goto(server("search.html"), wait_until="load")
    field = page.locator(".pagefind-ui__search-input")
    field.click()
    field.press_sequentially(query, delay=20)
    page.wait_for_function("""() => document.querySelector('.pagefind-ui__result-link')
        || /No results/.test(document.querySelector('.pagefind-ui__message')?.textContent || '')""", timeout=15_000)
    page.wait_for_timeout(300)
    links = page.locator(".pagefind-ui__result-inner > .pagefind-ui__result-title .pagefind-ui__result-link")  # not sub-results
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    return [re.sub(r"[?#].*$", "", urljoin(page.url, h)).replace(server.url, "") for h in hrefs]


def _say(site, relative: str, words: str) -> None:
    path = site / relative
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("</h1>", f"</h1><p>{words}</p>", 1), encoding="utf-8")


def test_a_search_after_an_edit_finds_pages_by_what_they_say_now(browser, parted, tmp_path):
    """The whole index in parts, then a delta of an edited, a deleted, a new and an unchanged page
    (as kb serve refreshes it): each is found by its new words, once, never by its old ones."""
    built, _ = parted
    site = tmp_path / "site"
    shutil.copytree(built.root, site)
    shutil.rmtree(site / "pagefind")
    systems = sorted(p for part in _parts(built) for p in part if p.startswith("systems/") and p != "systems/index.html")
    edited, deleted, kept, same = systems[0], systems[1], systems[2], systems[3]
    _say(site, edited, "wombatbefore")
    _say(site, same, "bilbyonce")  # rebuilt as it was: the same fragment in the parts and the delta
    _say(site, deleted, "numbatgone")
    _say(site, kept, "wombatbefore")
    with patched_parts(2):
        assert search_index.index_search(site) is None
    assert len(json.loads((site / "pagefind" / search_index.PARTS_FILE).read_text())["merge"]) >= 2

    (site / edited).write_text((site / edited).read_text().replace("wombatbefore", "quokkaafter"))
    (site / deleted).unlink()
    created = "systems/a-new-system.html"
    (site / created).write_text((site / kept).read_text().replace("wombatbefore", "quokkaafter"))
    delta = search_index.Delta()
    assert search_index.index_delta(site, {edited, deleted, created, same}, delta) is None

    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(OPEN_SHADOW_ROOTS)
        watch = Watch().attach(page)
        with serve(site) as server:
            # (Pagefind may list other pages for a word no page has: what matters is these pages)
            found = _searched(page, server, "wombatbefore")
            assert found.count(kept) == 1 and edited not in found, found
            found = _searched(page, server, "quokkaafter")
            assert found.count(edited) == 1 and found.count(created) == 1, found
            assert deleted not in _searched(page, server, "numbatgone")
            found = _searched(page, server, "bilbyonce")
            assert found.count(same) == 1, found
            title = re.search(r"<h1[^>]*>(.*?)<", (site / edited).read_text(), re.S).group(1).strip()
            found = _searched(page, server, title)
            assert found.count(edited) == 1, (title, found)
        watch.assert_clean("searches after a delta")
        assert any("/pagefind/kb-delta-1/" in u for u in watch.requests), "the delta was not fetched"
    finally:
        context.close()


@contextlib.contextmanager
def patched_parts(megabytes: int):
    before = os.environ.get("KB_SEARCH_PART_MB")
    os.environ["KB_SEARCH_PART_MB"] = str(megabytes)
    try:
        yield
    finally:
        if before is None:
            del os.environ["KB_SEARCH_PART_MB"]
        else:
            os.environ["KB_SEARCH_PART_MB"] = before
