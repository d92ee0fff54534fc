"""The loader against input that used to crash the process, hang it, raise a traceback or change
what an editor wrote: deep nesting, tags, numbers too long or not finite, what is not a regular
file, file names that are not ids.

Each test asserts the diagnostic as `pipeline.check` reports it (file, line, field, message,
hint). Where the old code crashed, `kb validate` also runs in a child process: exit 1, no
traceback, and the file with its line in the output. Committed fixtures live in
tests/fixtures/invalid/<case>/content; what git cannot hold (pipes, sockets, links, files
nobody may read) is made in tmp_path.
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import pipeline
from generator.load import MAX_DEPTH

INVALID = Path(__file__).parent / "fixtures" / "invalid"
KB = Path(sys.executable).parent / "kb"
RECORD = ("id: {id}\nname: A system\nsummary: A system that works.\ncapability: Writes code.\n"
          "achievement: Passed a test.\n")


def check(folder: Path, monkeypatch) -> pipeline.Run:
    """load -> validate -> link from inside ``folder`` (which holds content/), as an editor runs it."""
    monkeypatch.chdir(folder)
    return pipeline.check(Path("content"))


def by_file(checked: pipeline.Run) -> dict:
    found: dict = {}
    for diagnostic in checked.diagnostics:
        found.setdefault(diagnostic.file, []).append(diagnostic)
    return found


def _without_file_permission_override():
    """Before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so a
    child started as root meets file permissions like anyone else. (Switching to 'nobody'
    does not do here: the interpreter lives under /root, which only root may enter.)"""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def kb_validate(folder: Path, *options: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`kb validate content` in a child process, subject to file permissions even as root."""
    unprivileged = _without_file_permission_override if os.geteuid() == 0 else None
    return subprocess.run([str(KB), "validate", *options, "content"], cwd=folder, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=unprivileged)


def assert_reported(result: subprocess.CompletedProcess, *locations: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    for location in locations:
        assert location in output, output


# ---------------------------------------------------------------------------- 1. deep nesting


def test_deep_nesting_is_refused_with_its_line_before_the_composer_crashes(monkeypatch):
    """25,000 levels took the process down in libyaml's composer (a segfault in C)."""
    case = INVALID / "deep-nesting"
    start = time.perf_counter()
    checked = check(case, monkeypatch)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    diagnostics = by_file(checked)
    # The value opens on line 6 after 'significance: ' (brackets, braces), or on line 7 (block
    # sequences, two columns a level); the root mapping is the first of the levels.
    expected = {"brackets": (6, len("significance: ") + MAX_DEPTH + 1),
                "braces": (6, len("significance: ") + MAX_DEPTH + 1),
                "dashes": (7, 2 * MAX_DEPTH + 1),
                "mixed": (7, 2 * MAX_DEPTH + 1)}
    assert sorted(diagnostics) == [f"content/systems/{name}.yaml" for name in sorted(expected)]
    for name, (line, column) in expected.items():
        (diagnostic,) = diagnostics[f"content/systems/{name}.yaml"]
        assert (diagnostic.line, diagnostic.column) == (line, column), name
        assert diagnostic.message == f"values are nested more than {MAX_DEPTH} levels deep"
        assert "close the brackets" in diagnostic.hint
    text = (case / "content" / "systems" / "dashes.yaml").read_text().splitlines()[6]
    assert text.count("- ") == 25_000  # `- ` 25,000 times on one line
    assert_reported(kb_validate(case), *(f"content/systems/{name}.yaml:{line}:"
                                         for name, (line, _) in expected.items()))


def test_deep_nesting_in_a_thread_with_a_small_stack_is_refused_too(monkeypatch):
    """`kb serve` loads in a thread, whose stack may be smaller than the main thread's: on
    1 MiB the composer would crash at about 3,100 levels."""
    import threading

    results = []
    previous = threading.stack_size(1024 * 1024)
    try:
        thread = threading.Thread(target=lambda: results.append(check(INVALID / "deep-nesting", monkeypatch)))
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join(timeout=30)
    assert [d.message for d in results[0].diagnostics] == [
        f"values are nested more than {MAX_DEPTH} levels deep"] * 4


FLOW_65 = (6, len("significance: ") + MAX_DEPTH + 1)  # the root mapping is the first level
BLOCK_65 = (6 + MAX_DEPTH + 1, MAX_DEPTH + 2)  # the mapping that starts at k65, line 71


@pytest.mark.parametrize("value, where", [
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, None),  # as deep as allowed
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), FLOW_65),  # caught by the builder
    ("[" * 999 + "]" * 999, FLOW_65),  # caught by the event scan, at the same place
    ("\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 80)) + " " * 80 + "k: v", BLOCK_65),
    ("\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 300)) + " " * 300 + "k: v", BLOCK_65),
], ids=["64-levels", "65-levels", "999-levels", "indented-80", "indented-300"])
def test_nesting_limit_is_the_same_with_and_without_the_event_scan(write_records, value, where):
    root = write_records({"systems/deep.yaml": RECORD.format(id="deep") + f"significance: {value}\n"})
    diagnostics = pipeline.check(root).diagnostics
    if where is None:
        assert not any("nested" in d.message for d in diagnostics)
    else:
        (diagnostic,) = diagnostics
        assert (diagnostic.line, diagnostic.column) == where
        assert "nested more than" in diagnostic.message


