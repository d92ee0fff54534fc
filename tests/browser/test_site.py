"""The built site in Chromium: every page loads offline and clean, diagrams draw, search,
index tables and ages work, Mermaid loads only where needed, and axe finds nothing serious."""
from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import time
from urllib.parse import urljoin

import pytest

from conftest import (ARTIFACTS, AXE, CONTENT, OPEN_SHADOW_ROOTS, Watch, crawl, diagram_problems, mermaid_sources,
                      mangled_svgs, search, wait_for_diagrams)

MERMAID_JS = re.compile(r"/assets/vendor/mermaid-[^/]*\.min\.js$")


def _metrics(**values) -> None:
    """Numbers worth keeping from a run, in test-artifacts/browser-metrics.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "browser-metrics.json"
    try:
        known = json.loads(target.read_text())
    except (OSError, ValueError):
        known = {}
    known.update(values)
    target.write_text(json.dumps(known, indent=2) + "\n")


@pytest.fixture(scope="session")
def visits(browser, server, site):
    """Every page of the site visited once (load, then diagrams drawn); what each did."""
    started = time.perf_counter()
    result = crawl(browser, server, site.pages())
    seconds = time.perf_counter() - started
    _metrics(build_seconds=round(site.seconds, 2), pages_crawled=len(result), crawl_seconds=round(seconds, 1))
    print(f"\ncrawled {len(result)} pages in {seconds:.1f}s")
    return result


def client_pages(client_site) -> list[str]:
    """Pages of the client-drawn build whose diagrams kb.js draws. Every one with
    KB_BROWSER_FULL=1; otherwise (to keep the suite near 3 minutes) every topic and map page
    plus the first two record pages of each kind: the same code draws all record pages."""
    pages = [p for p in client_site.pages() if '<pre class="kb-mermaid"' in client_site.html(p)]
    if os.environ.get("KB_BROWSER_FULL"):
        return pages
    chosen, per_kind = [], {}
    for page in pages:
        folder = page.split("/")[0] if "/" in page else ""
        if folder in ("topics", "maps", ""):
            chosen.append(page)
        elif per_kind.setdefault(folder, 0) < 2:
            per_kind[folder] += 1
            chosen.append(page)
    return chosen


@pytest.fixture(scope="session")
def client_visits(browser, client_server, client_site):
    started = time.perf_counter()
    pages = client_pages(client_site)
    result = crawl(browser, client_server, pages)
    seconds = time.perf_counter() - started
    _metrics(client_build_seconds=round(client_site.seconds, 2), client_pages_crawled=len(result),
             client_crawl_seconds=round(seconds, 1))
    return result


# ---------------------------------------------------------------------------- the build


def test_site_is_built_from_the_repository_content(site):
    """The suite tests the real knowledge base, not a fixture, unless told otherwise."""
    if os.environ.get("KB_BROWSER_CONTENT"):
        pytest.skip("not applicable: KB_BROWSER_CONTENT builds another content tree")
    records = [p for p in CONTENT.rglob("*") if p.suffix in (".yaml", ".md") and p.parent.parent == CONTENT]
    assert records, "content/ holds no records"
    pages = set(site.pages())
    missing = [f"{r.parent.name}/{r.stem}.html" for r in records
               if f"{r.parent.name}/{r.stem}.html" not in pages]
    assert not missing, f"records without a page: {missing}"
    for fixed in ("index.html", "tags.html", "quality.html", "maps/risks.html", "maps/topics.html",
                  "systems/index.html", "topics/index.html", "sources/index.html"):
        assert fixed in pages


# ---------------------------------------------------------------------------- every page


def test_every_page_loads_offline_without_errors(visits, site):
    assert len(visits) == len(site.pages()) > 10
    problems = {}
    for page, visit in visits.items():
        found = {k: v for k, v in (("console errors", visit.console_errors), ("page errors", visit.page_errors),
                                   ("requests leaving 127.0.0.1", visit.foreign),
                                   ("failed requests", visit.failed)) if v}
        if found:
            problems[page] = found
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_every_diagram_is_drawn_with_its_labels(visits, site, client_site):
    """The default build: every diagram of a page (as the client-drawn build of the same content
    has it, `pre.kb-mermaid`) is an SVG once the page has loaded, inlined at build time or drawn
    by kb.js, and shows the node labels of its source."""
    problems, checked = [], 0
    for page in site.pages():
        sources = mermaid_sources(client_site.html(page)) if client_site.exists(page) else []
        found = diagram_problems(visits[page], sources)
        problems += [f"{page}: {problem}" for problem in found]
        checked += 0 if found else len(sources)
    assert not problems, "\n".join(problems)
    assert checked > 0, "no page of the site has a diagram"


def test_inlined_diagrams_reach_the_page_intact(site, visits):
    """Every SVG drawn at build time appears verbatim in the built page, and no heading, table
    or list of the page ends up inside an SVG."""
    mangled = mangled_svgs(site)
    swallowed = {page: v.facts["swallowed"] for page, v in visits.items() if any(v.facts["swallowed"])}
    assert not mangled and not swallowed, {"SVGs rewritten by Markdown": mangled, "content inside an SVG": swallowed}


def test_kb_js_draws_every_diagram_in_the_browser(client_visits, client_site):
    """The client-drawn build: on each page with `pre.kb-mermaid` blocks, none is left once kb.js
    has run, there are as many `div.kb-diagram svg` as blocks, and each SVG shows its labels."""
    problems, checked = [], 0
    for page, visit in client_visits.items():
        sources = mermaid_sources(client_site.html(page))
        facts, drawn = visit.facts, visit.facts["diagrams"]
        found = diagram_problems(visit, sources, in_browser=True)
        if found and not found[0].startswith("diagram "):  # not drawn at all, or not as many
            problems.append(f"{page}: {found[0]}")
            continue
        if any(facts["swallowed"]):
            problems.append(f"{page}: content inside a drawn SVG: {facts['swallowed']}")
        if any(d["label"] is None for d in drawn):
            problems.append(f"{page}: a drawn diagram has no aria-label")
        problems += [f"{page}: {problem}" for problem in found]
        checked += len(sources)
        found = {k: v for k, v in (("console errors", visit.console_errors), ("page errors", visit.page_errors),
                                   ("requests leaving 127.0.0.1", visit.foreign)) if v}
        if found:
            problems.append(f"{page}: {found}")
    assert not problems, "\n".join(problems)
    assert checked > 0, "the client-drawn build has no diagram"


def test_ages_are_relative_on_every_page(visits):
    """kb.js rewrites every `time.kb-age` as 'date (N days ago)' against the browser's today."""
    ages = [(page, datetime, text) for page, visit in visits.items() for datetime, text in visit.facts["ages"]]
    wrong = [a for a in ages if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \((today|.* ago)\)", a[2])
             or not a[2].startswith(a[1])]
    assert not wrong, wrong
    assert ages, "no page shows an age (no record has last_edited)"


