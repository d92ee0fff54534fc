"""The site built by each engine that reads mkdocs.yml (MkDocs, ProperDocs, Zensical) with NO hook,
from the complete docs tree (generator/engines.py), checked in Chromium, offline.

The docs tree is made once, as the build makes it (``generator.build.generate`` of the
repository's content, then the drawings inlined into the Markdown and the assets copied in); each
engine builds it once (a module-scoped fixture per engine), then the post-pass (``secure_site``)
and Pagefind run. On the topic page: its tables with their headers and rows, its diagrams as SVG,
its record links leading to pages that exist, one Content-Security-Policy that blocks nothing of
the site's own, and a search for its title that finds it. Every page visited makes no request
that leaves 127.0.0.1 and gets no 4xx answer.

The checks are functions that return what is wrong, so that ``test_the_checks_catch_an_incomplete_docs_tree``
can show they fail on a site whose docs tree lacks the assets and the drawings and whose pages
lack the post-pass.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from conftest import (ARTIFACTS, FACTS_JS, OPEN_SHADOW_ROOTS, REPO, BuiltSite, Visit, Watch, content_under_test,
                      diagram_problems, pick_pages, search, serve, wait_for_diagrams)
from generator import diagrams, engines, sanitize
from generator.build import generate, index_search

CSP_WATCH = ("window.__kbCsp = [];"
             "document.addEventListener('securitypolicyviolation', e => window.__kbCsp.push("
             "e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));")


# ------------------------------------------------------------------------------ building


@dataclass
class Tree:
    work: Path
    docs: Path
    cache: Path
    raw: dict[str, str]  # each page's Markdown as render wrote it (before the drawings went in)
    left: dict[str, int]  # pages with diagram blocks: how many are left to the browser


@dataclass
class EngineSite:
    engine: str
    root: Path
    tree: Tree
    seconds: float  # the engine's build
    secure_seconds: float  # the post-pass
    pages: int
    topic: str  # e.g. topics/self-improvement.html

    def html(self, page: str) -> str:
        return (self.root / page).read_text(encoding="utf-8")

    def raw(self, page: str) -> str:
        return self.tree.raw[Path(page).with_suffix(".md").as_posix()]


def make_tree(work: Path, complete: bool = True) -> Tree:
    """The docs tree of the repository's content, as the build writes it; ``complete=False``:
    without the drawings and the assets (what the tests must catch)."""
    shutil.copytree(content_under_test(), work / "content")  # a snapshot: content/ may be edited meanwhile
    docs, cache = work / "build" / "docs", work / "build" / "diagrams"
    generated = generate(work / "content", docs, cache)
    assert generated.ok, generated.checked.diagnostics
    raw = {path: page.markdown for path, page in generated.rendered.pages.items()}
    left = {}
    if complete:
        left = engines.inline_docs(docs, cache)
        written, removed = engines.copy_assets(docs)
        assert "assets/kb.js" in written and not removed
    return Tree(work, docs, cache, raw, left)


def build_with(engine: str, tree: Tree, site: Path, secure: bool = True) -> EngineSite:
    started = time.perf_counter()
    problem = engines.build(engine, REPO / "mkdocs.yml", tree.docs, site)
    seconds = time.perf_counter() - started
    assert problem is None, problem.as_text()
    secured = engines.secure_site(site, tree.docs, tree.cache) if secure else None
    assert secured is None or not secured.diagnostics, [d.as_text() for d in secured.diagnostics]
    index_search(site)
    topic = pick_pages(BuiltSite(site, tree.work, seconds, ""))["topic"]
    return EngineSite(engine, site, tree, seconds, secured.seconds if secured else 0.0,
                      secured.pages if secured else 0, topic)


def _metrics(engine: str, **values) -> None:
    """Build and post-pass times, in test-artifacts/engines.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "engines.json"
    try:
        known = json.loads(target.read_text())
    except (OSError, ValueError):
        known = {}
    known[engine] = values
    target.write_text(json.dumps(known, indent=2) + "\n")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Tree:
    return make_tree(tmp_path_factory.mktemp("kb-engines"))


@pytest.fixture(scope="module", params=list(engines.ENGINES))
def built(request, tree) -> EngineSite:
    """The site as ``request.param`` builds it from the complete docs tree, once per engine."""
    site = build_with(request.param, tree, tree.work / f"site-{request.param}")
    _metrics(site.engine, build_seconds=round(site.seconds, 2), secure_seconds=round(site.secure_seconds, 3),
             pages=site.pages)
    print(f"\n{site.engine}: built in {site.seconds:.2f}s, post-pass {site.secure_seconds:.3f}s for {site.pages} pages")
    return site


@pytest.fixture(scope="module")
def server(built):
    with serve(built.root) as running:
        yield running


# ------------------------------------------------------------------------------ watching


