"""The seed's topic, regenerated from the records: its structure and backlinks pinned."""
import re

import pytest

from generator.build import generate
from generator.score import measure, structure_score

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SEED_BACKLINKS = sorted("""
ai-coding ai-safety-institutes ai-scientist alignment-capability-gap alphacode alphaevolve
alphaevolve-compute-recovery alphaevolve-flashattention-speedup alphaevolve-matrix-multiply-speedup
automl-zero capability-overhang claude compute-governance corrigibility-research daniel-kokotajlo
dario-amodei efficientnet elicit eliezer-yudkowsky fast-takeoff forethought-foundation
formal-verification github-copilot goal-drift godel-agent gpt-4 ij-good
imagenet-training-efficiency-doubling intelligence-explosion interpretability-research
irreversibility language-model-efficiency-doubling leopold-aschenbrenner loss-of-oversight metr
nick-bostrom o1 o3 parker-whitfill recursive-acceleration responsible-scaling-policies
self-rewarding-language-models semantic-scholar software-feedback-multiplier
software-loop-acceleration-probability stop-framework strassen-improvement stuart-armstrong
stuart-russell superintelligence tom-davidson
""".split())


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    result = generate(REPO / "content", tmp_path_factory.mktemp("docs"))
    assert result.ok, result.checked.diagnostics
    return result


@pytest.fixture(scope="module")
def topic_page(generated):
    return generated.rendered.pages["topics/self-improvement.md"].markdown


def _article(markdown: str) -> str:
    """The topic's own content: after the infobox, before the generated sections."""
    after_infobox = markdown.split("</aside>\n", 1)[1]
    return re.split(r"\n## (?:Relations|What links here) \{ data-pagefind-ignore \}", after_infobox, maxsplit=1)[0]


def test_structure_counted_on_the_generated_page_matches_the_seed(topic_page, generated):
    measured = measure(_article(topic_page))
    # The seed: 11 tables, 2 diagrams, 0 external links, score 12/15. Our page links every entity
    # in its tables, so it has more internal links (the seed had 30) and more words (tables included).
    assert (measured.tables, measured.diagrams, measured.external_links) == (11, 2, 0)
    assert measured.internal_links == 174
    assert measured.has_overview and measured.bullet_ratio < 0.3
    assert structure_score(measured) == 12
    assert generated.scores["self-improvement"].structure == measured


def test_status_header_shows_the_measured_structure(topic_page):
    header = topic_page.split('<div class="kb-status">', 1)[1].split("</div>", 1)[0]
    assert "Quality: <strong>82</strong> (Comprehensive)" in header
    assert "Importance: <strong>85</strong> (High)" in header
    assert 'datetime="2025-12-28"' in header
    for shown in ("📊 11 tables", "📈 2 diagrams", "🔗 174 internal links", "📚 0 external links",
                  "1% bullet lines", "Score: <strong>12/15</strong>"):
        assert shown in header
    words = measure(_article(topic_page)).words
    assert f"Words: {words / 1000:.1f}k" in header


def test_backlinks_of_the_seed_topic(topic_page, generated):
    graph = generated.checked.graph
    assert sorted(graph.backlink_sources("self-improvement")) == SEED_BACKLINKS
    assert f"Backlinks: {len(SEED_BACKLINKS)}" in topic_page
    what_links_here = topic_page.split("## What links here", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r'<a href="\.\./\w+/([a-z0-9-]+)\.html">|<a href="([a-z0-9-]+)\.html">', what_links_here))
    assert {a or b for a, b in listed} == set(SEED_BACKLINKS)


def test_backlinks_say_how_each_record_links(topic_page):
    what_links_here = topic_page.split("## What links here", 1)[1].split("\n## ", 1)[0]
    assert '<li>Covers, exemplified by <a href="../systems/alphaevolve.html">AlphaEvolve</a></li>' in what_links_here
    assert '<li>Has a position from <a href="../experts/nick-bostrom.html">Nick Bostrom</a></li>' in what_links_here
    assert '<li>Related to, mentioned in <a href="fast-takeoff.html">Fast Takeoff</a></li>' in what_links_here
