"""Stage 2, validate: loaded documents to typed records, each fault located in its file.

pydantic does the checking; this module translates its error objects into diagnostics an
editor can act on: the file, the line and column of the offending value (from the loader's
position table), the field path, and a hint of what to write instead.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from . import diagram_check, formulas, images, processes
from .core import (ADMONITIONS, Diagnostic, Directive, Entry, Prose, ProseLink, Rejected, SourceDocument,
                   citation_targets, closest, dotted, finditer_at, gc_paused)
from .kinds import KINDS, placed_field, placed_of, suffix_of, tables_of, value_at
from .models import SLUG_PATTERN, UNKNOWN
from .vocabulary import DEFAULT, FILE as VOCABULARY_FILE, Checked, Scales, Vocabulary, keys as vocabulary_keys

_SLUG = re.compile(SLUG_PATTERN)


@gc_paused()
def validate(documents: Iterable[SourceDocument], vocabulary: Checked = Checked(), kept: dict | None = None
             ) -> tuple[list[Entry], list[Rejected], list[Diagnostic]]:
    """Stage entry point: the records that validated, those that did not (link still checks
    their references), and the problems. Choices and scales are judged by ``vocabulary``.

    ``kept`` (kb serve's reloads): what the validation before made of each document, updated
    here; a document that load took as it was (the same object), judged by the same
    vocabulary, is not validated again, unless its article shows an image: whether the image
    is there is read from the content folder, not the document."""
    entries: list[Entry] = []
    rejected: list[Rejected] = []
    problems: list[Diagnostic] = []
    context = {"vocabulary": vocabulary}
    now: dict = {}
    documents = [document for document in documents if document.data is not None]  # else load said why
    reused = {}
    for document in documents:
        before = kept.get(document.path) if kept is not None else None
        if before is not None and before[0] is document and before[1] == vocabulary and not before[4]:
            reused[document.path] = before
    scans = _scan_articles([document for document in documents if document.path not in reused])
    for document in documents:
        if document.path in reused:
            entry, found = reused[document.path][2:4]
        else:
            entry, found = validate_document(document, context, scans.get(document.path))
        if kept is not None:  # (whether it shows images: the same document, the same answer)
            shows = reused[document.path][4] if document.path in reused else _shows_images(document)
            now[document.path] = (document, vocabulary, entry, found, shows)
        problems.extend(found)
        (entries if isinstance(entry, Entry) else rejected).append(entry)
    if kept is not None:
        kept.clear()
        kept.update(now)
    return entries, rejected, problems


# From this many characters of articles, validate scans them in two processes
# (processes.split_map): at 10,000 records the scan was a quarter of validating.
ARTICLES_PARALLEL_FROM = 4_000_000


def _scan_articles(documents: list[SourceDocument]) -> dict[str, tuple]:
    """:func:`scan_prose` of each document that has an article, by path: in two processes when
    the articles are long enough together for the fork to pay. The scans need no record."""
    with_body = [document for document in documents if document.body is not None]
    parallel = sum(len(document.body) for document in with_body) >= ARTICLES_PARALLEL_FROM
    scans = processes.split_map(_scan, with_body, 0 if parallel else len(with_body) + 1)
    return {document.path: (_prose(document.body, pieces, links), problems, placed)
            for document, (pieces, links, problems, placed) in zip(with_body, scans)}


def validate_document(document: SourceDocument, context: dict | None = None, scan: tuple | None = None
                      ) -> tuple[Entry | Rejected, list[Diagnostic]]:
    """One document's record (an Entry, or Rejected) and its problems; ``scan``: the article's
    :func:`scan_prose`, when it was made already."""
    kind = KINDS[document.kind]
    problems = _check_id(document)
    record, model_problems, faults = _validate_model(kind.model, document, context)
    problems += model_problems
    prose = None
    if document.body is not None:  # a Markdown record: its article
        prose, prose_problems = parse_prose(document, record, scan)
        problems += prose_problems
    diagrams = []
    # (an article the converter could not read in time is not converted to find its diagrams)
    readable = not any(problem.code == "markup" for problem in problems)
    for diagram in diagram_check.authored(document, record, prose=readable):  # Mermaid's own parse is the next stage
        found = diagram_check.static_problems(diagram)
        problems += found
        if not found:
            diagrams.append(diagram)
    if record is None or problems:
        return Rejected(document.kind, document, record, prose, faults, tuple(diagrams)), problems
    return Entry(document.kind, record, document, prose, tuple(diagrams)), problems


def _shows_images(document: SourceDocument) -> bool:
    """Whether validating the document reads image files (its article names one: _check_features)."""
    return document.body is not None and "![" in document.body


def _check_id(document: SourceDocument) -> list[Diagnostic]:
    stem = document.record_id
    suffix = suffix_of(document.path) or KINDS[document.kind].suffix
    problems = []
    if not _SLUG.match(stem):
        problems.append(Diagnostic(document.path, 1, 1, f"file name '{stem}{suffix}' is not a valid id",
                                   "id", f"rename it to '{_slugify(stem)}{suffix}': lowercase letters, "
                                   "digits and single hyphens", "id"))
    elif stem == "index":
        problems.append(Diagnostic(document.path, 1, 1, f"the id 'index' is taken: {KINDS[document.kind].folder}/index "
                                   f"is the page that lists every record of the kind", "id",
                                   f"rename the file to a longer id, such as 'index-{document.kind}{suffix}'", "id"))
    record_id = document.data.get("id")
    # An id written as a number (id: 2024) becomes text in validation; compare that text.
    record_id = document.number_texts.get(("id",), record_id)
    if isinstance(record_id, str) and record_id != stem and _SLUG.match(record_id) and _SLUG.match(stem):
        problems.append(document.diagnostic(("id",), f"id '{record_id}' does not match the file name "
                                            f"'{stem}{suffix}'",
                                            f"rename the file to '{record_id}{suffix}' or set id: {stem}",
                                            "id"))
    return problems


def _slugify(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "record"


def _validate_model(model: type[BaseModel], document: SourceDocument, context: dict | None = None):
    """(the record or None, its problems, the paths into the data where they are)."""
    data = document.data
    try:
        return model.model_validate(data, context=context), [], frozenset()
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    # YAML turned an unquoted 1.10 into 1.1; where a field wants text, give back what was written.
    restored = _restore_number_texts(data, errors, document.number_texts)
    if restored is not data:
        try:
            return model.model_validate(restored, context=context), [], frozenset()
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
    # a broken rule (models.rule) faults no value: the references in its mapping are still checked;
    # a missing field faults no value written: the references beside it are still checked
    faults = frozenset(path for path in (_data_path(data, e["loc"]) for e in errors
                                         if e["type"] not in ("rule", "missing")) if path)
    return None, [_translate(error, model, document) for error in errors], faults


def _data_path(data: Any, loc: tuple) -> tuple:
    """The part of an error's location that names values in the data: pydantic puts the member
    of a union it tried in it too (``('sources', 'list[str]', 0)``), which the data does not have."""
    path = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _restore_number_texts(data: dict, errors: list[dict], texts: dict) -> dict:
    wanted = [tuple(e["loc"]) for e in errors
              if e["type"] == "string_type" and tuple(e["loc"]) in texts]
    for loc in wanted:
        data = _replaced(data, loc, texts[loc])
    return data


def _replaced(data: Any, loc: tuple, value: Any) -> Any:
    """A copy of ``data`` with the value at ``loc`` replaced; only the containers on the way
    are copied (a deep copy of the whole record cost more than validating it)."""
    if not loc:
        return value
    copy = list(data) if isinstance(data, list) else dict(data)
    copy[loc[0]] = _replaced(data[loc[0]], loc[1:], value)
    return copy


_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "list_type": "a list", "dict_type": "a mapping of fields", "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields", "date_type": "a date (YYYY-MM-DD)",
}


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Names of the fields allowed in the mapping at ``loc`` (for "did you mean")."""
    return list(getattr(_model_for(model, loc), "model_fields", {}))


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "...'"


def _translate(error: dict, model: type[BaseModel], document: SourceDocument) -> Diagnostic:
    loc = tuple(error["loc"])
    error_type, value = error["type"], error.get("input")
    context = error.get("ctx") or {}
    field_name = next((p for p in reversed(loc) if isinstance(p, str)), "record")
    if error_type == "missing":
        field = getattr(_model_for(model, loc[:-1]), "model_fields", {}).get(loc[-1])
        hint = f"add a line '{loc[-1]}: ...'"
        if field is not None and field.description:
            hint += f": {field.description}"
        line, column = document.key_position(loc[:-1]) if loc[:-1] else (1, 1)
        return Diagnostic(document.path, line, column, f"missing required field '{loc[-1]}'",
                          dotted(loc), hint, "missing")
    if error_type == "finite_number" or (error_type == "float_type" and isinstance(value, str)
                                         and value.strip().lstrip("+-").lower() in ("nan", "inf", "infinity")):
        return document.diagnostic(loc, f"{_show(value)} is not a finite number",
                                   "write a number such as 0.5: infinity and NaN cannot be stored or exported",
                                   "number")
    if error_type == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        guess = closest(str(loc[-1]), allowed)
        hint = f"did you mean '{guess[0]}'?" if guess else "allowed here: " + ", ".join(allowed)
        return document.diagnostic(loc, f"unknown field '{loc[-1]}'", hint, "unknown-field", at_key=True)
    if error_type == "choice":  # models.Choice and Scale: a list of the base's vocabulary
        choices = list(context.get("expected", ()))
        if value == UNKNOWN:
            return document.diagnostic(loc, f"'{UNKNOWN}' is not allowed for {field_name}: only a judgment "
                                       "(severity, effectiveness, likelihood, safety relevance) may be unknown",
                                       f"leave {field_name} out if it is not known" if loc[-1] not in _required_at(
                                           model, loc) else "write the value that fits best", "choice")
        guess = closest(str(value), choices)
        shown = choices if len(choices) <= MAX_LISTED else [*guess[:1], *choices[:MAX_LISTED - 1], "..."]
        hint = (f"did you mean '{guess[0]}'? " if guess else "") + "one of: " + ", ".join(dict.fromkeys(shown))
        hint += f"; or add it under {_vocabulary_place(context.get('key', ''))} in the content folder's {VOCABULARY_FILE}"
        return document.diagnostic(loc, f"{_show(value)} is not an allowed {field_name}", hint, "choice")
    if error_type == "literal_error":
        choices = re.findall(r"'([^']*)'", context.get("expected", ""))
        if value is None:
            return document.diagnostic(loc, f"{field_name} is empty", "one of: " + ", ".join(choices),
                                       "choice")
        guess = closest(str(value), choices)
        hint = (f"did you mean '{guess[0]}'? " if guess else "") + "one of: " + ", ".join(choices)
        return document.diagnostic(loc, f"{_show(value)} is not an allowed {field_name}", hint, "choice")
    if error_type == "string_pattern_mismatch":
        pattern = context.get("pattern", "")
        if pattern == SLUG_PATTERN:
            return document.diagnostic(loc, f"{_show(value)} is not an id", f"ids are lowercase letters, digits "
                                       f"and single hyphens, e.g. '{_slugify(str(value))}'", "id")
        if "https?" in pattern:
            return document.diagnostic(loc, f"{_show(value)} is not a web address",
                                       "write a full address starting with https://", "url")
        if "[0-9]{4}" in pattern:
            return document.diagnostic(loc, f"{_show(value)} is not a date",
                                       "write a year (2024), a year and month (2024-08) or a date "
                                       "(2024-08-12)", "date")
        return document.diagnostic(loc, f"{_show(value)} does not have the expected form", "", "pattern")
    if error_type.startswith("date") or error_type.startswith("datetime"):
        return document.diagnostic(loc, f"{_show(value)} is not a date", "write it as YYYY-MM-DD, e.g. 2025-12-28",
                                   "date")
    if error_type in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(context.values()), "")
        bound = f"{bound:g}" if isinstance(bound, float) else bound
        words = {"greater_than_equal": "at least", "less_than_equal": "at most",
                 "greater_than": "more than", "less_than": "less than"}[error_type]
        return document.diagnostic(loc, f"{_show(value)} is out of range: {field_name} must be {words} {bound}",
                                   "", "range")
    if error_type in ("too_short", "too_long", "string_too_long"):
        return document.diagnostic(loc, f"{field_name}: {error['msg'].lower()}", "", "length")
    if error_type in _TYPE_WORDS:
        if value is None:
            return document.diagnostic(loc, f"{field_name} is empty",
                                       f"write {_TYPE_WORDS[error_type]} after the colon", "type")
        hint = _type_hint(error_type, value, field_name, _fields_at(model, loc), bool(loc) and isinstance(loc[-1], int))
        return document.diagnostic(loc, f"{field_name} must be {_TYPE_WORDS[error_type]}, found {_show(value)}",
                                   hint, "type")
    if error_type == "rule":  # models.rule: placed on the first of its fields the editor wrote
        paths = [loc + (f if isinstance(f, tuple) else (f,)) for f in context.get("fields", ())] or [loc]
        written = next((path for path in paths if path in document.positions), None)
        if written is not None:
            return document.diagnostic(written, error["msg"], context.get("hint", ""), "invalid", at_key=True)
        line, column = document.key_position(loc) if loc else document.positions.get((), (1, 1))
        return Diagnostic(document.path, line, column, error["msg"], dotted(paths[0]), context.get("hint", ""),
                          "invalid")
    message = error["msg"].removeprefix("Value error, ")
    return document.diagnostic(loc, message, "", "invalid")