@pytest.mark.parametrize("build", ["default", "client"])
def test_mermaid_script_only_on_pages_that_draw_in_the_browser(site, client_site, build):
    """In the HTML of every page: the Mermaid script is included exactly when a diagram is
    left for the browser to draw (`pre.kb-mermaid`); pages with drawn SVGs need no script."""
    built = site if build == "default" else client_site
    wrong = []
    for page in built.pages():
        text = built.html(page)
        has_block = '<pre class="kb-mermaid"' in text
        has_script = bool(re.search(r'<script src="[^"]*assets/vendor/mermaid-[^"]*\.min\.js"', text))
        if has_block != has_script:
            wrong.append(f"{page}: diagram left to the browser {has_block}, mermaid script {has_script}")
    assert not wrong, wrong


def test_no_inline_handler_or_script_url_on_any_page(visits):
    found = {page: v.facts["handlers"] + v.facts["jsLinks"] for page, v in visits.items()
             if v.facts["handlers"] or v.facts["jsLinks"]}
    assert not found, found


def test_crawled_pages_request_mermaid_only_when_they_draw(visits, site):
    wrong = [page for page, visit in visits.items()
             if visit.facts["mermaidRequested"] != ('<pre class="kb-mermaid"' in site.html(page))]
    assert not wrong, wrong


@pytest.mark.parametrize("build,which", [("default", "home"), ("default", "index"), ("default", "topic"),
                                         ("default", "record"), ("client", "home"), ("client", "index"),
                                         ("client", "topic"), ("client", "record")])
def test_mermaid_is_requested_only_where_needed(browser, request, pages_of_interest, build, which):
    """A fresh browser (empty cache) asks for mermaid-*.min.js only on a page that draws in
    the browser: never on the home, an index or a record page (its neighbourhood is SVG from
    the generator); on a topic page of the client-drawn build exactly once."""
    built = request.getfixturevalue("site" if build == "default" else "client_site")
    server = request.getfixturevalue("server" if build == "default" else "client_server")
    path = pages_of_interest[which]
    expected = '<pre class="kb-mermaid"' in built.html(path)
    if build == "client" and which == "topic":
        assert expected, f"{path} of the client-drawn build has no diagram for the browser"
    if which in ("home", "index", "record"):
        assert not expected
        assert which != "record" or '<svg class="kb-nb"' in built.html(path)
    context = browser.new_context()
    try:
        page = context.new_page()
        watch = Watch().attach(page)
        page.goto(server(path), wait_until="load")
        asked = [u for u in watch.requests if MERMAID_JS.search(u)]
        assert len(asked) == (1 if expected else 0), (path, asked)
        if expected:
            wait_for_diagrams(page)
            assert page.locator("div.kb-diagram > svg").count() >= 1
        watch.assert_clean(path)
    finally:
        context.close()


