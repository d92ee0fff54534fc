"""Stage 1, load: files on disk to plain records that remember where every value came from.

The YAML is parsed by libyaml (PyYAML's C parser, about 8.5x faster than the pure-Python
one) into nodes that carry line and column. We then build Python values from those nodes
ourselves instead of using PyYAML's constructor, because its YAML 1.1 rules change what an
editor wrote: ``on`` becomes ``True``, ``1.10`` becomes ``1.1``, a duplicate key silently
wins, and an alias bomb expands without limit. Here:

* only YAML 1.2 core scalars are resolved (``true``/``false``, ``null``, decimal numbers);
  everything else stays text, and the text of every plain number is kept so that a later
  stage can give back ``"1.10"`` where a field wants text;
* a number must be finite and short enough for ``int()`` (4,300 digits): ``1e400`` would be
  infinity, which JSON cannot hold;
* keys are always text; a duplicate key is an error naming both lines;
* aliases and tags are errors (each node is visited once, so a bomb costs nothing), tags on
  keys too: ``!!int abc`` would not be a number, ``!!null text`` would lose the text, and
  libyaml reads ``! '123'`` as the number 123;
* values nest at most MAX_DEPTH levels, and a file that might nest deep enough to crash
  libyaml's composer is measured on the parser's events before it is composed;
* every value's line and column is recorded under its path, e.g. ``("positions", 0, "claim")``.

Only regular files are read, each named ``<id>.yaml`` or ``<id>.md`` (the id is the whole
name before the suffix, so ``x.v2.yaml`` is not record ``x``). A symbolic link, to a file or a
folder, is an error and is not followed: it can point outside content/, so what a pull request
shows would not be what is built. A named pipe, socket or device is an error and is never
opened (a pipe would block the run); a file or folder that cannot be read is an error.
"""
from __future__ import annotations

import math
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import yaml
from yaml.cyaml import CParser
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from . import images
from .core import NOT_IN_YAML, Diagnostic, SourceDocument, dotted, gc_paused
from .kinds import KINDS, MARKDOWN, YAML, kind_for_folder, suffix_of
from .vocabulary import FILE as VOCABULARY_FILE

MAX_FILE_BYTES = 512 * 1024
MAX_DEPTH = 64
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

class _CoreSchemaParser(CParser, BaseResolver):
    """libyaml's parser with YAML 1.2 core-schema resolution instead of YAML 1.1's."""

    def resolve(self, kind, value, implicit):
        """BaseResolver.resolve for a resolver without path resolvers, as this one is: the parser
        asks it about every value of every file, and the general one took a tenth of loading."""
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG


_IMPLICIT = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$",
     list("-+0123456789.")),
]
for _tag, _pattern, _first in _IMPLICIT:
    _CoreSchemaParser.add_implicit_resolver(_tag, re.compile(_pattern), _first)

_STR, _BOOL, _NULL, _INT, _FLOAT = ("tag:yaml.org,2002:" + t for t in ("str", "bool", "null", "int", "float"))
_KEY_TAGS = frozenset((_STR, _BOOL, _NULL, _INT, _FLOAT))

# A tag as written at the start of a node, after an anchor if it has one. libyaml allows only
# these characters in an anchor's name, and a comment or a line break between the two.
_TAG = re.compile(r"(?:&[0-9A-Za-z_-]+(?:\s|#[^\n\r]*+)*+)?(![^\s,\[\]{}]*)")

