"""Diagrams drawn at build time: lean drawings (kb.css holds Mermaid's shared stylesheet once)
that look exactly as Mermaid drew them."""
import json
import re
import shutil
from pathlib import Path

import pytest

from generator import diagrams
from generator import sanitize
from generator.diagrams import _slim
from generator.emitters.maps import class_defs as _class_defs

REPO = Path(__file__).resolve().parent.parent
KB_CSS = REPO / "generator" / "static" / "assets" / "kb.css"

# ------------------------------------------------------------------------------ without a browser

BLOCKS = {"flowchart": frozenset({"&{fill:#333;}", "& .node rect{fill:#eee;}", "@keyframes dash{to{a:0;}}"}),
          "palette": frozenset({"& .risks>*{fill:red!important;}", "& .topics>*{fill:purple!important;}"})}


def _svg(style: str, body: str = "") -> str:
    markers = ('<g><marker id="kb-1_pointEnd" class="marker"><path d="M 0 0"></path></marker>'
               '<marker id="kb-1_pointEnd-margin" class="marker"><path d="M 1 1"></path></marker>'
               '<marker id="kb-1_circleEnd" class="marker"><circle r="5"></circle></marker>')
    edge = '<path d="M1,2L3,4" data-points="W3siGJ9XQ==" marker-end="url(#kb-1_pointEnd)"></path></g>'
    return (f'<svg id="kb-1" width="100%" class="flowchart" viewBox="0 0 10 10"><style>{style}</style>'
            f"{markers}{edge}{body}</svg>")


def test_a_block_the_drawing_has_in_full_leaves_it_and_marks_the_svg():
    style = "#kb-1{fill:#333;}@keyframes dash{to{a:0;}}#kb-1 .node rect{fill:#eee;}#kb-1 .risks>*{fill:red!important;}"
    slim = _slim(_svg(style), BLOCKS)
    assert slim.startswith('<svg id="kb-1" width="100%" class="flowchart kb-flowchart" viewBox')
    # The palette is not all there (no .topics): its rule stays, scoped by the drawing's id.
    assert "<style>#kb-1 .risks>*{fill:red!important;}</style>" in slim
    assert "fill:#333" not in slim and "@keyframes" not in slim and ".node rect" not in slim


def test_every_rule_shared_removes_the_style_element():
    style = ("#kb-1{fill:#333;}@keyframes dash{to{a:0;}}#kb-1 .node rect{fill:#eee;}"
             "#kb-1 .risks>*{fill:red!important;}#kb-1 .topics>*{fill:purple!important;}")
    slim = _slim(_svg(style), BLOCKS)
    assert "<style" not in slim
    assert 'class="flowchart kb-flowchart kb-palette"' in slim


def test_a_drawing_with_another_stylesheet_keeps_it_all():
    style = "#kb-1{fill:#000;}@keyframes dash{to{a:0;}}#kb-1 .node rect{fill:#eee;}"  # another theme's root rule
    slim = _slim(_svg(style), BLOCKS)
    assert f"<style>{style}</style>" in slim and "kb-flowchart" not in slim


def test_only_markers_an_edge_uses_are_kept_and_data_points_go():
    slim = _slim(_svg("#kb-1{fill:#333;}"), BLOCKS)
    assert 'id="kb-1_pointEnd"' in slim  # used, though its id starts the next marker's
    assert "kb-1_pointEnd-margin" not in slim and "kb-1_circleEnd" not in slim
    assert "data-points" not in slim and 'marker-end="url(#kb-1_pointEnd)"' in slim


def test_kb_css_holds_both_blocks_scoped_to_drawings_that_had_them():
    blocks = diagrams._shared_blocks()
    assert set(blocks) == {"flowchart", "palette"}
    assert len(blocks["flowchart"]) > 40 and len(blocks["palette"]) == 27  # 9 classDefs, 3 rules each
    text = KB_CSS.read_text()
    section = text[text.index(diagrams._CSS_BEGIN):text.index(diagrams._CSS_END)]
    for line in section.splitlines():
        if line.startswith(".kb"):
            assert line.startswith((".kb-diagram--static svg.kb-flowchart", ".kb-diagram--static svg.kb-palette"))


def test_without_the_kb_css_section_nothing_is_taken_out(tmp_path):
    plain = tmp_path / "kb.css"
    plain.write_text(".kb-diagram svg { max-width: 100%; }\n")
    assert diagrams._shared_blocks(plain) == {}


# ------------------------------------------------------------------------------ in Chromium

needs_chromium = pytest.mark.skipif(diagrams._chromium() is None,
                                    reason="needs Debian's chromium and playwright, which ./dev test installs")