@dataclass
class Seen:
    watch: Watch
    bad_responses: list[str] = field(default_factory=list)

    def problems(self, page) -> list[str]:
        """Requests leaving 127.0.0.1, 4xx/5xx answers, console and page errors, CSP violations."""
        found = [f"request leaves 127.0.0.1: {u}" for u in self.watch.foreign()]
        found += [f"answered {r}" for r in self.bad_responses]
        found += [f"console: {m}" for m in self.watch.console_errors]
        found += [f"page error: {m}" for m in self.watch.page_errors]
        found += [f"failed: {m}" for m in self.watch.failed]
        found += [f"CSP violation: {v}" for v in (page.evaluate("() => window.__kbCsp || []") or [])]
        return found


def watch(page) -> Seen:
    page.add_init_script(OPEN_SHADOW_ROOTS)
    page.add_init_script(CSP_WATCH)
    seen = Seen(Watch().attach(page))
    page.on("response", lambda r: r.status >= 400 and seen.bad_responses.append(f"{r.status}: {r.url}"))
    return seen


def open_page(page, server, path: str) -> None:
    page.goto(server(path), wait_until="load")
    if page.locator("pre.kb-mermaid").count() and page.evaluate("() => typeof window.mermaid") != "undefined":
        wait_for_diagrams(page)


# ------------------------------------------------------------------------------ the checks


