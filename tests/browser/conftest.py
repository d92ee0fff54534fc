"""Real-browser tests of the built site: build it, serve it on 127.0.0.1, drive Debian's Chromium.

What works on this machine (see /work/shared/notes/browser-testing.md): Playwright drives the
Debian Chromium (never `playwright install`), with the flags that stop it dialling out; the
site is served by `python -m http.server` on a free port; every test page records console
errors, page errors and request URLs so a test can assert that nothing leaves 127.0.0.1.

The site under test is built from the repository's own content (/work/main/content), twice:
as `kb build` builds it by default (diagrams drawn to SVG at build time when Chromium is on the
machine) and with KB_DIAGRAMS=client (kb.js draws them in the browser, the fallback path).
KB_BROWSER_CONTENT=<folder> builds another content tree instead (e.g. tests/fixtures/valid/content);
KB_BROWSER_FULL=1 makes the client-drawn crawl visit every page, not a sample.
Screenshots, axe results and timings go to test-artifacts/ (gitignored).

Every tab records console errors, page errors and request URLs (`Watch`); `watched` gives a
test pytest-playwright's page with a Watch attached, `crawl()` visits many pages and keeps, for
each, what it logged, requested and showed (FACTS_JS).
"""
from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
ARTIFACTS = REPO / "test-artifacts"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
KB = REPO / ".venv" / "bin" / "kb"
TODAY = "2026-01-07"  # KB_TODAY of every build: reproducible pages

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NO_NETWORK_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# ------------------------------------------------------------------------------ building


@dataclass
class BuiltSite:
    root: Path  # the built site
    work: Path  # the folder with mkdocs.yml, content/ and build/docs (generated Markdown)
    seconds: float
    output: str

    def html_files(self) -> list[Path]:
        return sorted(self.root.rglob("*.html"))

    def pages(self) -> list[str]:
        """Every page as a path relative to the site root, e.g. 'topics/index.html'."""
        return [p.relative_to(self.root).as_posix() for p in self.html_files()]

    def html(self, page: str) -> str:
        return (self.root / page).read_text(encoding="utf-8")

    def exists(self, page: str) -> bool:
        return (self.root / page).is_file()


def build_site(content: Path, work: Path, **env_extra: str) -> BuiltSite:
    """Build ``content`` the way the project does: a folder holding a copy of mkdocs.yml, the
    generator (mkdocs.yml names generator/static, generator/theme and the hook relative to
    itself) and the content tree, then `kb build --site`."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "mkdocs.yml", work / "mkdocs.yml")
    if not (work / "generator").exists():
        (work / "generator").symlink_to(REPO / "generator", target_is_directory=True)
    if (work / "content").exists():
        shutil.rmtree(work / "content")
    shutil.copytree(content, work / "content")  # a snapshot: content/ may be edited meanwhile
    site = work / "site"
    env = {**os.environ, "KB_TODAY": TODAY, "NO_MKDOCS_2_WARNING": "1", **env_extra}
    started = time.perf_counter()
    done = subprocess.run([str(KB), "build", "--site", str(site)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"kb build of {content} failed (exit {done.returncode}):\n{output}"
    assert (site / "index.html").is_file(), output
    return BuiltSite(site, work, seconds, output)


def content_under_test() -> Path:
    """The repository's own content; KB_BROWSER_CONTENT=<folder> tests another tree."""
    content = Path(os.environ.get("KB_BROWSER_CONTENT") or CONTENT).resolve()
    assert content.is_dir() and any(content.rglob("*.yaml")), f"no content to build at {content}"
    return content


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> BuiltSite:
    """The repository's own site, built as `kb build` builds it by default (on a machine with
    Chromium, diagrams are drawn at build time and inlined as SVG)."""
    built = build_site(content_under_test(), tmp_path_factory.mktemp("kb-site"))
    print(f"\nbuilt the site in {built.seconds:.2f}s: {len(built.pages())} pages")
    return built


