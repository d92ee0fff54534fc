"""Hostile or careless editor input that the generator did not handle as its rules say: a
clear error naming file, line and field (never a traceback, a crash or a hang), nothing an
editor wrote silently dropped or changed, and a pull-request check that rejects a bad record
and never a good one. Found by a hostile review; each test failed on the code it was written
against (d58db85). At the end, the markup limits, both ways.

The builds and checks that might hang run in a subprocess with a timeout of 30 seconds.
"""
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from generator import pipeline

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "valid" / "content"
HANG = 30  # seconds: longer than this is a hang

GPT4 = (FIXTURES / "systems" / "gpt-4.yaml").read_text(encoding="utf-8")
TOPIC = (FIXTURES / "topics" / "ai-alignment.md").read_text(encoding="utf-8")
METRIC = (FIXTURES / "metrics" / "training-compute-doubling.yaml").read_text(encoding="utf-8")


@pytest.fixture
def base(tmp_path):
    """A copy of the valid fixtures under tmp_path/content, with files (text or bytes) replaced
    or added; returns the content folder."""

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "content"
        if not root.exists():
            shutil.copytree(FIXTURES, root)
        for relative, data in (files or {}).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
        return root

    return make


@pytest.fixture
def project(tmp_path):
    """A project folder as tests/conftest.py's valid_project makes it (mkdocs.yml, the generator
    linked in, a copy of the valid fixtures); ``project(files)`` writes files under content/."""
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")
    shutil.copytree(FIXTURES, tmp_path / "content")

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        for relative, data in (files or {}).items():
            path = tmp_path / "content" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
        return tmp_path

    return make


