"""The check of the diagrams editors write: part of validate (the static checks) and the stage
after it (Mermaid's own parse), so that `kb validate` and `kb build` both fail on a diagram
that would not draw, with the file and line to fix.

An authored diagram is a ``diagrams:`` entry of a record's front matter (a field declared
``Shown(placed="diagram")``) or a ```mermaid fence in its prose; not the maps the generator
writes. Mermaid's grammar is large, changes between releases and is only written down in
Mermaid itself, so nothing here imitates it: the static checks are those that cannot reject a
diagram Mermaid accepts (empty, the generator's marker, a first word no Mermaid 11.17.2 detector
takes), and the rest is left to the pinned Mermaid, run in headless Chromium (``diagrams.parse``).
Without Chromium or Playwright only the static checks are made, and the run says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from . import diagrams
from .core import Diagnostic, SourceDocument, closest
from .kinds import KINDS, placed_field


@dataclass(frozen=True)
class Authored:
    """One diagram an editor wrote, and where: ``line`` is the file's line of the diagram's
    first line when ``exact`` (a ``|`` block, a prose fence), else the line of the value (a
    quoted or folded text, whose lines are not the file's)."""

    file: str
    field: str
    source: str
    line: int
    column: int
    exact: bool
    front_matter: bool


def authored(document: SourceDocument, record: Any = None, prose: bool = True) -> list[Authored]:
    """Every diagram the record of ``document`` writes, in its front matter (from ``record``,
    or from the data when the record did not validate) and, unless ``prose`` is False, in its prose."""
    found = []
    holder = placed_field(KINDS[document.kind].model, "diagram")
    for name, source in _front_matter_diagrams(document, record, holder):
        path = (holder, name, "mermaid")
        line, column = document.position(path)
        literal = path in document.literals
        found.append(Authored(document.path, f"{holder}.{name}.mermaid", source, line + literal,
                              1 if literal else column, literal, True))
    if document.body and prose:
        for line, indent, source, exact in fences(document.body):
            found.append(Authored(document.path, "body", source, document.body_line + line, indent + 1, exact, False))
    return found


def _front_matter_diagrams(document: SourceDocument, record: Any, holder: str | None) -> list[tuple[str, str]]:
    """(name, source) of each diagram of the front matter: from the record, or, when it did not
    validate, from what was written (a value that is not text is validation's to report)."""
    if holder is None:
        return []
    if record is not None:
        return [(name, item.mermaid) for name, item in (getattr(record, holder) or {}).items()]
    written = (document.data or {}).get(holder)
    if not isinstance(written, dict):
        return []
    return [(name, item["mermaid"]) for name, item in written.items()
            if isinstance(item, dict) and isinstance(item.get("mermaid"), str)]


_OPENING = re.compile(r"^([ \t>]*)(`{3,}|~{3,})[ \t]*\{?[ \t]*\.?mermaid(?=$|[\s}])")


def fences(body: str) -> list[tuple[int, int, str, bool]]:
    """(line of the first line inside, from 0; its column less one; source; whether found there) of each ```mermaid
    or ~~~mermaid fence of a Markdown text that the prose converter draws as a diagram.

    Which fences those are (not one in an indented code block or inside another fence, one in a
    quote or a list item) is the converter's to say, so it is asked (``prose.diagram_sources``);
    each source is then found in the text below a fence line, the same prefix (indentation,
    quote marks) taken off each of its lines."""
    if "mermaid" not in body:
        return []
    from . import prose

    lines = body.split("\n")
    found, number = [], 0
    for source in prose.diagram_sources(body):
        wanted = source.split("\n")
        for at in range(number, len(lines)):
            opening = _OPENING.match(lines[at])
            if opening is None:
                continue
            prefix = opening.group(1)
            inside = [line[len(prefix):] if line.startswith(prefix) else line.lstrip(" \t>")
                      for line in lines[at + 1:at + 1 + len(wanted)]]
            if [line.rstrip() for line in inside] == [line.rstrip() for line in wanted]:
                found.append((at + 1, len(prefix), source, True))
                number = at + 1 + len(wanted)
                break
        else:  # not found as written (never seen): still checked, placed on the prose's first line
            found.append((0, 0, source, False))
    return found


# ---------------------------------------------------------------------------- the static checks
#
# Ported from Mermaid 11.17.2's bundle (generator/static/assets/vendor): what it takes out of a
# diagram before reading it (preprocessDiagram: front matter, %%{...}%% directives, %% comment
# lines) and each diagram type's detector, the regular expression that claims a text for it.
# Only a text no detector claims is an unknown type, so a valid diagram is never refused; where
# JavaScript and Python read a pattern differently (\s, \b, \w), the port takes the wider.

_WS = r"[\s\ufeff]"
_DIRECTIVE = re.compile(r"%{2}\{\s*(?:(\w+)\s*:|(\w+))\s*(?:(\w+)|((?:(?!\}%{2}).|\r?\n)*))?\s*(?:\}%{2})?",
                        re.I | re.S)
# Mermaid's other three expressions, /^-{3}\s*[\n\r](.*?)[\n\r]-{3}\s*[\n\r]+/s (front matter, with
# the indentation of its first line), /^\s*%%(?!{)[^\n]+\n?/gm (comment lines) and /\s*%%.*\n/gm
# (detectType's comments), take time with the square of a run of blank lines or spaces in a
# regular-expression engine (each start in the run scans the rest of it: 100,000 blank lines
# after a '---' kept validation busy for minutes). The functions below find what they match, the
# same spans (tests/test_diagram_check.py holds them as the oracle), in one pass.
_OPENING_DASHES = re.compile(r"([^\S\n\r]*)-{3}(\s*)")
_SPACE = re.compile(r"\s*")
_COMMENT_ON_ITS_LINE = re.compile(r"^[^\S\n]*%%(?!\{)[^\n]+\n?", re.M)
_COMMENT_TO_LINE_END = re.compile(r"%%.*\n")


def _after_last_newline(text: str, start: int, end: int) -> int | None:
    """Where ``\\s*[\\n\\r]+`` over the whitespace text[start:end] ends: after its last line end."""
    last = max(text.rfind("\n", start, end), text.rfind("\r", start, end))
    return None if last < 0 else last + 1


def front_matter_end(text: str) -> int | None:
    """Where the front matter that opens ``text`` ends (Mermaid's expression, above), or None."""
    opening = _OPENING_DASHES.match(text)
    if opening is None:
        return None
    indent, start, end = opening.group(1), opening.start(2), opening.end(2)
    last = max(text.rfind("\n", start, end), text.rfind("\r", start, end))
    if last < 0:
        return None  # the first line must end after its dashes
    # After the last line end of the whitespace that follows the dashes: the first closing line
    # there (its indentation, three dashes, whitespace with a line end) is the one the expression takes.
    for closing in re.compile(r"[\n\r]" + re.escape(indent) + r"-{3}(\s*)").finditer(text, last + 1):
        ends = _after_last_newline(text, closing.start(1), closing.end(1))
        if ends is not None:
            return ends
    # Otherwise the run's last line end may start the closing line, if another line end is before it.
    if (max(text.rfind("\n", start, last), text.rfind("\r", start, last)) >= 0
            and text[last + 1:end] == indent and text.startswith("---", end)):
        return _after_last_newline(text, end + 3, _SPACE.match(text, end + 3).end())
    return None


def comment_lines(text: str) -> list[tuple[int, int]]:
    """The spans of Mermaid's comment lines in ``text`` (above): a line whose first characters
    but whitespace are ``%%`` (not ``%%{``) with something after them, with its line end and the
    lines of nothing but whitespace before it (back to the end of the span before)."""
    spans: list[tuple[int, int]] = []
    done = 0
    for comment in _COMMENT_ON_ITS_LINE.finditer(text):
        start = comment.start()
        while start > done:
            previous = max(text.rfind("\n", done, start - 1) + 1, done)
            line = text[previous:start - 1]
            if line and not line.isspace():
                break
            start = previous
        spans.append((start, comment.end()))
        done = comment.end()
    return spans


def detected_comments(text: str) -> list[tuple[int, int]]:
    """The spans of detectType's comments in ``text`` (above): ``%%`` to its line end, with the
    whitespace before it (back to the end of the span before)."""
    spans: list[tuple[int, int]] = []
    done = 0
    for comment in _COMMENT_TO_LINE_END.finditer(text):
        start = comment.start()
        while start > done and text[start - 1].isspace():
            start -= 1
        spans.append((start, comment.end()))
        done = comment.end()
    return spans


def _without(text: str, spans: list[tuple[int, int]], between: str = "") -> str:
    kept, at = [], 0
    for start, end in spans:
        kept.append(text[at:start])
        at = end
    return between.join(kept) + (between if spans else "") + text[at:]
_END = r"(?![A-Za-z0-9_])"  # JavaScript's \b after a word character
DETECTORS = {  # Mermaid's name of the type -> its detector
    "c4": re.compile(rf"^{_WS}*C4Context|C4Container|C4Component|C4Dynamic|C4Deployment"),  # sic
    "flowchart": re.compile(rf"^{_WS}*graph"),
    "flowchart-v2": re.compile(rf"^{_WS}*flowchart"),  # flowchart-elk too
    "swimlane": re.compile(rf"^{_WS}*swimlane-beta{_END}"),
    "er": re.compile(rf"^{_WS}*erDiagram"),
    "gitGraph": re.compile(rf"^{_WS}*gitGraph"),
    "gantt": re.compile(rf"^{_WS}*gantt"),
    "info": re.compile(rf"^{_WS}*info"),
    "pie": re.compile(rf"^{_WS}*pie"),
    "quadrantChart": re.compile(rf"^{_WS}*quadrantChart"),
    "xychart": re.compile(rf"^{_WS}*xychart"),
    "requirement": re.compile(rf"^{_WS}*requirement"),
    "sequence": re.compile(rf"^{_WS}*sequenceDiagram"),
    "class": re.compile(rf"^{_WS}*classDiagram"),  # classDiagram-v2 too
    "state": re.compile(rf"^{_WS}*stateDiagram"),  # stateDiagram-v2 too
    "journey": re.compile(rf"^{_WS}*journey"),
    "timeline": re.compile(rf"^{_WS}*timeline"),
    "mindmap": re.compile(rf"^{_WS}*mindmap"),
    "kanban": re.compile(rf"^{_WS}*kanban"),
    "sankey": re.compile(rf"^{_WS}*sankey"),
    "packet": re.compile(rf"^{_WS}*packet"),
    "radar": re.compile(rf"^{_WS}*radar-beta"),
    "block": re.compile(rf"^{_WS}*block"),
    "treeView": re.compile(rf"^{_WS}*treeView-beta"),
    "architecture": re.compile(rf"^{_WS}*architecture"),
    "eventmodeling": re.compile(rf"^{_WS}*eventmodeling"),
    "ishikawa": re.compile(rf"^{_WS}*ishikawa(-beta)?{_END}", re.I),
    "venn": re.compile(rf"^{_WS}*venn-beta"),
    "treemap": re.compile(rf"^{_WS}*treemap"),
    "wardley": re.compile(rf"^{_WS}*wardley-beta", re.I),
    "cynefin": re.compile(rf"^{_WS}*cynefin-beta(?:[\s:]|$)"),
    "railroad": re.compile(rf"^{_WS}*railroad-(?:(?:ebnf|abnf|peg)-)?beta", re.I),
}
# The words that start a diagram, for "did you mean" (what Mermaid's documentation writes).
TYPE_WORDS = ("flowchart", "graph", "sequenceDiagram", "classDiagram", "classDiagram-v2", "stateDiagram",
              "stateDiagram-v2", "erDiagram", "journey", "gantt", "pie", "quadrantChart", "requirementDiagram",
              "gitGraph", "C4Context", "C4Container", "C4Component", "C4Dynamic", "C4Deployment", "mindmap",
              "timeline", "sankey-beta", "xychart-beta", "block-beta", "packet-beta", "kanban",
              "architecture-beta", "radar-beta", "treemap-beta", "info")


def _front_matter_span(text: str) -> list[tuple[int, int]]:
    end = front_matter_end(text)
    return [] if end is None else [(0, end)]


def _directives(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in _DIRECTIVE.finditer(text)]


def as_parsed(source: str) -> tuple[str, list[int]]:
    """The text Mermaid parses (preprocessDiagram) and, for each of its characters, the line of
    ``source`` (from 1) it comes from: Mermaid's "line N" is a line of that text."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    origins = [n for n, part in enumerate(text.split("\n"), 1) for _ in range(len(part) + 1)][:len(text)]
    for spans_of in (_front_matter_span, _directives, comment_lines):
        kept_text, kept_origins, at = [], [], 0
        for start, end in spans_of(text):
            kept_text.append(text[at:start])
            kept_origins.extend(origins[at:start])
            at = end
        text, origins = "".join(kept_text) + text[at:], kept_origins + origins[at:]
    start = len(text) - len(text.lstrip())
    return text[start:], origins[start:]


def source_line(source: str, parsed_line: int) -> int:
    """The line of ``source`` (from 1) that Mermaid's line ``parsed_line`` of it is."""
    text, origins = as_parsed(source)
    at = 0
    for _ in range(parsed_line - 1):
        at = text.find("\n", at) + 1
        if at == 0:
            return origins[-1] if origins else 1
    return origins[at] if at < len(origins) else (origins[-1] + 1 if origins else 1)


@lru_cache(maxsize=1024)
def _parsed_text(source: str) -> str:
    """as_parsed's text: cached, as validate and the mermaid stage both check each diagram, and a
    base repeats its diagrams (the character-by-character line map made that cost 50 µs a time)."""
    return as_parsed(source)[0]


@lru_cache(maxsize=1024)
def diagram_type(source: str) -> str | None:
    """The type Mermaid 11.17.2 would take the diagram for, or None when it would take it for
    none (detectType, over the preprocessed text)."""
    text = _parsed_text(source)
    text = _DIRECTIVE.sub("", text[front_matter_end(text) or 0:])
    text = _without(text, detected_comments(text), "\n")
    return next((name for name, detector in DETECTORS.items() if detector.search(text)), None)


def static_problems(diagram: Authored) -> list[Diagnostic]:
    """What is wrong with a diagram for certain, without Mermaid: it is empty, it carries the
    generator's marker (in front matter; a prose fence is drawn strict whatever it says, see
    tests/fixtures/hostile-prose), or no Mermaid detector takes it."""
    problems = []

    def problem(message: str, hint: str) -> None:
        problems.append(Diagnostic(diagram.file, diagram.line,
                                   diagram.column, message, diagram.field, hint, "mermaid"))

    text = _parsed_text(diagram.source)
    if not text.strip():
        problem("the diagram is empty", "write the diagram's type on its first line, e.g. 'flowchart LR', "
                "then its lines")
        return problems
    if diagram.front_matter and "kb:generated" in diagram.source:
        problem("'kb:generated' marks diagrams drawn by the generator", "remove it")
    if diagram_type(diagram.source) is None:
        first = text.split()[0]
        guess = closest(first, TYPE_WORDS)
        problem(f"unknown diagram type '{first}'" + (f"; did you mean '{guess[0]}'?" if guess else ""),
                "start the diagram with its type: " + ", ".join(TYPE_WORDS[:8]) + ", ... "
                "(https://mermaid.js.org/intro/syntax-reference.html)")
    return problems


# ---------------------------------------------------------------------------- Mermaid's parse

_LINE = re.compile(r"\bon line (\d+)(?:, column (\d+))?")
_CARET = re.compile(r"^-*\^$")


def _shorter(line: str) -> str:
    """Jison's "Expecting 'A', 'B', ... (thirty more), got 'X'", with the first five."""
    expecting = re.match(r"^Expecting (.*), got (.*)$", line)
    if expecting is None:
        return line
    tokens = expecting.group(1).split(", ")
    listed = ", ".join(tokens[:5]) + (f" or {len(tokens) - 5} more" if len(tokens) > 5 else "")
    return f"Expecting {listed}, got {expecting.group(2)}"


def parse_problem(diagram: Authored, message: str) -> Diagnostic:
    """A diagnostic at the file line of the diagram line Mermaid's ``message`` names (its first
    line when it names none), with Mermaid's words: its first lines, the caret line left out."""
    lines = [_shorter(line.strip()) for line in message.strip().splitlines() if line.strip()]
    words = " ".join(line for line in lines[:4] if not _CARET.match(line))
    words = words if len(words) <= 400 else words[:397] + "..."
    named = _LINE.search(message)
    line, column = diagram.line, diagram.column
    if named and diagram.exact:
        line = diagram.line + source_line(diagram.source, int(named.group(1))) - 1
        column = diagram.column + int(named.group(2)) - 1 if named.group(2) else diagram.column
    elif named:
        words += " (the line of the diagram, which is written as one text here)"
    return Diagnostic(diagram.file, line, column, f"Mermaid cannot parse this diagram: {words}", diagram.field,
                      "fix the diagram's syntax (https://mermaid.js.org/intro/syntax-reference.html); "
                      "Mermaid's message names the line as counted after its front matter and comments", "mermaid")


def check(documents: Iterable[tuple[SourceDocument, Any]], cache=None) -> tuple[int, list[Diagnostic], str]:
    """Mermaid's verdict on every authored diagram of the (document, record or None) pairs that
    passed the static checks: (how many, the problems, a note for the log line).

    Verdicts come from ``diagrams.parse`` (cached by source and Mermaid's version); without
    Chromium or Playwright the one problem is a warning that says what was checked instead."""
    return check_diagrams([diagram for document, record in documents for diagram in authored(document, record)
                           if not static_problems(diagram)], cache)


def check_diagrams(found: list[Authored], cache=None) -> tuple[int, list[Diagnostic], str]:
    """:func:`check` of diagrams that passed the static checks (the mermaid stage: validate's)."""
    if not found:
        return 0, [], ""
    why = diagrams.unavailable()
    if why is None:
        verdicts, parsed, why = diagrams.parse([d.source for d in found], cache)
    if why is not None:
        first = min((d.file, d.line) for d in found)
        return len(found), [Diagnostic(
            first[0], first[1], 1, f"{len(found)} diagram{'s' * (len(found) != 1)} not parsed by Mermaid: {why}; "
            "only checked that each has text, a type Mermaid knows and no generator's marker",
            "", "install Chromium and Playwright to have Mermaid check them (see the README)",
            "mermaid-unchecked", "warning")], f"not parsed by Mermaid: {why}"
    problems = [parse_problem(d, verdicts[d.source]) for d in found if verdicts.get(d.source)]
    distinct = len(verdicts)
    return len(found), problems, f"{parsed} parsed by Mermaid {diagrams.MERMAID_VERSION}, {distinct - parsed} from cache"
