"""validate.parse_prose scans a page's whole text with regexes and str.find and looks only at
the lines holding what it checks; it must say exactly what the line-by-line scan it replaced
said. That scan is kept here (``reference``) and both read tricky and generated articles: the
same blocks, links and diagnostics (file, line, column, message, hint, code), in the same order."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from generator import formulas, images, validate
from generator.core import (ADMONITIONS, RECORD_LINK, Diagnostic, Directive, Prose, ProseLink, SourceDocument,
                            citation_targets, closest)
from generator.kinds import KINDS

# ---------------------------------------------------------------------------- the scan it replaced

_LINK = re.compile(RECORD_LINK)
_DIRECTIVE = re.compile(r"^\[\[(table|diagram):([^\]\s]+)\]\]\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FOOTNOTE_NOTE = re.compile(r"^[ >]*\[\^([^\]\n]+)\]:")
_FOOTNOTE_MARK = re.compile(r"\[\^([^\]\n]+)\](?!:)")
_FOOTNOTE_LABEL = re.compile(r"[A-Za-z0-9_-]+")
_LINK_TARGET = re.compile(r"!?\[([^\]\n]*)\]\(([^)\n]*)\)")
_RESERVED_ANCHOR = re.compile(r"ref-|kb-nb-|kb-diagram-|kb-[0-9a-f]{16}$")
_HEADING_LINE = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*$")
_ADMONITION = re.compile(r"^ *!!! ?(.*?)\s*$")
_ADMONITION_HEAD = re.compile(r'([\w\-]+(?: +[\w\-]+)*)(?: +"(.*?)")?')
_CODE_SPANS = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")


def _strip_code_spans(line: str) -> str:
    if "`" not in line:
        return line
    if "``" in line:
        return _CODE_SPANS.sub(lambda m: " " * len(m.group(0)), line)
    return re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)


def reference(document: SourceDocument) -> tuple[Prose, list[Diagnostic]]:
    """parse_prose as it was (without a record: the directive checks against it are shared)."""
    lines = (document.body or "").split("\n")
    first = document.body_line
    links, problems = [], []
    fenced: set[int] = set()
    opened, fence = None, ""
    for index in [i for i, line in enumerate(lines) if ("`" in line or "~" in line)]:
        match = _FENCE.match(lines[index])
        if match is None:
            continue
        if opened is None:
            opened, fence = index, match.group(1)
        elif match.group(1).startswith(fence) and not lines[index].strip().lstrip(fence[0]):
            fenced.update(range(opened, index + 1))
            opened = None
    if opened is not None:
        fenced.update(range(opened, len(lines)))
    directives: dict[int, Directive] = {}
    placed: dict[tuple[str, str], int] = {}
    for index in [i for i, line in enumerate(lines) if line.startswith("[[")]:
        match = None if index in fenced else _DIRECTIVE.match(lines[index])
        if match is None:
            continue
        what, name = match.groups()
        number = first + index
        directives[index] = Directive(what, name, number)
        if (what, name) in placed:
            problems.append(Diagnostic(document.path, number, 1,
                                       f"{what} '{name}' is already placed on line {placed[(what, name)]}",
                                       "body", "place each table and diagram once", "directive"))
        placed[(what, name)] = number
    blocks: list = []
    start = 0
    for index, directive in directives.items():
        blocks += ["\n".join(lines[start:index]), directive]
        start = index + 1
    blocks.append("\n".join(lines[start:]))
    scanned = [("" if index in fenced or index in directives else _strip_code_spans(line))
               for index, line in enumerate(lines)] if fenced or directives or "`" in (document.body or "") else lines
    for index in [i for i, line in enumerate(scanned) if "[[" in line]:
        number = first + index
        for match in _LINK.finditer(scanned[index]):
            target = match.group(1).strip()
            if target.startswith("cite:"):
                sources = citation_targets(target[len("cite:"):])
                if not sources or match.group(2) is not None:
                    problems.append(Diagnostic(document.path, number, match.start() + 1,
                                               f"'{match.group(0)}' names no source", "body",
                                               "write [[cite:source-id]] or [[cite:one-id, another-id]]", "directive"))
                for source in sources:
                    links.append(ProseLink(source, None, number, match.start() + 1, cite=True))
                continue
            if ":" in target:
                problems.append(Diagnostic(document.path, number, match.start() + 1,
                                           f"'[[{target}]]' must stand alone on its own line",
                                           "body", "put tables and diagrams on a line of their own",
                                           "directive"))
                continue
            links.append(ProseLink(target, match.group(2), number, match.start() + 1))
    problems += _reference_features(document, scanned)
    return Prose([b for b in blocks if not (isinstance(b, str) and not b.strip())], links), problems


def _reference_features(document: SourceDocument, lines: list[str]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []

    def error(line, column, message, hint, code):
        problems.append(Diagnostic(document.path, document.body_line + line, column, message, "body", hint, code))

    def bad_label(label, line, column):
        if _FOOTNOTE_LABEL.fullmatch(label):
            return False
        error(line, column, f"footnote label '[^{label}]' may hold only letters, digits, '-' and '_'",
              "number the notes: [^1], [^2], ...", "footnote")
        return True

    notes: dict[str, int] = {}
    marks: list[tuple[str, int, int]] = []
    for offset, line in enumerate(lines):
        if "[^" not in line and "!!!" not in line and "![" not in line:
            continue
        note = _FOOTNOTE_NOTE.match(line)
        if note is not None:
            label = note.group(1)
            if label in notes:
                error(offset, 1, f"the note [^{label}] is already written on line {document.body_line + notes[label]}",
                      "give each note its own label, or merge the two", "footnote")
            else:
                bad_label(label, offset, 1)
            notes.setdefault(label, offset)
        for mark in _FOOTNOTE_MARK.finditer(line, note.end() if note else 0):
            marks.append((mark.group(1), offset, mark.start() + 1))
        admonition = _ADMONITION.match(line) if "!!!" in line else None
        if admonition is not None:
            head = _ADMONITION_HEAD.fullmatch(admonition.group(1))
            kinds = head.group(1).split() if head else []
            if len(kinds) != 1 or kinds[0].lower() not in ADMONITIONS:
                guess = closest(kinds[0].lower(), ADMONITIONS) if kinds else []
                error(offset, 1, f"'{line.strip()}' is not an admonition the site draws",
                      (f"did you mean '!!! {guess[0]}'? " if guess else "")
                      + 'write !!! type "Title", type one of: ' + ", ".join(ADMONITIONS), "admonition")
        for image in images.IMAGE.finditer(line):
            alt, src = image.group(1), image.group(2)
            path, message, hint = images.resolve(src, KINDS[document.kind].folder)
            if path is not None:
                missing = images.found(Path(document.path).parents[1], path)
                if missing is not None:
                    message, hint = missing
            if message:
                error(offset, image.start() + 1, message, hint, "image")
            elif not alt.strip():
                error(offset, image.start() + 1, f"the image {src} has no alt text",
                      "say what it shows between the brackets, ![what the figure shows](...): readers who "
                      "cannot see it read that", "image")
    for label, offset, column in marks:
        if bad_label(label, offset, column):
            continue
        if label not in notes:
            error(offset, column, f"footnote [^{label}] has no note",
                  f"write the note on a line of its own: [^{label}]: the note's text", "footnote")
    marked = {mark for mark, _, _ in marks}
    for label, offset in notes.items():
        if _FOOTNOTE_LABEL.fullmatch(label) and label not in marked:
            error(offset, 1, f"the note [^{label}] is never referred to", f"write [^{label}] where it belongs "
                  "in the text, or remove the note", "footnote")
    for offset, line in enumerate(lines):
        if line.startswith("#") and (heading := _HEADING_LINE.match(line)) is not None:
            from markdown.extensions.toc import slugify
            anchor = slugify(heading.group(1), "-")
            if _RESERVED_ANCHOR.match(anchor):
                error(offset, 1, f"the heading's anchor '#{anchor}' is one the page uses itself "
                      "(its references are #ref-<id>, its drawings #kb-...)", "word the heading another way", "heading")
        if "$" not in line:
            continue
        for target in _LINK_TARGET.finditer(line):
            if any(formulas.find(target.group(2))) or (target.group(0).startswith("!") and any(formulas.find(target.group(1)))):
                error(offset, target.start() + 1, "a formula cannot stand in a link's address or title, or in an "
                      "image's alt text", "write the formula beside the link or the image", "formula")
        if line.lstrip().startswith("|"):
            for start, _, tex, _ in formulas.find(line):
                if "|" in tex:
                    error(offset, start + 1, "a '|' in a formula in a table ends the table's cell",
                          "write \\vert (or \\mid) for the bar in a table", "formula")
    text = "\n".join(lines)
    for start, _, tex, display in (formulas.find(text) if "$" in text else ()):
        try:
            formulas.mathml(tex, display)
        except formulas.FormulaError as exc:
            offset = text.count("\n", 0, start)
            error(offset, start - (text.rfind("\n", 0, start) + 1) + 1, str(exc),
                  "formulas are LaTeX as latex2mathml reads it; a dollar sign in text is written \\$",
                  "formula")
    return problems


# ---------------------------------------------------------------------------- the comparison

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"


@pytest.fixture(scope="module")
def content(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scan") / "content"
    (root / "images").mkdir(parents=True)
    (root / "images" / "figure.png").write_bytes(PNG)
    (root / "images" / "fake.png").write_bytes(b"GIF89a" + bytes(20))
    (root / "topics").mkdir()
    return root


def same(content: Path, body: str, body_line: int = 7) -> None:
    document = SourceDocument("topics", "page", str(content / "topics" / "page.md"), {}, body=body, body_line=body_line)
    expected = reference(document)
    prose, problems = validate.parse_prose(document, None)
    assert (prose.blocks, prose.links) == (expected[0].blocks, expected[0].links), body
    assert problems == expected[1], body


TRICKY = [
    "",
    "\n",
    "[[a]]",
    "[[a]] and [[b|the b]]\nlast line [[c]]",
    "first\n[[table:x]]",
    "[[table:x]]\ntext\n[[diagram:y]]  \n[[table:x]]\n",
    "[[table:x]] after\n [[table:y]]\ntext [[table:z]]\n[[table:a|b]]\n[[table:a[b]]\n[[table:]]\n",
    "```\n[[a]]\n```\n[[b]]",
    "~~~\n```\n[[a]]\n~~~\n[[b]]\n",
    "````\n```\n[[a]]\n````\n[[b]]",
    "```\n[[a]]\n``` x\n[[b]]\n```\n[[c]]",
    "    ```\n[[a]]\n```\n[[b]]",
    "   ~~~~\n[[a]]\n~~~~~  \n[[b]]",
    "```\nnever closed [[a]]\n[[table:x]]\n$x^$",
    "text\n```\n[[table:x]]\n```\n",
    "``[[x]]`` and `[[y]]` and ``` a`[[z]]`b ``` [[w]]",
    "`code` [[a]] `` `[[b]]` `` [[c]] ` [[d]]",
    "` [[open]]\nnext` [[e]]`",
    "[[cite:s1, s2]] [[cite:]] [[cite:s|t]] [[cite: , ]] [[x:y]] [[ spaced |text]]",
    "[[a]]\r\n[[b]]\r\n",
    "no trailing newline [[z]]",
    "a [^1] b [^2]\n\n[^1]: one\n> [^2]: quoted\n- [^3]: in a list\n  > > [^4]: deep\n[^1]: again",
    "x [^bad label] y [^ok]\n[^bad label]: text\n[^ok]: fine\n[^unused]: never\n[^a]:[^b] [^b]: no\n[^c] [^c]: x",
    "[^a[^b]] [^a[^b]]: c\n[^]] [^\n]",
    "!!! note\n!!! warning \"Careful\"\n!!! nonsense\n!!!\n  !!! tip   \n!!! note \"a\" extra\ntext !!! note",
    "![alt](../images/figure.png) ![](../images/figure.png) ![x](https://e.org/a.png)\n"
    "![x](../images/none.png) ![x](../images/fake.png) ![x]( <../images/figure.png> \"t\" ) [^1]\n[^1]: n",
    "# Ref x\n## kb-nb-1 ##\n### kb-0123456789abcdef\n#nospace\n####### seven\n# References\n#\tkb-diagram-a\n# Fine",
    "$x$ and $$\\frac{a}{b}$$\n$\\href{http://x}{y}$\n| $a|b$ | $c$ |\n  | $\\vert$ |\n[l]($x$) ![$y$](../images/figure.png) [$z$](u)",
    "$$\na\n```\n$b$\n```\n$$\n[[table:t]]\n$$c\n[[table:u]]\nd$$",
    "`$x$` $y `$` $z$\n``$`` $$ `$$` $$",
    "\t[[tab]]\n\u00a0[[nbsp]]\n[[ü]] ünïcode [^ü]\n[^ü]: n",
    "\n\n[[table:x]]\n\n\n",
    "[[table:x]]",
    "> ```\n[[a]]\n> ```\n- ~~~\n[[b]]",
]


@pytest.mark.parametrize("body", TRICKY)
def test_the_tricky_articles_read_as_before(content, body):
    same(content, body)


FRAGMENTS = [
    "[[a]]", "[[b|text]]", "[[cite:s]]", "[[cite:s, t]]", "[[cite:]]", "[[x:y]]", "[[", "]]", "[", "]", "|",
    "[[table:t]]", "[[diagram:d]]", "`", "``", "```", "~~~", "~~~~", "````", " ", "   ", "    ", "\t", ">",
    "- ", "[^1]", "[^1]:", "[^2]", "[^2]:", "[^x y]", "[^", "!!!", "!!! note", "!!! bad", "![a](../images/figure.png)",
    "![](../images/figure.png)", "![a](http://x/y.png)", "!", "#", "## ", "# Ref", "kb-nb-", "$", "$$", "$x$",
    "$$y$$", "\\$", "$\\frac{1}{2}$", "$\\href{u}{v}$", "|", "| $a|b$ |", "[l]($x$)", "](", ")", "(", "word",
    "text text", "é", "\r", "x",
]


def generated(seed: int) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(rng.randint(0, 14)):
        lines.append("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 6))))
    return "\n".join(lines) + rng.choice(["", "\n", "\n\n"])


def test_generated_articles_read_as_before(content):
    for seed in range(3000):
        same(content, generated(seed), body_line=seed % 5)


def test_finditer_at_finds_what_finditer_finds():
    """core.finditer_at, which the footnote and formula scans use, on generated texts."""
    from generator.core import finditer_at

    cases = [(validate._FOOTNOTE, "^", 1), (formulas.FORMULA, "$", 0), (re.compile(r"\[\^([^\]\n]+)\](?!:)"), "^", 1)]
    texts = [generated(seed) for seed in range(2000)] + ["", "$", "$$", "$$$x$$$", "\\$x$ $y$", "[^", "[^[^a]]:",
                                                         "^[^a]", "[^a][^b]:[^c]"]
    for pattern, character, offset in cases:
        for text in texts:
            expected = [(m.span(), m.groups()) for m in pattern.finditer(text)]
            assert [(m.span(), m.groups()) for m in finditer_at(pattern, text, character, offset)] == expected, text


# ------------------------------------------------------------------- the scan in two processes

_TWO_PROCESSES_SCRIPT = r"""
import os, shutil, sys
from pathlib import Path
from generator import load, processes, validate