# libyaml's composer recurses in C, one level per nested value, and takes the process down
# when the stack runs out: measured at about 24,000 levels on an 8 MiB stack (the main thread,
# and other threads by default), 6,200 on 2 MiB (glibc's thread stack when `ulimit -s` is
# unlimited; `kb serve` loads in a thread). A file that might nest deeper than _SCAN_ABOVE
# levels is measured on the parser's events first (see _may_nest_deep): a wide margin, and
# no normal record comes near it (of the 10,000 synthetic and the real records, the most has
# 35 brackets, and no line starts with more than 10 spaces or indicators).
_SCAN_ABOVE = 1000
_LONG_INDENT = re.compile("\n[ \t?:-]{%d}" % (_SCAN_ABOVE // 4))
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")  # line breaks to libyaml besides "\n"
_LIBYAML_LINES = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # the lines libyaml's marks count


class _LoadError(Exception):
    def __init__(self, line: int, column: int, message: str, hint: str = "", field_: str = "",
                 code: str = "yaml"):
        super().__init__(message)
        self.line, self.column, self.message, self.hint, self.field = line, column, message, hint, field_
        self.code = code


def _too_deep(line: int, column: int) -> _LoadError:
    return _LoadError(line, column, f"values are nested more than {MAX_DEPTH} levels deep",
                      "a record's fields nest a few levels at most: close the brackets or "
                      "indentation opened above", code="depth")


def _mark(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# The paths and the (line, column) positions of the values, one tuple for each that is the same:
# records of a kind share a few hundred paths and a few thousand positions, so that 10,000 records
# hold 7,000 tuples instead of 700,000: 40 MB less (a check of them peaks at 292 MB, not 331), and
# as many objects fewer for the collector. Emptied when it grows large (a base of unusual files).
_SHARED: dict[tuple, tuple] = {}
_SHARED_MAX = 100_000


class _Builder:
    """Turns a node tree into Python values, recording positions; each node once."""

    def __init__(self, text: str, line_offset: int):
        self.line_offset = line_offset
        # Nodes already built, to catch an alias (the same node again). Without an '&' in the
        # text there is no anchor, so no alias: most files skip the bookkeeping.
        self.seen: set[int] | None = set() if "&" in text else None
        # libyaml refuses control characters written as they are, but not written as escapes
        # ("\x7f", "\u0085") in a double-quoted text: only a text with a backslash can hold one.
        self.escapes = "\\" in text
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.key_positions: dict[tuple, tuple[int, int]] = {}
        self.number_texts: dict[tuple, str] = {}
        self.literals: set[tuple] = set()  # texts written as '|' blocks: their lines are the file's
        self.errors: list[_LoadError] = []
        if len(_SHARED) > _SHARED_MAX:
            _SHARED.clear()

    def where(self, node) -> tuple[int, int]:
        line, column = _mark(node)
        return line + self.line_offset, column

    def build(self, node, path: tuple = (), depth: int = 0) -> Any:
        # The hot loop of loading (every value of every file): positions are worked out inline.
        seen = self.seen
        if seen is not None:
            if id(node) in seen:
                line, column = self.where(node)
                raise _LoadError(line, column,
                                 "YAML anchors and aliases are not supported: this value is reused "
                                 f"by an alias at {dotted(path) or 'the top level'}",
                                 "write the value out in full where it is needed", dotted(path))
            seen.add(id(node))
        if depth > MAX_DEPTH:
            raise _too_deep(*self.where(node))
        mark = node.start_mark
        where = (mark.line + 1 + self.line_offset, mark.column + 1)
        self.positions[path] = _SHARED.setdefault(where, where)
        if isinstance(node, ScalarNode):
            if node.tag != _STR:
                return self.scalar(node, path)
            if self.escapes and NOT_IN_YAML.search(node.value):
                raise self.unprintable(node, path)
            if node.style == "|":
                self.literals.add(path)
            return node.value
        depth += 1
        if isinstance(node, SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                item_path = path + (i,)
                items.append(self.build(item, _SHARED.setdefault(item_path, item_path), depth))
            return items
        result: dict[str, Any] = {}
        key_positions = self.key_positions
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _KEY_TAGS:
                line, column = self.where(key_node)
                raise _LoadError(line, column, "a key must be plain text", "", dotted(path))
            if seen is not None:
                if id(key_node) in seen:
                    line, column = self.where(key_node)
                    raise _LoadError(line, column, "YAML anchors and aliases are not supported")
                seen.add(id(key_node))
            key = key_node.value
            key_path = path + (key,)
            key_path = _SHARED.setdefault(key_path, key_path)
            mark = key_node.start_mark
            where = (mark.line + 1 + self.line_offset, mark.column + 1)
            where = _SHARED.setdefault(where, where)
            if key in result:
                self.errors.append(_LoadError(
                    where[0], where[1],
                    f"duplicate key '{key}': it is already set on line {key_positions[key_path][0]}",
                    "keep one of the two; YAML would silently keep only the last",
                    dotted(key_path), "duplicate-key"))
                continue
            key_positions[key_path] = where
            result[key] = self.build(value_node, key_path, depth)
        return result

    def unprintable(self, node: ScalarNode, path: tuple) -> "_LoadError":
        character = NOT_IN_YAML.search(node.value).group()
        line, column = self.where(node)
        return _LoadError(line, column, f"the text holds the character U+{ord(character):04X} (a control character or a noncharacter), "
                          "which no page or export can show", "remove the escape that writes it",
                          dotted(path), "character")

    def scalar(self, node: ScalarNode, path: tuple) -> Any:
        # Only the resolver's tags get here (see _TagRefusingBuilder): null, bool, numbers.
        tag, text = node.tag, node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        self.number_texts[path] = text
        if tag == _INT:
            try:
                return int(text)
            except ValueError:  # longer than int() accepts (sys.get_int_max_str_digits())
                line, column = self.where(node)
                raise _LoadError(line, column, f"a number of {len(text.lstrip('+-')):,} digits is "
                                 "too long to read", "put it in quotes if it is text",
                                 dotted(path), "number") from None
        value = float(text)
        if math.isinf(value):
            line, column = self.where(node)
            raise _LoadError(line, column, f"{text} is too large for a number: it would be infinite",
                             "write a smaller number, or put it in quotes if it is text",
                             dotted(path), "number")
        if value == 0 and re.search(r"[1-9]", text.split("e")[0].split("E")[0]):
            line, column = self.where(node)  # 1e-400: too small to hold, it would read as 0
            raise _LoadError(line, column, f"{text} is too small for a number: it would be 0",
                             "write 0, or a larger number, or put it in quotes if it is text",
                             dotted(path), "number")
        return value


class _TagRefusingBuilder(_Builder):
    """A _Builder that first refuses every node written with a tag. Every tag is written with a
    '!', so only a file with one in it needs this, and the others pay nothing in the hot loop."""

    def __init__(self, text: str, line_offset: int):
        super().__init__(text, line_offset)
        self.text = text

    def build(self, node, path: tuple = (), depth: int = 0) -> Any:
        self.refuse_tag(node, path)
        if isinstance(node, MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, ScalarNode):
                    self.refuse_tag(key_node, path + (key_node.value,))
        return super().build(node, path, depth)

    def refuse_tag(self, node, path: tuple) -> None:
        """Raise if the node is written with a tag. The node's tag cannot tell: libyaml gives
        ``! 123`` the tag of ``123``. But a node with a tag starts with it (or with an anchor
        and then the tag), and nothing else starts with '!' or '&'."""
        start = node.start_mark.index  # in characters of the text
        if not self.text.startswith(("!", "&"), start):
            return
        if isinstance(node, MappingNode) and node.value and node.value[0][0].start_mark.index == start:
            return  # a block mapping starts where its first key does: the tag is the key's
        tag = _TAG.match(self.text, start)
        if tag is not None:
            line, column = self.where(node)
            raise _LoadError(line, column, f"YAML tags such as '{tag[1]}' are not supported",
                             "remove the tag; write the value plainly, in quotes if it is text",
                             dotted(path), "tag")


def _may_nest_deep(text: str) -> bool:
    """Whether the values might nest more than about _SCAN_ABOVE levels; never False when they
    do, and a few passes over the text in C, so every file can afford it.

    Flow nesting takes a '[' or '{' per level. Block nesting takes node-start columns that grow
    at least every second level (a sequence may sit at its key's column), and a block collection
    starts on its line after nothing but indentation and the indicators '- ', '? ' and ': '
    (libyaml refuses ``- k: - x`` and ``- &a - x``): with fewer than _SCAN_ABOVE / 4 such
    characters at the start of every line, block nesting stays under _SCAN_ABOVE / 2 levels.
    """
    if text.count("[") + text.count("{") >= _SCAN_ABOVE // 2:
        return True
    if "\r" in text or "\x85" in text or "\u2028" in text or "\u2029" in text:
        text = _OTHER_BREAKS.sub("\n", text)
    return _LONG_INDENT.search("\n" + text) is not None


def _refuse_deep_nesting(text: str, line_offset: int) -> None:
    """Raise where the values first nest more than MAX_DEPTH levels, read off the parser's
    events: libyaml parses in a loop, so this is safe at any depth and stops right there."""
    parser = _CoreSchemaParser(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise _too_deep(mark.line + 1 + line_offset, mark.column + 1)
                depth += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # the parse that follows reports it, and composes no deeper than this got
    finally:
        parser.dispose()


_HIDDEN_BREAK = re.compile("[\x85\u2028\u2029]|\r(?!\n)")
_BREAK_NAMES = {"\x85": "U+0085 (next line)", "\u2028": "U+2028 (line separator)",
                "\u2029": "U+2029 (paragraph separator)", "\r": "a carriage return with no line feed after it"}


def _refuse_hidden_line_breaks(text: str, line_offset: int) -> None:
    """YAML breaks lines at NEL, LS, PS and a lone CR, which most editors show as nothing or as
    part of a line: the text would change (a plain text gets a line break) and every line number
    after it would differ from the editor's. Where one is, as the editor counts lines."""
    if "\r" not in text and "\x85" not in text and "\u2028" not in text and "\u2029" not in text:
        return  # the common case, 50 times faster than the search
    found = _HIDDEN_BREAK.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start())
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1)
    raise _LoadError(line + 1 + line_offset, column + 1, f"the text holds {_BREAK_NAMES[found.group()]}, which "
                     "YAML reads as a line break though most editors do not show one",
                     "replace it with a space, or with a real line break", "", "character")


def parse_yaml(text: str, line_offset: int = 0) -> tuple[Any, _Builder]:
    """Parse one YAML document; raise _LoadError for anything an editor must fix."""
    if _may_nest_deep(text):
        _refuse_deep_nesting(text, line_offset)
    _refuse_hidden_line_breaks(text, line_offset)
    parser = _CoreSchemaParser(text)
    try:
        node = parser.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, line_offset) from None
    except yaml.YAMLError as exc:
        raise _LoadError(1 + line_offset, 1, f"YAML error: {exc}") from None
    finally:
        parser.dispose()
    builder = (_TagRefusingBuilder if "!" in text else _Builder)(text, line_offset)
    if node is None:
        return None, builder
    return builder.build(node), builder


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, line_offset: int) -> _LoadError:
    """libyaml's complaint in an editor's words: where it broke, where what broke was opened
    (a bracket, a list, a text), and the fix. What is not recognised keeps libyaml's words."""
    explained = _explain(exc, _LIBYAML_LINES.split(text), line_offset)
    if explained is not None:
        (line, column), message, hint = explained
        return _LoadError(line + 1 + line_offset, column + 1, f"YAML syntax error: {message}", hint)
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    hint = ""
    opened = exc.context_mark if exc.context and exc.problem else None
    if opened is not None and (opened.line, opened.column) != (mark.line, mark.column):
        hint = f"the parser was {exc.context.removeprefix('while ')} that starts on line " \
               f"{opened.line + 1 + line_offset}, column {opened.column + 1}"
    line = (mark.line + 1 if mark else 1) + line_offset
    column = mark.column + 1 if mark else 1
    return _LoadError(line, column, f"YAML syntax error: {problem}", hint)


def _explain(exc: yaml.MarkedYAMLError, lines: list[str], offset: int) -> tuple[tuple[int, int], str, str] | None:
    """((line, column) from 0 in the parsed text, message, hint) for the slips editors make, or
    None. The lines the words name are the file's (``offset``: the front matter's first line - 1)."""
    problem, context = exc.problem or "", exc.context or ""
    at, opened = exc.problem_mark, exc.context_mark
    if at is None:
        return None
    while lines and at.line >= len(lines) - 1 and not lines[-1].strip() and len(lines) > 1:
        lines = lines[:-1]  # a final line break: libyaml's end of the file is on no line of it
    at_end = at.line >= len(lines) or (at.line == len(lines) - 1 and at.column >= len(lines[-1].rstrip()))
    if at.line >= len(lines):  # the end of the file: say so, and point at its last character
        at = yaml.Mark(at.name, at.index, len(lines) - 1, len(lines[-1]), None, None)
    here = (at.line, at.column)
    line = lines[at.line]

    def n(row: int) -> int:
        """A line as the editor counts it in the file."""
        return row + 1 + offset

    number = n(at.line)

    def indent(text: str) -> int:
        return len(text) - len(text.lstrip(" "))

    def spaces(count: int) -> str:
        return f"{count} space" + ("" if count == 1 else "s")

    def fields_column(text: str) -> int:
        """Where the fields of a line start: after its '- ' markers (a list item's fields sit there)."""
        rest = text.lstrip(" ")
        column = len(text) - len(rest)
        while rest.startswith("- "):
            stripped = rest[2:].lstrip(" ")
            column += len(rest) - len(stripped)
            rest = stripped
        return column

    def like(row: int) -> str:
        whose = "the fields of " if lines[row].lstrip().startswith("- ") else ""
        return f"indent it like {whose}line {n(row)} ({spaces(fields_column(lines[row]))})"

    def goes_on() -> tuple:
        return here, f"line {number} goes on after its value: '{line[at.column:].strip()}'", \
            "remove what follows the value, or put the whole value in quotes"

    def in_flow(column: int) -> bool:
        """Whether ``column`` of the line is inside a '[...]' or '{...}' opened on it."""
        unquoted = re.sub(r'"[^"]*"|\'[^\']*\'', lambda m: " " * len(m.group(0)), line[:column])
        return unquoted.count("[") + unquoted.count("{") > unquoted.count("]") + unquoted.count("}")

    def above(row: int) -> int | None:
        """The nearest line above ``row`` that holds something (0-based), or None."""
        return next((r for r in range(min(row, len(lines)) - 1, -1, -1)
                     if lines[r].strip() and not lines[r].lstrip().startswith("#")), None)

    if "\t" in problem or "tab" in problem or (problem == "found character that cannot start any token"
                                                and line[at.column:at.column + 1] == "\t"):
        return here, "a tab character in the indentation", \
            "indent with spaces; YAML does not allow tab characters for indentation"
    if "expected a single document" in context + problem:
        return here, "a record file holds one YAML document", "remove the extra '---' line"
    if "end of stream" in problem and opened is not None and "quoted" in context:
        quote = lines[opened.line][opened.column:opened.column + 1] if opened.line < len(lines) else '"'
        return (opened.line, opened.column), f"the text in quotes ({quote}) that starts here is never closed", \
            f"end the text with {quote} (inside it, write {quote * 2 if quote == chr(39) else chr(92) + quote} " \
            f"for a {quote} that is part of the text)"
    if problem == "did not find expected node content" and at_end:
        opener = _last_unclosed(lines)
        if opener is not None:
            bracket = lines[opener[0]][opener[1]]
            closer, what = ("]", "list") if bracket == "[" else ("}", "set of fields")
            return opener, f"the {what} opened with '{bracket}' here is not closed: the file ends before its " \
                f"'{closer}'", f"close it with '{closer}' at the end of line {n(opener[0])}"
    if problem.startswith("did not find expected ','") and opened is not None:
        bracket, closer, what = ("[", "]", "list") if "sequence" in context else ("{", "}", "set of fields")
        if at.line > opened.line or at_end:  # where it opened, which is where to fix it; where it broke in the words
            # its last item: the last line before the break that is indented under the opening one
            row = at.line if at_end and lines[at.line].strip() else above(at.line)
            while row is not None and row > opened.line and indent(lines[row]) <= indent(lines[opened.line]):
                row = above(row)
            last = opened.line if row is None or row < opened.line else row
            return (opened.line, opened.column), f"the {what} opened with '{bracket}' here is not closed: " + (
                "the file ends before its" if at_end else f"line {number} comes before its") + f" '{closer}'", \
                f"close it with '{closer}' at the end of line {n(last)}" + (
                    ", or write one '- item' per line below the field" if closer == "]" else "")
        return here, f"a {what} item on line {number} is not plain text", \
            f"put an item that contains ':', ',', '[', ']', '{{' or '}}' in quotes"
    if problem == "mapping values are not allowed in this context":
        key, colon, value = line.partition(": ")
        if colon and ": " in value and not value.lstrip().startswith(("'", '"')):
            value, hash_, comment = value.partition(" #")  # a comment stays a comment, after the quotes
            written = value.strip().replace("\\", "\\\\").replace('"', '\\"')
            return here, f"the text on line {number} contains ': ', which YAML reads as a second field", \
                f'put the text in quotes: {key.strip()}: "{written}"' + (f" #{comment}" if hash_ else "")
        row = above(at.line)
        if row is not None and indent(line) > indent(lines[row]):
            return (at.line, indent(line)), f"line {number} is indented under line {n(row)}, whose value is a " \
                f"text, not fields", f"{like(row)}, or quote a text that contains ': '"
        return here, f"the text on line {number} contains ': ', which YAML reads as a field", \
            "put the text in quotes"
    if problem == "could not find expected ':'" and opened is not None and "simple key" in context \
            and re.match(r"\s*(- )*[\w-]+:\S", lines[opened.line] if opened.line < len(lines) else ""):
        row = opened.line
        return (row, lines[row].index(":") + 1), f"line {n(row)} has no space after the ':' of its field", \
            "put a space after the ':' (field: value)"
    if problem == "could not find expected ':'" and opened is not None and "simple key" in context:
        row = above(opened.line)
        return (opened.line, opened.column), f"line {n(opened.line)} is neither a field ('name: value') nor part " \
            f"of the text above it", (f"indent it more than line {n(row)} to continue that text, or " if row is not None
                                      else "") + "write it as 'field: value'"
    if problem == "did not find expected '-' indicator" and opened is not None:
        if at.column > indent(line):  # the line is in line; something follows its value
            return goes_on()
        row = above(at.line)
        return (at.line, indent(line)), f"line {number} is out of line with the list that starts on line " \
            f"{n(opened.line)}", (f"{like(row)}, or " if row is not None and row != opened.line - 1 else "") + \
            f"start a new item with '- ' at column {opened.column + 1}"
    if problem == "did not find expected key":
        start = indent(line)
        if at.column > start:  # mid-line: something after a value that ended
            before = line[:at.column].rstrip()
            if before.endswith(("'", '"')):
                return here, f"text goes on after the closing quote on line {number}", \
                    "put the whole value in quotes; inside '...' write '' for an apostrophe, inside \"...\" write \\\""
            return goes_on()
        if line.lstrip().startswith("- "):
            row = above(at.line)
            if row is not None and lines[row].lstrip().startswith("- ") and indent(lines[row]) != start:
                return (at.line, start), f"list item on line {number} is indented {spaces(start)}, the one above " \
                    f"{spaces(indent(lines[row]))}", f"indent it like line {n(row)} ({spaces(indent(lines[row]))})"
            return (at.line, start), f"a '- ' list item on line {number} stands among fields", \
                "indent it under the field it belongs to (e.g. 'tags:'), or remove the '- '"
        row = above(at.line)
        if row is not None and not line.lstrip().startswith(":"):
            return (at.line, start), f"line {number} is indented {spaces(start)}, out of line with the fields " \
                f"around it", like(row)
    if problem == "block sequence entries are not allowed in this context":
        if not line[:at.column].rstrip().endswith(":"):
            return goes_on()
        key = line[:at.column].rstrip().removesuffix(":").strip()
        return here, f"'- ' after '{key}:' on the same line starts a list there", \
            f"put the text in quotes ({key}: \"{line[at.column:].strip()}\"), or write each item on its own line " \
            f"below '{key}:'"
    if problem in ("found character that cannot start any token", "found undefined alias"):
        character = line[at.column:at.column + 1]
        value = line[at.column:].strip()
        if in_flow(at.column):  # one item of a [...] or {...}: up to the next ',' or closing bracket
            value = re.split(r"[,\]}]", value, maxsplit=1)[0].strip()
        elif at.column > 0 and line[:at.column].rstrip().endswith(("]", "}")):
            return goes_on()
        return here, f"a text cannot start with '{character}' unless it is in quotes", \
            f"put the value in quotes: \"{value}\""
    return None


def _last_unclosed(lines: list[str]) -> tuple[int, int] | None:
    """(line, column) of the last '[' or '{' that no bracket closes, quotes and comments aside."""
    stack: list[tuple[int, int]] = []
    for row, text in enumerate(lines):
        quote = None
        for column, character in enumerate(text):
            if quote:
                quote = None if character == quote else quote
            elif character in "'\"" and (column == 0 or text[column - 1] in " [{,:"):
                quote = character
            elif character == "#" and (column == 0 or text[column - 1] == " "):
                break
            elif character in "[{":
                stack.append((row, column))
            elif character in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def split_front_matter(text: str) -> tuple[str, int, str, int] | None:
    """Split a Markdown page into (front matter, its first line, body, body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]), 2, "\n".join(lines[index + 1:]), index + 2
    return None


def load_file(path: Path, display: str, kind: str) -> tuple[SourceDocument | None, list[Diagnostic]]:
    """Load one record file; never raises for bad input, returns diagnostics instead."""
    suffix = suffix_of(path.name) or YAML
    record_id = path.name.removesuffix(suffix)  # all of it: x.v2.yaml is not x

    def fail(line: int, column: int, message: str, hint: str = "", field_: str = "", code: str = "load"):
        return Diagnostic(display, line, column, message, field_, hint, code)

    try:
        # Not following a link, and not waiting for a writer should the file have become a
        # pipe since discover() saw a regular file: what it is now decides.
        fd = os.open(path, _OPEN_FLAGS)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, [_refused(display, path)]
            size = info.st_size
            if size > MAX_FILE_BYTES:
                return None, [fail(1, 1, f"file is {size:,} bytes; a record may be at most "
                                   f"{MAX_FILE_BYTES:,}", "split the record, or move long prose into a "
                                   "topic page", code="size")]
            raw = os.read(fd, size)
            while len(raw) < size and (more := os.read(fd, size - len(raw))):  # a short read
                raw += more
        finally:
            os.close(fd)
    except OSError as exc:
        return None, [_refused(display, path, exc)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [fail(line, column, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                           "save the file as UTF-8", code="encoding")]
    text = text.removeprefix("\ufeff")
    if "\r" in text:  # (a search for one character is many times faster than replace's for two)
        text = text.replace("\r\n", "\n")
    unseen = _unseen_character(raw, text)
    if unseen is not None:
        line, column, character = unseen
        return None, [fail(line, column, f"the file holds the character U+{ord(character):04X} (a control character "
                           "or a noncharacter), which editors do not show and pages cannot hold",
                           "delete it (retype the text around it if you cannot see where it is)", code="character")]
    if suffix == MARKDOWN and "\r" in text:  # YAML files say so in parse_yaml
        at = text.index("\r")
        return None, [fail(text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1,
                           "the file holds a carriage return with no line feed after it (old Mac line ends)",
                           "save the file with Unix (LF) or Windows (CRLF) line ends", code="character")]
    if not text or text.isspace():  # (as 'not text.strip()', without copying the text)
        hint = f"run `kb new {kind} \"Name\"` for a template" if kind in KINDS else "write its fields, or delete it"
        return None, [fail(1, 1, "file is empty", hint, code="empty")]
    what_file = "a record" if kind in KINDS else f"the {kind} file"

    body, body_line, offset = None, 0, 0
    yaml_text = text
    if suffix == MARKDOWN:
        parts = split_front_matter(text)
        if parts is None and text.split("\n", 1)[0].rstrip() == "---":
            return None, [fail(1, 1, "the front matter opened on line 1 is never closed by a '---' line",
                               "end the record's fields with a line '---', then write the article",
                               code="front-matter")]
        if parts is None:
            return None, [fail(1, 1, "a Markdown record must start with YAML front matter between '---' lines",
                               "put the record's fields between a first line '---' and a closing '---', "
                               "then the article", code="front-matter")]
        yaml_text, first, body, body_line = parts
        offset = first - 1
    try:
        data, builder = parse_yaml(yaml_text, offset)
    except _LoadError as exc:
        return None, [fail(exc.line, exc.column, exc.message, exc.hint, exc.field, exc.code)]
    problems = [fail(e.line, e.column, e.message, e.hint, e.field, e.code) for e in builder.errors]
    if not isinstance(data, dict):
        what = "nothing" if data is None else ("a list" if isinstance(data, list) else "a single value")
        line = offset + 1
        return None, problems + [fail(line, 1, f"{what_file} must be a mapping of fields, found {what}",
                                      "write one 'field: value' per line" + (", starting with 'id:'" if kind in KINDS
                                                                              else ""), code="not-a-record")]
    document = SourceDocument(kind, record_id, display, data, builder.positions,
                              builder.key_positions, builder.number_texts, body, body_line, builder.literals)
    return document, problems


# The bytes of a UTF-8 file that are not a control character: a file of only these holds none.
_SEEN_BYTES = b"\t\n\r" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))


def _unseen_character(raw: bytes, text: str) -> tuple[int, int, str] | None:
    """(line, column, character) of the first character of ``text`` that YAML refuses and a
    page cannot hold (``NOT_IN_YAML``: a control character, a noncharacter), in the front
    matter or the article; libyaml's own error names no line. ``raw`` is the file's bytes: a
    C0 control or DEL is a byte of its own in UTF-8, and the others (C1 controls, U+FFFE,
    U+FFFF) start with 0xC2 or 0xEF 0xBF, so most files are let through by two C searches."""
    if not raw.translate(None, _SEEN_BYTES) and b"\xc2" not in raw and b"\xef\xbf" not in raw:
        return None
    found = NOT_IN_YAML.search(text)
    if found is None:
        return None
    at = found.start()
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1, found.group()


def discover(root: Path) -> tuple[list[tuple[Path, str, str]], list[Diagnostic]]:
    """Every record file under a content root, with its kind and its name as shown to the
    editor; stray files, links and what is not a regular file are errors."""
    found: list[tuple[Path, str, str]] = []
    # Resolving each file against the working folder cost more than parsing it: do it once.
    base = display_path(root)
    base = "" if base == "." else base + "/"
    files, problems = _files_under(root, base)
    problems = [p for p in problems if p.file != base + VOCABULARY_FILE]  # load_vocabulary says why
    for parts in files:
        path = root.joinpath(*parts)
        display = base + "/".join(parts)
        if len(parts) >= 2 and parts[0] == images.FOLDER:  # an image prose may show: not a record
            try:
                size = path.stat().st_size
            except OSError as exc:
                problems.append(_refused(display, path, exc))
                continue
            problem = images.file_problem("/".join(parts[1:]), size)
            if problem is not None:
                problems.append(Diagnostic(display, 1, 1, problem[0], "", problem[1], "image"))
            continue
        kind = kind_for_folder(parts[0]) if len(parts) == 2 else None
        if parts == (VOCABULARY_FILE,):
            continue  # the base's vocabulary: load_vocabulary
        if kind is None:
            folders = ", ".join(f"{k.folder}/" for k in KINDS.values())
            problems.append(Diagnostic(display, 1, 1, "file is outside the kind folders",
                                       "", f"records live in {root.name}/<kind>/<id>: one of {folders}; "
                                       f"images in {root.name}/{images.FOLDER}/",
                                       "layout"))
            continue
        if suffix_of(path.name) is None:
            expected = KINDS[kind].suffix
            problems.append(Diagnostic(display, 1, 1,
                                       f"a {KINDS[kind].singular} record must be a '.yaml' or '.md' file",
                                       "", f"rename it to {path.name.split('.')[0]}{expected} (an article is "
                                       f"<id>.md: the fields as front matter, then the text)", "layout"))
            continue
        found.append((path, kind, display))
    return found, problems


def _files_under(root: Path, base: str) -> tuple[list[tuple[str, ...]], list[Diagnostic]]:
    """Relative parts of every regular file under root, sorted, hidden files and folders left
    out; anything else found is a diagnostic, neither followed nor opened. os.walk would skip a
    linked or unreadable folder without a word; os.scandir tells each entry's type from the
    folder listing, without a stat per file."""
    files: list[tuple[str, ...]] = []
    problems: list[Diagnostic] = []
    folders: list[tuple[str, ...]] = [()]
    while folders:
        relative = folders.pop()
        try:
            with os.scandir(root.joinpath(*relative)) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    parts = relative + (entry.name,)
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(parts)
                    elif entry.is_file(follow_symlinks=False):
                        files.append(parts)
                    else:
                        problems.append(_refused(base + "/".join(parts), entry.path))
        except OSError as exc:
            if relative or not isinstance(exc, FileNotFoundError):  # a missing root: no content
                display = (base + "/".join(relative)).rstrip("/") or "."
                problems.append(_refused(display, root.joinpath(*relative), exc))
    return sorted(files), problems


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _refused(display: str, path: str | Path, error: OSError | None = None) -> Diagnostic:
    """Why an entry of the content tree is not read: it is a link, it is not a regular file,
    or reading it failed with ``error``. Looks at the entry itself (lstat), never opens it."""
    try:
        mode = os.lstat(path).st_mode
        target = os.readlink(path) if stat.S_ISLNK(mode) else ""
    except OSError as exc:
        mode, target, error = 0, "", error or exc
    if stat.S_ISLNK(mode):
        what = "folder" if os.path.isdir(path) else "file"
        message = f"symbolic link to '{target}': links are not followed"
        hint = (f"replace the link with the {what} itself: a link can point outside the content "
                "folder, so what a pull request shows would not be what is built")
    elif error is not None:
        message = f"cannot be read: {error.strerror}"
        hint = "let the user running kb read it (chmod a+r; a folder needs a+rx)"
    else:
        what = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "this entry")
        message = f"{what} is not a record: only regular files are read"
        hint = "remove it; a record is a file content/<kind>/<id>.yaml"
    return Diagnostic(display, 1, 1, message, "", hint, "file")


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_vocabulary(root: Path) -> tuple[SourceDocument | None, bool, list[Diagnostic]]:
    """The base's vocabulary file (content/vocabulary.yaml) as loaded, if there is one: (the
    document, whether a file was there but did not load, its problems)."""
    path = Path(root) / VOCABULARY_FILE
    if not os.path.lexists(path):
        return None, False, []
    base = display_path(Path(root))
    display = ("" if base == "." else base + "/") + VOCABULARY_FILE
    try:
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError as exc:
        return None, True, [_refused(display, path, exc)]
    if not regular:
        return None, True, [_refused(display, path)]
    document, problems = load_file(path, display, "vocabulary")
    if document is None and all(p.code == "empty" or p.message.endswith("found nothing") for p in problems):
        return None, False, []  # nothing but comments: every list keeps its defaults
    return document, document is None, problems


# A file changed this recently may change again within the same tick of its clock, keeping its
# size and times: it is read again next time (as git treats a "racily clean" file).
RACY_NS = 2_000_000_000


@gc_paused()
def load(root: Path, kept: dict | None = None) -> tuple[list[SourceDocument], list[Diagnostic]]:
    """Stage entry point: the whole content root.

    ``kept`` (kb serve's reloads): what the load before made of each file, updated here; a file
    whose size, modification and change times and inode are as they were then is not read again."""
    files, problems = discover(root)
    documents = []
    started = time.time_ns()
    now: dict = {}
    for path, kind, display in files:
        key = None
        if kept is not None:
            try:
                info = os.lstat(path)
                key = (kind, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            except OSError:
                pass
        if key is not None and kept.get(display, (None,))[0] == key:
            _, document, file_problems = kept[display]
        else:
            document, file_problems = load_file(path, display, kind)
            if document is None:  # its errors are reported; the record still exists for references
                document = SourceDocument(kind, path.name.removesuffix(suffix_of(path.name) or YAML), display, None)
        if key is not None and started - max(key[2], key[3]) > RACY_NS:
            now[display] = (key, document, file_problems)
        problems.extend(file_problems)
        documents.append(document)
    if kept is not None:
        kept.clear()
        kept.update(now)
    return documents, problems
