"""An editor's prose reaches the page through Python-Markdown itself, without raw HTML or
attribute lists, then through the allow-list; and each of the two walls holds on its own.

The tricks are the topics of tests/fixtures/hostile-prose/content (one per trick); the browser
proof that nothing runs is tests/browser/test_hostile_prose.py.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

from generator import diagrams, pipeline, render, sanitize, score
from generator.core import html_block
from generator.prose import to_page_markdown

HOSTILE_PROSE = Path(__file__).parent / "fixtures" / "hostile-prose" / "content"
TRICKS = sorted(HOSTILE_PROSE.glob("topics/*.md"))
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "style", "base", "meta"}
OWN_IMAGE = re.compile(r"(\.\./)*images/[a-z0-9_./-]+")  # an image of the site's own images/ folder


def site_markdown(text: str) -> str:
    """What the site's Markdown engine (mkdocs.yml's extensions) makes of a page's Markdown."""
    return markdown.markdown(text, extensions=["tables", "attr_list", "md_in_html", "toc", "pymdownx.superfences"])


class _Live(HTMLParser):
    """Every piece of markup that could run or load something."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "img" and not OWN_IMAGE.fullmatch(dict(attrs).get("src") or "images/x.png"):
            self.found.append(f"<img src={dict(attrs).get('src')}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("autofocus", "data-kb-links"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action", "xlink:href", "data") and re.match(
                    r"\s*(javascript|vbscript|data):", re.sub(r"[\s\x00-\x1f]", "", value or ""), re.I):
                self.found.append(f"{tag} {name}={value}")


def live(html: str) -> list[str]:
    parser = _Live()
    parser.feed(html)
    return parser.found


def body(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("\n---\n", 1)[1]


@pytest.mark.parametrize("trick", TRICKS, ids=lambda path: path.stem)
def test_the_prose_wall_alone_leaves_nothing_live(trick):
    """Without the page allow-list: Python-Markdown, configured for prose, makes no live markup
    of any trick, and the site's own Markdown pass over the page does not either."""
    page = to_page_markdown(body(trick), lambda target, text: ("../systems/target-system.html", text or "Target"))
    assert live(site_markdown(page)) == []


@pytest.mark.parametrize("payload", [
    '<img src=x onerror="alert(1)">', "<script>alert(1)</script>", '<a href="javascript:alert(1)">x</a>',
    '<a href=" java&#10;script:alert(1)">x</a>', '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<div tabindex="0" autofocus onfocus="alert(1)">x</div>', '<iframe srcdoc="<script>alert(1)</script>">',
    '<form action="javascript:alert(1)"><button>x</button></form>', '<p style="background:url(javascript:x)">x</p>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', '<math><mi href="javascript:alert(1)">x</mi></math>',
    '<object data="javascript:alert(1)"></object>', "<base href='https://example.org/'>",
])
def test_the_page_wall_alone_leaves_nothing_live(payload):
    """Whatever a Markdown engine let through, the page allow-list takes it out."""
    assert live(sanitize.page(payload)) == []


def test_the_page_wall_keeps_the_generators_markup():
    generated = ('<aside class="kb-infobox" style="--kb-kind:#6a1b9a"><table><tbody><tr><th scope="row">A</th>'
                 '<td><a href="../x.html">X</a></td></tr></tbody></table></aside>'
                 '<div class="kb-index" data-kb-index=""><table><thead><tr><th scope="col" aria-sort="none">'
                 '<button type="button" data-kb-sort="0">Name</button></th></tr></thead><tbody>'
                 '<tr data-tags="a b"><td data-sort="x">x</td></tr></tbody></table></div>'
                 '<h2 id="overview">Overview<a class="headerlink" href="#overview" title="Permanent link">¶</a></h2>'
                 '<time class="kb-age" datetime="2025-01-01">2025-01-01</time>'
                 '<pre class="kb-mermaid" data-kb-links="true"><code>flowchart LR</code></pre>')
    assert sanitize.page(generated, linked_diagrams=True) == generated


def test_headings_stay_markdown_for_the_table_of_contents_and_their_text_stays_text():
    page = to_page_markdown('## C# risks {: onfocus="alert(1)" }\n\nText.\n\n> ## quoted', lambda t, x: None)
    assert page.startswith('## C\\# risks \\{: onfocus="alert(1)" \\}\n')
    html = site_markdown(page)
    assert '<h2 id="c-risks-onfocusalert1">C# risks {: onfocus="alert(1)" }</h2>' in html
    assert "<blockquote>" in html and "<h2>quoted</h2>" not in page.split("\n")[0]