def kb(folder: Path, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m generator ARGS`` in ``folder``; a run longer than ``timeout`` fails the test."""
    env = dict(os.environ, KB_DIAGRAMS="client", KB_TODAY="2026-01-07", PYTHONPATH=str(folder))
    try:
        return subprocess.run([sys.executable, "-m", "generator", *args], cwd=folder, env=env,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"kb {' '.join(map(str, args))} ran longer than {timeout} s (a hang)")


def errors(run) -> list:
    return [d for d in run.diagnostics if d.severity == "error"]


def article(extra: str) -> str:
    """The fixture topic with ``extra`` appended to its article."""
    return TOPIC + "\n" + extra + "\n"


# ---------------------------------------------------------------------------- loading


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\ufffe"])
def test_a_raw_control_character_is_reported_on_its_line_and_column(base, character):
    """Written as it is (not as an escape), libyaml refuses it: the error came out at 1:1 with
    libyaml's own words and a character offset ('position 358') instead of the line."""
    text = GPT4.replace("limitations: Still", "limitations: St" + character + "ill")
    line = next(n for n, row in enumerate(text.split("\n"), 1) if character in row)
    assert line == 8
    run = pipeline.check(base({"systems/gpt-4.yaml": text}))
    (diagnostic,) = errors(run)
    assert (diagnostic.file.endswith("systems/gpt-4.yaml"), diagnostic.line, diagnostic.column) == (True, 8, 16)
    assert "position" not in diagnostic.message


def test_a_raw_control_character_in_front_matter_is_reported_on_its_line(base):
    text = TOPIC.replace("current_status: An active", "current_status: An\x00active")
    line = next(n for n, row in enumerate(text.split("\n"), 1) if "\x00" in row)
    (diagnostic,) = errors(pipeline.check(base({"topics/ai-alignment.md": text})))
    assert diagnostic.line == line  # was 2, the front matter's first line


def test_a_markdown_record_with_carriage_returns_only_is_told_so(base):
    """The same file as .yaml gets 'a carriage return with no line feed after it'; as .md it was
    told it does not start with front matter, though its first line is '---'."""
    (diagnostic,) = errors(pipeline.check(base({"topics/ai-alignment.md": TOPIC.replace("\n", "\r").encode()})))
    assert "front matter" not in diagnostic.message
    assert "carriage return" in diagnostic.message


# ---------------------------------------------------------------------------- articles


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x0c"])
def test_a_control_character_in_an_article_is_an_error(base, character):
    """The front matter refuses control characters (code 'character'); the article took them:
    the built page silently dropped a NUL ("do what\\x00 people" showed as "do what people")
    while the JSON export kept it, and ESC and form feed went into the HTML as they were."""
    text = article(f"Alignment is hard{character} to get right.")
    run = pipeline.check(base({"topics/ai-alignment.md": text}))
    assert not run.ok
    (diagnostic,) = errors(run)
    assert diagnostic.code == "character"
    assert diagnostic.line == len(text.split("\n")) - 1


def test_a_deeply_nested_list_in_an_article_is_not_a_traceback(project):
    """500 nested list items (a 250 KB article): kb validate said the content is valid, then kb
    build died in Python-Markdown with RecursionError and a traceback."""
    nested = "\n".join("  " * depth + "- item" for depth in range(500))
    folder = project({"topics/ai-alignment.md": article(nested)})
    validated = kb(folder, "validate")
    built = kb(folder, "build")
    assert b"Traceback" not in built.stderr and b"RecursionError" not in built.stderr
    assert built.returncode in (0, 1)
    # the pull-request check and the build agree: either both take the record or both refuse it
    assert (validated.returncode == 0) == (built.returncode == 0)


def test_unclosed_record_links_do_not_hang_the_build(project):
    """'[[a ' 6,000 times (a 24 KB article): Python-Markdown's link text scan is quadratic;
    3,000 took 12.8 s and 6,000 more than 40 s."""
    folder = project({"topics/ai-alignment.md": article("[[a " * 6000)})
    built = kb(folder, "build", timeout=HANG)
    assert b"Traceback" not in built.stderr


def test_unclosed_links_do_not_hang_the_build(project):
    """'[a](' 40,000 times (160 KB): 5,000 took 7 s, 10,000 took 25 s, growing with the square."""
    folder = project({"topics/ai-alignment.md": article("[a](" * 40000)})
    built = kb(folder, "build", timeout=HANG)
    assert b"Traceback" not in built.stderr


def test_validate_does_not_hang_on_an_article_that_mentions_mermaid(project):
    """An article holding the word 'mermaid' is converted by validation (to find its diagram
    fences): with '[[a ' 6,000 times beside it, kb validate took 59 s to say "content is valid"."""
    folder = project({"topics/ai-alignment.md": article("[[a " * 6000 + "\n\nA mermaid is a sea creature.")})
    kb(folder, "validate", timeout=HANG)


def test_a_diagram_opening_front_matter_over_blank_lines_does_not_hang_validate(project):
    """A ```mermaid fence starting '---' then 100,000 blank lines: diagram_check's front-matter
    pattern (``-{3}\\s*[\\n\\r](.*?)...``) backtracks once per blank line over the rest of the text;
    30,000 lines took 30 s in diagram_type alone."""
    fence = "```mermaid\n---" + "\n" * 100_000 + "flowchart LR\n  a --> b\n```"
    folder = project({"topics/ai-alignment.md": article(fence)})
    kb(folder, "validate", timeout=HANG)


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize("old, new", [("value: 6", "value: true"), ("low: 5", "low: false"),
                                      ("confidence: 90", "confidence: true")])
def test_true_or_false_is_not_read_as_a_number(base, old, new):
    """A rating refuses `true` (strict); a figure's value, low, high and confidence took it as
    1 or 0 without a word: `value: true` passed as the number 1."""
    run = pipeline.check(base({"metrics/training-compute-doubling.yaml": METRIC.replace(old, new)}))
    assert not run.ok
    line = next(n for n, row in enumerate(METRIC.replace(old, new).split("\n"), 1) if row.strip() == new)
    assert [d.line for d in errors(run)] == [line]


@pytest.mark.parametrize("written", ["٢٠٢٢", "２０２２-０２"])
def test_a_partial_date_in_digits_other_than_ascii_is_refused(base, written):
    """The validator's pattern is \\d{4}, which in pydantic's regex takes any Unicode digit: the
    Arabic-Indic '٢٠٢٢' and the full-width '２０２２-０２' passed as dates, though the schema
    written for editors (JSON Schema's ASCII \\d) refuses them."""
    run = pipeline.check(base({"metrics/training-compute-doubling.yaml":
                               METRIC.replace("as_of: 2022-02", f"as_of: {written}")}))
    assert not run.ok
    (diagnostic,) = errors(run)
    assert (diagnostic.field, diagnostic.line) == ("as_of", 12)


def test_the_year_zero_is_not_said_to_be_a_month_without_such_a_day(base):
    """'0000': "'0000' is not a real date: that month has no such day" (there is no month nor
    day in it; the year is what is wrong)."""
    run = pipeline.check(base({"metrics/training-compute-doubling.yaml":
                               METRIC.replace("as_of: 2022-02", "as_of: 0000")}))
    (diagnostic,) = errors(run)
    assert diagnostic.field == "as_of"
    assert "day" not in diagnostic.message and "month" not in diagnostic.message


# ---------------------------------------------------------------------------- images


def _jpeg(width: int, height: int) -> bytes:
    """A JPEG's header with its frame (SOF0) giving the size, as a browser reads it first."""
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width)
            + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9")


