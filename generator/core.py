"""Shared types every stage speaks. A diagnostic is data until the CLI prints it.

Modelled on pydantic's error objects (a location, a type, a message) and on the
compiler form editors already know how to click: ``file:line:col: error: message``.
"""
from __future__ import annotations

import gc
import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator, NamedTuple


# What YAML does not allow in a document (PyYAML's and libyaml's readers, so MkDocs' front
# matter too): control characters but tab, line feed and carriage return, and U+FFFE, U+FFFF.
NOT_IN_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def html_block(html: str) -> str:
    """HTML that a Markdown engine passes through as one block, as the same HTML:

    * no blank line inside it (a blank line ends an HTML block): each newline before one is
      written as a character reference;
    * no line that starts with a backtick or a tilde: Python-Markdown's fence preprocessor runs
      before its HTML one, so such a line inside a ``<pre>`` (code, a diagram's source) would
      open a fence, whose ``{...}`` header becomes live attributes. The character is written as
      a reference, which reads the same in text and attributes."""
    html = re.sub(r"\n(?=[ \t]*(?:\n|$))", "&#10;", html.strip("\n"))
    return _LINE_START_FENCE.sub(lambda m: m.group(1) + _FENCE_CHARACTERS[m.group(2)], html)


_LINE_START_FENCE = re.compile(r"(\n[ \t]*)([`~])")
_FENCE_CHARACTERS = {"`": "&#96;", "~": "&#126;"}


def finditer_at(pattern: re.Pattern, text: str, character: str, offset: int = 0) -> Iterator[re.Match]:
    """What ``pattern.finditer(text)`` finds, for a pattern each of whose matches has ``character``
    at its ``offset``-th place (a footnote's '^', 1): the places are found by str.find, many times
    faster than the regex engine's own search where the character is rare."""
    at = text.find(character, offset)
    while at != -1:
        match = pattern.match(text, at - offset)
        if match is None:
            at = text.find(character, at + 1)
        else:
            yield match
            at = text.find(character, match.end() + offset)


# ``[[id]]`` or ``[[id|text]]`` in prose: read by validate (the links to check) and prose (the links to draw).
RECORD_LINK = r"\[\[([^\[\]\n|]+?)(?:\|([^\[\]\n]+?))?\]\]"
# ``[[cite:id]]`` or ``[[cite:a, b]]``: sources cited inline, numbered as the page's references.
CITATION = r"\[\[cite:([^\[\]\n|]+?)\]\]"


def citation_targets(text: str) -> list[str]:
    """The source ids of a citation's text: 'a, b' -> ['a', 'b']."""
    return [part.strip() for part in text.split(",") if part.strip()]


# The admonition types Material for MkDocs styles (``!!! note "Title"`` in prose).
ADMONITIONS = ("note", "abstract", "info", "tip", "success", "question", "warning", "failure", "danger",
               "bug", "example", "quote")


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the knowledge base, located as precisely as the stage can."""

    file: str
    line: int
    column: int
    message: str
    field: str = ""
    hint: str = ""
    code: str = "error"
    severity: str = "error"  # "error" stops a build; "warning" is shown and allowed

    def as_text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" [{self.field}]" if self.field else ""
        text = f"{where}: {self.severity}: {self.message}{field}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_github(self) -> str:
        message = self.message + (f" [{self.field}]" if self.field else "")
        if self.hint:
            message += f". Hint: {self.hint}"
        # GitHub workflow commands need %, CR and LF escaped in the message part.
        message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        props = f"file={_gh_prop(self.file)},line={self.line},col={self.column}"
        return f"::{self.severity} {props},title=kb {self.code}::{message}"


def _gh_prop(value: str) -> str:
    return (
        value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        .replace(":", "%3A").replace(",", "%2C")
    )


class KnowledgeBaseError(Exception):
    """Raised by the build when a stage reported errors; carries them all."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(diagnostics)
        super().__init__(format_text(self.diagnostics))


def errors_of(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.as_text() for d in sorted(diagnostics))


def format_github(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.as_github() for d in sorted(diagnostics))