def test_deep_nesting_after_other_line_breaks_is_still_caught(write_records):
    """libyaml also breaks lines at a lone CR, NEL, LS and PS: the cheap bound must see them."""
    for name, newline in (("cr", "\r"), ("nel", "\x85"), ("ls", "\u2028"), ("ps", "\u2029")):
        text = RECORD.format(id=name) + "significance:" + newline + "- " * 25_000 + "x\n"
        root = write_records({f"systems/{name}.yaml": text})
    start = time.perf_counter()
    diagnostics = pipeline.check(root).diagnostics
    assert time.perf_counter() - start < 1.0
    assert sorted(d.file.rsplit("/", 1)[1] for d in diagnostics if "nested" in d.message) == [
        "cr.yaml", "ls.yaml", "nel.yaml", "ps.yaml"]


# ---------------------------------------------------------------------------- 2. tags

TAGS = {  # file: (line, column, field, the tag as written)
    "int-abc": (6, 13, "importance", "!!int"),
    "float-abc": (6, 13, "importance", "!!float"),
    "null-text": (6, 15, "significance", "!!null"),
    "bool-yes": (6, 15, "significance", "!!bool"),
    "str-number": (6, 13, "importance", "!!str"),
    "seq-tag": (6, 7, "tags", "!!seq"),
    "map-tag": (7, 5, "relations[0]", "!!map"),
    "bare-tag": (6, 13, "importance", "!"),
    "bare-tag-quoted": (6, 15, "significance", "!"),
    "python-object": (6, 15, "significance", "!!python/object/apply:os.system"),
    "key-tag": (6, 1, "limitations", "!!str"),
    "anchor-then-tag": (6, 15, "significance", "!!str"),
}


def test_every_tag_is_refused_naming_line_column_and_field(monkeypatch):
    """`!!int abc` and `!!float abc` raised a traceback, `!!null some text` dropped the text,
    `!!bool yes-of-course` became false, and libyaml read `! '123'` as the number 123."""
    case = INVALID / "yaml-tags"
    diagnostics = by_file(check(case, monkeypatch))
    expected = {f"content/systems/{name}.yaml": where for name, where in TAGS.items()}
    expected["content/topics/tagged-topic.md"] = (5, 11, "featured", "!custom")  # front matter: file lines
    assert sorted(diagnostics) == sorted(expected)
    for file, (line, column, field, tag) in expected.items():
        (diagnostic,) = diagnostics[file]
        assert (diagnostic.line, diagnostic.column, diagnostic.field) == (line, column, field), file
        assert diagnostic.message == f"YAML tags such as '{tag}' are not supported"
        assert diagnostic.hint.startswith("remove the tag")
    assert_reported(kb_validate(case), "content/systems/int-abc.yaml:6:13",
                    "content/systems/float-abc.yaml:6:13")


