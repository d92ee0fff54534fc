"""Escaping and formatting in the render stage: a record's text reaches the page as typed."""
from pathlib import Path

import markdown
import pytest

from generator.models import Quantity
from generator.present import md, mermaid_label

HOSTILE = [
    "<script>alert(1)</script>",
    "a | b | c",
    "**not bold** _not em_ `not code`",
    "[not a link](javascript:alert(1))",
    "{{ 7*7 }} {% if x %}",
    "# not a heading",
    "Gödel — 漢字 😀 & <b>",
]


def _html(text: str) -> str:
    return markdown.markdown(text, extensions=["tables", "attr_list", "md_in_html"])


@pytest.mark.parametrize("text", HOSTILE)
def test_md_renders_as_the_text_typed(text):
    html = _html(f"| x |\n| --- |\n| {md(text)} |")
    import html as html_lib
    import re

    cell = re.search(r"<td>(.*)</td>", html).group(1)
    assert html_lib.unescape(cell) == text
    assert "<script" not in html and "<b>" not in html


@pytest.mark.parametrize("name", ['say "hi"', "a [b] (c) {d}", "x | y", "A --> B", "%% c", "#1; two",
                                  "Gödel 漢字", "x" * 300])
def test_mermaid_label_has_only_safe_characters(name):
    label = mermaid_label(name)
    assert all(ch.isascii() for ch in label)
    for dangerous in ('"', "[", "]", "{", "}", "|", "-->", "%%", "<", ">"):
        assert dangerous not in label
    assert len(label) < 48 * 8


@pytest.mark.parametrize("fields, expected", [
    ({"value": 1.2, "low": 0.4, "high": 3.6}, "1.2 (range: 0.4-3.6)"),
    ({"value": 8, "unit": "months", "approximate": True, "low": 5, "high": 14, "confidence": 95},
     "~8 months (95% CI: 5-14 months)"),
    ({"value": 23, "unit": "%"}, "23%"),
    ({"value": 50, "unit": "%", "approximate": True}, "~50%"),
    ({"value": 9, "unit": "months", "approximate": True, "qualifier": "2012-2022"}, "~9 months (2012-2022)"),
    ({"text": "First since 1969"}, "First since 1969"),
])
def test_quantity_formats_like_the_seed(fields, expected):
    assert Quantity(**fields).shown() == expected


@pytest.mark.parametrize("text", ["- not a list", "+ not a list", "# not a heading", "1. not numbered",
                                  "12) not numbered", "2023-03-14", "---"])
def test_md_at_the_start_of_a_paragraph_stays_text(text):
    import html as html_lib

    rendered = _html(md(text))
    assert rendered.startswith("<p>") and html_lib.unescape(rendered[3:-4]) == text


@pytest.mark.parametrize("source, target", [("systems/a.md", "systems/b.md"), ("systems/a.md", "risks/b.md"),
                                            ("index.md", "risks/b.md"), ("maps/risks.md", "index.md"),
                                            ("quality.md", "tags.md"), ("maps/topics.md", "topics/x.md")])
def test_href_is_the_relative_path(source, target):
    import posixpath

    from generator.present import href

    assert href(source, target) == posixpath.relpath(target, posixpath.dirname(source) or ".")