# Ids a built page uses itself, which a heading's anchor must not take: Material's (``__config``,
# which its bundle reads, ``__drawer``, ``__toc``, ...), kb.js's and the drawings' (``kb-search``,
# ``kb-diagram-N`` and the ``dkb-``/``ikb-`` ids Mermaid's render() removes, ``kb-<key>``) and
# the references' (``ref-<id>``).
_PAGE_IDS = re.compile(r"__|kb-|dkb-|ikb-|ref-")


def safe_anchor(anchor: str) -> str:
    """A heading's anchor (as the table of contents made it), ``h-`` before it when it is one of
    the ids the page uses itself."""
    return "h-" + anchor if _PAGE_IDS.match(anchor) else anchor


def safe_slugify(value: str, separator: str) -> str:
    """Python-Markdown's toc slugify, then :func:`safe_anchor`: what an engine that runs no hook
    of ours is given in its configuration (generator/engines.py; page_hooks.on_config wraps
    whatever slugify mkdocs.yml names instead)."""
    from markdown.extensions.toc import slugify

    return safe_anchor(slugify(value, separator))


def safe_slugify_factory(**options):
    """:func:`safe_slugify`, for a configuration that names a factory of slugify functions
    (Zensical's ``slugify: {object: ..., kwds: ...}``)."""
    return safe_slugify


# Every code a diagnostic may carry, by stage, and what it means: the README's table of codes is
# this one (tests/test_cli.py checks both that and that the generator gives no other code).
CODES = {
    # loading a file
    "yaml": "the file is not valid YAML, or uses what records do not allow (a key that is not text, anchors and aliases)",
    "duplicate-key": "a key written twice in one mapping",
    "tag": "a YAML tag such as `!!str`",
    "depth": "values nested deeper than any record needs",
    "character": "a control character or noncharacter in a text",
    "number": "a number too long or too large to read, or not finite",
    "encoding": "the file is not UTF-8",
    "empty": "the file is empty",
    "size": "the file is larger than a record may be",
    "front-matter": "a topic page without YAML front matter between `---` lines",
    "not-a-record": "the file holds something other than a mapping of fields",
    "layout": "a file outside the kind folders, or with the wrong extension for its kind",
    "file": "an entry that is not a readable regular file (a link, a pipe, a device, no permission)",
    "load": "a file that could not be loaded (the loader's default)",
    # validating a record's fields
    "id": "an id (or file name) that is not lowercase letters, digits and single hyphens, is `index`, "
          "or differs from the file name",
    "missing": "a required field is missing",
    "unknown-field": "a field the kind does not have",
    "choice": "a value not in the field's list of allowed values",
    "type": "a value of the wrong type (text for a number, a single value for a list, ...)",
    "date": "a value that is not a date of the required form",
    "url": "a value that is not a web address",
    "pattern": "a text that does not have the field's form",
    "range": "a number below or above the field's bounds",
    "length": "a text or list that is too short or too long",
    "invalid": "a value that breaks one of the record's rules (the message says which)",
    "directive": "a `[[table:...]]` or `[[diagram:...]]` line of a topic that is misplaced, unknown, "
                 "repeated or missing",
    "mermaid": "an editor's diagram that Mermaid cannot parse (its message, at the line it names), that is "
               "empty, or whose type Mermaid does not know",
    "mermaid-unchecked": "a warning: the diagrams were not parsed by Mermaid (no Chromium or Playwright here), "
                         "only checked for text, a known type and the generator's marker",
    "footnote": "a footnote `[^x]` without its note, a note never referred to, or a label other than "
                "letters, digits, `-` and `_`",
    "formula": "a formula (`$...$`, `$$...$$`) that cannot be drawn, or that holds a link, a style or HTML",
    "image": "an image without alt text, from another site, outside `content/images/`, missing, over 2 MiB, "
             "or not PNG, JPEG, GIF or WebP",
    "markup": "an article's Markdown that cannot be converted, or not in reasonable time: lists, quotes or notes "
              "nested over 256 columns deep, brackets of links that would scan over 3,000,000 characters",
    "admonition": "a `!!!` line whose type is not one the theme draws",
    "heading": "an article's heading whose anchor would be one the page uses itself (`#ref-<id>` of its references, "
               "`#kb-…` of its drawings)",
    # linking the records
    "duplicate-id": "two records with the same id (reported on both files)",
    "unknown-reference": "a field or `[[link]]` naming a record that does not exist",
    "wrong-kind": "a field naming a record of another kind than the field takes",
    "self-reference": "a record or page that refers to itself",
    "hierarchy-cycle": "records above one another in a circle (e.g. parent organizations)",
    # building the site (kb build)
    "locked": "another build of the same site is running",
    "drawing": "an editor's diagram that Mermaid did not finish drawing at build time in the time allowed "
               "(a reader's browser would hang on it too)",
    "os": "a file or folder the build cannot read or write (permissions, a full disk)",
    "mkdocs": "MkDocs failed to build the site",
    "engine": "another site engine could not be configured or run, or failed",
    "sanitize": "a built page that could not be read, checked or rewritten",
    "search": "Pagefind could not build the search index",
    "error": "any other problem (the default)",
}