# ---------------------------------------------------------------------------- search


def _system_to_find(site) -> tuple[str, str]:
    """(name, page) of a system: AlphaEvolve if the base has it, else the first system."""
    index = site.html("systems/index.html")
    rows = re.findall(r'<tr data-tags="[^"]*"><td data-sort="[^"]*"><a href="([^"]+\.html)">([^<]+)</a></td>', index)
    assert rows, "systems/index.html lists no system"
    href, name = next(((h, n) for h, n in rows if "alphaevolve" in h.lower()), rows[0])
    return html.unescape(name), "systems/" + href


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_search_finds_a_system_offline(browser, server, site, viewport):
    name, target = _system_to_find(site)
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.add_init_script(OPEN_SHADOW_ROOTS)
        watch = Watch().attach(page)
        page.goto(server("index.html"), wait_until="load")
        results = search(page, server, name)
        page.wait_for_timeout(300)  # let the first results render
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
        paths = [re.sub(r"[?#].*$", "", urljoin(page.url, h)).replace(server.url, "") for h in hrefs]
        assert target in paths, (name, target, paths[:15])
        watch.assert_clean(f"search for {name!r}")
        assert all(u.startswith(server.url) for u in watch.requests), watch.requests
    finally:
        context.close()


def test_search_result_titles_are_clean(browser, server, site):
    name, _ = _system_to_find(site)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server("index.html"), wait_until="load")
        results = search(page, server, name)
        assert "pagefind" in results.first.get_attribute("class")  # the site's search is Pagefind's
        titles = results.all_inner_texts()
        assert not [t for t in titles if "¶" in t], titles
    finally:
        context.close()


# ---------------------------------------------------------------------------- index tables


def _column(page, column: int) -> list[str]:
    return page.eval_on_selector_all(
        "[data-kb-index] tbody tr", f"rows => rows.map(r => r.cells[{column}].getAttribute('data-sort'))")


def _utf16(values):
    """Keys ordered the way JavaScript compares strings (UTF-16 code units)."""
    return [v.encode("utf-16-be") for v in values]


def test_index_table_sorts_each_column_both_ways(watched, server):
    page, watch = watched
    page.goto(server("systems/index.html"), wait_until="load")
    buttons = page.locator("[data-kb-index] button[data-kb-sort]")
    assert buttons.count() >= 2
    assert page.locator("[data-kb-index] tbody tr").count() >= 2, "too few systems to test sorting"
    changed = False
    for i in range(buttons.count()):
        button = buttons.nth(i)
        column = int(button.get_attribute("data-kb-sort"))
        th = page.locator("[data-kb-index] thead th").nth(column)
        before = _column(page, column)
        button.click()
        ascending = _column(page, column)
        assert th.get_attribute("aria-sort") == "ascending"
        assert _utf16(ascending) == sorted(_utf16(ascending)), (column, ascending)
        assert sorted(ascending) == sorted(before)
        button.click()
        descending = _column(page, column)
        assert th.get_attribute("aria-sort") == "descending"
        assert _utf16(descending) == sorted(_utf16(descending), reverse=True), (column, descending)
        if len(set(ascending)) > 1:
            assert ascending != descending
            changed = True
        others = page.eval_on_selector_all("[data-kb-index] thead th", "ths => ths.map(t => t.getAttribute('aria-sort'))")
        assert [s for j, s in enumerate(others) if j != column] == ["none"] * (len(others) - 1)
    assert changed, "no column had two different values"
    watch.assert_clean("systems/index.html")