MAX_LISTED = 30  # values a hint lists; the vocabulary file has them all


def _required_at(model: type[BaseModel], loc: tuple) -> set[str]:
    """The required fields of the model whose field ``loc`` names."""
    inner = _model_for(model, loc[:-1])
    return {name for name, info in getattr(inner, "model_fields", {}).items() if info.is_required()}


def _vocabulary_place(key: str) -> str:
    return f"'scales: {key}:'" if key in Scales.model_fields else f"'{key}:'"


# ---------------------------------------------------------------------------- the vocabulary


def validate_vocabulary(document: SourceDocument | None, failed: bool = False) -> tuple[Checked, list[Diagnostic]]:
    """The base's vocabulary (content/vocabulary.yaml; the defaults without it) and its problems.
    Lists the file gets wrong are left unchecked in the records (``Checked.unchecked``): the
    mistake is reported once, here. A file that did not load (``failed``) leaves every list
    unchecked, since what it meant to declare is not known."""
    if failed:
        return Checked(DEFAULT, frozenset(vocabulary_keys())), []
    if document is None:
        return Checked(), []
    data = document.data
    try:
        return Checked(Vocabulary.model_validate(data)), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    restored = _restore_number_texts(data, errors, document.number_texts)  # `2024` as written: a word to judge
    if restored is not data:
        try:
            return Checked(Vocabulary.model_validate(restored)), []
        except ValidationError as exc:
            errors, data = exc.errors(include_url=False), restored
    problems = [_translate(error, Vocabulary, document) for error in errors]
    wrong = {tuple(e["loc"][:2]) if e["loc"][:1] == ("scales",) and len(e["loc"]) > 1 else tuple(e["loc"][:1])
             for e in errors}
    kept = {key: value for key, value in data.items() if (key,) not in wrong}
    if isinstance(kept.get("scales"), dict):
        kept["scales"] = {key: value for key, value in kept["scales"].items() if ("scales", key) not in wrong}
    try:
        vocabulary = Vocabulary.model_validate(kept)
    except ValidationError:
        return Checked(DEFAULT, frozenset(vocabulary_keys())), problems
    unchecked = frozenset(path[-1] for path in wrong if path and path[-1] in vocabulary_keys())
    if ("scales",) in wrong:
        unchecked |= frozenset(Scales.model_fields)
    return Checked(vocabulary, unchecked), problems