def test_a_tag_is_found_exactly_where_the_parser_sees_one():
    """The loader finds tags in the text, not in the parser's events (no second pass over every
    file): on thousands of small documents, tags and anchors anywhere, it must agree with the
    events. (A value dropped as a duplicate key is not looked at: that is an error already.)"""
    import random

    from yaml.events import NodeEvent

    from generator.load import _CoreSchemaParser, _LoadError, parse_yaml

    def parses_with_tag(text: str) -> bool | None:
        parser, tagged = _CoreSchemaParser(text), False
        try:
            while parser.check_event():
                event = parser.get_event()
                tagged = tagged or (isinstance(event, NodeEvent) and getattr(event, "tag", None) is not None)
            return tagged
        except Exception:  # not YAML: nothing to compare
            return None
        finally:
            parser.dispose()

    properties = ["", "", "", "!", "!!str", "!!int", "!x", "!<tag:a>", "&a", "&b !!str", "!!str &c",
                  "&d\n  !!int", "&e # a comment!\n  !"]
    scalars = ["1", "'q'", "x", "", "[1, !!str 2]", "{a: 1}", "|\n  t!", "'!'", "a!b", "&f 5"]
    keys = ["k", "! k", "!!str k", "&z k", "k2"]
    chosen = random.Random(3)

    def node(depth: int) -> str:
        tag = chosen.choice(properties)
        if depth > 1 or chosen.random() < 0.5:
            return f"{tag} {chosen.choice(scalars)}".strip()
        head = tag + "\n" if tag else ""
        if chosen.random() < 0.5:
            return head + f"{chosen.choice(keys)}: {node(depth + 1)}"
        return head + f"- {node(depth + 1)}"

    compared = {True: 0, False: 0}
    for _ in range(3000):
        text = "top: " + node(0).replace("\n", "\n    ")
        expected = parses_with_tag(text)
        if expected is None:
            continue
        try:
            _, builder = parse_yaml(text)
            found = bool(builder.errors) and None  # None: a duplicate key, skip
        except _LoadError as error:
            found = error.code == "tag" or None
        if found is not None:
            assert found == expected, text
            compared[found] += 1
    assert compared[True] > 1000 and compared[False] > 300, compared


@pytest.mark.parametrize("text", [
    "summary: Wow! A system that works.",  # a '!' in text is no tag
    "summary: 'A system! That works.'",
    "summary: A system &more that works!",
    "aliases: [Bang!, '!', \"!important\"]",
    "significance: &note fine, anchored but never reused! # a comment!",
])
def test_a_bang_or_ampersand_inside_a_value_is_no_tag(write_records, text):
    record = RECORD.format(id="bang")
    if text.startswith("summary:"):
        record = record.replace("summary: A system that works.\n", "")
    record += text + "\n"
    assert pipeline.check(write_records({"systems/bang.yaml": record})).diagnostics == []


def test_a_tag_after_characters_outside_ascii_is_located(write_records):
    """The check reads the node's character index: wide characters before it must not shift it."""
    record = RECORD.format(id="wide").replace("A system", "Ein Système 🚀 日本") + "significance: !!str x\n"
    (diagnostic,) = pipeline.check(write_records({"systems/wide.yaml": record})).diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.field) == (6, 15, "significance")


# ---------------------------------------------------------------------------- 3. numbers


def test_a_number_too_long_to_read_is_a_diagnostic(monkeypatch):
    """5,000 digits: int() refuses more than 4,300, and the traceback reached the editor."""
    case = INVALID / "number-too-long"
    (diagnostic,) = check(case, monkeypatch).diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.field) == (
        "content/organizations/long-number.yaml", 5, 10, "founded")
    assert diagnostic.message == "a number of 5,000 digits is too long to read"
    assert "quotes" in diagnostic.hint
    assert_reported(kb_validate(case), "content/organizations/long-number.yaml:5:10")


def test_numbers_that_are_not_finite_are_refused(monkeypatch):
    """1e400 was infinity (and the JSON export invalid JSON); 'nan' and 'inf' in quotes were
    made NaN and infinity by pydantic."""
    diagnostics = by_file(check(INVALID / "number-not-finite", monkeypatch))
    located = {file.rsplit("/", 1)[1]: (d.line, d.column, d.field, d.message)
               for file, (d,) in diagnostics.items()}
    assert located == {
        "overflow.yaml": (4, 19, "estimate.value", "1e400 is too large for a number: it would be infinite"),
        "negative-overflow.yaml": (4, 27, "estimate.low", "-1e999 is too large for a number: it would be infinite"),
        "quoted-nan.yaml": (4, 19, "estimate.value", "'nan' is not a finite number"),
        "quoted-inf.yaml": (4, 19, "estimate.value", "'inf' is not a finite number"),
        "quoted-minus-infinity.yaml": (4, 27, "estimate.low", "'-Infinity' is not a finite number"),
    }
    assert "smaller number" in diagnostics["content/metrics/overflow.yaml"][0].hint
    assert "infinity and NaN cannot be stored" in diagnostics["content/metrics/quoted-nan.yaml"][0].hint


