"""A large site's search index is built in parts (generator/search_index.py), one Pagefind run
each, so that no run holds the whole site; the search page merges them. Here the repository's
content is built with parts of 2 MB of HTML: the parts exist, every page is in exactly one, and
a search in Chromium finds records whose pages were indexed in different parts, with nothing
fetched from elsewhere and no console error."""
from __future__ import annotations

import json
import re
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