root = Path(sys.argv[1])
documents = [d for d in load.load(root)[0]]
def judged():
    entries, rejected, problems = validate.validate(documents)
    made = [(e.kind, e.id, e.prose.blocks if e.prose else None, e.prose.links if e.prose else None) for e in entries]
    failed = [(r.document.path, r.prose.blocks if r.prose else None, r.prose.links if r.prose else None) for r in rejected]
    return made, failed, problems

scan_articles = validate._scan_articles
validate._scan_articles = lambda documents: {}  # each document's article scanned where it is validated
serial = judged()
validate._scan_articles = scan_articles
validate.ARTICLES_PARALLEL_FROM = 0
forks = []
real_fork = os.fork
os.fork = lambda: forks.append(1) or real_fork()
parallel = judged()
processes._in_child = lambda function, items, sending, receiving, parent: os._exit(3)  # a child that dies
fallback = judged()
bodies = sum(1 for d in documents if d.body is not None)
print(len(forks), serial == parallel == fallback, bodies, len(serial[2]), len(serial[1]))
"""


def test_validation_scans_the_articles_in_two_processes_with_the_same_result(tmp_path):
    """In a fresh interpreter (one thread, so forking is allowed): a base with articles, some with
    errors, validated with the articles scanned in two processes (and with a child that dies at
    once) gives the same records, prose and diagnostics, in the same order, as each article
    scanned where its record is validated."""
    import shutil
    import subprocess
    import sys

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent / "fixtures" / "real-base" / "content", content)
    for number in range(12):  # articles with problems of their text and of the record's directives
        (content / "risks" / f"broken-article-{number}.md").write_text(
            f"---\nid: broken-article-{number}\nname: Broken {number}\nsummary: s\n---\n"
            f"Text[^{number}] and [[no-such-record]], [[cite:]].\n\n!!! notte\n    x\n\n[[table:missing]]\n"
            f"[[table:missing]]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _TWO_PROCESSES_SCRIPT, str(content)], capture_output=True,
                          text=True, cwd=Path(__file__).parent.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    forks, same, bodies, problems, rejected = done.stdout.split()
    assert (forks, same) == ("2", "True") and int(bodies) >= 17 and int(problems) >= 12 * 5 and int(rejected) >= 12