SEED = (REPO / "content" / "topics" / "self-improvement.md").read_text()
SOURCES = [
    # generated: the classDefs of every generated diagram, a dashed 'unaddressed' node, a link
    ("\n".join(["flowchart LR", '  n0["Goal drift"]:::unaddressed', '  n1["METR"]:::organizations',
                '  n2["Self-#60;improvement#62;"]:::topics', '  n1 -->|"evaluates"| n0', '  n2 -->|"mentions"| n0',
                '  click n1 "../organizations/metr.html"', *_class_defs()]), True),
    # the seed topic's two diagrams: decisions, dotted edges, labels
    *[(block.strip(), False) for block in re.findall(r"mermaid: \|\n((?:      .*\n)+)", SEED)],
    # an editor's diagram with a classDef of its own
    ("flowchart TD\n  a[\"Hot\"]:::hot --> b{\"Cold?\"}\n  classDef hot fill:#ffcc00,stroke:#aa0000,stroke-width:4px", False),
]


@pytest.fixture(scope="module")
def drawn():
    """Each source as the pinned Mermaid draws it, before the build slims it."""
    return diagrams._draw_in_chromium(diagrams._chromium(), SOURCES)


@needs_chromium
def test_kb_css_section_is_what_the_pinned_mermaid_writes():
    text = KB_CSS.read_text()
    section = text[text.index(diagrams._CSS_BEGIN):text.index(diagrams._CSS_END) + len(diagrams._CSS_END)] + "\n"
    assert section == diagrams.shared_css(), "run: .venv/bin/python -m generator.diagrams --write-css"


@needs_chromium
def test_every_source_draws(drawn):
    assert len(SOURCES) == 4 and all(SOURCES)
    for source in SOURCES:
        assert not drawn[source].startswith("ERROR:"), drawn[source]


@needs_chromium
def test_drawings_are_cached_lean(tmp_path, drawn):
    shipped = drawn
    result = diagrams.draw({"page.md": "".join(diagrams.block(*d) + "\n\n" for d in SOURCES)}, tmp_path)
    assert (result.drawn, result.failed) == (len(SOURCES), [])
    generated, seed_one, seed_two, editors = (
        diagrams.cached(tmp_path, d).read_text() for d in SOURCES)
    assert "<style" not in generated and 'class="flowchart kb-flowchart kb-palette"' in generated
    assert "<style" not in seed_one and "<style" not in seed_two and "kb-palette" not in seed_one
    assert generated.count("<marker") == 1 and len(generated) < len(shipped[SOURCES[0]]) / 2
    # The editor's classDef is not in kb.css: its rules stay in the drawing, scoped by its id.
    kept = re.search(r"<style>(.*)</style>", editors).group(1)
    assert "kb-flowchart" in editors and "kb-palette" not in editors
    assert ".hot" in kept and ".node rect" not in kept and kept.startswith("#kb-")


PROPS = ["fill", "stroke", "stroke-width", "stroke-dasharray", "color", "font-family", "font-size", "opacity",
         "background-color", "display", "text-anchor", "line-height", "margin-top", "cursor", "filter", "text-align"]
FACTS = """(props) => {
  const svg = document.querySelector('.kb-diagram > svg'), out = [];
  const walk = (node) => {
    for (const child of node.children) {
      if (['style', 'marker'].includes(child.tagName.toLowerCase())) continue;
      const style = getComputedStyle(child), box = child.getBoundingClientRect();
      out.push([child.tagName, [box.x, box.y, box.width, box.height].map(Math.round),
                props.map(p => style.getPropertyValue(p))]);
      walk(child);
    }
  };
  walk(svg);
  return out;
}"""


@needs_chromium
def test_a_lean_drawing_looks_exactly_like_mermaids(tmp_path, drawn):
    """Every element of each drawing, as Mermaid wrote it and as the page gets it (with kb.css):
    the same computed style and the same box."""
    import concurrent.futures

    shipped = drawn
    shutil.copy(KB_CSS, tmp_path / "kb.css")
    # In a thread of its own: after the browser tests, pytest-playwright's event loop runs in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_compare_in_chromium, tmp_path, shipped).result()


def _compare_in_chromium(tmp_path, shipped):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=diagrams._chromium(), args=diagrams.CHROMIUM_ARGS)
        page = browser.new_page()
        for number, source in enumerate(SOURCES):
            facts = []
            # "lean": what the diagram cache keeps, slimmed and sanitized (generator/sanitize.py)
            for name, svg in (("mermaid", shipped[source]), ("lean", sanitize.drawing(_slim(shipped[source])))):
                html = tmp_path / f"{number}-{name}.html"
                html.write_text('<!doctype html><html><head><link rel="stylesheet" href="kb.css"></head><body>'
                                f'<div class="kb-diagram kb-diagram--static">{svg}</div></body></html>')
                page.goto(html.as_uri())
                facts.append(page.evaluate(FACTS, PROPS))
            assert len(facts[0]) > 10
            assert json.dumps(facts[0]) == json.dumps(facts[1]), source[0].splitlines()[0]
        browser.close()
