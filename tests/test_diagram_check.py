"""The check of editors' diagrams without a browser: the static checks refuse no valid diagram,
prose fences are found as the prose converter finds them, Mermaid's line is mapped to the file's,
and without Chromium the run says that only the static checks were made.

Mermaid's own parse, in Chromium, is tested in tests/browser/test_mermaid_check.py."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from generator import diagram_check, diagrams, pipeline, prose
from generator.cli import main
from generator.core import SourceDocument
from generator.present import template

FIXTURES = Path(__file__).parent / "fixtures"
PARSE_ERROR = FIXTURES / "mermaid" / "parse-error" / "content"

# Valid diagrams of each type Mermaid 11.17.2 knows (each parses in it: tests/browser/test_mermaid_check.py).
VALID = {
    "er cardinalities": "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE-ITEM : contains\n"
                        "  ORDER {\n    string id\n    date placed\n  }",
    "class braces": "classDiagram\n  class Animal {\n    +String name\n    +eat() void\n  }\n  Animal <|-- Dog",
    "quoted line break": 'flowchart LR\n  A["line one\nline two"] --> B("(a) [b] {c}")',
    "front matter": "---\ntitle: x\n---\nflowchart TD\n  a --> b",
    "directive and comments": '%%{init: {"theme": "dark"}}%%\n%% a comment\n\ngraph LR\n  a --> b',
    "sequence": "sequenceDiagram\n  Alice->>Bob: Hi {there}\n  Bob-->>Alice: [ok]",
    "state": "stateDiagram-v2\n  [*] --> Still\n  Still --> [*]\n  state Moving {\n    a --> b\n  }",
    "class v2": "classDiagram-v2\n  A <|-- B",
    "gantt": "gantt\n  title t\n  section s\n  a :a1, 2024-01-01, 3d",
    "pie": 'pie title Pets\n  "Dogs" : 386\n  "Cats" : 85',
    "journey": "journey\n  section s\n    t: 5: me",
    "mindmap": "mindmap\n  root((root))\n    a\n    b",
    "timeline": "timeline\n  2020 : a",
    "quadrant": "quadrantChart\n  x-axis a --> b",
    "git": "gitGraph\n  commit\n  branch dev\n  commit",
    "requirement": "requirementDiagram\n  requirement r {\n    id: 1\n    text: t\n  }",
    "c4": 'C4Context\n  Person(a, "A")',
    "sankey": "sankey-beta\na,b,1",
    "xychart": "xychart-beta\n  x-axis [a, b]\n  bar [1, 2]",
    "block": "block-beta\n  a b c",
    "packet": 'packet-beta\n  0-15: "x"',
    "architecture": "architecture-beta\n  service db(database)[DB]",
    "kanban": "kanban\n  todo\n    t1",
    "radar": "radar-beta\n  axis a, b\n  curve c{1,2}",
    "treemap": 'treemap-beta\n"a"\n  "b": 1',
    "elk": "flowchart-elk LR\n  a --> b",
    "info": "info",
}


def authored(source: str, front_matter: bool = True) -> diagram_check.Authored:
    return diagram_check.Authored("content/topics/t.md", "diagrams.d.mermaid", source, 10, 1, True, front_matter)


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_valid_diagram_of_any_type_has_no_static_problem(name):
    assert diagram_check.diagram_type(VALID[name]) is not None
    assert diagram_check.static_problems(authored(VALID[name])) == []


@pytest.mark.parametrize("source, message", [
    ("", "the diagram is empty"),
    ("%% only a comment\n", "the diagram is empty"),
    ("---\ntitle: x\n---\n", "the diagram is empty"),
    ("flowchat LR\n  a --> b", "unknown diagram type 'flowchat'; did you mean 'flowchart'?"),
    ("zenuml\n  A.b()", "unknown diagram type 'zenuml'"),  # not in the pinned bundle
    ("%% kb:generated\nflowchart LR\n  a --> b", "'kb:generated' marks diagrams drawn by the generator"),
])
def test_what_cannot_be_a_diagram_is_an_error(source, message):
    assert [p.message for p in diagram_check.static_problems(authored(source))] == [message]


def test_a_prose_fence_may_type_the_generators_old_marker():
    # drawn strict whatever it says (tests/fixtures/hostile-prose/content/topics/mermaid-marker.md)
    assert diagram_check.static_problems(authored("flowchart LR\n  %% kb:generated\n  a", front_matter=False)) == []


def test_mermaids_line_is_counted_after_its_front_matter_directives_and_comments():
    source = "---\ntitle: x\n---\n%% c\n\nflowchart LR\n  %% d\n  a --> b\n  b --> c"
    text, _ = diagram_check.as_parsed(source)
    assert text.splitlines()[1] == "  a --> b"
    assert [diagram_check.source_line(source, n) for n in (1, 2, 3)] == [6, 8, 9]
    directive = '%%{init: {"theme": "dark"}}%%\nflowchart LR\n  a -->'
    assert diagram_check.source_line(directive, 3) == 3  # a directive leaves its line


def test_a_parse_error_is_placed_on_the_file_line_mermaid_names():
    diagram = authored("---\ntitle: x\n---\nflowchart LR\n  A[a --> B[b]")
    message = "Parse error on line 2:\n...A[a --> B[b]\n-----------^\nExpecting 'SQE', 'PE', 'PIPE', 'TEXT', " \
              "'A', 'B', 'C', got 'SQS'"
    problem = diagram_check.parse_problem(diagram, message)
    assert (problem.line, problem.code, problem.severity) == (10 + 4, "mermaid", "error")
    assert problem.message == ("Mermaid cannot parse this diagram: Parse error on line 2: ...A[a --> B[b] "
                               "Expecting 'SQE', 'PE', 'PIPE', 'TEXT', 'A' or 2 more, got 'SQS'")
    langium = diagram_check.parse_problem(authored("pie\n  \"a\": x"),
                                          "Parsing failed: Lexer error on line 2, column 8: unexpected")
    assert (langium.line, langium.column) == (11, 8)


def test_the_lines_of_a_front_matter_diagram_are_its_block_lines():
    run = pipeline.run(pipeline.Run(PARSE_ERROR), ("load",))
    document = run.documents[0]
    front, fence = diagram_check.authored(document)
    assert (front.line, front.exact, front.field) == (8, True, "diagrams.threat-model.mermaid")
    assert front.source.startswith("---\ntitle: Threats")
    assert (fence.line, fence.column, fence.exact, fence.field) == (22, 3, True, "body")
    assert fence.source == "sequenceDiagram\n  A->>B: hi\n  B-->>"


def test_a_quoted_diagram_is_placed_on_its_value():
    document = SourceDocument("topics", "t", "content/topics/t.md", {"diagrams": {"d": {"mermaid": "graph\na"}}},
                              positions={("diagrams", "d", "mermaid"): (7, 14)})
    (diagram,) = diagram_check.authored(document)
    assert (diagram.line, diagram.column, diagram.exact) == (7, 14, False)
    assert diagram_check.parse_problem(diagram, "Parse error on line 2:\nx").line == 7


def test_every_fence_the_prose_converter_draws_is_found_on_its_line():
    bodies = [path.read_text().split("\n---\n", 1)[1] for path in sorted(FIXTURES.rglob("*.md"))
              if "```" in path.read_text() or "~~~" in path.read_text()]
    bodies.append("~~~mermaid\nflowchart LR\n  a\n~~~\n\n````md\n```mermaid\nno\n```\n````\n\n```mermaid\nunclosed")
    for body in bodies:
        html = prose.to_page_markdown(body, lambda target, text: None)
        drawn = [source for source, _ in diagrams.found_in(html)]
        assert [(source, exact) for _, _, source, exact in diagram_check.fences(body)] == [(s, True) for s in drawn]


def test_without_a_title_the_page_shows_no_title_line():
    shown = template("diagram.md.j2").render(title="", block="BLOCK", caption="")
    assert "kb-diagram-title" not in shown and "BLOCK" in shown
    assert "kb-diagram-title" in template("diagram.md.j2").render(title="T", block="BLOCK", caption="")


# ---------------------------------------------------------------------------- without Chromium


@pytest.fixture
def no_chromium(monkeypatch):
    """A machine where diagrams cannot be parsed: any browser launch fails the test."""
    monkeypatch.setattr(diagrams, "unavailable", lambda: "no Chromium on this machine (test)")

    def launched(*args, **kwargs):
        raise AssertionError("Chromium was launched")

    monkeypatch.setattr(diagrams, "_parse_in_chromium", launched)


def test_without_chromium_only_the_static_checks_run_and_the_output_says_so(no_chromium, tmp_path, monkeypatch,
                                                                            capsys):
    shutil.copytree(PARSE_ERROR, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "json"]) == 0  # Mermaid's errors cannot be found here
    report = json.loads(capsys.readouterr().out)
    (warning,) = report["diagnostics"]
    assert (warning["code"], warning["severity"], warning["file"], warning["line"]) == (
        "mermaid-unchecked", "warning", "content/topics/ai-alignment.md", 8)
    assert warning["message"].startswith("2 diagrams not parsed by Mermaid: no Chromium on this machine (test); "
                                         "only checked that each has text, a type Mermaid knows")
    # the static checks still fail the run
    topic = tmp_path / "content/topics/ai-alignment.md"
    topic.write_text(topic.read_text().replace("  sequenceDiagram", "  sequenceDiagrm"))
    assert main(["validate"]) == 1
    printed = capsys.readouterr().out
    assert re.search(r"ai-alignment.md:22:3: error: unknown diagram type 'sequenceDiagrm'", printed)
    assert printed.count("not parsed by Mermaid") == 1


def test_a_base_without_authored_diagrams_says_nothing_of_mermaid(no_chromium):
    checked = pipeline.check(FIXTURES / "invalid" / "missing-reference" / "content")
    assert not [d for d in checked.diagnostics if d.code.startswith("mermaid")]


# ------------------------------------------------------------------------------ Mermaid's expressions, in one pass
#
# The three expressions of Mermaid's preprocessing that diagram_check finds in one pass instead
# (they took time with the square of a run of blank lines or spaces), as Mermaid writes them.
FRONT_MATTER = re.compile(r"^([^\S\n\r]*)-{3}\s*[\n\r](.*?)[\n\r]\1-{3}\s*[\n\r]+", re.S)
COMMENT_LINE = re.compile(r"^\s*%%(?!\{)[^\n]+\n?", re.M)
DETECT_COMMENT = re.compile(r"\s*%%.*\n")


def test_the_one_pass_functions_find_what_mermaids_expressions_match():
    rng = __import__("random").Random(13)
    alphabet = ["-", "-", "-", " ", "\t", "\n", "\n", "\r", "a", "%", "%", "{", "\x0c", "\x85"]
    texts = ["---\n\n---\n", "---\n  \n---\nx", " ---\n a\n ---\n\nflowchart", "---\na\n---", "%%a\n%%b\n",
             "\n\n  %% c\nb", "a  %%x\n", "---\r\n---\r\n"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(60_000)]
    for text in texts:
        matched = FRONT_MATTER.match(text)
        assert diagram_check.front_matter_end(text) == (matched.end() if matched else None), repr(text)
        assert diagram_check.comment_lines(text) == [m.span() for m in COMMENT_LINE.finditer(text)], repr(text)
        assert diagram_check.detected_comments(text) == [m.span() for m in DETECT_COMMENT.finditer(text)], repr(text)


@pytest.mark.parametrize("source", ["---" + "\n" * 200_000 + "flowchart LR\n  a --> b",
                                    "\n" * 200_000 + "%% x\nflowchart LR\n  a --> b",
                                    "flowchart LR\n" + " " * 200_000 + "%% x\n  a --> b",
                                    "---\n" + "\n---a" * 40_000 + "\nflowchart LR"])
def test_runs_of_blank_lines_and_spaces_take_one_pass(source):
    """Each kept validation busy for minutes with Mermaid's expressions (at 100,000 lines); in one
    pass each takes milliseconds. The bound only tells a hang from that."""
    import time
    started = time.process_time()
    diagram_check.diagram_type(source)
    diagram_check.source_line(source, 2)
    assert time.process_time() - started < 5  # the quadratic expressions take minutes here
