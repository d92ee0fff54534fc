"""The knowledge base content: the self-improvement page rebuilt as records.

These tests pin what the captured seed page (shared/seed/self-improvement-page.txt) says, so that
an edit which drops a system, a figure or a table row fails here instead of silently thinning
the page.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from generator import link, load, validate
from generator.core import format_text

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


@pytest.fixture(scope="module")
def checked():
    documents, load_problems = load.load(CONTENT)
    entries, _, validate_problems = validate.validate(documents)
    return entries, load_problems + validate_problems


@pytest.fixture(scope="module")
def records(checked):
    entries, _ = checked
    return {entry.id: entry for entry in entries}


def ids_of(records, kind: str) -> set[str]:
    return {record_id for record_id, entry in records.items() if entry.kind == kind}


def record(records, record_id: str):
    assert record_id in records, f"missing record '{record_id}'"
    return records[record_id].record


# ---------------------------------------------------------------------------- the base is clean


def test_content_loads_and_validates_without_diagnostics(checked):
    entries, problems = checked
    assert not problems, format_text(problems)
    assert len(entries) > 100


def test_every_reference_resolves_to_a_record_of_the_right_kind(checked):
    entries, _ = checked
    _, problems = link.link(entries)
    assert not problems, format_text(problems)


def test_every_yaml_record_starts_with_the_schema_modeline():
    for path in sorted(CONTENT.glob("*/*.yaml")):
        kind = path.parent.name
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == f"# yaml-language-server: $schema=../../schemas/{kind}.schema.json", path


def test_topics_start_with_front_matter():
    for path in sorted(CONTENT.glob("topics/*.md")):
        assert path.read_text(encoding="utf-8").startswith("---\n"), path


# ---------------------------------------------------------------------------- required ids

REQUIRED = {
    "topics": {"self-improvement", "fast-takeoff", "superintelligence", "ai-coding"},
    "systems": {"alphaevolve", "ai-scientist", "o3", "self-rewarding-language-models", "godel-agent",
                "stop-framework", "automl-zero", "efficientnet", "alphacode", "github-copilot"},
    "experts": {"nick-bostrom", "stuart-russell", "ij-good", "dario-amodei", "eliezer-yudkowsky",
                "stuart-armstrong", "tom-davidson", "tamay-besiroglu", "ege-erdil"},
    "organizations": {"google-deepmind", "sakana-ai", "openai", "meta-ai", "anthropic", "metr",
                      "epoch-ai", "rand", "forethought-foundation", "future-of-humanity-institute",
                      "uc-berkeley", "miri", "github", "university-of-oxford"},
    "risks": {"loss-of-oversight", "goal-drift", "capability-overhang", "recursive-acceleration",
              "alignment-capability-gap", "irreversibility"},
    "metrics": {"software-feedback-multiplier", "imagenet-training-efficiency-doubling",
                "language-model-efficiency-doubling", "software-loop-acceleration-probability",
                "alphaevolve-matrix-multiply-speedup", "alphaevolve-flashattention-speedup",
                "alphaevolve-compute-recovery", "strassen-improvement"},
    "responses": {"responsible-scaling-policies", "ai-safety-institutes", "compute-governance",
                  "interpretability-research", "formal-verification", "corrigibility-research"},
    "sources": {"davidson-houlden-2025", "epoch-ai-2023", "epoch-ai-imagenet", "whitfill-wu-2025",
                "mckenzie-2025", "metr-re-bench-2024", "alignment-faking-2024", "alphaevolve-2025",
                "ai-scientist-2024", "self-rewarding-2024", "stop-2023", "godel-agent-2024", "good-1965",
                "bostrom-superintelligence-2014", "russell-human-compatible-2019",
                "machines-of-loving-grace-2024", "forethought-software-feedback-2025",
                "rand-ai-rd-analysis", "openai-o3-announcement-2024", "openai-o1-system-card-2024",
                "mle-bench-2024", "situational-awareness-2024", "ai-2027", "automl-zero-2020",
                "efficientnet-2019", "alphacode-2022"},
}


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_required_ids_exist_per_kind(records, kind):
    missing = REQUIRED[kind] - ids_of(records, kind)
    assert not missing, f"{kind}: missing {sorted(missing)}"


def test_stub_topics_link_back_to_self_improvement(records):
    for topic_id in ("fast-takeoff", "superintelligence", "ai-coding"):
        entry = records[topic_id]
        assert entry.record.status == "stub"
        assert "self-improvement" in entry.record.related
        assert "self-improvement" in {prose_link.target for prose_link in entry.prose.links}
        assert "## Overview" in entry.document.body


# ---------------------------------------------------------------------------- the topic page


def test_self_improvement_header_matches_the_seed(records):
    topic = record(records, "self-improvement")
    assert topic.title == "Self-Improvement and Recursive Enhancement"
    assert topic.entity_type == "capability"
    assert (topic.importance, topic.quality) == (85, 82)
    assert str(topic.last_edited) == "2025-12-28"
    assert topic.safety_relevance == "existential"
    assert topic.current_status == "Partial automation, human-led"
    assert topic.related == ["fast-takeoff", "superintelligence", "ai-coding"]


def test_featured_records_follow_the_seed_order(records):
    featured = record(records, "self-improvement").featured
    assert featured.positions == ["nick-bostrom", "stuart-russell", "ij-good", "dario-amodei",
                                  "forethought-foundation"]
    assert featured.systems == ["alphaevolve", "ai-scientist", "o3", "self-rewarding-language-models",
                                "godel-agent", "stop-framework"]
    assert featured.risks == ["loss-of-oversight", "goal-drift", "capability-overhang",
                              "recursive-acceleration", "alignment-capability-gap", "irreversibility"]
    assert featured.metrics == ["software-feedback-multiplier", "imagenet-training-efficiency-doubling",
                                "language-model-efficiency-doubling", "software-loop-acceleration-probability",
                                "alphaevolve-matrix-multiply-speedup", "alphaevolve-flashattention-speedup",
                                "alphaevolve-compute-recovery", "strassen-improvement"]
    assert featured.responses == ["responsible-scaling-policies", "ai-safety-institutes", "compute-governance",
                                  "interpretability-research", "formal-verification", "corrigibility-research"]


def test_assessment_has_the_five_seed_dimensions(records):
    rows = {row.dimension: row.rating for row in record(records, "self-improvement").assessment}
    assert rows == {
        "Severity": "Existential",
        "Likelihood": "Uncertain (30-70%)",
        "Timeline": "Medium-term (5-15 years)",
        "Trend": "Accelerating",
        "Controllability": "Decreasing",
    }


def test_milestones_keep_the_seed_ranges(records):
    milestones = record(records, "self-improvement").milestones
    assert len(milestones) == 5
    assert [(m.conservative, m.median, m.aggressive) for m in milestones] == [
        ("2028-2032", "2026-2028", "2025-2026"),
        ("2030-2040", "2027-2030", "2025-2027"),
        ("2035-2050", "2030-2035", "2027-2030"),
        ("2040-2060", "2032-2040", "2028-2032"),
        ("Unknown", "2035-2050", "2030-2035"),
    ]


def test_three_takeoff_scenarios_with_seed_probabilities(records):
    scenarios = record(records, "self-improvement").scenarios
    assert [(s.name, s.probability.low, s.probability.high) for s in scenarios] == [
        ("Slow takeoff", 25, 35),
        ("Moderate takeoff", 35, 45),
        ("Fast takeoff", 15, 25),
    ]
    assert [s.duration for s in scenarios] == ["Decades to centuries", "Months to years", "Minutes to days"]


def test_counter_evidence_keeps_its_five_observations_and_figures(records):
    rows = record(records, "self-improvement").counter_evidence
    assert len(rows) == 5
    text = " ".join(f"{row.observation} {row.data} {row.implication}" for row in rows)
    for figure in ("16.1", "3.6", "42%", "six orders of magnitude", "eight hours"):
        assert figure in text, figure
    assert "Relevant degrees of freedom are controlled by humans at every stage" in text


def test_re_bench_table_has_five_rows_and_its_source(records):
    table = record(records, "self-improvement").tables["re-bench"]
    assert table.columns == ["Metric", "AI agents", "Human experts", "Notes"]
    assert len(table.rows) == 5
    assert table.source == "metr-re-bench-2024"
    cells = " ".join(cell for row in table.rows for cell in row)
    for figure in ("0.64 ms", "0.67 ms", "10x", "9 human experts", "10-100", "100-2,000"):
        assert figure in cells, figure


def test_compute_labor_table_has_both_models(records):
    table = record(records, "self-improvement").tables["compute-labor"]
    assert table.columns == ["Model", "Compute-labor relationship", "Implication for RSI"]
    assert [row[0] for row in table.rows] == ["Baseline CES model", "Frontier experiments model"]
    assert "σ > 1" in table.rows[0][1] and "σ ≈ 0" in table.rows[1][1]
    assert table.source == "whitfill-wu-2025"


def test_both_diagrams_are_flowcharts(records):
    diagrams = record(records, "self-improvement").diagrams
    assert set(diagrams) == {"feedback-loop", "progression"}
    for diagram in diagrams.values():
        assert diagram.mermaid.lstrip().startswith("flowchart")
    assert diagrams["feedback-loop"].mermaid.count("{") == 2, "two decision points"
    assert "Compute bottleneck" in diagrams["progression"].mermaid


EXPECTED_HEADINGS = ["Overview", "Current manifestations", "Intelligence explosion", "Safety implications",
                     "Empirical evidence", "RE-Bench", "Compute bottleneck", "Timelines", "Counter-evidence",
                     "Responses", "Research directions"]


def test_prose_covers_the_seed_sections_in_order(records):
    body = records["self-improvement"].document.body
    headings = re.findall(r"^## (.+)$", body, flags=re.MULTILINE)
    assert "Overview" in headings
    positions = [next(i for i, h in enumerate(headings) if h.startswith(wanted)) for wanted in EXPECTED_HEADINGS]
    assert positions == sorted(positions)


def test_every_table_and_diagram_is_placed_once_in_seed_order(records):
    body = records["self-improvement"].document.body
    placed = re.findall(r"^\[\[((?:table|diagram):[a-z0-9-]+)\]\]$", body, flags=re.MULTILINE)
    assert placed == [
        "table:assessment", "table:positions", "table:systems", "diagram:feedback-loop", "table:risks",
        "table:metrics", "table:re-bench", "table:compute-labor", "diagram:progression", "table:milestones",
        "table:scenarios", "table:counter-evidence", "table:responses",
    ]


def test_prose_is_full_length_and_free_of_html(records):
    body = records["self-improvement"].document.body
    prose = "\n".join(line for line in body.split("\n") if not line.startswith("[["))
    prose = re.sub(r"\[\[[^\]|]+\|([^\]]+)\]\]", r"\1", prose)
    words = re.findall(r"[A-Za-z0-9]+(?:['’.,-][A-Za-z0-9]+)*", prose)
    assert 3000 <= len(words) <= 4000, len(words)
    assert not re.search(r"<[a-zA-Z/]", body), "no raw HTML"


def test_prose_links_every_featured_and_named_record(records):
    linked = {prose_link.target for prose_link in records["self-improvement"].prose.links}
    featured = record(records, "self-improvement").featured
    wanted = set(featured.systems) | set(featured.positions) | set(featured.risks) | set(featured.responses)
    wanted |= {"automl-zero", "efficientnet", "alphacode", "github-copilot", "gpt-4", "o1", "eliezer-yudkowsky",
               "stuart-armstrong", "metr", "epoch-ai", "rand", "whitfill-wu-2025", "mckenzie-2025",
               "alignment-faking-2024", "situational-awareness-2024", "ai-2027", "davidson-houlden-2025"}
    assert not wanted - linked, sorted(wanted - linked)


# ---------------------------------------------------------------------------- systems


@pytest.mark.parametrize("system_id, developer, announced, figures", [
    ("alphaevolve", "google-deepmind", "2025-05", ["23%", "32.5%", "0.7%", "12-70"]),
    ("ai-scientist", "sakana-ai", "2024-08", ["ICLR 2025", "6.33", "15", "42%"]),
    ("o3", "openai", "2024-12-20", ["2706", "200", "69.1%", "87.5%"]),
    ("self-rewarding-language-models", "meta-ai", "2024-01", []),
    ("godel-agent", None, "2024-10", []),
    ("stop-framework", "microsoft-research", "2023-10", []),
])
def test_seed_systems_keep_their_key_figures(records, system_id, developer, announced, figures):
    system = record(records, system_id)
    assert system.developer == developer
    assert system.announced == announced
    assert "self-improvement" in system.topics
    text = " ".join(filter(None, [system.capability, system.achievement, system.significance, system.limitations]))
    for figure in figures:
        assert figure in text, f"{system_id}: {figure}"


# ---------------------------------------------------------------------------- positions


def positions_on(records, holder: str, topic: str = "self-improvement"):
    return [p for p in record(records, holder).positions if p.topic == topic]


@pytest.mark.parametrize("holder, quote, source", [
    ("nick-bostrom", "Once artificial intelligence reaches human level… AIs would help constructing better AIs",
     "longterm-wiki-self-improvement"),
    ("stuart-russell", "could quickly escape human oversight", "longterm-wiki-self-improvement"),
    ("stuart-russell", "purely altruistic", "russell-human-compatible-2019"),
    ("ij-good", "the last invention that man need ever make", "good-1965"),
    ("dario-amodei", "because AI systems can eventually help make even smarter AI systems, a temporary lead "
                     "could be parlayed into a durable advantage", "amodei-deepseek-export-controls-2025"),
])
def test_seed_quotations_are_verbatim_and_sourced(records, holder, quote, source):
    matching = [p for p in positions_on(records, holder) if p.quote == quote]
    assert matching, f"{holder}: quotation not found"
    assert matching[0].source == source
    assert matching[0].claim, "a quotation also carries a claim in our own words"


def test_forethought_holds_its_fifty_percent_estimate(records):
    (position,) = positions_on(records, "forethought-foundation")
    assert record(records, "forethought-foundation").type == "research-org"
    assert position.estimate.value == 50
    assert position.estimate.unit == "%"
    assert position.estimate.approximate is True
    assert position.source == "forethought-software-feedback-2025"


def test_good_is_dated_to_1965(records):
    (position,) = positions_on(records, "ij-good")
    assert position.date == "1965"


# ---------------------------------------------------------------------------- risks, metrics, responses


def test_six_risks_with_seed_severities(records):
    severities = {risk_id: record(records, risk_id).severity for risk_id in REQUIRED["risks"]}
    assert severities == {
        "loss-of-oversight": "critical",
        "goal-drift": "high",
        "capability-overhang": "high",
        "recursive-acceleration": "critical",
        "alignment-capability-gap": "high",
        "irreversibility": "medium-high",
    }
    assert "12%" in record(records, "goal-drift").evidence and "78%" in record(records, "goal-drift").evidence
    assert "0.7%" in record(records, "irreversibility").evidence


def test_metric_estimates_match_the_seed(records):
    r = record(records, "software-feedback-multiplier").estimate
    assert (r.value, r.low, r.high) == (1.2, 0.4, 3.6)
    assert record(records, "software-feedback-multiplier").source == "davidson-houlden-2025"

    imagenet = record(records, "imagenet-training-efficiency-doubling").estimate
    assert (imagenet.value, imagenet.unit, imagenet.approximate, imagenet.qualifier) == (9, "months", True, "2012-2022")

    language = record(records, "language-model-efficiency-doubling").estimate
    assert (language.value, language.unit, language.low, language.high, language.confidence) == (8, "months", 5, 14, 95)
    assert record(records, "language-model-efficiency-doubling").source == "epoch-ai-2023"

    loop = record(records, "software-loop-acceleration-probability").estimate
    assert (loop.value, loop.unit, loop.approximate) == (50, "%", True)

    assert record(records, "alphaevolve-matrix-multiply-speedup").estimate.value == 23
    assert record(records, "alphaevolve-flashattention-speedup").estimate.value == 32.5
    recovery = record(records, "alphaevolve-compute-recovery").estimate
    assert recovery.value == 0.7 and "12-70" in recovery.qualifier

    strassen = record(records, "strassen-improvement")
    assert strassen.estimate.text == "First improvement since 1969"
    assert "48" in strassen.implication


def test_six_responses_with_seed_effectiveness(records):
    ratings = {rid: (record(records, rid).effectiveness, record(records, rid).effectiveness_note)
               for rid in REQUIRED["responses"]}
    assert ratings == {
        "responsible-scaling-policies": ("medium", None),
        "ai-safety-institutes": ("low-medium", None),
        "compute-governance": ("medium", None),
        "interpretability-research": ("low", "early stage"),
        "formal-verification": ("very-low", "nascent"),
        "corrigibility-research": ("low", "early stage"),
    }
    for response_id in REQUIRED["responses"]:
        assert record(records, response_id).addresses, response_id


# ---------------------------------------------------------------------------- figures cite sources

# Fields whose digits are names, dates, addresses or ids, not figures a reader must be able to check.
NOT_FIGURES = {"id", "name", "title", "aliases", "url", "website", "announced", "date", "as_of", "last_edited", "review_by", "tags",
               "source", "sources", "target", "topic", "topics", "related", "developer", "affiliation",
               "parent", "organization", "organizations", "addresses", "measures", "featured", "diagrams"}


def texts(value, field: str = ""):
    """Every text a record states, skipping fields that hold dates, links or ids."""
    if field in NOT_FIGURES:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from texts(getattr(value, name), name)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from texts(item)


def test_every_record_stating_figures_cites_a_source(records):
    uncited = []
    for record_id, entry in records.items():
        if entry.kind == "sources":
            continue  # a source is the citation itself
        stated = list(texts(entry.record)) + [entry.document.body or ""]
        if not any(re.search(r"\d", text) for text in stated):
            continue
        cited = list(entry.record.sources) + [getattr(entry.record, "source", None)]
        if not any(cited):
            uncited.append(record_id)
    assert not uncited, f"records stating figures without a source: {uncited}"


def test_every_estimate_and_quotation_names_its_source(records):
    for record_id, entry in records.items():
        for position in getattr(entry.record, "positions", []):
            if position.quote or position.estimate:
                assert position.source, record_id
