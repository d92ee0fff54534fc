#!/usr/bin/env python3
"""How much `kb validate` costs over bare YAML parsing.

Generates N synthetic valid records (mixed kinds, referencing each other, topics with prose
links, tables and a diagram) in a temporary folder, then times in the same run:

  (a) parse: read every file and yaml.load it with PyYAML's C loader (topics: the front matter);
  (b) check: generator.pipeline.check(root), i.e. load + validate + link;

and prints both, their ratio and check's time per stage (of its fastest run). Each is the
best of --repeat runs, in wall-clock and in CPU seconds (steadier on a busy machine).

    .venv/bin/python scripts/bench_validate.py            # 10,000 records
    .venv/bin/python scripts/bench_validate.py -n 2000 --profile
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator import pipeline  # noqa: E402
from generator.kinds import KINDS  # noqa: E402
from generator.load import split_front_matter  # noqa: E402

SHARES = {"sources": 20, "organizations": 10, "experts": 15, "systems": 15, "risks": 10,
          "metrics": 10, "responses": 10, "topics": 10}  # per cent of the records


def plan(total: int) -> dict[str, list[str]]:
    ids = {}
    for kind, share in SHARES.items():
        count = max(3, total * share // 100)
        ids[kind] = [f"{KINDS[kind].singular.split()[0]}-{number:05d}" for number in range(count)]
    return ids


def records(ids: dict[str, list[str]], rng: random.Random):
    """(kind, id, text) of every record."""
    pick = lambda kind, k=1: rng.sample(ids[kind], k)  # noqa: E731
    everything = [i for kind in ids for i in ids[kind]]
    others = lambda record_id, k=1: [i for i in rng.sample(everything, k + 1) if i != record_id][:k]  # noqa: E731
    for number, record_id in enumerate(ids["sources"]):
        yield "sources", record_id, f"""id: {record_id}
name: Source {number}
title: "A study of scaling, number {number}"
summary: A paper that measures how capabilities grow with training compute.
kind: {rng.choice(["paper", "report", "article", "book"])}
authors: [A. Author, B. Author]
year: {rng.randint(1990, 2025)}
organization: {pick("organizations")[0]}
url: https://example.org/papers/{number}
"""
    for number, record_id in enumerate(ids["organizations"]):
        yield "organizations", record_id, f"""id: {record_id}
name: Organization {number}
type: {rng.choice(["frontier-lab", "safety-org", "academic", "nonprofit"])}
summary: An organization that works on AI research and policy.
founded: {rng.randint(1900, 2024)}
headquarters: London
website: https://example.org/{number}
tags: [org, group-{number % 20}]
quality: {rng.randint(0, 100)}
last_edited: 2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}
"""
    for number, record_id in enumerate(ids["experts"]):
        source = pick("sources")[0]
        yield "experts", record_id, f"""id: {record_id}
name: Expert {number}
affiliation: {pick("organizations")[0]}
role: Researcher
summary: A researcher who studies the alignment of machine-learning systems.
positions:
  - topic: {pick("topics")[0]}
    claim: Oversight must scale with capability.
    date: 2024-0{rng.randint(1, 9)}
  - topic: {pick("topics")[0]}
    quote: We should expect surprises.
    source: {source}
    estimate: {{value: {rng.randint(1, 99)}, unit: "%"}}
"""
    for number, record_id in enumerate(ids["systems"]):
        yield "systems", record_id, f"""id: {record_id}
name: System {number}
developer: {pick("organizations")[0]}
announced: {rng.randint(2015, 2025)}-0{rng.randint(1, 9)}
summary: A model that performs a broad range of language tasks.
capability: Solves competition mathematics problems.
achievement: First system to reach expert level on a benchmark.
sources: [{", ".join(pick("sources", 2))}]
topics: [{pick("topics")[0]}]
tags: [model, family-{number % 30}]
importance: {rng.randint(0, 100)}
relations:
  - type: builds-on
    target: {others(record_id)[0]}
    strength: strong
"""
    for number, record_id in enumerate(ids["risks"]):
        yield "risks", record_id, f"""id: {record_id}
name: Risk {number}
summary: A way in which AI systems could cause serious harm.
description: A model pursues a proxy of the goal it was trained on.
evidence: Observed in several reinforcement-learning environments.
severity: {rng.choice(["low", "medium", "high", "critical"])}
likelihood: {{level: uncertain, low: 5, high: 40}}
topics: [{", ".join(pick("topics", 2))}]
"""
    for number, record_id in enumerate(ids["metrics"]):
        yield "metrics", record_id, f"""id: {record_id}