# ---------------------------------------------------------------------------- 4. the file system


@pytest.fixture
def tree(tmp_path):
    """A content tree with one valid record."""
    systems = tmp_path / "content" / "systems"
    systems.mkdir(parents=True)
    (systems / "good.yaml").write_text(RECORD.format(id="good"))
    return tmp_path


LINK_HINT = "a link can point outside the content folder, so what a pull request shows would not be what is built"


def test_links_are_refused_not_followed(tree, monkeypatch):
    """A loop or a dangling link raised a traceback; a link to a record outside content/ was
    built; a linked kind folder was skipped without a word."""
    systems = tree / "content" / "systems"
    outside = tree / "elsewhere"
    (outside / "risks").mkdir(parents=True)
    (outside / "outside.yaml").write_text(RECORD.format(id="outside"))
    (outside / "risks" / "linked-risk.yaml").write_text(
        "id: linked-risk\nname: R\nsummary: s\ndescription: d\nevidence: e\nseverity: high\n")
    (systems / "outside.yaml").symlink_to(outside / "outside.yaml")
    (systems / "dangling.yaml").symlink_to(tree / "no-such-file.yaml")
    (systems / "loop.yaml").symlink_to(systems / "loop.yaml")
    (tree / "content" / "risks").symlink_to(outside / "risks", target_is_directory=True)
    checked = check(tree, monkeypatch)
    assert [entry.id for entry in checked.entries] == ["good"]  # nothing read through a link
    diagnostics = {d.file: d for d in checked.diagnostics}
    assert sorted(diagnostics) == ["content/risks", "content/systems/dangling.yaml",
                                   "content/systems/loop.yaml", "content/systems/outside.yaml"]
    assert diagnostics["content/systems/outside.yaml"].message == (
        f"symbolic link to '{outside / 'outside.yaml'}': links are not followed")
    assert diagnostics["content/systems/loop.yaml"].message == (
        f"symbolic link to '{systems / 'loop.yaml'}': links are not followed")
    for file, diagnostic in diagnostics.items():
        assert (diagnostic.line, diagnostic.column) == (1, 1)
        what = "folder" if file == "content/risks" else "file"
        assert diagnostic.hint == f"replace the link with the {what} itself: {LINK_HINT}"
    assert_reported(kb_validate(tree), "content/systems/loop.yaml:1:1", "content/systems/dangling.yaml:1:1",
                    "content/risks:1:1")


def test_a_named_pipe_or_socket_is_refused_without_opening_it(tree, monkeypatch):
    """A pipe named *.yaml made `kb validate` wait for a writer forever."""
    systems = tree / "content" / "systems"
    os.mkfifo(systems / "pipe.yaml")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(systems / "socket.yaml"))
    try:
        result = kb_validate(tree, timeout=30)  # in a child first: a hang fails, not blocks the run
        assert_reported(result, "content/systems/pipe.yaml:1:1", "content/systems/socket.yaml:1:1")
        diagnostics = {d.file: d for d in check(tree, monkeypatch).diagnostics}
    finally:
        server.close()
    assert sorted(diagnostics) == ["content/systems/pipe.yaml", "content/systems/socket.yaml"]
    assert diagnostics["content/systems/pipe.yaml"].message == (
        "a named pipe is not a record: only regular files are read")
    assert diagnostics["content/systems/socket.yaml"].message == (
        "a socket is not a record: only regular files are read")
    assert diagnostics["content/systems/pipe.yaml"].hint.startswith("remove it")


def test_a_file_that_became_a_pipe_after_discovery_is_not_waited_on(tree, monkeypatch):
    from generator import load

    pipe = tree / "content" / "systems" / "late.yaml"
    os.mkfifo(pipe)
    document, (diagnostic,) = load.load_file(pipe, "content/systems/late.yaml", "systems")
    assert document is None
    assert diagnostic.message == "a named pipe is not a record: only regular files are read"