def _type_hint(error_type: str, value: Any, field_name: str, fields: list[str], item: bool = False) -> str:
    """The fix for the commonest slips: a number in quotes or with '%', a single value where a
    list belongs, a list where a mapping of fields belongs (``featured``)."""
    if error_type == "string_type" and isinstance(value, (bool, int, float)):
        return "put the value in quotes"
    text = value.strip() if isinstance(value, str) else None
    if error_type in ("int_type", "float_type", "int_parsing", "float_parsing") and text is not None:
        number = text.removesuffix("%").strip()
        if re.fullmatch(r"[-+]?\d+(\.\d+)?", number):
            if text.endswith("%"):
                return f"write the number alone, {field_name}: {number}, without the '%' sign"
            return f"remove the quotes: {field_name}: {number} (a number in quotes is text)"
    if error_type == "list_type" and not isinstance(value, (dict, list)):
        return f"write it as a list, {field_name}: [{value}], or one '- ...' per line under it"
    if error_type in ("model_type", "dict_type", "model_attributes_type") and isinstance(value, list) and item:
        shape = f": {', '.join(f + ': ...' for f in fields)}" if fields else ""
        return f"write each item of '{field_name}' as fields after its '- ', one 'field: value' per line{shape}"
    if error_type in ("model_type", "dict_type", "model_attributes_type") and isinstance(value, list):
        shape = f"; its fields: {', '.join(fields)}" if fields else ""
        return f"write fields under '{field_name}:', indented, one 'field: value' per line, not '- ' items{shape}"
    return ""


