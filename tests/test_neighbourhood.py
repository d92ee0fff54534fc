"""The neighbourhood diagram of a record page: SVG drawn by the generator, names escaped."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from generator import neighbourhood
from generator.build import generate
from generator.neighbourhood import LABEL_CHAR, MAX_LABEL, NODE_H, Node, draw

REPO = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> " onmouseover="alert(2)'


def _node(name, label="mentions", href="x.html"):
    return Node(name, "system", "#1565c0", href, label)


def test_names_and_labels_are_text_and_the_svg_is_well_formed():
    svg = draw(Node(HOSTILE, "risk", "#c62828"), [_node(HOSTILE, HOSTILE, 'a.html" onclick="x')], [_node("B & C")])
    root = ET.fromstring(svg)  # well-formed XML: nothing a name holds closes an element or attribute
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("<script>alert(1)</script>") for t in texts)
    assert "B & C" in texts
    assert "<script>" not in svg and "onmouseover=" not in svg.replace("onmouseover=&quot;", "")
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert hrefs == ['a.html" onclick="x', "x.html"]  # an attribute value, escaped, not markup


def test_the_record_is_in_the_middle_with_links_left_and_right():
    incoming = [_node(f"Source {i}", "cites") for i in range(5)]
    outgoing = [_node("Developer", "developed by", "../organizations/d.html")]
    root = ET.fromstring(draw(Node("Model", "system", "#1565c0"), incoming, outgoing))
    width, height = map(float, root.get("viewBox").split()[2:])
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width"))) for r in root.iter(f"{SVG}rect")]
    assert len(boxes) == 7 and all(0 <= x and x + w <= width and 0 <= y and y + NODE_H <= height for x, y, w in boxes)
    centre = boxes[-1]
    assert all(x + w < centre[0] for x, _, w in boxes[:5]) and boxes[5][0] > centre[0] + centre[2]
    assert len(list(root.iter(f"{SVG}a"))) == 6  # every node but the record itself is a link
    assert len(list(root.iter(f"{SVG}path"))) == 6 + 1  # an arrow per link, and the arrowhead


def test_labels_sit_on_the_straight_stretch_of_their_own_arrow():
    """Arrows bend only beyond the labels, so no arrow crosses another row's label."""
    incoming = [_node(f"N{i}", "x" * (4 + 3 * i)) for i in range(6)]
    svg = draw(Node("Centre", "topic", "#6a1b9a"), incoming, [])
    for path, label in zip(re.findall(r'<path d="M(\d+),(\d+) H(\d+) C', svg),
                           re.findall(r'<text x="(\d+)" y="(\d+)" fill="#424242"[^>]*>([^<]*)</text>', svg)):
        start, row, straight = map(int, path)
        x, y, text = int(label[0]), int(label[1]), label[2]
        assert start < x and x + len(text) * LABEL_CHAR <= straight and 0 < row - y < 10


def test_long_names_and_labels_are_cut():
    svg = draw(Node("N" * 200, "topic", "#000"), [_node("M" * 200, "L" * 200)], [])
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "L" * (MAX_LABEL - 1) + "…" in texts
    assert all(len(t) <= neighbourhood.MAX_NAME for t in texts) and any(t.startswith("NNN") for t in texts)
    titles = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert "N" * 200 + " (topic)" in titles  # the whole name stays in the node's title


def test_a_record_page_draws_at_most_14_and_says_how_many_more(tmp_path):
    generated = generate(REPO / "content", tmp_path / "docs")
    page = generated.rendered.pages["topics/self-improvement.md"].markdown
    svg = page[page.index('<svg class="kb-nb"'):page.index("</svg>") + 6]
    assert len(re.findall(r'<a class="kb-nb__node"', svg)) <= 14 + 14  # a record both linking and linked shows twice
    shown = set(re.findall(r'<a class="kb-nb__node" href="([^"]+)"', svg))
    assert len(shown) == 14
    more = int(re.search(r"(\d+) more linked records are listed above but not drawn", page).group(1))
    assert more == len(generated.checked.graph.neighbours("self-improvement")) - 14
    assert '<pre class="kb-mermaid">' in page  # the topic's own diagrams stay Mermaid
    record = generated.rendered.pages["systems/alphaevolve.md"].markdown
    assert "```mermaid" not in record and '<svg class="kb-nb"' in record