name: Metric {number}
summary: A measured quantity that tracks progress in AI.
estimate:
  value: {rng.randint(1, 1000) / 10}
  unit: months
  low: 0.1
  high: 200
  confidence: 90
as_of: 2024
source: {pick("sources")[0]}
implication: Progress is faster than hardware alone explains.
measures: {others(record_id)[0]}
topics: [{pick("topics")[0]}]
"""
    for number, record_id in enumerate(ids["responses"]):
        yield "responses", record_id, f"""id: {record_id}
name: Response {number}
summary: A measure that reduces the risk from advanced AI.
mechanism: Evaluations before deployment.
current_status: Voluntary at several labs.
effectiveness: {rng.choice(["low", "medium", "high"])}
addresses: [{", ".join(pick("risks", 2))}]
organizations: [{", ".join(pick("organizations", 2))}]
topics: [{pick("topics")[0]}]
"""
    for number, record_id in enumerate(ids["topics"]):
        mentions = " ".join(f"[[{target}]]" for target in others(record_id, 3))
        yield "topics", record_id, f"""---
id: {record_id}
title: Topic {number}
summary: A subject in AI safety with its evidence and open questions.
entity_type: concept
related: [{", ".join(others(record_id, 2))}]
featured:
  systems: [{", ".join(pick("systems", 2))}]
  risks: [{pick("risks")[0]}]
assessment:
  - dimension: Difficulty
    rating: High
    note: No agreed method yet.
    source: {pick("sources")[0]}
tables:
  scores:
    title: Scores
    columns: [Benchmark, Score]
    rows:
      - [MMLU, "86.4"]
      - [GSM8K, "92.0"]
diagrams:
  overview:
    title: Overview
    mermaid: |
      flowchart LR
        A[Cause] --> B[Effect]
---
## Overview

This topic connects to {mentions} and more.

[[table:assessment]]

[[table:systems]]

[[table:risks]]

[[table:scores]]

[[diagram:overview]]
"""


def generate(root: Path, total: int, seed: int) -> int:
    count = 0
    for kind, record_id, text in records(plan(total), random.Random(seed)):
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{record_id}{KINDS[kind].suffix}").write_text(text, encoding="utf-8")
        count += 1
    return count


def bare_parse(root: Path) -> int:
    count = 0
    for path in sorted(root.rglob("*.*")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            text = split_front_matter(text)[0]
        yaml.load(text, Loader=yaml.CSafeLoader)
        count += 1
    return count


def measure(repeat: int, root: Path) -> dict:
    """Best wall-clock and CPU seconds of each, runs interleaved so both see the same machine."""
    best = {"parse": [float("inf")] * 2, "check": [float("inf")] * 2}
    checked = None
    for _ in range(repeat):
        for name, function in (("parse", bare_parse), ("check", pipeline.check)):
            wall, cpu = time.perf_counter(), time.process_time()
            result = function(root)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name == "check" and wall < best["check"][0]:
                checked = result
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    return {**best, "checked": checked}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one check")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "content"
        count = generate(root, args.records, args.seed)
        bare_parse(root)  # warm the file cache for both
        best = measure(args.repeat, root)
        checked = best["checked"]
        if checked.diagnostics:
            print("\n".join(d.as_text() for d in checked.diagnostics[:10]), file=sys.stderr)
            print(f"the synthetic records have {len(checked.diagnostics)} diagnostics", file=sys.stderr)
            return 1
        (parse_wall, parse_cpu), (check_wall, check_cpu) = best["parse"], best["check"]
        edges = sum(len(edges) for edges in checked.graph.outgoing.values())
        print(f"records                 {count:>8,}   ({edges:,} edges; best of {args.repeat})")
        print("                          wall s    CPU s")
        print(f"(a) parse, CSafeLoader  {parse_wall:8.3f} {parse_cpu:8.3f}")
        print(f"(b) check               {check_wall:8.3f} {check_cpu:8.3f}   "
              + ", ".join(f"{stage} {seconds:.3f}" for stage, seconds in checked.timings.items()))
        print(f"ratio (b) / (a)         {check_wall / parse_wall:7.2f}x {check_cpu / parse_cpu:7.2f}x")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(pipeline.check, root)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