def _model_for(model: type[BaseModel], loc: tuple):
    """The nested model whose fields sit at ``loc`` (list indexes skipped), or None."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        current = _model_in(field.annotation) if field else None
    return current


# ---------------------------------------------------------------------------- prose

# RECORD_LINK with its runs possessive: the same matches (each run's characters exclude the one
# that ends it, so a lazy run could only ever stop where the possessive one does), without the
# step-by-step backtracking that made scanning a base's articles for links a fifth of validating it.
_LINK = re.compile(r"\[\[([^\[\]\n|]++)(?:\|([^\[\]\n]++))?\]\]")
# A directive line, found in the whole text: '[[' at the start of a line (looked behind after the
# literal, so that the regex engine skips to each '[['), the rest of the line only spaces.
_DIRECTIVE = re.compile(r"\[\[(?<![^\n]\[\[)(table|diagram):([^\]\s]+)\]\][^\S\n]*$", re.M)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _line_starts(text: str) -> list[int]:
    """Where each line of ``text`` starts; ``bisect_right(starts, offset) - 1`` is an offset's line.

    Prose is scanned as one text, by regexes and str.find in C, and only what they find is placed
    on its line: a Python loop over every line of every article cost more than the checks."""
    starts = [0]
    at = text.find("\n") + 1
    while at:  # (find gives -1 after the last line break)
        starts.append(at)
        at = text.find("\n", at) + 1
    return starts


def _line(text: str, starts: list[int], index: int) -> str:
    return _lines(text, starts, index, index + 1)


def _span(text: str, starts: list[int], first: int, end: int) -> tuple[int, int]:
    """Where lines ``first`` to ``end`` (not included) of ``text`` are: ``_lines`` is text[a:b]."""
    if first >= end:
        return 0, 0
    return starts[first], starts[end] - 1 if end < len(starts) else len(text)


def _lines(text: str, starts: list[int], first: int, end: int) -> str:
    """Lines ``first`` to ``end`` (not included) of ``text``, as "\\n".join(lines[first:end])."""
    if first >= end:
        return ""
    return text[starts[first]:starts[end] - 1 if end < len(starts) else len(text)]


def _lines_holding(text: str, starts: list[int], *needles: str) -> list[int]:
    """The lines of ``text`` that hold one of ``needles`` (none holds a line break), in order."""
    found = set()
    for needle in needles:
        at = text.find(needle)
        while at != -1:
            index = bisect_right(starts, at) - 1
            found.add(index)
            at = text.find(needle, starts[index + 1]) if index + 1 < len(starts) else -1
    return sorted(found)


def _fences(text: str, starts: list[int]) -> list[tuple[int, int]]:
    """(first, last) line of each fenced block, its fence lines included; one never closed runs
    to the end. Fences close as CommonMark says: by their own character, at least as many of it,
    and nothing after them."""
    if "`" not in text and "~" not in text:
        return []
    blocks = []
    opened, fence = None, ""
    for index in _lines_holding(text, starts, "```", "~~~"):  # a fence line holds one of the two
        line = _line(text, starts, index)
        match = _FENCE.match(line)
        if match is None:
            continue
        if opened is None:
            opened, fence = index, match.group(1)
        elif match.group(1).startswith(fence) and not line.strip().lstrip(fence[0]):
            blocks.append((opened, index))
            opened = None
    if opened is not None:
        blocks.append((opened, len(starts) - 1))
    return blocks


def _scanned(text: str, starts: list[int], blanked: list[tuple[int, int]]) -> str:
    """The text as prose reads it: the lines of ``blanked`` ((first, last) line, in order: the
    fenced blocks and the directive lines) emptied, and code spans blanked out (positions kept)."""
    if blanked:
        pieces, at = [], 0
        for first, last in blanked:
            pieces += [text[at:starts[first]], "\n" * (last - first)]
            at = starts[last + 1] - 1 if last + 1 < len(starts) else len(text)
        text = "".join(pieces) + text[at:]
    if "`" not in text:
        return text
    # Line by line, each run of n backticks opens a span that the next run of exactly n closes; with
    # no run of two or more in the text, a span is just `...`. Neither pattern crosses a line.
    spans = _CODE_SPANS if "``" in text else _CODE_SPAN
    return spans.sub(lambda m: " " * len(m.group(0)), text)


_CODE_SPANS = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def parse_prose(document: SourceDocument, record, scan: tuple | None = None) -> tuple[Prose, list[Diagnostic]]:
    """Split a page's Markdown into text blocks and directives; collect its record links; its
    problems, the directives checked against the record's tables and diagrams last. ``scan``:
    :func:`scan_prose` of the document, if it was made already."""
    prose, problems, placed = scan or scan_prose(document)
    if record is not None:
        problems = problems + _check_directives(document, record, placed)
    return prose, problems


def scan_prose(document: SourceDocument) -> tuple[Prose, list[Diagnostic], dict[tuple[str, str], int]]:
    """(the article's prose, the problems found in its text alone, the line of each directive
    placed by (what, name)): all of parse_prose that does not need the record."""
    pieces, links, problems, placed = _scan(document)
    return _prose(document.body or "", pieces, links), problems, placed


def _scan(document: SourceDocument) -> tuple[list, list[ProseLink], list[Diagnostic], dict[tuple[str, str], int]]:
    """scan_prose with the blocks as where they are in the text (what a forked scan sends back:
    the text is the caller's already).

    The fences, directive lines and links are found in the whole text by str.find and regexes,
    and only the lines holding one are looked at: a 3,000-word article costs some 150 µs, half
    of what a loop over its lines in Python did."""
    text = document.body or ""
    starts = _line_starts(text)
    first = document.body_line
    links: list[ProseLink] = []
    problems: list[Diagnostic] = []
    fences = _fences(text, starts)
    fenced = {index for opened, closed in fences for index in range(opened, closed + 1)}
    directives: dict[int, Directive] = {}
    placed: dict[tuple[str, str], int] = {}
    for match in _DIRECTIVE.finditer(text):
        index = bisect_right(starts, match.start()) - 1
        if index in fenced:
            continue
        what, name = match.groups()
        number = first + index
        directives[index] = Directive(what, name, number)
        if (what, name) in placed:
            problems.append(Diagnostic(document.path, number, 1,
                                       f"{what} '{name}' is already placed on line {placed[(what, name)]}",
                                       "body", "place each table and diagram once", "directive"))
        placed[(what, name)] = number
    pieces: list = []  # (start, end) of a text block in the article, or a Directive
    start = 0
    for index, directive in directives.items():
        pieces += [_span(text, starts, start, index), directive]
        start = index + 1
    pieces.append(_span(text, starts, start, len(starts)))
    scanned = _scanned(text, starts, sorted(fences + [(index, index) for index in directives]))
    if scanned is not text:
        starts = _line_starts(scanned)
    for match in _LINK.finditer(scanned) if "[[" in scanned else ():  # tens of thousands in a base
        at = match.start()
        index = bisect_right(starts, at) - 1
        number, column = first + index, at - starts[index] + 1
        target, shown = match.groups()
        target = target.strip()
        if ":" not in target:
            links.append(ProseLink._make((target, shown, number, column, False)))  # (cheaper than ProseLink(...))
        elif target.startswith("cite:"):
            sources = citation_targets(target[len("cite:"):])
            if not sources or shown is not None:
                problems.append(Diagnostic(document.path, number, column,
                                           f"'{match.group(0)}' names no source", "body",
                                           "write [[cite:source-id]] or [[cite:one-id, another-id]]", "directive"))
            for source in sources:
                links.append(ProseLink(source, None, number, column, cite=True))
        else:
            problems.append(Diagnostic(document.path, number, column,
                                       f"'[[{target}]]' must stand alone on its own line",
                                       "body", "put tables and diagrams on a line of their own",
                                       "directive"))
    problems += _check_features(document, scanned, starts)
    problems += _check_markup(document, scanned, starts)
    return pieces, links, problems, placed


def _prose(text: str, pieces: list, links: list[ProseLink]) -> Prose:
    """The Prose of an article from what _scan found: its blocks cut out of the text, but those
    of no text ('not b or b.isspace()': 'not b.strip()' without a copy of the article)."""
    blocks = [text[piece[0]:piece[1]] if isinstance(piece, tuple) else piece for piece in pieces]
    return Prose([b for b in blocks if not (isinstance(b, str) and (not b or b.isspace()))], links)


_FOOTNOTE = re.compile(r"\[\^([^\]\n]+)\]")  # a mark, or with ':' after it at the start of a line a note
_FOOTNOTE_NOTE = re.compile(r"^[ >]*\[\^([^\]\n]+)\]:")  # also in a quote or a list item
_FOOTNOTE_LABEL = re.compile(r"[A-Za-z0-9_-]+")
# '[text](address)' or '![alt](address)': written as two branches rather than '!?\[', and with
# possessive runs (each stops at the character that ends it anyway), so that the regex engine
# skips to each '!' or '[' instead of trying every position of the line.
_LINK_TARGET = re.compile(r"(?:!\[|\[)([^\]\n]*+)\]\(([^)\n]*+)\)")
_RESERVED_ANCHOR = re.compile(r"ref-|kb-nb-|kb-diagram-|kb-[0-9a-f]{16}$")
_HEADING_LINE = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*$")
_ADMONITION = re.compile(r"^ *!!! ?(.*?)\s*$")
_ADMONITION_HEAD = re.compile(r'([\w\-]+(?: +[\w\-]+)*)(?: +"(.*?)")?')


def _slug(text: str) -> str:
    """A heading's anchor as the site's table of contents makes it (Python-Markdown's toc)."""
    from markdown.extensions.toc import slugify
    return slugify(text, "-")


@lru_cache(maxsize=4096)
def _reserved_anchor(line: str) -> str | None:
    """The anchor of a heading line (one starting with '#') if it is one the page uses itself.
    Cached: the same few headings ("## Overview", "## Evidence") open most articles."""
    heading = _HEADING_LINE.match(line)
    if heading is None:
        return None
    anchor = _slug(heading.group(1))
    return anchor if _RESERVED_ANCHOR.match(anchor) else None


def _footnotes(text: str, starts: list[int]) -> tuple[list[int], list[tuple[str, int]]]:
    """(the lines holding a note, the marks as (label, offset)) of a page's prose.

    One pass over the text: ``[^x]`` is a mark unless a ':' follows it; then it is a note if
    only spaces and '>' come before it on its line (``_FOOTNOTE_NOTE``), else neither."""
    notes: list[int] = []
    marks: list[tuple[str, int]] = []
    for match in finditer_at(_FOOTNOTE, text, "^", 1):
        if not text.startswith(":", match.end()):
            marks.append((match.group(1), match.start()))
            continue
        index = bisect_right(starts, match.start()) - 1
        if not text[starts[index]:match.start()].strip(" >"):
            notes.append(index)
    return notes, marks


# What Python-Markdown cannot convert, or not in reasonable time, though it is valid Markdown:
# containers (lists, quotes, notes) nested by more than MAX_INDENT columns of indentation and
# quote marks (its parser recurses once a level: 300 levels of four spaces ended in RecursionError),
# and brackets whose scans add up past MAX_BRACKET_SCAN characters. Its link patterns scan from
# every '[' to the ']' that closes it and from every '](' to its ')', to the end of the paragraph
# when there is none: 6,000 unclosed '[' in 24 KB took over 40 s. A 3,000-word article with a
# hundred links scans some 10,000 characters.
MAX_INDENT = 256
MAX_BRACKET_SCAN = 3_000_000
_DEEP_LINE = re.compile(r"\n[ \t>]{65}")  # a literal line end first: the engine skips to each (no \A| before it)
_PREFIX = re.compile(r"[ \t>]*")
_BRACKET_TOKENS = re.compile(r"\\.|\n[^\S\n]*\n|[\[\]()]")


def _indent_width(prefix: str) -> int:
    return len(prefix.expandtabs(4))


def _bracket_scan(text: str) -> tuple[int, int]:
    """(how many characters Python-Markdown's link patterns scan in ``text``, at most; the offset
    of the bracket whose scan is the longest). Brackets are matched as its getText and getLink
    match them, within a paragraph; a link's parentheses holding a quote (a title) count to the
    paragraph's end, as its getLink may scan that far."""
    total, longest, at_longest = 0, 0, -1
    opened: list[int] = []
    parens: list[tuple[int, bool]] = []
    link_next = False

    def scan(start: int, end: int) -> None:
        nonlocal total, longest, at_longest
        total += end - start
        if end - start > longest:
            longest, at_longest = end - start, start

    def paragraph_ends(end: int) -> None:
        for start in opened:
            scan(start, end)
        for start, link in parens:
            if link:
                scan(start, end)
        opened.clear()
        parens.clear()

    for token in _BRACKET_TOKENS.finditer(text):
        mark, at = token.group(), token.start()
        if mark[0] == "\\":
            continue
        if mark[0] == "\n":
            paragraph_ends(at)
        elif mark == "[":
            opened.append(at)
        elif mark == "]":
            if opened:
                scan(opened.pop(), at)
            link_next = text.startswith("(", token.end())
            continue
        elif mark == "(":
            parens.append((at, link_next))
        elif parens:
            start, link = parens.pop()
            if link:
                titled = '"' in text[start:at] or "'" in text[start:at]
                scan(start, _paragraph_end(text, at) if titled else at)
        link_next = False
    paragraph_ends(len(text))
    return total, at_longest


def _paragraph_end(text: str, at: int) -> int:
    blank = _BLANK_LINE.search(text, at)
    return blank.start() if blank else len(text)


_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def _check_markup(document: SourceDocument, text: str, starts: list[int]) -> list[Diagnostic]:
    """Containers nested too deep, brackets too costly to convert (see MAX_INDENT): errors, so
    that the pull-request check refuses what the build could not make."""
    problems = []
    first = [0] if _PREFIX.match(text).end() > 64 else []
    for line in first + [deep.start() + 1 for deep in _DEEP_LINE.finditer(text)]:
        width = _indent_width(_PREFIX.match(text, line).group())
        if width > MAX_INDENT:
            index = bisect_right(starts, line) - 1
            problems.append(Diagnostic(
                document.path, document.body_line + index, 1,
                f"this line is indented {width:,} columns (with its '>' marks): lists, quotes "
                f"and notes nested this deep cannot be converted (at most {MAX_INDENT})", "body",
                "nest fewer levels, or write the text without its indentation", "markup"))
            break
    brackets = text.count("[") + text.count("](")
    # Each scan stays within its paragraph, and paragraphs are split at blank lines: the longest
    # piece between empty lines bounds every scan (the full count, in Python, costs far more), and
    # the whole text bounds that piece (most articles: no split needed).
    if brackets and brackets * len(text) > MAX_BRACKET_SCAN \
            and brackets * max(map(len, text.split("\n\n"))) > MAX_BRACKET_SCAN:
        total, at = _bracket_scan(text)
        if total > MAX_BRACKET_SCAN:
            index = bisect_right(starts, at) - 1
            problems.append(Diagnostic(
                document.path, document.body_line + index, at - starts[index] + 1,
                f"the brackets of this article would take Markdown too long to read: its links' '[' and '](' "
                f"scan {total:,} characters for their ']' and ')' (at most {MAX_BRACKET_SCAN:,}); the longest "
                "starts here", "body", "close each '[' and '(' of a link, and write a bracket that is not one as "
                "\\[ or \\]", "markup"))
    return problems


def _check_features(document: SourceDocument, text: str, starts: list[int]) -> list[Diagnostic]:
    """Footnotes, admonitions, formulas and images of a page's prose (``text``: code blanked,
    ``starts``: where its lines start). Each check looks only at the lines that can hold what it
    checks, found in the whole text."""
    problems: list[Diagnostic] = []

    def error(line: int, column: int, message: str, hint: str, code: str) -> None:
        problems.append(Diagnostic(document.path, document.body_line + line, column, message, "body", hint, code))

    def bad_label(label: str, line: int, column: int) -> bool:
        if _FOOTNOTE_LABEL.fullmatch(label):
            return False
        error(line, column, f"footnote label '[^{label}]' may hold only letters, digits, '-' and '_'",
              "number the notes: [^1], [^2], ...", "footnote")
        return True

    notes: dict[str, int] = {}
    noted, marks = _footnotes(text, starts)
    shown = _lines_holding(text, starts, "!!!", "![") if "!" in text else []
    for offset in sorted({*noted, *shown}):
        line = _line(text, starts, offset)
        note = _FOOTNOTE_NOTE.match(line)
        if note is not None:
            label = note.group(1)
            if label in notes:  # Python-Markdown would keep the last and drop this one's text
                error(offset, 1, f"the note [^{label}] is already written on line {document.body_line + notes[label]}",
                      "give each note its own label, or merge the two", "footnote")
            else:
                bad_label(label, offset, 1)
            notes.setdefault(label, offset)
        admonition = _ADMONITION.match(line) if "!!!" in line else None
        if admonition is not None:
            head = _ADMONITION_HEAD.fullmatch(admonition.group(1))
            kinds = head.group(1).split() if head else []
            if len(kinds) != 1 or kinds[0].lower() not in ADMONITIONS:
                guess = closest(kinds[0].lower(), ADMONITIONS) if kinds else []
                error(offset, 1, f"'{line.strip()}' is not an admonition the site draws",
                      (f"did you mean '!!! {guess[0]}'? " if guess else "")
                      + 'write !!! type "Title", type one of: ' + ", ".join(ADMONITIONS), "admonition")
        for image in images.IMAGE.finditer(line) if "![" in line else ():
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
    good = {label for label in notes if _FOOTNOTE_LABEL.fullmatch(label)}
    for label, at in marks:
        if label in good:
            continue  # most marks: a good label with its note, no line to work out
        offset = bisect_right(starts, at) - 1
        if bad_label(label, offset, at - starts[offset] + 1):
            continue
        error(offset, at - starts[offset] + 1, f"footnote [^{label}] has no note",
              f"write the note on a line of its own: [^{label}]: the note's text", "footnote")
    marked = {mark for mark, _ in marks}
    for label, offset in notes.items():
        if label in good and label not in marked:
            error(offset, 1, f"the note [^{label}] is never referred to", f"write [^{label}] where it belongs "
                  "in the text, or remove the note", "footnote")
    headings = _lines_starting(text, starts, "#") if "#" in text else []
    for offset in sorted({*headings, *(_lines_holding(text, starts, "$") if "$" in text else ())}):
        line = _line(text, starts, offset)
        if line.startswith("#") and (anchor := _reserved_anchor(line)) is not None:
            error(offset, 1, f"the heading's anchor '#{anchor}' is one the page uses itself "
                  "(its references are #ref-<id>, its drawings #kb-...)", "word the heading another way", "heading")
        if "$" not in line:
            continue
        for target in _LINK_TARGET.finditer(line) if "](" in line else ():
            if "$" not in target.group(0):
                continue  # no formula in it
            if any(formulas.find(target.group(2))) or (target.group(0).startswith("!") and any(formulas.find(target.group(1)))):
                error(offset, target.start() + 1, "a formula cannot stand in a link's address or title, or in an "
                      "image's alt text", "write the formula beside the link or the image", "formula")
        if line.lstrip().startswith("|"):
            for start, _, tex, _ in formulas.find(line):
                if "|" in tex:
                    error(offset, start + 1, "a '|' in a formula in a table ends the table's cell",
                          "write \\vert (or \\mid) for the bar in a table", "formula")
    for start, _, tex, display in (formulas.find(text) if "$" in text else ()):
        try:
            formulas.mathml(tex, display)
        except formulas.FormulaError as exc:
            offset = bisect_right(starts, start) - 1
            error(offset, start - starts[offset] + 1, str(exc),
                  "formulas are LaTeX as latex2mathml reads it; a dollar sign in text is written \\$",
                  "formula")
    return problems


def _lines_starting(text: str, starts: list[int], prefix: str) -> list[int]:
    """The lines of ``text`` that start with the character ``prefix``, in order."""
    found = []
    at = text.find(prefix)
    while at != -1:
        if at == 0 or text[at - 1] == "\n":
            found.append(bisect_right(starts, at) - 1)
        at = text.find(prefix, at + 1)
    return found


def available_tables(record) -> dict[str, bool]:
    """Table names a topic may place (those its model declares, and its own data tables), and
    whether it has rows for them."""
    tables = {name: bool(value_at(record, path)) for name, path, _ in tables_of(type(record))}
    tables.update({name: True for name in placed_of(record, "table")})
    return tables


def _check_directives(document: SourceDocument, record, placed: dict) -> list[Diagnostic]:
    problems = []
    declared = [name for name, _, _ in tables_of(type(record))]
    for name, (field, _) in placed_of(record, "table").items():
        if name in declared:  # [[table:name]] would place the declared one and lose this one
            problems.append(document.diagnostic(
                (field, name), f"table name '{name}' is already the name of a table this page builds "
                f"from its fields", f"rename it, e.g. '{name}-data', and its [[table:...]] line", "directive",
                at_key=True))
    tables = available_tables(record)
    for (what, name), line in placed.items():
        known = tables if what == "table" else placed_of(record, what)
        if name not in known:
            guess = closest(name, known)
            holder = placed_field(type(record), what)
            hint = f"did you mean '{guess[0]}'?" if guess else "known: " + ", ".join(sorted(known)) if known else \
                f"declare it under '{holder}:' in the front matter" if holder else f"this kind places no {what}s"
            problems.append(Diagnostic(document.path, line, 1, f"no {what} named '{name}' on this topic",
                                       "body", hint, "directive"))
        elif what == "table" and not tables[name]:
            problems.append(Diagnostic(document.path, line, 1, f"table '{name}' has no rows",
                                       "body", f"fill in its rows in the front matter, or remove the line",
                                       "directive"))
    for name, has_rows in tables.items():
        if has_rows and ("table", name) not in placed:
            problems.append(document.diagnostic(_table_path(name, record), f"table '{name}' is never placed "
                                                "in the page", f"add a line [[table:{name}]] where it belongs",
                                                "directive", at_key=True))
    diagrams = placed_of(record, "diagram")
    for name, (field, _) in diagrams.items():
        if ("diagram", name) not in placed:
            problems.append(document.diagnostic((field, name), f"diagram '{name}' is never placed in the page",
                                                f"add a line [[diagram:{name}]] where it belongs", "directive",
                                                at_key=True))
    return problems


def _table_path(name: str, record) -> tuple:
    own = placed_of(record, "table")
    if name in own:
        return (own[name][0], name)
    return next(path for table, path, _ in tables_of(type(record)) if table == name)