@pytest.fixture(scope="session")
def client_site(tmp_path_factory) -> BuiltSite:
    """The same content built with KB_DIAGRAMS=client: every diagram is left to kb.js and the
    Mermaid shipped with the site, in the reader's browser (the fallback path)."""
    built = build_site(content_under_test(), tmp_path_factory.mktemp("kb-client-site"), KB_DIAGRAMS="client")
    print(f"\nbuilt the client-drawn site in {built.seconds:.2f}s")
    return built


# ------------------------------------------------------------------------------ serving


@dataclass
class Server:
    url: str  # ends with '/'
    process: subprocess.Popen

    def __call__(self, page: str = "") -> str:
        return self.url + page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(root: Path):
    """`python -m http.server` on a free port of 127.0.0.1, stopped (by its PID) at the end."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(url + "index.html", timeout=2) as response:
                    assert response.status == 200
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"http.server did not start on port {port}")
                time.sleep(0.05)
        yield Server(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(site):
    with serve(site.root) as running:
        yield running


@pytest.fixture(scope="session")
def client_server(client_site):
    with serve(client_site.root) as running:
        yield running


# ------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, with the flags that stop it calling home (notes: browser-testing.md)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": NO_NETWORK_ARGS}


# Material draws nothing in a closed shadow root for us (kb.js renders in the light DOM), but
# open shadow roots keep every element reachable should a theme feature attach one.
OPEN_SHADOW_ROOTS = ("(()=>{const o=Element.prototype.attachShadow;"
                     "Element.prototype.attachShadow=function(i){return o.call(this,{...i,mode:'open'})}})()")


@dataclass
class Watch:
    """What a page did: console errors and warnings, uncaught errors, every request URL."""
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    current: str = ""  # the URL being visited, prefixed to what is recorded

    def attach(self, page) -> "Watch":
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{self.current}: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", self._failed)
        return self

    def _failed(self, request) -> None:
        # ERR_ABORTED: the browser dropped a request (a favicon, say) because the page was left.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed.append(f"{self.current}: {request.url} ({request.failure})")

    def _console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(f"{self.current}: {message.text} @ {message.location}")
        elif message.type == "warning":
            self.console_warnings.append(f"{self.current}: {message.text}")

    def clear(self) -> None:
        for name in ("console_errors", "console_warnings", "page_errors", "requests", "failed"):
            getattr(self, name).clear()

    def foreign(self) -> list[str]:
        """Requests to anything but the local server (data: and blob: URLs stay in the page)."""
        return [u for u in self.requests
                if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname != "127.0.0.1"]

    def assert_clean(self, what: str = "") -> None:
        problems = {"console errors": self.console_errors, "page errors": self.page_errors,
                    "requests leaving 127.0.0.1": self.foreign(), "failed requests": self.failed}
        found = {k: v for k, v in problems.items() if v}
        assert not found, f"{what}: {found}"


@pytest.fixture
def watched(page) -> tuple:
    """(page, Watch): pytest-playwright's page with recorders attached and shadow roots opened.
    To watch every test of a module, wrap it: `@pytest.fixture(autouse=True)` that requests
    `watched` and calls `watch.assert_clean()` after the yield."""
    page.add_init_script(OPEN_SHADOW_ROOTS)
    return page, Watch().attach(page)


def wait_for_diagrams(page, timeout: float = 20_000) -> None:
    """Wait until kb.js has drawn (or given up on) every diagram of the page."""
    page.wait_for_function(
        "() => !document.querySelector('pre.kb-mermaid:not(.kb-mermaid--failed)')", timeout=timeout)


# ------------------------------------------------------------------------------ crawling

# What a page shows once loaded and its diagrams drawn; the crawl records it for every page.
FACTS_JS = """() => {
  const article = document.querySelector('article.md-content__inner') || document.body;
  const handlers = [], jsLinks = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) handlers.push(el.outerHTML.slice(0, 160));
      if (/(^|:)(href|src|action|formaction)$/i.test(a.name) && /^\\s*(javascript|vbscript|data):/i.test(a.value)
          && !/^javascript:void\\(0\\);?$/.test(a.value))  // Pagefind's own search form
        jsLinks.push(el.outerHTML.slice(0, 160));
    }
  }
  return {
    title: document.title,
    h1: (article.querySelector('h1') || {innerText: ''}).innerText,
    text: article.innerText,
    diagrams: [...document.querySelectorAll('div.kb-diagram')].map(d => ({
      svg: !!d.querySelector(':scope > svg'),
      static: d.classList.contains('kb-diagram--static'),
      label: d.getAttribute('aria-label'),
      text: [...d.querySelectorAll('svg text, svg foreignObject')].map(t => t.textContent).join('\\n'),
    })),
    swallowed: [...document.querySelectorAll('div.kb-diagram svg')].map(svg =>
      svg.querySelectorAll('h1, h2, h3, h4, table, ul, ol, pre, blockquote, .kb-diagram, svg').length),
    diagramInjected: [...document.querySelectorAll('div.kb-diagram *')].filter(e =>
      /^(script|img|iframe|object|embed)$/i.test(e.localName) || [...e.attributes].some(a => /^on/i.test(a.name))
      || [...e.attributes].some(a => /href$/i.test(a.name) && /^\\s*javascript:/i.test(a.value))
    ).map(e => e.outerHTML.slice(0, 160)),
    failed: document.querySelectorAll('pre.kb-mermaid--failed').length,
    remaining: document.querySelectorAll('pre.kb-mermaid').length,
    ages: [...document.querySelectorAll('time.kb-age')].map(t => [t.getAttribute('datetime'), t.textContent]),
    pwned: typeof window.__pwned,
    mermaid: typeof window.mermaid,
    articleScripts: [...article.querySelectorAll('script')].map(s => s.outerHTML.slice(0, 160)),
    handlers,
    jsLinks,
    mermaidRequested: performance.getEntriesByType('resource').some(r => /\\/mermaid-[^/]*\\.min\\.js$/.test(r.name)),
  };
}"""


@dataclass
class Visit:
    """One page of a crawl: what it logged, requested and showed."""
    page: str
    seconds: float
    console_errors: list[str]
    console_warnings: list[str]
    page_errors: list[str]
    requests: list[str]
    failed: list[str]
    foreign: list[str]
    facts: dict
    stuck: bool  # diagrams left undrawn (neither drawn nor marked failed)


def crawl(browser, server: Server, pages: list[str], tabs: int = 1, diagram_timeout: float = 20_000,
          **context_args) -> dict[str, Visit]:
    """Visit every page once and record what it did. Several tabs work at once: each starts
    its next navigation while the others load and draw (the sync API has no gather)."""
    contexts, workers = [], []
    for _ in range(min(tabs, len(pages))):  # one context each: separate renderer processes
        context = browser.new_context(**context_args)
        context.add_init_script(OPEN_SHADOW_ROOTS)
        contexts.append(context)
        tab = context.new_page()
        workers.append([tab, Watch().attach(tab), None, 0.0])
    todo = list(pages)
    visits: dict[str, Visit] = {}

    def start(worker) -> None:
        tab, watch = worker[0], worker[1]
        page = todo.pop(0)
        watch.clear()
        watch.current = page
        worker[2], worker[3] = page, time.perf_counter()
        tab.goto(server(page), wait_until="commit")

    def finish(worker) -> None:
        tab, watch, page, started = worker
        tab.wait_for_load_state("load")
        stuck = False
        if tab.evaluate("() => !!document.querySelector('pre.kb-mermaid')"):
            if tab.evaluate("() => typeof window.mermaid") == "undefined":
                stuck = True  # kb.js draws nothing without Mermaid: waiting would not help
            else:
                try:
                    wait_for_diagrams(tab, diagram_timeout)
                except Exception:  # noqa: BLE001 - reported by the tests as 'stuck'
                    stuck = True
        facts = tab.evaluate(FACTS_JS)
        visits[page] = Visit(page, time.perf_counter() - started, list(watch.console_errors),
                             list(watch.console_warnings), list(watch.page_errors), list(watch.requests),
                             list(watch.failed), watch.foreign(), facts, stuck)
        worker[2] = None

    try:
        for worker in workers:
            start(worker)
        while any(w[2] for w in workers):
            for worker in workers:
                if worker[2]:
                    finish(worker)
                    if todo:
                        start(worker)
    finally:
        for context in contexts:
            context.close()
    return visits


# ------------------------------------------------------------------------------ diagram sources

_MERMAID_BLOCK = re.compile(r'<pre class="kb-mermaid"[^>]*><code[^>]*>(.*?)</code></pre>', re.S)
_NODE_LABEL = re.compile(r'\["([^"]*)"\]')


def mermaid_sources(page_html: str) -> list[str]:
    """The source of every `pre.kb-mermaid` block of a built page, HTML-unescaped."""
    return [html.unescape(m) for m in _MERMAID_BLOCK.findall(page_html)]


def decode_mermaid(text: str) -> str:
    """Mermaid entity codes to characters: '#60;' -> '<', '#quot;' -> '"'."""
    text = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)
    return re.sub(r"#([A-Za-z]+);", lambda m: html.unescape(f"&{m.group(1)};"), text)


def node_labels(source: str) -> list[str]:
    """The labels of the nodes written as id["label"], decoded."""
    return [decode_mermaid(label) for label in _NODE_LABEL.findall(source)]


def squash(text: str) -> str:
    """Text without whitespace: Mermaid wraps long labels over several lines."""
    return re.sub(r"\s+", "", text)


LABEL_PREFIX = 20  # compare this many characters of each node label with the drawn SVG


def diagram_problems(visit, sources: list[str], in_browser: bool = False) -> list[str]:
    """What is wrong with the diagrams of a visited page, against the Mermaid sources it had:
    a block left or failed, fewer or more SVGs than sources (``in_browser``: each drawn by kb.js,
    not inlined at build time), a node label of a source missing from its SVG's text."""
    facts = visit.facts
    if visit.stuck or facts["remaining"] or facts["failed"]:
        return [f"{facts['remaining']} diagram(s) left, {facts['failed']} failed, mermaid {facts['mermaid']}; "
                f"warnings {visit.console_warnings}"]
    drawn = facts["diagrams"]
    if len(drawn) != len(sources) or not all(d["svg"] and not (in_browser and d["static"]) for d in drawn):
        return [f"{len(sources)} diagrams in the source, {len(drawn)} drawn"]
    problems = []
    for number, (source, diagram) in enumerate(zip(sources, drawn)):
        text = squash(diagram["text"])
        for label in node_labels(source):
            if squash(label.rstrip("…"))[:LABEL_PREFIX] not in text:
                problems.append(f"diagram {number}: label {label!r} not in the SVG text")
    return problems


