"""A diagram that Mermaid never finishes drawing does not hang the build: its chunk runs out of
time, its diagrams are drawn one at a time in a new page, and the one that runs out alone is an
error at the file and line where the editor wrote it (generator/diagrams.py: CHUNK_TIMEOUT,
DIAGRAM_TIMEOUT; generator/pipeline.py: _draw).

No Mermaid diagram is known to hang the pinned release, so the drawing pages get one more
script: Mermaid's render() loops for ever on a source with HANG in it."""
import concurrent.futures
import shutil

import pytest

from generator import diagrams
from generator.build import build_site

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium, which ./dev test installs")

HANGING_RENDER = """(() => {
  const render = mermaid.render;
  mermaid.render = function (id, text) {
    if (text.includes("HANG")) { for (;;) {} }
    return render.call(this, id, text);
  };
})();"""

HANGS = "flowchart LR\n  A[HANG] --> B\n"


def within(seconds: float, function, *args):
    """``function(*args)``, failing the test (not hanging it) when it has not returned in time."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(function, *args).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


@pytest.fixture
def hanging(monkeypatch):
    monkeypatch.setenv("KB_DIAGRAMS", "auto")
    scripts = diagrams._page_scripts
    monkeypatch.setattr(diagrams, "_page_scripts", lambda: [*scripts(), HANGING_RENDER])
    monkeypatch.setattr(diagrams, "CHUNK_TIMEOUT", 4.0)
    monkeypatch.setattr(diagrams, "DIAGRAM_TIMEOUT", 2.0)


def test_a_hanging_diagram_is_given_up_and_the_others_of_its_chunk_are_drawn(tmp_path, hanging):
    # drawn in the order of their sources: one before the diagram that hangs, two after it
    others = ["flowchart LR\n  A0[Step 0] --> B0\n", "flowchart LR\n  Z1[Step 1] --> B1\n",
              "flowchart LR\n  Z2[Step 2] --> B2\n"]
    pages = {"a.md": "\n\n".join(diagrams.block(source) for source in [others[0], HANGS, others[1]]),
             "b.md": diagrams.block(others[2])}
    drawn = within(60, diagrams.draw, pages, tmp_path)
    hangs = (HANGS.strip(), False)  # as its block holds it
    assert drawn.timed_out == [hangs]
    assert drawn.failed_diagrams == [hangs] and len(drawn.failed) == 1
    assert "did not finish drawing it in 2 s" in drawn.failed[0]
    assert drawn.drawn == 3 and drawn.left == 1
    for source in others:
        assert diagrams.cached(tmp_path, (source, False)).read_text().startswith("<svg")
    assert not diagrams.cached(tmp_path, hangs).exists()


def test_a_failure_that_is_not_a_timeout_is_not_counted_as_one(tmp_path, hanging):
    drawn = diagrams.draw({"a.md": diagrams.block("flowchart LR\n  A --> B\n") + "\n\n"
                           + diagrams.block("sequenceDiagram\n  A->>B: hi\n  loop\n")}, tmp_path)
    assert drawn.timed_out == [] and len(drawn.failed) == 1 and drawn.drawn == 1


def test_kb_build_fails_at_the_lines_of_the_diagrams_that_hang(valid_project, hanging):
    """One in a record's diagrams, one in an article's fence: each an error where it was written."""
    topic = valid_project / "content" / "topics" / "ai-alignment.md"
    text = topic.read_text()
    assert "    mermaid: |\n      flowchart LR\n" in text
    topic.write_text(text.replace("    mermaid: |\n      flowchart LR\n",
                                  "    mermaid: |\n      flowchart LR\n        H[HANG] --> A\n", 1))
    in_front_matter = text.splitlines().index("    mermaid: |") + 2
    text = topic.read_text()
    overview = text.splitlines().index("## Overview") + 1
    topic.write_text(text.replace("## Overview\n", "## Overview\n\n```mermaid\nflowchart TD\n  X[HANG too] --> Y\n```\n", 1))
    in_body = overview + 3  # "## Overview", a blank line, the fence, then the first line of the diagram
    result = within(150, build_site, valid_project / "mkdocs.yml")
    assert not result.ok
    problems = sorted((d for d in result.diagnostics if d.severity == "error"), key=lambda d: d.line)
    assert [(d.code, d.line, d.field) for d in problems] == [
        ("drawing", in_front_matter, "diagrams.threat-model.mermaid"), ("drawing", in_body, "body")]
    for problem in problems:
        assert problem.file.endswith("content/topics/ai-alignment.md")
        assert "did not finish drawing this diagram in 2 s" in problem.message
    assert not (valid_project / "site").exists()
