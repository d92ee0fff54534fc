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
import os
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


def check(folder: Path, monkeypatch) -> pipeline.Checked:
    """load -> validate -> link from inside ``folder`` (which holds content/), as an editor runs it."""
    monkeypatch.chdir(folder)
    return pipeline.check(Path("content"))


def by_file(checked: pipeline.Checked) -> dict:
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
