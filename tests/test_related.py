"""link.related takes each kind's best few candidates without sorting them all: the same
records, in the same order, as ranking every candidate first (the reference below)."""
from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

from generator import link, pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def ranked_all(graph, record_id: str, per_kind: int = 5) -> dict[str, list[str]]:
    """The ranking as it was: every candidate sorted, then five of each kind."""
    entry = graph.entries[record_id]
    explicit = [edge.target for edge in graph.outgoing.get(record_id, ()) if edge.origin == "relation"]
    explicit += [e.source for e in graph.incoming.get(record_id, ()) if e.origin == "relation"]
    scores: Counter = Counter()
    for neighbour in graph.neighbours(record_id):
        around = graph.neighbours(neighbour)
        if len(around) <= link.HUB_LIMIT:
            scores.update(around)
    for tag in entry.record.tags:
        members = graph.tags.get(tag, ())
        if len(members) <= link.HUB_LIMIT:
            scores.update(members)
    ranked = list(dict.fromkeys(explicit)) + [c for c, _ in sorted(scores.items(), key=lambda i: (-i[1], i[0]))]
    result: dict[str, list[str]] = defaultdict(list)
    for candidate in dict.fromkeys(ranked):
        if candidate == record_id or candidate not in graph.entries:
            continue
        bucket = result[graph.entries[candidate].kind]
        if len(bucket) < per_kind:
            bucket.append(candidate)
    return dict(result)


def test_related_records_are_those_of_the_full_ranking(tmp_path):
    import benchmark

    benchmark.write_records(tmp_path / "content", 600, seed=5)
    graph = pipeline.check(tmp_path / "content").graph
    compared = 0
    for record_id in graph.entries:
        for per_kind in (1, 5):
            assert link.related(graph, record_id, per_kind) == ranked_all(graph, record_id, per_kind), record_id
        compared += bool(ranked_all(graph, record_id))
    assert compared > 500  # most records have related ones: the comparison is not of empty results


def test_related_records_of_the_repository_content():
    graph = pipeline.check(Path(__file__).resolve().parent.parent / "content").graph
    for record_id in graph.entries:
        assert link.related(graph, record_id) == ranked_all(graph, record_id), record_id
