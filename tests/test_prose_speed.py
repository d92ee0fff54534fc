"""The quicker inline stage of the prose converter (prose._SkippingInline) makes the same HTML as
Python-Markdown's own, byte for byte: on every article of the repository's fixtures and content,
on the benchmark's synthetic articles, and on texts built to hold each pattern's trigger in
every awkward place; and its table of triggers is sound (a pattern cannot match without one)."""
from __future__ import annotations

import itertools
import random
import re
import sys
from pathlib import Path

import pytest

from generator import prose

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def _link(target, text):
    return None if target.startswith("missing") else (f"../r/{target}.html", text or target)


def _cite(target):
    return None if target.startswith("missing") else (f"#ref-{target}", 1)


def _image(src):
    return "../images/x.png" if src.endswith("x.png") else None


@pytest.fixture(scope="module")
def converters():
    skipping, stock = prose._Converter(skipping=True), prose._Converter(skipping=False)
    assert isinstance(skipping.md.treeprocessors["inline"], prose._SkippingInline)
    assert not isinstance(stock.md.treeprocessors["inline"], prose._SkippingInline)
    return skipping, stock


def _same(converters, texts):
    skipping, stock = converters
    # each converter marks headings with a token of its own
    differing = [text for text in texts if skipping.convert(text, _link, _cite, _image)
                 != stock.convert(text, _link, _cite, _image).replace(stock.token, skipping.token)]
    assert not differing, f"{len(differing)} of {len(texts)} texts convert differently, e.g.:\n{differing[0][:800]}"


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1] if text.startswith("---\n") and "\n---\n" in text else text


def test_the_repositorys_articles_convert_the_same(converters):
    texts = [_body(path) for folder in ("content", "tests/fixtures") for path in sorted((ROOT / folder).rglob("*.md"))]
    assert len(texts) > 20
    _same(converters, texts)


def test_the_benchmarks_articles_convert_the_same(converters):
    import benchmark

    synth = benchmark.Synth(300, seed=3)
    ids = [record_id for kind, ids in synth.ids.items() if kind != "topics" for record_id in ids[:6]]
    _same(converters, [synth.article(record_id) for record_id in ids])


PIECES = ["word", " ", "  \n", "\n", "\n\n", "`", "``", "`code`", "\\", "\\`", "\\$", "$", "$x$", "$$a$$", "[", "]",
          "[[", "]]", "[[rec]]", "[[rec|shown *em*]]", "[[missing]]", "[[cite:src]]", "[[cite:missing]]", "[^",
          "[^1]", "[text](https://e.org/a_b)", "[ref]", "[ref][]", "![alt](../images/x.png)", "![alt](y.png)",
          "!", "<", ">", "<https://e.org>", "<a@b.org>", "&amp;", "&", ";", "*", "**", "_", "__", "*em*",
          "**strong**", "_u_", "***both***", "(", ")", "|", "#", "~", "{: onclick=x }", "<b>",
          # blocks: headings, rules, quotes, notes, references, lists, code, admonitions
          "\n# h", "\n## h ##", "\n---\n", "\n***\n", "\n_ _ _\n", "\n> quote", "\n>", "\n[^1]: note",
          "\n[ref]: https://e.org/r", "\n[x]:", "\n- item", "\n1. item", "\n    code", "\n!!! note\n    text",
          "\nSetext\n===", "\n| a | b |\n|---|---|\n| 1 | 2 |"]


def test_texts_with_every_trigger_anywhere_convert_the_same(converters):
    rng = random.Random(7)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30))) for _ in range(1500)]
    texts += ["".join(pair) for pair in itertools.product(PIECES, repeat=2)]
    texts += [f"{text}\n\n[ref]: https://e.org/ref\n\n[^1]: a note with [[rec]] and $y$" for text in texts[:300]]
    _same(converters, texts)


def _deeper(frames: int, function):
    return function() if frames == 0 else _deeper(frames - 1, function)


def test_quotes_nested_to_the_recursion_limit_convert_the_same(converters):
    # the quotes' test asks how deep the stack is: no skip may add a frame to it (from any depth
    # of the caller, as the limit is checked every few frames)
    for frames in range(4):
        _deeper(frames, lambda: _same(converters, [">" * depth + " deep" for depth in (150, 297, 298, 299, 300, 399)]))


def test_every_block_trigger_names_a_processor_of_the_converter(converters):
    processors = converters[0].md.parser.blockprocessors
    for name in prose.BLOCK_TRIGGERS:
        assert name in processors and type(processors[name]).__name__ == prose._BLOCK_CLASSES[name], name
    stock = converters[1].md.parser.blockprocessors
    assert all("test" not in vars(stock[name]) and "run" not in vars(stock[name]) for name in prose.BLOCK_TRIGGERS)
    assert all({"test", "run"} & set(vars(processors[name])) for name in prose.BLOCK_TRIGGERS)


def _never_matches_without(name, expression, needs, alphabet: str, rng, longest: int) -> None:
    """3,000 random texts of ``alphabet`` holding none of ``needs``: ``expression`` matches none."""
    letters = [c for c in alphabet if not any(c in needed and len(needed) == 1 for needed in needs)]
    for _ in range(3000):
        text = "".join(rng.choice(letters) for _ in range(rng.randint(1, longest)))
        if any(needed in text for needed in needs):
            continue
        assert expression.search(text) is None, (name, text)


def test_no_block_expression_matches_a_block_without_its_trigger(converters):
    processors = converters[0].md.parser.blockprocessors
    alphabet = "ab 1\n\n\t`$\\[]^!<>&;*_:|()@/.-#~{}=\"' "
    rng = random.Random(13)
    for name, (_, needs) in prose.BLOCK_TRIGGERS.items():
        processor = processors[name]
        expression = getattr(processor, "SEARCH_RE", None) or processor.RE
        _never_matches_without(name, expression, needs, alphabet, rng, 60)


def test_every_trigger_names_a_pattern_of_the_converter(converters):
    # a pattern renamed by a new Python-Markdown would silently lose its skip: say so here
    names = {item.name for item in converters[0].md.inlinePatterns._priority}
    assert set(prose.TRIGGERS) <= names
    assert names - set(prose.TRIGGERS) == set(), "a pattern without a trigger is always tried: add it to the table"


def test_no_pattern_matches_a_text_without_its_trigger(converters):
    md = converters[0].md
    alphabet = "ab 1\n\t`$\\[]^!<>&;*_:|()@/.-#~{}=\"'"
    rng = random.Random(11)
    for name, needs in prose.TRIGGERS.items():
        _never_matches_without(name, md.inlinePatterns[name].compiled_re, needs, alphabet, rng, 40)


def test_a_text_with_the_trigger_is_still_converted(converters):
    skipping, _ = converters
    html = skipping.convert("a *b* `c` [[rec]] [[cite:src]] $x$ [l](https://e.org) &amp; [^1]\n\n[^1]: n",
                            _link, _cite, _image)
    for expected in ("<em>b</em>", "<code>c</code>", 'href="../r/rec.html"', 'href="#ref-src"', "<math",
                     'href="https://e.org"', "&amp;", 'class="footnote-ref"'):
        assert expected in html, expected
    assert re.search(r"<li id=\"fn:1\">", html)