# The version of `--format json`'s report, raised when a key is removed or renamed or changes
# meaning (new keys or codes may appear without it). Documented in the README's Command line.
JSON_FORMAT_VERSION = 1


def format_json(diagnostics: Iterable[Diagnostic], given: set[str] | None = None) -> str:
    """The JSON report; with ``given`` (files), each diagnostic says whether it is in one of
    them, and those come first."""
    items = [asdict(d) for d in sorted(diagnostics)]
    if given is not None:
        items = sorted(({**item, "given": item["file"] in given} for item in items), key=lambda i: not i["given"])
    return json.dumps({"format_version": JSON_FORMAT_VERSION, "errors": sum(d["severity"] == "error" for d in items),
                       "diagnostics": items}, indent=2, ensure_ascii=False)


@contextmanager
def gc_paused(promote: bool = False):
    """Pause Python's cyclic garbage collector while a stage builds its output.

    A stage makes many long-lived objects and no cycles: reference counting frees whatever it
    discards, and the collector would only walk the growing heap again and again, a third of
    `kb validate`'s time on 10,000 records (scripts/bench_validate.py). Usable as a decorator.

    ``promote``: what was made lives on (the checks' documents, records, prose and graph last
    as long as the run). On leaving, every object the collector tracks goes to its oldest
    generation unexamined (gc.freeze then gc.unfreeze, which move lists, not objects), rather
    than being walked as young when the collector next runs (0.2-0.3 s of `kb validate` on
    10,000 records). Only full collections look at them then, as they would have in the end.
    Objects someone froze on purpose stay frozen: then nothing is promoted.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if promote and not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def files_under(folder, prefix: str = "") -> Iterator[str]:
    """The path (relative, with /) of everything under ``folder`` that is not a folder itself: files,
    and links of any kind, which are not followed. A folder that is gone has nothing under it.
    (os.scandir knows an entry's type from the folder listing: at 10,000 pages, Path.rglob and a
    stat of each path cost a second.)"""
    try:
        listing = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with listing:
        for item in listing:
            if item.is_dir(follow_symlinks=False):
                yield from files_under(item.path, prefix + item.name + "/")
            else:
                yield prefix + item.name


def closest(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """Nearest spellings, for "did you mean" hints."""
    import difflib

    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)


class Spellings:
    """``closest`` over many names (every id of a base), asked for many words: difflib over
    10,000 ids for each of 200 broken references made a run with errors 6x slower than a clean
    one. The names are indexed by their letter triples once, when first asked; a word is
    compared only with the names sharing the most of its rarer triples, and each word once."""

    SHORTLIST = 16  # names compared in full with a word
    SMALL = 256  # fewer names than this: difflib over all of them

    def __init__(self, names: Iterable[str]):
        self.names = list(dict.fromkeys(names))
        self._index: dict[str, list[int]] | None = None
        self._asked: dict[str, list[str]] = {}

    def closest(self, word: str) -> list[str]:
        if word not in self._asked:
            self._asked[word] = closest(word, self._shortlist(word))
        return self._asked[word]

    def _shortlist(self, word: str) -> list[str]:
        if len(self.names) < self.SMALL:
            return self.names
        if self._index is None:
            self._index = {}
            for number, name in enumerate(self.names):
                for gram in _triples(name):
                    self._index.setdefault(gram, []).append(number)
        postings = sorted((self._index.get(gram, ()) for gram in _triples(word)), key=len)
        common = len(self.names) // 10  # a triple in a tenth of the names tells little
        postings = [p for p in postings if len(p) <= common] or postings[:1]
        shared: dict[int, int] = {}
        for posting in postings:
            for number in posting:
                shared[number] = shared.get(number, 0) + 1
        best = sorted(shared, key=lambda number: -shared[number])[: self.SHORTLIST]
        return [self.names[number] for number in best]


def _triples(name: str) -> set[str]:
    padded = f" {name} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


Path_ = tuple  # a path of keys and list indexes, like pydantic's ``loc``


@dataclass
class SourceDocument:
    """One record file as loaded: its data plus where each value sits in the file."""

    kind: str
    record_id: str
    path: str
    data: dict | None  # None: the file did not load (load reported why); its id still exists
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    number_texts: dict[Path_, str] = field(default_factory=dict)
    body: str | None = None
    body_line: int = 0
    # paths of the texts written as literal blocks ('|'): line n of such a text is the file's
    # line after its '|' plus n - 1 (a Mermaid error names the line of the diagram)
    literals: set[Path_] = field(default_factory=set)

    def position(self, path: Iterable) -> tuple[int, int]:
        """Line and column of the value at ``path``, or of its nearest located parent."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def key_position(self, path: Iterable) -> tuple[int, int]:
        path = tuple(path)
        return self.key_positions.get(path) or self.position(path)

    def diagnostic(self, path: Iterable, message: str, hint: str = "", code: str = "error",
                   *, at_key: bool = False, severity: str = "error") -> Diagnostic:
        path = tuple(path)
        line, column = self.key_position(path) if at_key else self.position(path)
        return Diagnostic(self.path, line, column, message, dotted(path), hint, code, severity)