def test_record_links_use_the_parsers_rules_for_code():
    links = []

    def link_for(target, text):
        links.append(target)
        return (f"../systems/{target}.html", text or "Target")

    page = to_page_markdown("A [[t1]] and `[[t2]]`.\n\n    [[t3]]\n\n```\n[[t4]]\n```\n\n[[t5|<b>x</b>]]", link_for)
    assert links == ["t1", "t5"]
    assert '<a href="../systems/t5.html">&lt;b&gt;x&lt;/b&gt;</a>' in page
    assert "<code>[[t2]]</code>" in page


def test_a_record_link_shows_the_records_name_as_it_is_written():
    """[[id]] shows the record's name: not read as Markdown, and an entity-like '&lt;' stays the
    four characters it is (Python-Markdown's serializer keeps what looks like an entity); the text
    an editor writes in [[id|text]] is Markdown, as any link's text."""
    name = "*Alpha* __beta__ `code` &lt;b&gt; & R&D_x_ <i>"
    page = to_page_markdown("See [[t1]] and [[t1|*own* text]].", lambda target, text: ("t1.html", text or name))
    assert '<a href="t1.html">*Alpha* __beta__ `code` &amp;lt;b&amp;gt; &amp; R&amp;D_x_ &lt;i&gt;</a>' in page
    assert '<a href="t1.html"><em>own</em> text</a>' in page


def test_a_link_to_no_record_is_shown_as_written():
    assert to_page_markdown("see [[nothing-here]]", lambda target, text: None) == "<p>see [[nothing-here]]</p>"


def test_an_html_block_has_no_blank_line_and_keeps_its_text():
    block = html_block("<pre><code>a\n\n\nb\n  \nc</code></pre>")
    assert not re.search(r"\n[ \t]*\n", block)
    assert site_markdown(block).count("&#10;") == 3 and "a" in block and "c</code>" in block


def test_a_yaml_diagram_cannot_break_out_of_its_block(monkeypatch):
    """The breakout diagram's source stays the text of one diagram block; nothing of it is live."""
    monkeypatch.chdir(HOSTILE_PROSE.parent)
    checked = pipeline.check(Path("content"))
    assert checked.ok, checked.diagnostics
    assessments = score.score(checked.graph, dt.date(2026, 1, 7))
    pages = render.render(checked.graph, assessments, dt.date(2026, 1, 7)).pages
    page = pages["topics/yaml-diagram-breakout.md"].markdown
    html = sanitize.page(site_markdown(page))
    assert html.count('<pre class="kb-mermaid">') == 1 and "data-kb-links" not in page
    assert live(site_markdown(page)) == []
    assert '&lt;img src=x onerror="alert(1)"&gt;' in html.replace("&quot;", '"')
    # Only the generator's maps are drawn with links.
    assert 'data-kb-links="true"' in pages["maps/topics.md"].markdown
    assert not [path for path, p in pages.items() if not path.startswith("maps/")
                and any(linked for _, linked in diagrams.found_in(p.markdown))]


def test_no_line_of_an_html_block_opens_a_fence():
    """Python-Markdown reads fences before HTML: a line of a <pre> starting with ``` would open
    one, and its {...} header would become live attributes."""
    block = html_block('<pre><code>a\n```{.mermaid data-kb-links="true"}\n  ~~~ x\n</code></pre>')
    assert not re.search(r"\n[ \t]*[`~]", block)
    assert live(site_markdown(block)) == [] and "```{.mermaid" in __import__("html").unescape(block)


def test_only_a_page_said_to_have_linked_diagrams_keeps_them():
    block = '<pre class="kb-mermaid" data-kb-links="true"><code>flowchart LR</code></pre><p>data-kb-links="true"</p>'
    assert sanitize.page(block, linked_diagrams=True) == block
    assert sanitize.page(block) == '<pre class="kb-mermaid"><code>flowchart LR</code></pre><p>data-kb-links="true"</p>'


def test_a_name_with_a_line_break_in_a_heading_link_stays_one_heading():
    page = to_page_markdown("## See [[x]]\n\nText.", lambda target, text: ("a.html", "Two lines"))
    assert page == '## See <a href="a.html">Two lines</a>\n\n<p>Text.</p>'


def test_fixture_topics_cover_the_issue():
    assert len(TRICKS) >= 9
    assert os.path.isfile(HOSTILE_PROSE / "systems" / "target-system.yaml")