def test_a_file_or_folder_that_cannot_be_read_is_a_diagnostic(tree, monkeypatch):
    """An unreadable file raised a traceback; an unreadable folder was skipped without a word.
    As root, the check runs in a child without root's permission override, so it really meets
    EACCES: the diagnostic must say 'Permission denied'."""
    content = tree / "content"
    (content / "systems" / "secret.yaml").write_text(RECORD.format(id="secret"))
    (content / "systems" / "secret.yaml").chmod(0)
    (content / "risks").mkdir()
    (content / "risks" / "hidden-risk.yaml").write_text("id: hidden-risk\n")
    (content / "risks").chmod(0)
    try:
        result = kb_validate(tree, "--format", "json")
        assert_reported(kb_validate(tree), "content/systems/secret.yaml:1:1", "content/risks:1:1")
    finally:
        (content / "risks").chmod(0o755)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    diagnostics = {d["file"]: d for d in json.loads(result.stdout)["diagnostics"]}
    assert sorted(diagnostics) == ["content/risks", "content/systems/secret.yaml"]
    for diagnostic in diagnostics.values():
        assert (diagnostic["line"], diagnostic["column"]) == (1, 1)
        assert diagnostic["message"] == "cannot be read: Permission denied"
        assert "chmod" in diagnostic["hint"]
    if os.geteuid() != 0:  # the same in this process, where permissions apply
        (content / "risks").chmod(0)
        try:
            assert {d.file for d in check(tree, monkeypatch).diagnostics} == set(diagnostics)
        finally:
            (content / "risks").chmod(0o755)


def test_regular_files_and_folders_still_load(tree, monkeypatch):
    assert stat.S_ISREG((tree / "content" / "systems" / "good.yaml").lstat().st_mode)
    checked = check(tree, monkeypatch)
    assert checked.diagnostics == [] and [e.id for e in checked.entries] == ["good"]


# ---------------------------------------------------------------------------- 5. file names


def test_the_whole_name_before_the_suffix_is_the_id(monkeypatch):
    """x.v2.yaml with id x was accepted as record x; now the rule of any file name applies."""
    diagnostics = by_file(check(INVALID / "file-name-not-id", monkeypatch))
    assert sorted(diagnostics) == ["content/systems/x.v2.yaml", "content/topics/y.draft.md"]
    for file, name, renamed in (("content/systems/x.v2.yaml", "x.v2.yaml", "x-v2.yaml"),
                                ("content/topics/y.draft.md", "y.draft.md", "y-draft.md")):
        file_name = diagnostics[file][0]
        assert (file_name.line, file_name.column, file_name.field) == (1, 1, "id")
        assert file_name.message == f"file name '{name}' is not a valid id"
        assert file_name.hint.startswith(f"rename it to '{renamed}'")


def test_a_control_character_written_as_an_escape_is_refused(monkeypatch):
    """libyaml refuses a control character as it stands but not as an escape ("\\x7f"); in a
    title it made MkDocs drop the page's front matter and render it as Markdown, where
    attribute lists then set ids, styles and search metadata on the page."""
    diagnostics = by_file(check(INVALID / "control-character", monkeypatch))
    located = {file.rsplit("/", 1)[1]: (d.line, d.column, d.field, d.message.split(" (")[0])
               for file, (d,) in diagnostics.items()}
    assert located == {
        "delchar.md": (3, 8, "title", "the text holds the character U+007F"),
        "c1-name.yaml": (2, 7, "name", "the text holds the character U+009F"),
    }


def test_a_noncharacter_written_as_an_escape_is_refused(write_records):
    root = write_records({"systems/x.yaml": 'id: x\nname: X\nsummary: "A noncharacter \\uFFFE"\n'
                                            "capability: c\nachievement: a\n"})
    (diagnostic,) = pipeline.check(root).diagnostics
    assert (diagnostic.line, diagnostic.field) == (3, "summary") and "U+FFFE" in diagnostic.message


def test_a_number_too_small_to_hold_is_refused_not_made_zero(write_records):
    root = write_records({"organizations/x.yaml": "id: x\nname: X\nsummary: s\ntype: academic\nimportance: 1e-400\n"})
    (diagnostic,) = pipeline.check(root).diagnostics
    assert (diagnostic.line, diagnostic.field, diagnostic.code) == (5, "importance", "number")
    assert diagnostic.message == "1e-400 is too small for a number: it would be 0"
    assert pipeline.check(write_records({"organizations/x.yaml": "id: x\nname: X\nsummary: s\ntype: academic\n"
                                         "importance: 0e5\n"})).ok