# ------------------------------------------------------------------------------ pages of interest


def pick_pages(site: BuiltSite) -> dict[str, str]:
    """The home page, a topic page, a record page and an index page of the built site."""
    pages = site.pages()
    topics = [p for p in pages if p.startswith("topics/") and p != "topics/index.html"]
    topic = "topics/self-improvement.html" if site.exists("topics/self-improvement.html") else topics[0]
    systems = [p for p in pages if p.startswith("systems/") and p != "systems/index.html"]
    record = systems[0] if systems else next(
        p for p in pages if "/" in p and not p.endswith("/index.html") and not p.startswith(("topics/", "maps/")))
    return {"home": "index.html", "topic": topic, "record": record, "index": "systems/index.html"}


@pytest.fixture(scope="session")
def pages_of_interest(site) -> dict[str, str]:
    return pick_pages(site)


# ------------------------------------------------------------------------------ screenshots

SCREENSHOT_VIEWS = {
    "light": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light", "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


@dataclass
class Shot:
    path: Path
    view: str
    which: str
    page: str
    overflow: int  # CSS pixels the page is wider than the viewport (0: no sideways scrolling)


@pytest.fixture(scope="session")
def screenshots(browser, server, pages_of_interest) -> list[Shot]:
    """Full-page PNGs in test-artifacts/ (gitignored): the home, a topic, a record and an index
    page, light and dark (prefers-color-scheme), and the same four at a 390x844 phone size."""
    ARTIFACTS.mkdir(exist_ok=True)
    taken = []
    for view, args in SCREENSHOT_VIEWS.items():
        context = browser.new_context(**args)
        try:
            page = context.new_page()
            for which, path in pages_of_interest.items():
                page.goto(server(path), wait_until="load")
                if page.locator("pre.kb-mermaid").count():
                    wait_for_diagrams(page)
                scheme = page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
                assert scheme == ("slate" if view == "dark" else "default"), (view, path, scheme)
                overflow = page.evaluate("() => document.documentElement.scrollWidth") - args["viewport"]["width"]
                target = ARTIFACTS / f"{which}-{view}.png"
                page.screenshot(path=str(target), full_page=True)
                taken.append(Shot(target, view, which, path, overflow))
        finally:
            context.close()
    return taken


# ------------------------------------------------------------------------------ search


def search(page, server: Server, query: str, timeout: float = 15_000):
    """Type ``query`` into the site's search the way a reader does and return the result links.

    Material's own search: click `input.md-search__input` (on narrow widths, the header's search
    button first) and type key by key (Material reacts to key events, not to fill()).
    The kb header box (Pagefind): type and press Enter, which opens search.html?q=...; where the
    header box is hidden (phone), open search.html and type into Pagefind's own field.
    """
    material = page.locator("input.md-search__input")
    if material.count():
        opener = page.locator("label.md-header__button[for='__search']")
        if opener.is_visible():
            opener.click()
            page.wait_for_function("() => document.getElementById('__search').checked")
        material.click()
        material.press_sequentially(query, delay=20)
        results = page.locator("a.md-search-result__link")
    else:
        box = page.locator("form.kb-header-search input")
        if box.count() and box.is_visible():
            box.click()
            box.press_sequentially(query, delay=20)
            box.press("Enter")
            page.wait_for_url(re.compile(r"/search\.html\?q="))
        else:
            page.goto(server("search.html"), wait_until="load")
            field = page.locator(".pagefind-ui__search-input")
            field.click()
            field.press_sequentially(query, delay=20)
        results = page.locator(".pagefind-ui__result-link")
    results.first.wait_for(timeout=timeout)
    return results


# ------------------------------------------------------------------------------ inlined diagrams

_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def mangled_svgs(site: BuiltSite) -> dict[str, int]:
    """Pages of the docs tree (build/docs, the drawings already inlined by the write stage) whose
    diagrams do not reach the built HTML as the very drawing in the diagram cache (build/diagrams):
    a block left undrawn (Chromium is here, so every block is drawn), or a drawing that something
    rewrote on its way into the page. A docs tree with no diagram at all is an error too: then
    this check would check nothing."""
    from generator.diagrams import _FIGURE, found_in

    docs, cache = site.work / "build" / "docs", site.work / "build" / "diagrams"
    found, figures = {}, 0
    for markdown in sorted(docs.rglob("*.md")):
        page = markdown.relative_to(docs).with_suffix(".html").as_posix()
        text = markdown.read_text(encoding="utf-8")
        keys = [match.group(2) for match in _FIGURE.finditer(text)]
        undrawn = len(found_in(text))
        figures += len(keys)
        if not (keys or undrawn) or not site.exists(page):
            continue
        built = site.html(page)
        broken = undrawn
        for key in keys:
            drawing = cache / f"{key}.svg"
            if not drawing.exists() or drawing.read_text(encoding="utf-8") not in built:
                broken += 1
        if broken:
            found[page] = broken
    assert figures, f"no drawing inlined anywhere in {docs}: nothing was checked"
    return found