class _Tables(HTMLParser):
    """Each <table> of a page's HTML: the text of its header cells and its number of body rows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self._open, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._open.append({"headers": [], "rows": 0, "section": None})
            self.tables.append(self._open[-1])
        elif self._open:
            table = self._open[-1]
            if tag in ("thead", "tbody", "tfoot"):
                table["section"] = tag
            elif tag == "tr" and table["section"] != "thead":
                table["rows"] += 1
            elif tag == "th" and table["section"] == "thead":
                self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self._open:
            self._open.pop()
        elif tag == "th" and self._cell is not None and self._open:
            self._open[-1]["headers"].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def expected_tables(markdown: str) -> list[dict]:
    parser = _Tables()
    parser.feed(markdown)
    return [{"headers": t["headers"], "rows": t["rows"]} for t in parser.tables]


TABLES_JS = """() => [...document.querySelectorAll('article.md-content__inner table')].map(t => ({
  headers: [...t.querySelectorAll(':scope > thead th')].map(th => th.textContent.split(/\\s+/).filter(Boolean).join(' ')),
  rows: [...t.querySelectorAll(':scope > tbody > tr, :scope > tr')].length,
  visible: t.getBoundingClientRect().width > 0,
}))"""


def table_problems(page, built: EngineSite) -> list[str]:
    expected = expected_tables(built.raw(built.topic))
    shown = page.evaluate(TABLES_JS)
    problems = []
    if len([t for t in expected if t["headers"]]) < 5:
        problems.append(f"the topic has only {len(expected)} tables in its Markdown: not the page meant")
    if [{"headers": t["headers"], "rows": t["rows"]} for t in shown] != expected:
        problems.append(f"tables shown {[(t['headers'], t['rows']) for t in shown]} "
                        f"!= written {[(t['headers'], t['rows']) for t in expected]}")
    problems += [f"table {i} is not visible" for i, t in enumerate(shown) if not t["visible"]]
    return problems


def drawing_problems(page, built: EngineSite) -> list[str]:
    """The topic's diagrams as SVG: drawn at build time (the cached drawing itself in the page,
    no Mermaid loaded), or, when the build had no Chromium, drawn by Mermaid in the browser."""
    sources = diagrams.found_in(built.raw(built.topic))
    if not sources:
        return ["the topic has no diagram: not the page meant"]
    in_browser = built.tree.left.get(Path(built.topic).with_suffix(".md").as_posix(), len(sources)) > 0
    facts = page.evaluate(FACTS_JS)
    visit = Visit(built.topic, 0, [], [], [], [], [], [], facts, False)
    problems = diagram_problems(visit, [source for source, _ in sources], in_browser=in_browser)
    if not in_browser:
        page_html = built.html(built.topic)
        problems += [f"drawing of diagram {n} is not the cached one" for n, d in enumerate(sources)
                     if diagrams.cached(built.tree.cache, d).read_text(encoding="utf-8") not in page_html]
        if facts["mermaid"] != "undefined" or facts["mermaidRequested"]:
            problems.append("Mermaid was loaded on a page whose diagrams were all drawn at build time")
    return problems


LINKS_JS = """(selector) => [...document.querySelectorAll(selector)].map(a =>
  a.href && a.href.baseVal !== undefined ? new URL(a.href.baseVal, location.href).href : a.href)"""


def link_problems(page, server, selector: str, at_least: int) -> list[str]:
    """Every local link of ``selector`` leads to a page that exists (200), and there are enough."""
    links = sorted({urldefrag(u)[0] for u in page.evaluate(LINKS_JS, selector) if u})
    local = [u for u in links if urlsplit(u).hostname == "127.0.0.1" and u.endswith(".html")]
    problems = [] if len(local) >= at_least else [f"only {len(local)} local links for {selector!r}"]
    for url in local:
        status = page.request.get(url).status
        if status != 200:
            problems.append(f"{url}: {status}")
    return problems


def policy_problems(page, built: EngineSite, path: str) -> list[str]:
    """One Content-Security-Policy meta, exactly the policy of the page as served (its script
    hashes those of the engine's inline scripts)."""
    metas = page.evaluate("""() => [...document.querySelectorAll('meta[http-equiv="Content-Security-Policy"]')]
                               .map(m => m.content)""")
    if len(metas) != 1:
        return [f"{path}: {len(metas)} Content-Security-Policy metas"]
    expected = sanitize.policy(sanitize.without_policy(built.html(path)))
    return [] if metas[0] == expected else [f"{path}: policy {metas[0]!r} is not the page's {expected!r}"]


def search_problems(page, server, built: EngineSite, timeout: float = 15_000) -> list[str]:
    """No search of the engine's own in the header (Pagefind serves it), and a search for the
    topic's title lists the topic."""
    problems = []
    if page.locator("input.md-search__input").count():
        problems.append("the engine's own search is on")
    title = re.search(r'^title: "?(.*?)"?$', built.raw(built.topic), re.M).group(1)
    query = " ".join(title.split()[:3])
    try:
        results = search(page, server, query, timeout=timeout)
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    except Exception as exc:  # noqa: BLE001 - a search that shows nothing is the problem reported
        return problems + [f"search for {query!r} showed no result: {str(exc).splitlines()[0]}"]
    if not any(h and h.split("#")[0].endswith("/" + built.topic) for h in hrefs):
        problems.append(f"search for {query!r} did not list {built.topic}: {hrefs}")
    return problems


# ------------------------------------------------------------------------------ the tests


def test_every_page_is_built_and_secured(built):
    """A page for every Markdown page of the docs tree, each with one policy; Zensical's own
    search index empty (its search is off)."""
    missing = [p for p in built.tree.raw if not (built.root / Path(p).with_suffix(".html")).is_file()]
    assert not missing, f"{built.engine} built no page for {missing[:10]}"
    unsecured = [p.relative_to(built.root).as_posix() for p in built.root.rglob("*.html")
                 if not p.relative_to(built.root).as_posix().startswith("pagefind/")
                 and p.read_text(encoding="utf-8").count('http-equiv="Content-Security-Policy"') != 1]
    assert not unsecured, unsecured[:10]
    own_index = built.root / "search.json"
    if own_index.exists():
        assert json.loads(own_index.read_text())["items"] == []


def test_topic_page_shows_its_tables(built, server, page):
    seen = watch(page)
    open_page(page, server, built.topic)
    assert not table_problems(page, built) + seen.problems(page)


def test_topic_page_shows_its_diagrams_as_svg(built, server, page):
    seen = watch(page)
    open_page(page, server, built.topic)
    assert not drawing_problems(page, built) + seen.problems(page)


def test_topic_page_links_lead_to_pages(built, server, page):
    seen = watch(page)
    open_page(page, server, built.topic)
    problems = link_problems(page, server, "article.md-content__inner a[href]", at_least=50)
    assert not problems + seen.problems(page)


def test_map_drawings_keep_their_links(built, server, page):
    """The post-pass keeps linked drawings on the maps (and only there), and they lead to pages."""
    seen = watch(page)
    open_page(page, server, "maps/risks.html")
    problems = link_problems(page, server, "div.kb-diagram svg a", at_least=5)
    assert not problems + seen.problems(page)


def test_pages_have_one_policy_that_blocks_nothing_of_the_site(built, server, page):
    seen = watch(page)
    for path in ("index.html", built.topic, "maps/risks.html", "systems/index.html", "search.html"):
        open_page(page, server, path)
        page.wait_for_timeout(300)  # late scripts (the theme's, Pagefind's UI) have run
        problems = policy_problems(page, built, path) + seen.problems(page)
        assert not problems, f"{built.engine} {path}: {problems}"


def test_search_finds_the_topic(built, server, page):
    seen = watch(page)
    open_page(page, server, built.topic)
    assert not search_problems(page, server, built) + seen.problems(page)


def test_the_checks_catch_an_incomplete_docs_tree(tmp_path, page):
    """The same checks on a site built (by MkDocs, no hook) from the docs tree as the generator
    writes it without engines.py: no drawings in the Markdown, no assets, no post-pass. Each
    check must find what is missing, or the tests above could pass on a broken site."""
    tree = make_tree(tmp_path, complete=False)
    broken = build_with("mkdocs", tree, tmp_path / "site", secure=False)
    with serve(broken.root) as running:
        seen = watch(page)
        open_page(page, running, broken.topic)
        network = seen.problems(page)
        assert any("assets/kb.css" in p for p in network) and any("assets/kb.js" in p for p in network), network
        assert drawing_problems(page, broken), "diagrams left as Mermaid source passed the drawing check"
        assert policy_problems(page, broken, broken.topic), "a page with no policy passed the policy check"
        assert not table_problems(page, broken)  # the tables are the generator's: there either way
        page.set_default_timeout(4_000)  # the search box never comes: no need to wait 30 s for it
        assert search_problems(page, running, broken, timeout=4_000), "search worked without kb.js"
