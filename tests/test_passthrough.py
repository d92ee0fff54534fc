"""The generated HTML blocks skip Python-Markdown and come back unchanged (generator/passthrough.py)."""
import re
from pathlib import Path

import markdown
import pytest
from mkdocs.config import load_config

from generator import passthrough
from generator.build import generate

REPO = Path(__file__).resolve().parent.parent


def _converter():
    config = load_config(str(REPO / "mkdocs.yml"))
    return markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)


def _body(text: str) -> str:
    return text.split("\n---\n", 1)[1] if text.startswith("---\n") else text


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    generated = generate(REPO / "content", out)
    assert generated.ok
    return {path: _body(page.markdown) for path, page in generated.rendered.pages.items()}


def test_every_page_converts_to_the_same_html_with_and_without_the_shortcut(pages):
    md = _converter()
    stashed_total = 0
    for path, text in pages.items():
        direct = md.reset().convert(text)
        short, blocks = passthrough.stash(text)
        stashed_total += len(blocks)
        via = passthrough.restore(md.reset().convert(short), blocks)
        assert _normal(via) == _normal(direct), path
        assert "kbpass" not in via
    assert stashed_total > 5 * len(pages)  # infobox, status, relations, backlinks, references...


def test_a_record_page_leaves_little_for_markdown(pages):
    text = pages["experts/nick-bostrom.md"]
    short, blocks = passthrough.stash(text)
    assert len(short) < len(text) / 8  # what is left: headings and the summary
    assert any(b.startswith('<aside class="kb-infobox"') for b in blocks.values())
    assert any(b.startswith('<div class="kb-neighbourhood"') for b in blocks.values())
    assert "# Nick Bostrom" in short and "## What links here" in short and "When AI reaches" not in short


@pytest.mark.parametrize("text", [
    "```\n\n<div>in a fence</div>\n```\n",  # code stays code
    "~~~~\n\n<ul><li>x</li></ul>\n\n~~~~\n",
    '<div class="x" markdown>\n\n**md**\n\n</div>\n',  # a container of Markdown is parsed
    "<div>\n\nopen across a blank line\n</div>\n",  # unbalanced up to the blank line
    "</div>\n",  # a lone closing tag of a container
    "text right above\n<p>not a block of its own</p>\n",
    "<span>inline, not a block tag</span>\n",
    "<divx>not a known tag</divx>\n",
    "- item\n\n  ```\n\n<p><img src=x onerror=alert(1)></p>\n\n  ```\n",  # a fence inside a list item
])
def test_what_is_left_to_markdown(text):
    short, blocks = passthrough.stash(text)
    assert blocks == {} and short == text


def test_a_block_is_taken_whole_and_put_back():
    text = "# T\n\n<table>\n<tr><td><a href=\"a.html\">*A*</a></td></tr>\n</table>\n\nafter\n"
    short, blocks = passthrough.stash(text)
    assert len(blocks) == 1 and list(blocks.values())[0].startswith("<table>")
    html = passthrough.restore(_converter().convert(short), blocks)
    assert '<td><a href="a.html">*A*</a></td>' in html and "<p>after</p>" in html


def test_a_placeholder_out_of_place_comes_back_as_text():
    """Should stash ever take a block that Markdown then puts inside code, it is restored as
    text: an editor's code never turns into markup."""
    blocks = {"kbpassx0": '<img src=x onerror="alert(1)">'}
    html = passthrough.restore("<pre><code>kbpassx0\n</code></pre>", blocks)
    assert "<img" not in html and "&lt;img src=x onerror=\"alert(1)\"&gt;" in html


def test_many_blocks_come_back_each_in_its_place_and_out_of_place_ones_whole():
    text = "".join(f"<p>block {n}</p>\n\n" for n in range(13))
    short, blocks = passthrough.stash(text)
    assert len(blocks) == 13
    html = passthrough.restore(_converter().convert(short), blocks)
    assert html.split("\n") == [f"<p>block {n}</p>" for n in range(13)]
    # a placeholder left in code: ...x12 is not read as ...x1 followed by "2"
    keys = list(blocks)
    html = passthrough.restore(f"<pre><code>{keys[12]} {keys[1]}\n</code></pre>", blocks)
    assert html == "<pre><code>&lt;p&gt;block 12&lt;/p&gt; &lt;p&gt;block 1&lt;/p&gt;\n</code></pre>"


_LAZY_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")  # the tag expression before the possessive one


def _balanced_as_before(block: str) -> bool:
    depth = 0
    for closing, name, self_closing in _LAZY_TAG.findall(block):
        if name.lower() in passthrough._VOID or self_closing:
            continue
        depth += -1 if closing else 1
        if depth < 0:
            return False
    return depth == 0


def test_blocks_are_judged_balanced_as_the_lazy_tag_expression_judged_them(pages):
    import random

    rng = random.Random(5)
    pieces = ["<", ">", "/", "/>", "</", "<div>", "</div>", "<p class='a/'>", "<br>", "<br/>", "<BR />", "<hr>",
              "<img src=x/>", "<a href='/x/'>", "</a>", "<ul>", "</ul>", "<li>", "</li>", "<p", "p>", "div",
              " ", "\n", "x", "<1>", "< div>", "<div/>", "<span>", "</span >", "<x-y>", "<table>", "</table>"]
    blocks = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(5000)]
    blocks += [block for text in pages.values() for block in passthrough.stash(_body(text))[1].values()]
    verdicts = [passthrough._balanced(block) for block in blocks]
    assert verdicts == [_balanced_as_before(block) for block in blocks]
    assert 500 < sum(verdicts) < len(blocks)  # both verdicts are given often