_PARALLEL_SCRIPT = r"""
import datetime, hashlib, os, sys, threading
from pathlib import Path
from generator import emitters, pipeline, processes, render, score

checked = pipeline.check(Path(sys.argv[1]))
today = datetime.date(2026, 1, 7)
scores = score.score(checked.graph, today)

def digest():
    rendered = render.render(checked.graph, scores, today)
    text = "".join(p + rendered.pages[p].markdown for p in sorted(rendered.pages))
    return hashlib.sha256(text.encode()).hexdigest(), rendered.counts["topic"]

processes.PARALLEL_FROM = 10**9
serial = digest()
processes.PARALLEL_FROM = 1
forks = []
real_fork = os.fork
os.fork = lambda: forks.append(1) or real_fork()
parallel = digest()
real_child = processes._in_child
processes._in_child = lambda function, items, sending, receiving, parent: os._exit(3)  # a child that dies
fallback = digest()
processes.BATCH = 5
def dying_midway(function, items, sending, receiving, parent):  # sends two batches, then dies
    done = []
    def counted(item):
        done.append(1)
        if len(done) > 12:
            os._exit(3)
        return function(item)
    real_child(counted, items, sending, receiving, parent)
processes._in_child = dying_midway
midway = digest()
parent, record_pages = os.getpid(), emitters.record.pages
def failing(base, entry):  # the parent's half fails: the error comes through, nothing waits forever
    if os.getpid() == parent:
        raise ValueError("parent half")
    return record_pages(base, entry)
emitters.EMITTERS = tuple(emitters.Emitter(e.name, failing if e.name == "record" else e.pages, e.each)
                          for e in emitters.EMITTERS)
render.EMITTERS = emitters.EMITTERS
processes._in_child = real_child
try:
    digest()
    raised = False
except render.EmitterFailed as failed:
    raised = "emitter 'record' failed on content/" in str(failed) and isinstance(failed.__cause__, ValueError)
print(threading.active_count(), len(forks), serial == parallel == fallback == midway, serial[1], raised)
"""


def test_record_pages_render_the_same_in_two_processes():
    """In a fresh interpreter (one thread, so forking is allowed): the pages rendered in two
    processes, and with a child that dies at once or after sending part of its half, are byte
    for byte those rendered in one; an error in
    the parent's half comes through and does not leave it waiting for the child."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PARALLEL_SCRIPT, str(Path(__file__).parent.parent / "content")],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    threads, forks, same, topics, raised = done.stdout.split()
    assert (threads, forks, same, raised) == ("1", "4", "True", "True") and int(topics) >= 5


_ORPHAN_SCRIPT = r"""
import datetime, os, sys, time
from pathlib import Path
from generator import emitters, pipeline, processes, render, score

checked = pipeline.check(Path(sys.argv[1]))
today = datetime.date(2026, 1, 7)
scores = score.score(checked.graph, today)
parent, record_pages = os.getpid(), emitters.record.pages
def slow_in_child(base, entry):  # the child's half takes long; the parent's half reports the child
    if os.getpid() != parent:
        print(os.getpid(), flush=True)
        time.sleep(60)
    return record_pages(base, entry)
render.EMITTERS = tuple(emitters.Emitter(e.name, slow_in_child if e.name == "record" else e.pages, e.each)
                        for e in emitters.EMITTERS)
processes.PARALLEL_FROM = 1
render.render(checked.graph, scores, today)
"""


def test_a_killed_build_takes_its_render_child_with_it():
    """The build is killed with SIGKILL while the forked half renders: the kernel ends the child
    too (it would otherwise render on for its whole half)."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, str(Path(__file__).parent.parent / "content")],
                               stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        child = int(process.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            try:  # a zombie until its new parent reaps it: gone as a running process either way
                if Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.05)
        still_running = Path(f"/proc/{child}/stat").exists() and \
            Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] != "Z"
        assert not still_running, f"render child {child} outlived the killed build"
    finally:
        process.kill()


def test_a_front_matter_title_is_yaml_that_mkdocs_reads_back():
    """JSON quoting leaves DEL and C1 controls as they are, which YAML refuses: MkDocs would drop
    the whole front matter silently. They are written as escapes (the loader refuses them too)."""
    import yaml

    from generator.present import front_matter_title

    for name in ["Plain", 'Quote " and <b>', "Gödel 漢字 😀", "DEL \x7f C1 \x9f nonchar \ufffe"]:
        assert yaml.safe_load(f"title: {front_matter_title(name)}\n")["title"] == " ".join(
            __import__("html").escape(name).split())