def test_index_table_filters_by_tag(watched, server, site):
    page, watch = watched
    indexes = [p for p in site.pages() if p.endswith("/index.html") and "data-kb-filter" in site.html(p)
               and re.search(r'<option value="[^"]+">', site.html(p))]
    assert indexes, "no index page has a tag to filter by"
    target = "systems/index.html" if "systems/index.html" in indexes else indexes[0]
    page.goto(server(target), wait_until="load")
    select = page.locator("select[data-kb-filter]")
    tags = [v for v in select.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    rows = page.locator("[data-kb-index] tbody tr")
    total = rows.count()
    for tag in tags:
        select.select_option(tag)
        state = rows.evaluate_all("rs => rs.map(r => [r.getAttribute('data-tags').split(' '), r.hidden])")
        assert any(not hidden for _, hidden in state), tag
        for row_tags, hidden in state:
            assert hidden == (tag not in row_tags), (tag, row_tags, hidden)
        assert rows.filter(visible=True).count() == sum(1 for t, _ in state if tag in t)
    select.select_option("")
    assert rows.filter(visible=True).count() == total
    watch.assert_clean(target)


# ---------------------------------------------------------------------------- ages


def _page_with_age(site) -> tuple[str, str]:
    for page in site.pages():
        found = re.search(r'<time class="kb-age" datetime="(\d{4}-\d{2}-\d{2})"', site.html(page))
        if found:
            return page, found.group(1)
    pytest.fail("no page shows an age")


@pytest.mark.parametrize("offset,expected", [
    (-3, "today"), (0, "today"), (1, "1 day ago"), (10, "10 days ago"), (15, "2 weeks ago"),
    (61, "2 months ago")])
def test_age_follows_the_browser_clock(browser, server, site, offset, expected):
    """The age is computed in the reader's browser, from its own today (faked here)."""
    page_path, date = _page_with_age(site)
    now = dt.datetime.combine(dt.date.fromisoformat(date) + dt.timedelta(days=offset), dt.time(12, 0))
    context = browser.new_context(timezone_id="Europe/Paris")
    try:
        page = context.new_page()
        page.clock.set_fixed_time(now)
        page.goto(server(page_path), wait_until="load")
        age = page.locator(f'time.kb-age[datetime="{date}"]').first
        assert age.inner_text() == f"{date} ({expected})"
    finally:
        context.close()


# ---------------------------------------------------------------------------- accessibility

def _axe(browser, server, page_path: str, **context_args) -> list[dict]:
    # axe-core is injected as an inline script, which the site's Content-Security-Policy refuses
    # (as it should any script the site did not ship): the audit's context bypasses the policy.
    context = browser.new_context(bypass_csp=True, **context_args)
    try:
        page = context.new_page()
        page.goto(server(page_path), wait_until="load")
        if page.locator("pre.kb-mermaid").count():
            wait_for_diagrams(page)
        page.add_script_tag(path=str(AXE))
        return page.evaluate("""async () => (await axe.run()).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(0, 3).join(' '))
        }))""")
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_results(browser, server, client_server, pages_of_interest) -> dict:
    results = {}
    for which, path in pages_of_interest.items():
        results[which] = _axe(browser, server, path)
    results["topic-dark"] = _axe(browser, server, pages_of_interest["topic"], color_scheme="dark")
    results["topic-client-drawn"] = _axe(browser, client_server, pages_of_interest["topic"])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


@pytest.mark.parametrize("which", ["home", "topic", "record", "index", "topic-dark", "topic-client-drawn"])
def test_no_serious_accessibility_violation(axe_results, which):
    serious = [v for v in axe_results[which]
               if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, indent=1, ensure_ascii=False)


# ---------------------------------------------------------------------------- screenshots


def test_topic_page_weight(browser, server, pages_of_interest):
    """Bytes a first visit to a topic page transfers (the Mermaid script is most of it)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        sizes = {}
        page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body()) if r.ok else 0))
        page.goto(server(pages_of_interest["topic"]), wait_until="load")
        wait_for_diagrams(page)
        total = sum(sizes.values())
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "topic-page-bytes.json").write_text(json.dumps(
            {"page": pages_of_interest["topic"], "bytes": total, "requests": len(sizes),
             "largest": sorted(sizes.items(), key=lambda i: -i[1])[:5]}, indent=1) + "\n")
        print(f"\n{pages_of_interest['topic']}: {total} bytes in {len(sizes)} responses")
        assert total < 6_000_000, sizes
    finally:
        context.close()


@pytest.mark.parametrize("which", ["home", "topic", "record", "index"])
def test_no_sideways_scrolling_on_a_phone(screenshots, which):
    shot = next(s for s in screenshots if s.view == "phone" and s.which == which)
    assert shot.overflow <= 0, f"{shot.page} is {shot.overflow}px wider than a 390px screen"


def test_screenshots(screenshots):
    """Light, dark and phone pictures of the four kinds of page, for a human to look at."""
    assert len(screenshots) == 12
    for shot in screenshots:
        assert shot.path.stat().st_size > 10_000, shot.path
    print("\n" + "\n".join(f"{s.path.name}: {s.page}, {s.overflow}px wider than the viewport" for s in screenshots))
