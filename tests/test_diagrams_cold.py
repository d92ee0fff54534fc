"""The cold drawing path (generator/diagrams.py: ``draw``, ``_drawings`` and the bundle's faster
getConfig()) writes the same drawings into the cache, byte for byte, as the routine it replaced.

Mermaid's drawings are not a function of their source alone, so both paths draw here with the
same three things held fixed, by ``DETERMINISM``, a script each page runs after the bundle:

* ``Math.random``: rough.js (the node shapes of flowcharts, class and ER diagrams) draws its
  curves with it; here every render starts from a seed made of the drawing's id;
* the clock: a Gantt chart draws a line at today;
* the page's history: sequence and class diagrams number the ids inside the drawing with
  counters of the page (``actor2``, ``classId-Model-7``), so a drawing depends on what its page
  drew before it. With one page (``os.cpu_count`` 1) both paths draw the diagrams in the same
  order; with two pages which page draws what depends on timing, in both paths, so that test
  leaves out those two types.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generator import diagrams, sanitize
from generator.diagrams import MERMAID_JS, _key, _slim, cached, inert_handlers_js
from generator.emitters.maps import class_defs

REPO = Path(__file__).resolve().parent.parent

needs_chromium = pytest.mark.skipif(diagrams._chromium() is None,
                                    reason="needs Debian's chromium and playwright, which ./dev test installs")

DETERMINISM = """(() => {
  const hash = (text) => { let h = 2166136261; for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619); return h >>> 0; };
  let state = 1;
  Math.random = () => {  // mulberry32
    state = (state + 0x6D2B79F5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const RealDate = Date, fixed = RealDate.UTC(2026, 0, 7, 12);
  window.Date = class extends RealDate {
    constructor(...args) { super(...(args.length ? args : [fixed])); }
    static now() { return fixed; }
  };
  const render = mermaid.render;
  mermaid.render = (id, text, ...rest) => { state = hash(id); return render(id, text, ...rest); };
})();
"""


# ------------------------------------------------------------------------------ the oracle
#
# The drawing routine as it was before the cold path was made faster (generator/diagrams.py at
# a6924d1: ``_draw_in_chromium``, its page script, and the loop of ``draw``), copied here
# unchanged but for ``extra``, the scripts a page runs after kb.js's inert handlers
# (DETERMINISM). It loads the shipped bundle from its file. What it shares with the new path is
# what the change left alone: the cache key, the inert handlers, _slim and the sanitizer.

CHUNK = 20
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_SCRIPT = """async (items) => {
  const out = {};
  let level = null;
  for (const [key, source, linked] of items) {
    const securityLevel = linked ? "loose" : "strict";
    if (securityLevel !== level) {  // render() starts from this configuration every time
      mermaid.initialize({startOnLoad: false, securityLevel, theme: "default", flowchart: {useMaxWidth: true}});
      level = securityLevel;
    }
    try {
      const result = await mermaid.render("kb-" + key, linked ? source : kbInertHandlers(source));
      out[key] = result.svg;
    } catch (error) {
      out[key] = "ERROR:" + (error && error.message ? error.message : String(error));
      document.querySelectorAll("[id^='dkb-" + key + "']").forEach((node) => node.remove());
    }
  }
  return out;
}"""


def old_draw_in_chromium(executable: str, diagrams_: list[tuple[str, bool]], extra: list[str]) -> dict:
    import asyncio
    import concurrent.futures

    from playwright.async_api import async_playwright

    items = [[_key(source, linked), source, linked]
             for source, linked in sorted(diagrams_, key=lambda diagram: diagram[1])]
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    by_key: dict[str, str] = {}

    async def worker(browser, queue: asyncio.Queue) -> None:
        page = await browser.new_page()
        await page.set_content("<!doctype html><html><body></body></html>")
        await page.add_script_tag(path=str(MERMAID_JS))
        await page.add_script_tag(content=inert_handlers_js())
        for script in extra:
            await page.add_script_tag(content=script)
        while not queue.empty():
            chunk = queue.get_nowait()
            by_key.update(await page.evaluate(_SCRIPT, chunk))
        await page.close()

    async def run() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                queue: asyncio.Queue = asyncio.Queue()
                for chunk in chunks:
                    queue.put_nowait(chunk)
                workers = min(len(chunks), max(1, os.cpu_count() or 1), 4)
                await asyncio.gather(*(worker(browser, queue) for _ in range(workers)))
            finally:
                await browser.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
    return {(source, linked): by_key[key] for key, source, linked in items}


def old_draw(pages: dict[str, str], cache: Path, extra: list[str]) -> list[str]:
    """The old ``draw``'s writes into ``cache``; returns its failures."""
    found = {diagram for text in pages.values() for diagram in diagrams.found_in(text)}
    cache.mkdir(parents=True, exist_ok=True)
    missing = [d for d in sorted(found) if not cached(cache, d).exists()]
    failed = []
    for (source, linked), svg in old_draw_in_chromium(diagrams._chromium(), missing, extra).items():
        if svg.startswith("ERROR:"):
            failed.append(f"{svg[6:]}: {source.splitlines()[0] if source else ''}")
            continue
        cached(cache, (source, linked)).write_text(sanitize.drawing(_slim(svg)), encoding="utf-8")
    return failed


# ------------------------------------------------------------------------------ a varied set

SEED = (REPO / "content" / "topics" / "self-improvement.md").read_text()
MAP = "\n".join(["flowchart LR", '  n0["Goal drift"]:::unaddressed', '  n1["METR"]:::organizations',
                 '  n2["Self-#60;improvement#62;"]:::topics', '  n1 -->|"evaluates"| n0', '  n2 -->|"mentions"| n0',
                 '  click n1 "../organizations/metr.html"', '  click n2 "../topics/self-improvement.html"',
                 *class_defs()])
EDITORS = [
    *[block.strip() for block in re.findall(r"mermaid: \|\n((?:      .*\n)+)", SEED)],
    'flowchart TD\n  a(["Stadium"]) --> b[["Subroutine"]] -.-> c{{"Hexagon"}}\n  b ==> d[("Store")] --> e(("Circle"))',
    'flowchart LR\n  subgraph S1["A group"]\n    x["One"] --> y["Two"]\n  end\n  y --> z>"Flag"]\n'
    '  classDef hot fill:#ffcc00,stroke:#aa0000,stroke-width:4px\n  class z hot',
    'flowchart TD\n  a["<img src=x onerror=alert(1)>Label"] --> b["<b>bold</b> and <i>it</i>"]',
    'flowchart LR\n  a["Zürich — 東京 ✓"] --> b["a very long label that goes on and on and wraps somewhere"]',
    '%%{init: {"theme": "dark", "flowchart": {"curve": "step"}}}%%\nflowchart LR\n  x["Dark"] --> y["Step"]',
    "---\nconfig:\n  theme: forest\n---\nflowchart LR\n  p --> q",
    "sequenceDiagram\n  participant Lab\n  participant Regulator\n  Lab->>Regulator: Report\n  Regulator-->>Lab: Ask",
    "sequenceDiagram\n  autonumber\n  Alice->>+Bob: Hello\n  Note over Alice,Bob: A note\n  Bob-->>-Alice: Hi\n"
    "  alt ok\n    Alice->>Bob: Fine\n  else not\n    Alice-xBob: No\n  end",
    "sequenceDiagram\n  A->>B: List<String>\n  loop Every day\n    B->>C: Check\n  end",
    "classDiagram\n  class Model {\n    +int params\n    +train() bool\n  }\n  class Lab\n  Lab --> Model : trains",
    "classDiagram\n  Animal <|-- Duck\n  Animal <|-- Fish\n  Animal : +int age\n  Duck : +swim()",
    "classDiagram\n  class Evaluator {\n    +str name\n  }\n  Evaluator ..> Model\n  Evaluator *-- Report",
    "stateDiagram-v2\n  [*] --> Draft\n  Draft --> Review: submit\n  Review --> Draft: revise\n  Review --> [*]",
    "stateDiagram-v2\n  state Fork <<fork>>\n  [*] --> Fork\n  Fork --> A\n  Fork --> B\n  A --> [*]\n  B --> [*]",
    "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE-ITEM : contains\n"
    "  CUSTOMER {\n    string id PK\n    int age\n  }",
    "erDiagram\n  LAB }o--o{ MODEL : trains\n  MODEL |o--|| EVAL : passes",
    'pie title Compute by lab\n  "North" : 42\n  "South" : 30\n  "East" : 28',
    "gantt\n  title Plan\n  dateFormat YYYY-MM-DD\n  section A\n  One :a1, 2026-01-01, 30d\n  Two :after a1, 20d\n"
    "  section B\n  Three :crit, 2025-12-01, 60d",
    "gantt\n  dateFormat YYYY-MM-DD\n  Long :active, l1, 2025-06-01, 400d",
    "mindmap\n  root((Safety))\n    Evals\n      Red teams\n    Policy\n      Export controls",
    "timeline\n  title Milestones\n  2020 : GPT-3\n  2023 : GPT-4 : Claude\n  2025 : Agents",
    "journey\n  title A day\n  section Work\n    Read: 5: Me\n    Write: 3: Me, You",
    "gitGraph\n  commit\n  branch dev\n  commit\n  checkout main\n  merge dev",
    "quadrantChart\n  title Reach and effort\n  x-axis Low --> High\n  y-axis Low --> High\n  A: [0.3, 0.6]\n  B: [0.7, 0.2]",
    "flowchart LR\n  a --> b --> ",  # refused by Mermaid: both paths fail it alike
    *[f'flowchart {"LR" if n % 2 else "TD"}\n' + "\n".join(f'  N{i}["Node {i} of {n}"] --> N{i + 1}' for i in range(n))
      for n in range(3, 16)],
    *[f"sequenceDiagram\n  P{n}->>Q{n}: one\n  Q{n}->>R{n}: two" for n in range(4)],
    *[f"classDiagram\n  C{n} <|-- D{n}\n  C{n} : +int x{n}" for n in range(3)],
]
SET = [(MAP, True), (MAP.replace("METR", "Another lab"), True), *((source, False) for source in EDITORS)]


def _pages() -> dict[str, str]:
    return {f"page-{number}.md": diagrams.block(source, linked) + "\n" for number, (source, linked) in enumerate(SET)}


def _files(cache: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(cache.glob("*.svg"))}


def _history_counts(source: str) -> bool:
    """Whether a diagram's drawing numbers its ids with its page's counters (see the docstring)."""
    return source.lstrip().startswith(("sequenceDiagram", "classDiagram"))


@pytest.fixture
def new_with_determinism(monkeypatch):
    plain = diagrams._page_scripts
    monkeypatch.setattr(diagrams, "_page_scripts", lambda: [*plain(), DETERMINISM])


# ------------------------------------------------------------------------------ tests


def test_the_drawing_pages_run_the_pinned_bundle_with_one_change():
    shipped = MERMAID_JS.read_text(encoding="utf-8")
    assert shipped.count(diagrams._GET_CONFIG) == 1, "the pinned bundle's getConfig() changed: see _FAST_GET_CONFIG"
    bundle = diagrams.drawing_bundle()
    assert bundle != shipped and bundle == shipped.replace(diagrams._GET_CONFIG, diagrams._FAST_GET_CONFIG)


def test_the_set_is_varied():
    words = {source.split("\n")[0].split()[0] for source, _ in SET if not source.startswith(("%%", "---"))}
    assert {"flowchart", "sequenceDiagram", "classDiagram", "stateDiagram-v2", "erDiagram", "pie", "gantt",
            "mindmap", "timeline", "journey", "gitGraph", "quadrantChart"} <= words
    assert len(set(SET)) == len(SET) > 2 * CHUNK  # several chunks


COMPARE = """([copySource, assignSource]) => {
  const s = (f) => f;  // the bundle's function-naming helper
  const copy = eval("(" + copySource + ")"), assign = eval("(" + assignSource + ")");
  const shared = {deep: {deeper: [1]}}, list = [1, 2, 2, shared, shared, null];
  const tricky = JSON.parse('{"__proto__": {"polluted": true}}');
  const input = {
    theme: "default", n: 0, no: false, none: null, undef: undefined, f() { return 1; },
    list, when: new Date(0), re: /x/g, proto: tricky,
    flowchart: {curve: "basis", useMaxWidth: true, nested: {deep: shared, list, none: null}, none: null, list},
    themeVariables: Object.assign(Object.create({inherited: 1}), {primaryColor: "#fff", fontSize: "16px"}),
    1: "an index key", z: {a: 1}, a: {z: 2},
  };
  const config = mermaid.mermaidAPI.getConfig();  // Mermaid's own configuration, as getConfig() copies it
  const describe = (out, original, depth) => {
    if (typeof out !== "object" || out === null) return [typeof out, typeof out === "function" ? out.name : String(out)];
    return [Array.isArray(out) ? "array" : Object.getPrototypeOf(out) === Object.prototype ? "object" : "other",
            out === original, depth,
            Reflect.ownKeys(out).map((key) => {
              const d = Object.getOwnPropertyDescriptor(out, key);
              return [String(key), d.writable, d.enumerable, d.configurable,
                      describe(d.value, original && original[key], depth + 1)];
            })];
  };
  return [input, config].map((value) =>
    [JSON.stringify(describe(copy(value, 2), value, 0)), JSON.stringify(describe(assign({}, value, {depth: 2}), value, 0))]);
}"""


@needs_chromium
def test_the_faster_getconfig_copies_as_assign_with_depth_does():
    """The copy in _FAST_GET_CONFIG against Mermaid's own assignWithDepth(), taken from the pinned
    bundle, on Mermaid's configuration and on a value with everything that copy treats apart."""
    import concurrent.futures

    shipped = MERMAID_JS.read_text(encoding="utf-8")
    assign = re.search(r'vD=(s\(\(e,t,\{depth:r=2\}=\{\}\)=>\{.*?\},"assignWithDepth"\))', shipped).group(1)
    assign = assign.replace("vD(", "self(")  # it calls itself by its minified name
    assign = f"(() => {{ const self = {assign}; return self; }})()"
    fast = diagrams._FAST_GET_CONFIG
    copy = fast[fast.index("function c("):fast.index("return()=>c($x,2)")]

    def run():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=diagrams._chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_content("<!doctype html><html><body></body></html>")
            page.add_script_tag(path=str(MERMAID_JS))
            try:
                return page.evaluate(COMPARE, [copy, assign])
            finally:
                browser.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # see test_diagrams_drawing.py
        (tricky, config) = pool.submit(run).result()
    assert tricky[0] == tricky[1]
    assert config[0] == config[1] and len(config[0]) > 10_000  # the whole configuration, compared


@needs_chromium
def test_a_cold_drawing_writes_the_bytes_the_old_routine_wrote(tmp_path, monkeypatch, new_with_determinism):
    """One page each, the same order: every cached file the same, byte for byte."""
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    old_failed = old_draw(_pages(), tmp_path / "old", [DETERMINISM])
    new = diagrams.draw(_pages(), tmp_path / "new")
    old_files, new_files = _files(tmp_path / "old"), _files(tmp_path / "new")
    assert len(old_files) == len(SET) - 1 and old_failed and len(old_failed) == 1  # the one Mermaid refuses
    assert new.failed == old_failed and new.drawn == len(new_files)
    assert new_files.keys() == old_files.keys()
    differ = [name for name in old_files if new_files[name] != old_files[name]]
    assert not differ, f"{len(differ)} of {len(old_files)} drawings differ, e.g. {differ[0]}"


@needs_chromium
def test_two_pages_write_the_same_bytes(tmp_path, monkeypatch, new_with_determinism):
    """The new path on two pages against the old routine on one: every drawing that does not
    count ids with its page's counters is the same, byte for byte."""
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    old_draw(_pages(), tmp_path / "old", [DETERMINISM])
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    new = diagrams.draw(_pages(), tmp_path / "new")
    assert new.seconds["launch"] > 0 and new.seconds["drawing"] > 0 and new.seconds["post"] > 0
    compared = [cached(Path(), d).name for d in SET if not _history_counts(d[0])]
    old_files, new_files = _files(tmp_path / "old"), _files(tmp_path / "new")
    assert new_files.keys() == old_files.keys() and len(compared) > 30
    differ = [name for name in compared if name in old_files and new_files[name] != old_files[name]]
    assert not differ, f"{len(differ)} of {len(compared)} drawings differ, e.g. {differ[0]}"