def dotted(path: Iterable) -> str:
    """('positions', 0, 'claim') -> 'positions[0].claim'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class ProseLink(NamedTuple):
    """``[[target]]`` or ``[[target|text]]`` written in a topic's prose; ``cite`` for each source
    of a ``[[cite:...]]``. A tuple: an article holds dozens, a base hundreds of thousands."""

    target: str
    text: str | None
    line: int
    column: int
    cite: bool = False


@dataclass(frozen=True)
class Directive:
    """A line ``[[table:name]]`` or ``[[diagram:name]]``: data placed in the prose."""

    what: str
    name: str
    line: int


@dataclass
class Prose:
    blocks: list  # Markdown text (str) and Directive, in page order
    links: list[ProseLink]


@dataclass
class Entry:
    """A validated record: the model instance, where it came from, its parsed prose, and the
    diagrams it holds that passed validation's own checks (diagram_check.Authored), for Mermaid
    to parse in the next stage."""

    kind: str
    record: Any
    document: SourceDocument
    prose: Prose | None = None
    diagrams: tuple = ()

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.display_name


@dataclass
class Rejected:
    """A record that exists but did not validate. Its references are checked all the same (link),
    so that one run reports every error of the record: from the model instance when only its
    prose or id was at fault, else from what was written, leaving out the values under
    ``faults`` (paths into the data where validation already found an error)."""

    kind: str
    document: SourceDocument
    record: Any = None  # the model instance, when the fields themselves validated
    prose: Prose | None = None
    faults: frozenset = frozenset()
    diagrams: tuple = ()  # as an Entry's

    @property
    def id(self) -> str:
        return self.document.record_id


class Interrupted(BaseException):
    """A run told to stop (``pipeline.Run.stopping``) stops with this, between stages or in one that
    waits (Pagefind). A BaseException, so that no ``except Exception`` on its way swallows it."""
