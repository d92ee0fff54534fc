"""What `kb validate` reports for each class of bad input, pinned to file, line, column and field.

Each case is a small content tree under tests/fixtures/invalid/<case>/content, so the fixtures
double as a catalogue of what the validator catches. The checks run from inside the case's
folder, so every diagnostic names its file as an editor sees it: content/<kind>/<file>.
"""
from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from generator import pipeline
from generator.core import Diagnostic
from generator.kinds import KINDS
from generator.load import MAX_FILE_BYTES

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
CASES = sorted(path.name for path in INVALID.iterdir() if (path / "content").is_dir())


@pytest.fixture
def check(monkeypatch):
    """Run load -> validate -> link on a fixture tree (a case name or a folder holding content/)."""

    def run(case: str | Path) -> pipeline.Run:
        monkeypatch.chdir(INVALID / case if isinstance(case, str) else case)
        return pipeline.check(Path("content"))

    return run


def only(checked: pipeline.Run) -> Diagnostic:
    assert len(checked.diagnostics) == 1, checked.diagnostics
    return checked.diagnostics[0]


def located(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    return diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.field


# ---------------------------------------------------------------------------- the good case


def test_valid_fixtures_have_every_kind_and_no_diagnostics(check):
    checked = check(VALID)
    assert checked.diagnostics == []
    assert {entry.kind for entry in checked.entries} == set(KINDS)
    files = [p for p in (VALID / "content").rglob("*") if p.is_file()]
    assert len(checked.entries) == len(files)
    # The records reference each other: the graph has edges of several kinds.
    assert {edge.label for edges in checked.graph.outgoing.values() for edge in edges} >= {
        "developed by", "affiliated with", "addresses", "sourced from", "mentions", "builds on"}


# ---------------------------------------------------------------------------- loading


def test_yaml_syntax_error_points_at_the_unclosed_quote(check):
    diagnostic = only(check("yaml-syntax-error"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 3, 10, "")
    assert diagnostic.message == 'YAML syntax error: the text in quotes (") that starts here is never closed'
    assert diagnostic.hint == 'end the text with " (inside it, write \\" for a " that is part of the text)'


# What libyaml says for the commonest slips, in an editor's words: where it broke, where what
# broke was opened, and the fix (issue 14). (file text, located at, message, hint)
YAML_SLIPS = {
    "colon-in-text": ("id: a\nsummary: Risk: a thing\n", (2, 14),
                      "the text on line 2 contains ': ', which YAML reads as a second field",
                      'put the text in quotes: summary: "Risk: a thing"'),
    "unclosed-list": ("id: a\ntags: [a, b\nname: x\n", (2, 7),
                      "the list opened with '[' here is not closed: line 3 comes before its ']'",
                      "close it with ']' at the end of line 2, or write one '- item' per line below the field"),
    "unclosed-fields": ("id: a\nfeatured: {a: b\nname: x\n", (2, 11),
                        "the set of fields opened with '{' here is not closed: line 3 comes before its '}'",
                        "close it with '}' at the end of line 2"),
    "list-item-indent": ("id: a\ntags:\n  - a\n - b\n", (4, 2),
                         "list item on line 4 is indented 1 space, the one above 2 spaces",
                         "indent it like line 3 (2 spaces)"),
    "field-of-item-indent": ("id: a\nrelations:\n  - type: x\n    target: y\n   strength: z\n", (5, 4),
                             "line 5 is out of line with the list that starts on line 3",
                             "indent it like line 4 (4 spaces), or start a new item with '- ' at column 3"),
    "wrapped-text": ("id: a\nsummary: a long text\nthat wraps\nname: x\n", (3, 1),
                     "line 3 is neither a field ('name: value') nor part of the text above it",
                     "indent it more than line 2 to continue that text, or write it as 'field: value'"),
    "after-quote": ("id: a\nname: 'it's'\n", (2, 11), "text goes on after the closing quote on line 2",
                    "put the whole value in quotes; inside '...' write '' for an apostrophe, inside \"...\" write \\\""),
    "item-among-fields": ("id: a\nname: x\n- b\n", (3, 1), "a '- ' list item on line 3 stands among fields",
                          "indent it under the field it belongs to (e.g. 'tags:'), or remove the '- '"),
    "dash-after-colon": ("id: a\nsummary: - a list?\n", (2, 10),
                         "'- ' after 'summary:' on the same line starts a list there",
                         "put the text in quotes (summary: \"- a list?\"), or write each item on its own line below "
                         "'summary:'"),
    "at-sign": ("id: a\nname: @handle\n", (2, 7), "a text cannot start with '@' unless it is in quotes",
                'put the value in quotes: "@handle"'),
    "item-not-plain": ("id: a\ntags: [a: b: c]\n", (2, 12), "a list item on line 2 is not plain text",
                       "put an item that contains ':', ',', '[', ']', '{' or '}' in quotes"),
    # found by fuzzing: the end of the file is on no line, nor is a list the file ends in
    "open-at-end": ("id: a\ntags: [", (2, 7), "the list opened with '[' here is not closed: the file ends before its ']'",
                    "close it with ']' at the end of line 2"),
    "list-at-end": ("id: a\ntags: [a,\n  b", (2, 7),  # closed after its last item (review), not on line 2
                    "the list opened with '[' here is not closed: the file ends before its ']'",
                    "close it with ']' at the end of line 3, or write one '- item' per line below the field"),
    "list-on-lines": ("id: a\ntags: [a,\n  b\nname: x\n", (2, 7),
                      "the list opened with '[' here is not closed: line 4 comes before its ']'",
                      "close it with ']' at the end of line 3, or write one '- item' per line below the field"),
    "after-a-list": ("id: a\ntopics: [a] - x\n", (2, 13), "line 2 goes on after its value: '- x'",
                     "remove what follows the value, or put the whole value in quotes"),
    "after-a-list-item": ("id: a\nrows:\n  - [a, b]\n  - [c, d] x\n", (4, 12), "line 4 goes on after its value: 'x'",
                          "remove what follows the value, or put the whole value in quotes"),
    "item-of-a-list": ("id: a\naliases: [A, @B, C]\n", (2, 14), "a text cannot start with '@' unless it is in quotes",
                       'put the value in quotes: "@B"'),
    "tab-before-text": ("id: a\nsummary:\n\tText\n", (3, 1), "a tab character in the indentation",
                        "indent with spaces; YAML does not allow tab characters for indentation"),
    # found in review: a comment stays out of the quotes; no space after a colon; an item's fields
    "colon-and-comment": ("id: a\nsummary: Risk: a thing # see note\n", (2, 14),
                          "the text on line 2 contains ': ', which YAML reads as a second field",
                          'put the text in quotes: summary: "Risk: a thing" # see note'),
    "no-space-after-colon": ("id: a\nname:foo\nsummary: x\n", (2, 6), "line 2 has no space after the ':' of its field",
                             "put a space after the ':' (field: value)"),
    "under-an-item": ("id: a\nrelations:\n  - type: cites\n     target: y\n", (4, 6),
                      "line 4 is indented under line 3, whose value is a text, not fields",
                      "indent it like the fields of line 3 (4 spaces), or quote a text that contains ': '"),
    "field-of-an-item": ("id: a\npositions:\n  - topic: a\n   date: 2024\n", (4, 4),
                         "line 4 is out of line with the list that starts on line 3",
                         "indent it like the fields of line 3 (4 spaces), or start a new item with '- ' at column 3"),
}


@pytest.mark.parametrize("character, name", [("\u2028", "U+2028 (line separator)"), ("\x85", "U+0085 (next line)"),
                                             ("\r", "a carriage return with no line feed after it")])
def test_a_line_break_editors_do_not_show_is_an_error_where_they_see_it(write_records, monkeypatch, character, name):
    """libyaml breaks lines there (a plain text would change, every later line number would
    differ from the editor's): found by fuzzing, now an error on the line the editor counts."""
    root = write_records({"systems/a.yaml": f"id: a\nsummary: A model.{character}More.\nname: x\n"})
    monkeypatch.chdir(root.parent)
    (diagnostic,) = [d for d in pipeline.check(Path("content")).diagnostics if d.code == "character"]
    assert (diagnostic.line, diagnostic.column) == (2, 18)
    assert diagnostic.message.startswith(f"the text holds {name}, which YAML reads as a line break")


@pytest.mark.parametrize("slip", YAML_SLIPS)
def test_yaml_slips_are_explained_in_plain_words(write_records, monkeypatch, slip):
    text, (line, column), message, hint = YAML_SLIPS[slip]
    root = write_records({"systems/a.yaml": text})
    monkeypatch.chdir(root.parent)
    (diagnostic,) = [d for d in pipeline.check(Path("content")).diagnostics if d.code == "yaml"]
    assert (diagnostic.line, diagnostic.column, diagnostic.message, diagnostic.hint) == \
        (line, column, f"YAML syntax error: {message}", hint)


def test_front_matter_slips_name_the_lines_of_the_file(write_records, monkeypatch):
    """A topic's front matter starts on line 2: the words count lines as the file does."""
    root = write_records({"topics/t.md": "---\nid: t\ntitle: T\nsummary: Risk: a thing\n---\nBody.\n"})
    monkeypatch.chdir(root.parent)
    (diagnostic,) = [d for d in pipeline.check(Path("content")).diagnostics if d.code == "yaml"]
    assert (diagnostic.line, diagnostic.message) == (
        4, "YAML syntax error: the text on line 4 contains ': ', which YAML reads as a second field")


def test_a_record_that_does_not_parse_still_exists_for_references(check, tmp_path):
    """One unclosed bracket in a referenced organization is one error, in that file: the systems
    and sources naming it do not each get "organization 'openai' does not exist"."""
    shutil.copytree(VALID / "content", tmp_path / "content")
    broken = tmp_path / "content" / "organizations" / "openai.yaml"
    broken.write_text(broken.read_text().replace("tags: [frontier-lab, united-states]", "tags: [frontier-lab"))
    diagnostic = only(check(tmp_path))
    assert diagnostic.file == "content/organizations/openai.yaml" and "YAML syntax error" in diagnostic.message


def test_tab_indentation_asks_for_spaces(check):
    diagnostic = only(check("tab-indentation"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 8, 1, "")
    assert "tab" in diagnostic.message
    assert "indent with spaces" in diagnostic.hint


def test_duplicate_key_reports_both_lines(check):
    diagnostic = only(check("duplicate-key"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 1, "name")
    assert "duplicate key 'name'" in diagnostic.message
    assert "line 2" in diagnostic.message


def test_empty_file_suggests_kb_new(check):
    diagnostic = only(check("empty-file"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 1, 1, "")
    assert diagnostic.message == "file is empty"
    assert 'kb new systems "Name"' in diagnostic.hint


@pytest.mark.parametrize("case, found", [("list-not-record", "a list"),
                                         ("scalar-not-record", "a single value")])
def test_a_record_must_be_a_mapping(check, case, found):
    diagnostic = only(check(case))
    assert located(diagnostic) == ("content/organizations/openai.yaml", 1, 1, "")
    assert diagnostic.message == f"a record must be a mapping of fields, found {found}"


def test_non_utf8_byte_is_located(check):
    diagnostic = only(check("not-utf8"))
    assert located(diagnostic) == ("content/organizations/mila.yaml", 4, 21, "")
    assert "not valid UTF-8" in diagnostic.message and "0xe9" in diagnostic.message
    assert "UTF-8" in diagnostic.hint


def test_anchors_and_aliases_are_rejected_naming_the_alias(check):
    diagnostic = only(check("anchors-and-aliases"))
    # The line is the anchored value's; the field is where the alias reuses it.
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 2, 7, "aliases[0]")
    assert "anchors and aliases are not supported" in diagnostic.message
    assert "write the value out in full" in diagnostic.hint


def test_alias_bomb_fails_fast_in_little_memory(check):
    bomb = INVALID / "alias-bomb" / "content" / "experts" / "lol.yaml"
    assert bomb.read_text().count("*") == 8 * 9  # 9 levels of 9: 9**9 strings if expanded
    tracemalloc.start()
    start = time.perf_counter()
    checked = check("alias-bomb")
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 20 * 1024 * 1024
    diagnostic = only(checked)
    assert located(diagnostic) == ("content/experts/lol.yaml", 4, 4, "b[0]")
    assert "aliases are not supported" in diagnostic.message


def test_file_over_the_size_limit_is_refused_unread(check, tmp_path):
    folder = tmp_path / "content" / "topics"
    folder.mkdir(parents=True)
    front = "---\nid: {id}\ntitle: Big\nsummary: A long page.\n---\n## Overview\n\n"
    at_limit = front.format(id="at-limit")
    (folder / "at-limit.md").write_text(at_limit + "x" * (MAX_FILE_BYTES - len(at_limit)))
    over = front.format(id="over-limit")
    (folder / "over-limit.md").write_text(over + "x" * (MAX_FILE_BYTES + 1 - len(over)))
    diagnostic = only(check(tmp_path))
    assert located(diagnostic) == ("content/topics/over-limit.md", 1, 1, "")
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in diagnostic.message
    assert f"at most {MAX_FILE_BYTES:,}" in diagnostic.message


def test_file_name_that_is_not_an_id(check):
    file_name, id_value = check("id-not-slug").diagnostics
    assert located(file_name) == ("content/systems/GPT_4.yaml", 1, 1, "id")
    assert "file name 'GPT_4.yaml' is not a valid id" in file_name.message
    assert "rename it to 'gpt-4.yaml'" in file_name.hint
    assert located(id_value) == ("content/systems/GPT_4.yaml", 1, 5, "id")
    assert id_value.message == "'GPT_4' is not an id"
    assert "e.g. 'gpt-4'" in id_value.hint


def test_the_id_index_is_reserved_for_the_list_of_the_kind(check):
    diagnostic = only(check("id-reserved"))
    assert located(diagnostic) == ("content/systems/index.yaml", 1, 1, "id")
    assert "the id 'index' is taken: systems/index is the page that lists every record" in diagnostic.message
    assert "rename the file" in diagnostic.hint


def test_id_must_match_the_file_name(check):
    diagnostic = only(check("id-not-file-name"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 1, 5, "id")
    assert diagnostic.message == "id 'gpt-four' does not match the file name 'gpt-4.yaml'"
    assert "rename the file to 'gpt-four.yaml' or set id: gpt-4" == diagnostic.hint


def test_id_written_as_a_number_must_match_the_file_name(check, write_records):
    write_records({"systems/gpt-4.yaml": """
        id: 2024
        name: GPT-4
        summary: A large multimodal model.
        capability: Passes a simulated bar exam.
        achievement: Top decile on professional exams.
        """})
    diagnostic = only(check(write_records({}).parent))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 1, 5, "id")
    assert "id '2024' does not match" in diagnostic.message


def test_files_outside_the_kind_folders(check):
    diagnostics = check("file-outside-kind-folders").diagnostics
    assert [(d.file, d.line, d.column) for d in diagnostics] == [
        ("content/gpt-4.yaml", 1, 1),
        ("content/models/gpt-4.yaml", 1, 1),
        ("content/systems/openai/gpt-4.yaml", 1, 1),
        ("content/topics/ai-alignment.txt", 1, 1),
    ]
    assert all(d.message == "file is outside the kind folders" for d in diagnostics[:3])
    assert "systems/" in diagnostics[0].hint
    assert diagnostics[3].message == "a topic record must be a '.yaml' or '.md' file"
    assert diagnostics[3].hint.startswith("rename it to ai-alignment.md")


# ---------------------------------------------------------------------------- fields


def test_dates_must_be_real_dates(check):
    partial, full, words = check("bad-date").diagnostics
    assert located(partial) == ("content/systems/gpt-4.yaml", 6, 12, "announced")
    assert "'2023-13' is not a real date" in partial.message
    assert located(full) == ("content/systems/gpt-4.yaml", 7, 14, "last_edited")
    assert "'2025-02-30' is not a real date" in full.message
    assert located(words) == ("content/systems/gpt-4.yaml", 8, 12, "review_by")
    assert "'next spring' is not a date" in words.message
    assert "YYYY-MM-DD" in words.hint


def test_number_out_of_range(check):
    diagnostic = only(check("out-of-range"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 10, "quality")
    assert diagnostic.message == "150 is out of range: quality must be at most 100"


def test_unknown_field_suggests_the_closest_name(check):
    missing, unknown = check("unknown-field").diagnostics
    assert located(unknown) == ("content/systems/gpt-4.yaml", 4, 1, "capabilty")
    assert unknown.message == "unknown field 'capabilty'"
    assert unknown.hint == "did you mean 'capability'?"
    assert located(missing) == ("content/systems/gpt-4.yaml", 1, 1, "capability")
    assert missing.message == "missing required field 'capability'"


def test_wrong_choice_suggests_the_closest_and_lists_all(check):
    diagnostic = only(check("wrong-choice"))
    assert located(diagnostic) == ("content/organizations/openai.yaml", 3, 7, "type")
    assert diagnostic.message == "'frontier_lab' is not an allowed type"
    assert diagnostic.hint.startswith("did you mean 'frontier-lab'?")
    assert "one of: frontier-lab, safety-org" in diagnostic.hint


def test_wrong_type_names_what_was_expected(check):
    diagnostic = only(check("wrong-type"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 7, "tags")
    assert diagnostic.message == "tags must be a list, found 'language-model'"


def test_missing_required_field(check):
    diagnostic = only(check("missing-required-field"))
    assert located(diagnostic) == ("content/risks/deceptive-alignment.yaml", 1, 1, "severity")
    assert diagnostic.message == "missing required field 'severity'"
    assert "severity:" in diagnostic.hint


# ---------------------------------------------------------------------------- references


def test_reference_to_a_missing_record_suggests_the_closest_id(check):
    diagnostic = only(check("missing-reference"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 12, "developer")
    assert diagnostic.message == "organization 'open-ai' does not exist"
    assert diagnostic.hint == "did you mean 'openai'?"


def test_reference_to_a_record_of_the_wrong_kind(check):
    diagnostic = only(check("wrong-kind-reference"))
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 12, "developer")
    assert diagnostic.message == "'gpt-3' is a system, but developer needs an organization"
    assert diagnostic.hint == "name an organization here"


def test_parent_cycle_is_reported_once_naming_the_whole_cycle(check):
    # google-deepmind leads into the cycle but is not part of it: no second error for it.
    diagnostic = only(check("parent-cycle"))
    assert located(diagnostic) == ("content/organizations/alphabet.yaml", 5, 9, "parent")
    assert diagnostic.message == "organizations alphabet -> google -> alphabet form a cycle through 'parent'"
    assert diagnostic.hint == ("a record cannot be above itself: remove or change 'parent' in one of "
                               "content/organizations/alphabet.yaml:5, content/organizations/google.yaml:5")
    assert diagnostic.code == "hierarchy-cycle"


def test_an_organization_cannot_be_its_own_parent(check):
    diagnostic = only(check("self-parent"))
    assert located(diagnostic) == ("content/organizations/openai.yaml", 5, 9, "parent")
    assert diagnostic.message == "organizations openai -> openai form a cycle through 'parent'"
    assert diagnostic.hint == ("a record cannot be above itself: remove or change 'parent' in "
                               "content/organizations/openai.yaml:5")


def test_duplicate_id_across_kinds_is_reported_on_both_files(check):
    """Each file names the other: a check of only the new file (a pre-commit hook) sees it too,
    whichever of the two sorts first (the error was on the second file only)."""
    second, first = sorted(check("duplicate-id").diagnostics, key=lambda d: d.file, reverse=True)
    assert located(second) == ("content/topics/deceptive-alignment.md", 2, 5, "id")
    assert second.message == ("id 'deceptive-alignment' is already used by "
                              "content/risks/deceptive-alignment.yaml:1")
    assert located(first) == ("content/risks/deceptive-alignment.yaml", 1, 5, "id")
    assert first.message == ("id 'deceptive-alignment' is also used by "
                             "content/topics/deceptive-alignment.md:2")
    assert "unique across all kinds" in second.hint and "unique across all kinds" in first.hint


# ---------------------------------------------------------------------------- YAML 1.1 surprises


def test_numbers_in_text_fields_keep_the_text_written(check):
    checked = check("numbers-keep-their-text")
    (topic,) = checked.entries
    assert topic.record.assessment[0].rating == "2.50"  # not 2.5
    milestone = topic.record.milestones[0]
    assert (milestone.conservative, milestone.median, milestone.aggressive) == ("2060", "2040", "2030")
    diagnostic = only(checked)
    assert located(diagnostic) == ("content/systems/gpt-4.yaml", 6, 12, "announced")
    assert diagnostic.message == "'2023.10' is not a date"  # not 2023.1


def test_on_no_yes_stay_text_as_keys_and_values(check):
    checked = check("yaml-1-1-booleans")
    (topic,) = checked.entries
    assert topic.record.aliases == ["no", "off", "yes", "on"]
    assert topic.record.tags == ["no", "on"]
    assert list(topic.record.tables) == ["on"]
    assert [row[1] for row in topic.record.tables["on"].rows] == ["no", "yes"]
    key, value = checked.diagnostics
    assert located(key) == ("content/systems/gpt-4.yaml", 6, 1, "on")
    assert key.message == "unknown field 'on'"
    assert located(value) == ("content/systems/gpt-4.yaml", 10, 15, "relations[0].strength")
    assert value.message == "'no' is not an allowed strength"


# ---------------------------------------------------------------------------- topic prose


def test_prose_link_to_a_missing_record(check):
    near, missing = check("prose-missing-link").diagnostics
    assert located(near) == ("content/topics/ai-alignment.md", 8, 17, "body")
    assert near.message == "[[gpt4]] links to no record"
    assert near.hint == "did you mean [[gpt-4]]?"
    assert located(missing) == ("content/topics/ai-alignment.md", 9, 10, "body")
    assert missing.message == "[[missing-id]] links to no record"


def test_authored_mermaid_of_a_type_mermaid_does_not_know_is_an_error_at_its_first_line(check):
    # The unbalanced '[' on the next line is Mermaid's to find (tests/browser/test_mermaid_check.py):
    # a diagram of no known type is not parsed.
    problem = only(check("bad-mermaid"))
    assert located(problem) == ("content/topics/ai-alignment.md", 9, 1, "diagrams.threat-model.mermaid")
    assert problem.message == "unknown diagram type 'flowchat'; did you mean 'flowchart'?"
    assert problem.code == "mermaid" and problem.severity == "error"


def test_directive_for_an_undeclared_table(check):
    near, unknown = check("undeclared-table").diagnostics
    assert located(near) == ("content/topics/ai-alignment.md", 16, 1, "body")
    assert near.message == "no table named 'benchmark-score' on this topic"
    assert near.hint == "did you mean 'benchmark-scores'?"
    assert located(unknown) == ("content/topics/ai-alignment.md", 18, 1, "body")
    assert unknown.message == "no table named 'x' on this topic"
    assert "benchmark-scores" in unknown.hint


# ---------------------------------------------------------------------------- a whole run


def test_all_errors_of_a_run_are_reported_together_sorted_by_file_and_line(check):
    diagnostics = check("several-faults-two-files").diagnostics
    assert [(d.file, d.line, d.field) for d in diagnostics] == [
        ("content/organizations/openai.yaml", 3, "type"),
        ("content/organizations/openai.yaml", 5, "founded"),
        ("content/organizations/openai.yaml", 6, "website"),
        ("content/systems/gpt-4.yaml", 6, "developer"),  # once hidden by the fields below (issue 14)
        ("content/systems/gpt-4.yaml", 7, "quality"),
        ("content/systems/gpt-4.yaml", 8, "capabilty"),
    ]
    assert diagnostics[1].message == "founded must be a whole number, found 1900.5"
    assert diagnostics[2].message == "'openai.com' is not a web address"
    # openai.yaml did not validate, yet it exists: the hint names it, not "create ...open-ai.yaml"
    assert (diagnostics[3].message, diagnostics[3].hint) == ("organization 'open-ai' does not exist",
                                                             "did you mean 'openai'?")


@pytest.mark.parametrize("case", CASES)
def test_every_invalid_case_reports_located_errors(check, case):
    checked = check(case)
    assert not checked.ok
    for diagnostic in checked.diagnostics:
        assert diagnostic.file.startswith("content/")
        assert diagnostic.line >= 1 and diagnostic.column >= 1
        assert diagnostic.message


def test_truncated_records_never_raise(check, tmp_path):
    """Every prefix of every valid file is reported as diagnostics, never as an exception."""
    shutil.copytree(VALID / "content", tmp_path / "content")
    for source in sorted((VALID / "content").rglob("*.*")):
        text = source.read_text(encoding="utf-8")
        target = tmp_path / source.relative_to(VALID)
        for cut in range(0, len(text), max(1, len(text) // 20)):
            target.write_text(text[:cut], encoding="utf-8")
            checked = check(tmp_path)
            assert all(d.file.startswith("content/") for d in checked.diagnostics)
            if cut == 0:
                assert not checked.ok
        target.write_text(text, encoding="utf-8")


def test_hidden_files_and_folders_are_ignored(check, tmp_path):
    shutil.copytree(VALID / "content", tmp_path / "content")
    (tmp_path / "content" / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "content" / "systems" / ".gpt-4.yaml.swp").write_bytes(b"\xff")
    (tmp_path / "content" / ".git" / "objects").mkdir(parents=True)
    (tmp_path / "content" / ".git" / "objects" / "x.yaml").write_text("- not a record\n")
    assert check(tmp_path).diagnostics == []


def test_check_leaves_the_garbage_collector_as_it_was(check):
    assert gc.isenabled()
    check("several-faults-two-files")
    assert gc.isenabled()
    gc.disable()
    try:
        check("several-faults-two-files")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_promoting_pause_hands_what_it_made_to_the_oldest_generation():
    from generator.core import gc_paused

    with gc_paused(promote=True):
        made = [[n] for n in range(1000)]
        assert gc.get_count()[0] >= 1000  # young, while paused
    assert gc.isenabled() and gc.get_count()[0] < 1000
    assert any(made[0] is item for item in gc.get_objects(generation=2))
    assert gc.collect() >= 0 and made[999] == [999]  # collected as ever, by a full collection
    gc.freeze()  # frozen on purpose by someone else: left frozen
    try:
        frozen = gc.get_freeze_count()
        with gc_paused(promote=True):
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_benchmark_script_generates_records_that_validate():
    script = Path(__file__).resolve().parent.parent / "scripts" / "bench_validate.py"
    result = subprocess.run([sys.executable, str(script), "-n", "300", "--repeat", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio (b) / (a)" in result.stdout and "ratio (c) / (b)" in result.stdout


@pytest.mark.parametrize("line, message", [
    ("importance: true", "importance must be a number, found True"),
    ('quality: "80"', "quality must be a number, found '80'"),
    ("founded: 1900.5", "founded must be a whole number, found 1900.5"),
    ("review_by: 0", "must be a date written as YYYY-MM-DD"),
    ("last_edited: 0", "'0' is not a date"),
])
def test_numbers_and_dates_are_not_coerced(write_records, line, message):
    root = write_records({"organizations/x.yaml": f"id: x\nname: X\nsummary: s\ntype: academic\n{line}\n"})
    (problem,) = pipeline.check(root).diagnostics
    assert problem.line == 5 and problem.message == message


# ---------------------------------------------------------------------------- the commonest slips

SLIPS = [  # (file, the line as valid, the slip, field, words the error or its hint must hold)
    ("systems/gpt-4.yaml", "importance: 80", "importance: 80%", "importance", "importance: 80, without the '%'"),
    ("systems/gpt-4.yaml", "quality: 70", 'quality: "70"', "quality", "remove the quotes: quality: 70"),
    ("systems/gpt-4.yaml", "topics: [ai-alignment]", "topics: ai-alignment", "topics",
     "write it as a list, topics: [ai-alignment]"),
    ("systems/gpt-4.yaml", "announced: 2023-03-14", "announced: 2023-13", "announced", "there is no month 13"),
    ("topics/ai-alignment.md", "featured:\n  positions: [stuart-russell, apollo-research]\n  systems: [gpt-4]\n"
     "  risks: [deceptive-alignment]\n  metrics: [training-compute-doubling]\n  responses: [dangerous-capability-evals]",
     "featured:\n  - stuart-russell\n  - gpt-4", "featured",
     "write fields under 'featured:', indented"),
]


@pytest.mark.parametrize("file, good, slip, field, words", SLIPS, ids=[s[3] for s in SLIPS])
def test_the_commonest_slips_get_the_fix_in_the_hint(check, tmp_path, file, good, slip, field, words):
    shutil.copytree(VALID / "content", tmp_path / "content")
    path = tmp_path / "content" / file
    text = path.read_text()
    assert good in text
    path.write_text(text.replace(good, slip, 1))
    diagnostic = only(check(tmp_path))
    assert (diagnostic.file, diagnostic.field) == (f"content/{file}", field)
    assert words in diagnostic.message + " " + diagnostic.hint


def test_did_you_mean_over_ten_thousand_ids_finds_what_difflib_over_all_finds():
    """core.Spellings compares a word only with a shortlist of ids sharing its letter triples:
    for misspellings of real ids it must suggest what difflib over every id suggests."""
    import random

    from generator.core import Spellings, closest

    words = ["alignment", "compute", "frontier", "model", "safety", "report", "risk", "policy",
             "agent", "eval", "bench", "scaling", "governance", "audit", "deceptive", "reward"]
    chance = random.Random(7)
    ids = sorted({"-".join(chance.sample(words, 3)) + f"-{chance.randrange(2000, 2026)}" for _ in range(10_000)})
    spellings = Spellings(ids)
    for real in chance.sample(ids, 12):
        cut = chance.randrange(2, len(real) - 2)
        typo = real[:cut] + real[cut + 1] + real[cut] + real[cut + 2:]  # two letters swapped
        assert spellings.closest(typo) == closest(typo, ids), typo
    assert spellings.closest("nothing-like-it") == closest("nothing-like-it", ids)


# ---------------------------------------------------------------------------- one round

def _edited(tmp_path: Path, relative: str, *replacements: tuple[str, str]) -> Path:
    """The valid fixtures with one file edited (each replacement must apply)."""
    if not (tmp_path / "content").exists():
        shutil.copytree(VALID / "content", tmp_path / "content")
    path = tmp_path / "content" / relative
    text = path.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return tmp_path


def test_a_bad_field_does_not_hide_a_bad_reference_of_the_same_record(check, tmp_path):
    """Errors do not come in rounds: the record's bad field, its misspelt developer and a typed
    relation to nothing, all in one run; the reference that is fine makes no error."""
    case = _edited(tmp_path, "systems/gpt-4.yaml", ("importance: 80", "importance: lots"),
                   ("developer: openai", "developer: opnai"), ("target: gpt-3", "target: gtp-3"))
    found = {(d.line, d.field, d.code, d.hint) for d in check(case).diagnostics}
    assert found == {(13, "importance", "type", ""),
                     (3, "developer", "unknown-reference", "did you mean 'openai'?"),
                     (17, "relations[0].target", "unknown-reference", "did you mean 'gpt-3'?")}, found


def test_a_value_that_fails_validation_is_not_reported_again_as_a_reference(check, tmp_path):
    """'Open AI' is not an id: one error there, not also "organization 'Open AI' does not exist";
    a bad relation hides nothing of the next one."""
    case = _edited(tmp_path, "systems/gpt-4.yaml", ("developer: openai", "developer: Open AI"),
                   ("    strength: strong", "    strength: mighty\n  - type: builds-on\n    target: gtp-3"))
    found = sorted((d.line, d.field, d.code) for d in check(case).diagnostics)
    assert found == [(3, "developer", "id"), (18, "relations[0].strength", "choice"),
                     (20, "relations[1].target", "unknown-reference")], found


def test_a_bad_table_line_does_not_hide_a_broken_prose_link(check, tmp_path):
    case = _edited(tmp_path, "topics/ai-alignment.md", ("[[table:positions]]", "[[table:positons]]"),
                   ("such as [[gpt-4]]", "such as [[gpt-5]]"))
    found = {(d.code, d.message) for d in check(case).diagnostics}
    assert ("unknown-reference", "[[gpt-5]] links to no record") in found
    assert ("directive", "no table named 'positons' on this topic") in found


def test_a_record_that_does_not_validate_makes_no_edge(check, tmp_path):
    """Its references are checked, but it is not in the graph: pages do not show it."""
    checked = check(_edited(tmp_path, "systems/gpt-4.yaml", ("importance: 80", "importance: lots")))
    assert [d.field for d in checked.diagnostics] == ["importance"]
    assert "gpt-4" not in checked.graph.entries and "gpt-4" not in checked.graph.outgoing
    assert [r.id for r in checked.rejected] == ["gpt-4"]


# A rule across fields (models.rule) is placed on the first of its fields the editor wrote, or on
# the mapping that lacks them, and names a field and the fix: never 1:1 with no field (issue 14).
RULES = [  # (file, the text as valid, the slip, (line, column), field, hint starts)
    ("experts/stuart-russell.yaml", "    claim: Machines should be uncertain about human preferences and defer to humans.\n",
     "", (8, 5), "positions[0].claim", "add 'claim:'"),
    ("experts/stuart-russell.yaml", "    source: human-compatible\n", "", (12, 5), "positions[1].quote",
     "add 'source:'"),
    ("metrics/training-compute-doubling.yaml", "  low: 5\n  high: 7\n", "  low: 7\n  high: 5\n", (8, 3),
     "estimate.low", "swap the two values"),
    ("metrics/training-compute-doubling.yaml", "  high: 7\n", "", (8, 3), "estimate.low",
     "add the other end of the range"),
    ("metrics/training-compute-doubling.yaml", "  value: 6\n", "", (4, 1), "estimate.value", "add 'value:'"),
    ("topics/ai-alignment.md", '      - [LSAT, "88"]\n', "      - [LSAT]\n", (27, 9),
     "tables.benchmark-scores.rows[1]", "give each row 2 cells"),
]


@pytest.mark.parametrize("relative, valid, slip, at, field, hint", RULES)
def test_a_broken_rule_names_its_field_and_the_fix(check, tmp_path, relative, valid, slip, at, field, hint):
    diagnostic = only(check(_edited(tmp_path, relative, (valid, slip))))
    assert ((diagnostic.line, diagnostic.column), diagnostic.field, diagnostic.code) == (at, field, "invalid")
    assert diagnostic.hint.startswith(hint), diagnostic.hint


def test_a_broken_rule_does_not_hide_the_references_beside_it(check, tmp_path):
    """Found by fuzzing: a quote with no source hid the misspelt topic of the same position."""
    case = _edited(tmp_path, "experts/stuart-russell.yaml", ("    source: human-compatible\n", ""),
                   ("  - topic: ai-alignment\n    quote:", "  - topic: ai-alignmnt\n    quote:"))
    found = sorted((d.field, d.code) for d in check(case).diagnostics)
    assert found == [("positions[1].quote", "invalid"), ("positions[1].topic", "unknown-reference")], found


def test_a_record_with_errors_still_gets_wrong_kind_and_self_reference_errors(check, tmp_path):
    """Found by fuzzing: a topic with an unknown field lost the error of a position naming itself
    (a topic where an expert or organization belongs) and of a link to itself."""
    case = _edited(tmp_path, "topics/ai-alignment.md", ("positions: [stuart-russell, apollo-research]",
                                                        "positions: [ai-alignment, apollo-research]"),
                   ("related: [deceptive-alignment]", "related: [deceptive-alignment, ai-alignment]\nextra: 1"),
                   ("such as [[gpt-4]]", "such as [[ai-alignment]]"))
    found = sorted((d.field, d.code) for d in check(case).diagnostics)
    assert ("extra", "unknown-field") in found and ("featured.positions[0]", "wrong-kind") in found, found
    assert ("related[1]", "self-reference") in found and ("body", "self-reference") in found, found


def test_a_list_item_that_is_a_list_is_told_to_be_fields(check, tmp_path):
    """Found by fuzzing: 'relations: [[...]]' was told not to use '- ' items, which it must."""
    case = _edited(tmp_path, "systems/gpt-4.yaml", ("relations:\n  - type: builds-on\n    target: gpt-3\n    strength: strong",
                                                    "relations:\n  - [builds-on, gpt-3]"))
    diagnostic = only(check(case))
    assert diagnostic.field == "relations[0]" and diagnostic.hint.startswith(
        "write each item of 'relations' as fields after its '- ', one 'field: value' per line: type: ...")


def test_a_duplicate_id_is_reported_though_one_of_the_two_has_errors(check, tmp_path):
    """Found in review: with one of two same-id files invalid, the duplicate went unreported and a
    reference to the id was judged by the wrong one's kind."""
    case = _edited(tmp_path, "experts/stuart-russell.yaml", ("role:", "importance: lots\nrole:"))
    (case / "content" / "systems" / "stuart-russell.yaml").write_text(
        (VALID / "content" / "systems" / "gpt-3.yaml").read_text().replace("id: gpt-3", "id: stuart-russell")
        .replace("developer: openai", "developer: opnai"))
    found = sorted((d.file.rsplit("/", 2)[-2], d.field, d.code) for d in check(case).diagnostics)
    assert ("experts", "id", "duplicate-id") in found and ("systems", "id", "duplicate-id") in found, found
    assert ("systems", "developer", "unknown-reference") in found, found
    assert not [f for f in found if f[2] == "wrong-kind"], found


def test_a_missing_field_does_not_hide_the_references_beside_it(check, tmp_path):
    """Found in review: a position without its topic hid its misspelt source."""
    case = _edited(tmp_path, "experts/stuart-russell.yaml", ("  - topic: ai-alignment\n    quote:", "  - quote:"),
                   ("source: human-compatible", "source: human-compatibel"))
    found = sorted((d.field, d.code) for d in check(case).diagnostics)
    assert found == [("positions[1].source", "unknown-reference"), ("positions[1].topic", "missing")], found
