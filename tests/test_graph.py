"""The link stage: one graph, edges with labels both ways, backlinks equal to the header count."""
from generator import pipeline, score
from generator.link import related

BASE = {
    "organizations/lab.yaml": """
        id: lab
        name: Lab
        summary: A lab.
        type: frontier-lab
    """,
    "systems/model-a.yaml": """
        id: model-a
        name: Model A
        summary: A model.
        capability: Coding
        achievement: Wins
        developer: lab
        topics: [coding]
        tags: [llm]
        relations:
          - {type: builds-on, target: model-b}
    """,
    "systems/model-b.yaml": """
        id: model-b
        name: Model B
        summary: Another model.
        capability: Coding
        achievement: Wins less
        developer: lab
        tags: [llm]
    """,
    "risks/drift.yaml": """
        id: drift
        name: Drift
        summary: Goals drift.
        description: Objectives shift.
        evidence: Some.
        severity: high
    """,
    "responses/audits.yaml": """
        id: audits
        name: Audits
        summary: Outside audits.
        mechanism: Review
        current_status: Pilots
        effectiveness: low
        addresses: [drift]
        organizations: [lab]
    """,
    "topics/coding.md": """
        ---
        id: coding
        title: AI coding
        summary: Models that write code.
        ---
        ## Overview

        See [[model-a]] and [[lab|the lab]].
    """,
}


def test_backlinks_carry_the_inverse_label(write_records):
    checked = pipeline.check(write_records(BASE))
    assert checked.ok, checked.diagnostics
    incoming = {(e.source, e.inverse) for e in checked.graph.backlinks("lab")}
    assert incoming == {("model-a", "develops"), ("model-b", "develops"), ("audits", "backs"),
                        ("coding", "mentioned in")}
    assert {(e.source, e.inverse) for e in checked.graph.backlinks("drift")} == {("audits", "addressed by")}
    assert ("model-a", "built on by") in {(e.source, e.inverse) for e in checked.graph.backlinks("model-b")}


def test_backlink_count_in_header_is_the_set_listed(write_records):
    checked = pipeline.check(write_records(BASE))
    assessments = score.score(checked.graph, __import__("datetime").date(2026, 1, 7))
    assert assessments["lab"].backlinks == len(checked.graph.backlink_sources("lab")) == 4


def test_prose_link_to_missing_record_is_an_error_with_line(write_records):
    files = dict(BASE)
    files["topics/coding.md"] = BASE["topics/coding.md"].replace("[[model-a]]", "[[model-z]]")
    checked = pipeline.check(write_records(files))
    (problem,) = [d for d in checked.diagnostics if d.code == "unknown-reference"]
    assert problem.file.endswith("topics/coding.md")
    assert problem.line == 8 and problem.column == 5
    assert "did you mean [[model-" in problem.hint


def test_related_lists_explicit_relations_first(write_records):
    checked = pipeline.check(write_records(BASE))
    found = related(checked.graph, "model-a")
    assert found["systems"][0] == "model-b"
    assert "lab" in found["organizations"]


def test_a_relation_named_addresses_is_not_taken_for_a_response(write_records):
    import datetime

    from generator import render, score

    files = dict(BASE)
    files["systems/model-b.yaml"] = (BASE["systems/model-b.yaml"].rstrip(" ")
                                     + "        relations:\n          - {type: addresses, target: drift}\n")
    checked = pipeline.check(write_records(files))
    assert checked.ok, checked.diagnostics
    today = datetime.date(2026, 1, 7)
    pages = render.render(checked.graph, score.score(checked.graph, today), today).pages
    risk = pages["risks/drift.md"].markdown
    responses = risk.split("## Responses that address it", 1)[1].split("\n## ", 1)[0]
    assert ">Audits</a>" in responses and "Model B" not in responses
    assert "Addresses <a href=\"../systems/model-b.html\">" not in risk
    assert "Addressed by <a href=\"../systems/model-b.html\">Model B</a>" in risk


def _organization(record_id: str, parent: str | None = None) -> str:
    text = f"id: {record_id}\nname: {record_id}\nsummary: s\ntype: company\n"
    return text + (f"parent: {parent}\n" if parent else "")


def test_parent_cycles_are_errors_once_each_and_a_chain_is_not(write_records):
    files = {f"organizations/{i}.yaml": _organization(i, parent) for i, parent in [
        ("a-tail", "m"), ("m", "n"), ("n", "o"), ("o", "m"),  # a tail into a cycle of three
        ("x", "y"), ("y", "x"),  # a second cycle
        ("top", None), ("mid", "top"), ("low", "mid"),  # a chain: fine
    ]}
    checked = pipeline.check(write_records(files))
    assert [(d.file.rsplit("/", 1)[1], d.field, d.message) for d in checked.diagnostics] == [
        ("m.yaml", "parent", "organizations m -> n -> o -> m form a cycle through 'parent'"),
        ("x.yaml", "parent", "organizations x -> y -> x form a cycle through 'parent'"),
    ]
    # The links of a cycle are still edges of the graph; a chain's are too.
    assert {(e.source, e.label) for e in checked.graph.backlinks("m")} == {("a-tail", "part of"),
                                                                            ("o", "part of")}
    assert [e.target for e in checked.graph.outgoing["low"]] == ["mid"]


def test_only_fields_declared_a_hierarchy_are_checked_for_cycles(write_records):
    """Two topics naming each other as related is no error: ``related`` is no hierarchy."""
    from generator.export import columns_of
    from generator.kinds import KINDS

    declared = {(kind.folder, column.name) for kind in KINDS.values() for column in columns_of(kind)
                if column.ref is not None and column.ref.hierarchy}
    assert declared == {("organizations", "parent")}
    topic = "---\nid: {0}\ntitle: {0}\nsummary: s\nrelated: [{1}]\n---\n## Overview\n\nText.\n"
    checked = pipeline.check(write_records({"topics/p.md": topic.format("p", "q"),
                                            "topics/q.md": topic.format("q", "p")}))
    assert checked.ok, checked.diagnostics
