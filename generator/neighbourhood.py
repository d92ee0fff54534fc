"""Part of the render stage: the neighbourhood diagram of a record, drawn as SVG in Python.

Every record page shows the records it links to and the records that link to it. That
picture is always the same shape (the record in the middle, what links to it on the left, what
it links to on the right), so it needs no layout engine: drawing it here costs well under a
millisecond, where Mermaid in Chromium took about 20 ms a diagram (over 3 minutes of a cold
10,000-record build) and a browser without the build-time drawing had to download 3.6 MB of
Mermaid for it. The SVG is an HTML block of the page's Markdown, with real links, a title on
each node, and every name escaped.

Editors' diagrams and the maps stay Mermaid: their shapes are arbitrary.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

NODE_FONT = 12  # px
LABEL_FONT = 10.5
NODE_CHAR = 7.0  # estimated width of a character at NODE_FONT (generous: text must fit its box)
LABEL_CHAR = 5.8
NODE_H = 24
ROW = 34
PAD = 8
CURVE = 70  # horizontal room for an arrow to bend from its row to the middle
MAX_NAME = 36
MAX_LABEL = 30


EDGE = ' fill="none" stroke="#757575" stroke-width="1.2" marker-end="url(#kb-nb-arrow)"'
LABEL = f' fill="#424242" font-size="{LABEL_FONT}"'


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # singular, for the node's title: "system"
    colour: str
    href: str | None = None  # None for the record the page is about
    label: str = ""  # how it links, read along the arrow


@lru_cache(maxsize=1 << 16)  # a record's name recurs in the diagram of each of its neighbours
def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@lru_cache(maxsize=1 << 16)
def _e(text: str) -> str:
    return html.escape(text, quote=True)


@lru_cache(maxsize=1 << 16)
def _width(name: str) -> float:
    return min(max(len(_cut(name, MAX_NAME)) * NODE_CHAR + 20, 60), MAX_NAME * NODE_CHAR + 20)


def _label_room(nodes: list[Node]) -> float:
    """Width of the straight stretch of each arrow next to the outer nodes, where the labels sit:
    arrows bend only beyond it, so no arrow crosses another row's label."""
    longest = max((len(_cut(n.label, MAX_LABEL)) for n in nodes), default=0)
    return longest * LABEL_CHAR + 14


def _box(node: Node, x: float, y: float, width: float, centre: bool = False) -> str:
    shape = (f'<rect x="{x:.0f}" y="{y:.0f}" width="{width:.0f}" height="{NODE_H}" rx="4" fill="{_e(node.colour)}"'
             + (' stroke="#212121" stroke-width="2"' if centre else "") + "/>"
             f'<text x="{x + width / 2:.0f}" y="{y + NODE_H / 2 + 4:.0f}" text-anchor="middle" fill="#ffffff"'
             f'{" font-weight=" + chr(34) + "bold" + chr(34) if centre else ""}>{_e(_cut(node.name, MAX_NAME))}</text>')
    title = f"<title>{_e(node.name)} ({_e(node.kind)})</title>"
    if node.href is None:
        return f'<g class="kb-nb__node kb-nb__node--centre">{title}{shape}</g>'
    return f'<a class="kb-nb__node" href="{_e(node.href)}">{title}{shape}</a>'


def draw(centre: Node, incoming: list[Node], outgoing: list[Node]) -> str:
    """``incoming`` link to the record (drawn on the left, arrows pointing at it), ``outgoing``
    are linked from it (on the right). Each node's ``label`` says how."""
    rows = max(len(incoming), len(outgoing), 1)
    height = rows * ROW + 2 * PAD - (ROW - NODE_H)
    left_w = max((_width(n.name) for n in incoming), default=0)
    left_room, right_room = _label_room(incoming), _label_room(outgoing)
    centre_w = _width(centre.name)
    centre_x = PAD + left_w + (left_room + CURVE if incoming else 0)
    centre_y = (height - NODE_H) / 2
    right_x = centre_x + centre_w + (right_room + CURVE if outgoing else 0)
    right_w = max((_width(n.name) for n in outgoing), default=0)
    width = (right_x + right_w if outgoing else centre_x + centre_w) + PAD
    mid = centre_y + NODE_H / 2

    def column_y(count: int, index: int) -> float:
        return PAD + (rows - count) * ROW / 2 + index * ROW

    parts = []
    for index, node in enumerate(incoming):
        node_w = _width(node.name)
        x, y = PAD + left_w - node_w, column_y(len(incoming), index)
        sx, sy, ex = x + node_w, y + NODE_H / 2, centre_x - 2
        straight = PAD + left_w + left_room
        bend = (ex - straight) / 2
        parts.append(f'<path d="M{sx:.0f},{sy:.0f} H{straight:.0f} C{straight + bend:.0f},{sy:.0f} {ex - bend:.0f},{mid:.0f} '
                     f'{ex:.0f},{mid:.0f}"{EDGE}/>')
        parts.append(f'<text x="{sx + 6:.0f}" y="{sy - 5:.0f}"{LABEL}>{_e(_cut(node.label, MAX_LABEL))}</text>')
        parts.append(_box(node, x, y, node_w))
    for index, node in enumerate(outgoing):
        node_w = _width(node.name)
        x, y = right_x, column_y(len(outgoing), index)
        sx, ex, ey = centre_x + centre_w, x - 2, y + NODE_H / 2
        straight = right_x - right_room
        bend = (straight - sx) / 2
        parts.append(f'<path d="M{sx:.0f},{mid:.0f} C{sx + bend:.0f},{mid:.0f} {straight - bend:.0f},{ey:.0f} '
                     f'{straight:.0f},{ey:.0f} H{ex:.0f}"{EDGE}/>')
        parts.append(f'<text x="{ex - 6:.0f}" y="{ey - 5:.0f}" text-anchor="end"{LABEL}>'
                     f'{_e(_cut(node.label, MAX_LABEL))}</text>')
        parts.append(_box(node, x, y, node_w))
    parts.append(_box(centre, centre_x, centre_y, centre_w, centre=True))
    label = f"{centre.name}: {len(incoming)} records link to it, it links to {len(outgoing)}"
    return (f'<svg class="kb-nb" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" role="group" aria-label="{_e(label)}" '
            f'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, sans-serif" font-size="{NODE_FONT}">'
            '<defs><marker id="kb-nb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#616161"/></marker></defs>'
            + "".join(parts) + "</svg>")