def test_a_jpeg_that_unpacks_to_billions_of_pixels_is_refused_like_a_png(base):
    """images.found refuses a PNG or GIF of more than 50 million pixels; a 60,000 x 60,000 JPEG
    (a few bytes on disk) passed, its size never read."""
    root = base({"images/bomb.jpg": _jpeg(60000, 60000),
                 "topics/ai-alignment.md": article("![A chart](../images/bomb.jpg)")})
    run = pipeline.check(root)
    assert not run.ok
    assert any("pixels" in d.message for d in errors(run))


# ---------------------------------------------------------------------------- the command line


def test_kb_new_with_a_name_that_is_not_utf8_is_an_error_not_a_traceback(project):
    """A name from a Latin-1 terminal ('Caf\\xe9' as bytes): UnicodeEncodeError from libyaml with
    a traceback, and an empty content/systems/caf.yaml left behind (which then fails as empty)."""
    folder = project()
    before = set((folder / "content" / "systems").iterdir())
    env = dict(os.environ, PYTHONPATH=str(folder))
    done = subprocess.run([sys.executable.encode(), b"-m", b"generator", b"new", b"systems", b"Caf\xe9"],
                          cwd=folder, env=env, capture_output=True, timeout=60)
    assert b"Traceback" not in done.stderr
    created = set((folder / "content" / "systems").iterdir()) - before
    assert all(path.stat().st_size > 0 for path in created), "an empty record file was left behind"


def test_kb_validate_given_a_kind_folder_does_not_reject_its_good_records(project):
    """`kb validate content/systems` took the kind folder for a content folder: both good systems
    were 'outside the kind folders' (hint: "records live in systems/<kind>/<id>") and it exited 1.
    It should check those records (or refuse the argument as a usage error, exit 2)."""
    folder = project()
    done = kb(folder, "validate", "content/systems")
    assert b"outside the kind folders" not in done.stdout + done.stderr
    assert done.returncode in (0, 2)


# ---------------------------------------------------------------------------- the markup limits, both ways


def _markup_problems(body: str) -> list:
    from generator.core import SourceDocument
    from generator.validate import _check_markup, _line_starts
    document = SourceDocument("topics", "x", "content/topics/x.md", {}, body=body, body_line=5)
    return [(d.line, d.column, d.code) for d in _check_markup(document, body, _line_starts(body))]


@pytest.mark.parametrize("body", [
    "Text [[a " * 6000 + "]",  # nested: each '[' scans to the one ']' at the end
    "[a](\"" * 3000,  # a title's quote: getLink scans to the paragraph's end
    "x\n" + "\t" * 65 + "- deep\n",  # tabs count four columns
    "> " * 140 + "quote\n",
])
def test_markup_that_cannot_be_converted_in_time_is_refused(body):
    assert [code for _, _, code in _markup_problems(body)] == ["markup"]


def test_the_markup_limits_leave_real_articles_alone():
    links = " ".join(f"[source {n}](https://example.org/{n}) and [[record-{n}]] [^{n}]" for n in range(2000))
    nested = "\n".join("    " * level + "- level" for level in range(64))
    body = f"{links}\n\n{nested}\n\n" + "An aside [with a bracket never closed.\n\n" * 200 + "> " * 60 + "deep quote\n"
    assert _markup_problems(body) == []


def test_the_deep_line_is_named():
    body = "One.\n\nTwo.\n" + " " * 300 + "- item\n"
    assert _markup_problems(body) == [(5 + 3, 1, "markup")]
