#!/usr/bin/env python3
"""Benchmark of the whole build: a synthetic knowledge base of N records, built stage by stage.

    .venv/bin/python scripts/benchmark.py --records 1000 --records 10000 --json bench.json
    .venv/bin/python scripts/benchmark.py --records 1000 --diagrams build
    .venv/bin/python scripts/benchmark.py --compare-mermaid2
    .venv/bin/python scripts/benchmark.py --draw 500 --repeat 3

For each size it writes a knowledge base that is valid under the schemas (every kind, references
of the right kinds, positions on topics, typed relations, topics with prose links, tables and
authored diagrams; seeded, so the same arguments give the same files) into a throw-away project
(a copy of mkdocs.yml and a symlink to generator/), then runs one fresh worker process per size
that measures, in that one process:

* the bare parse of every file with PyYAML's C loader (topics: their front matter),
* the real build, ``generator.build.build_site()``: every stage of the runner's table
  (``generator.pipeline.STAGES``: load, validate, link, score, render, draw and write, then site,
  export and index), each in wall and CPU seconds with the memory high-water after it,
* the site: bytes, files, the largest page, the search index; what a reader downloads for a
  topic page and a record page (the HTML and every same-site asset it references) and for a
  first search; with --browser, the same measured in Chromium from a local HTTP server,
* the validation cost against the bare parse (best of --repeat runs, wall and CPU seconds),
* an incremental rebuild after one record's summary changes: files written, wall time;

and the parent measures memory: the peak of the worker's process tree (the worker and every
process under it: Pagefind, a forked renderer, Chromium), its resident sets summed, sampled
every 50 ms from /proc (:class:`TreeMemory`), for the first build and for the whole run; and
the worker's own peak from wait4(), which is one process's, not the tree's. It prints one Markdown
table (a column per size), the targets as PASS/FAIL lines, and can write everything as JSON.
--profile adds a cProfile of the slowest generator stage, --profile-mkdocs one of MkDocs.
--compare-mermaid2 builds one base with our Mermaid fence and with the mkdocs-mermaid2 plugin.
--draw N times the cold drawing alone: N editor-style diagrams of several Mermaid types
(``diagram_set``) and every diagram of a --draw-records base (its topics' flowcharts, the two
maps), drawn into an empty cache --repeat times, each run with a Chromium of its own; the
target is the median run's ms per drawing. A build's own draw stage (--diagrams build) is judged
only when it draws at least DRAW_MIN diagrams: the 1,000-record base has about 30, and the
browser's launch would be most of their average.

Wall times depend on what else runs on the machine; CPU seconds are printed beside them and the
load average at the start of each run is recorded, so a slow run can be told from a loaded one.
Others may edit generator/ while a long run goes on: --snapshot builds every size with a copy
of generator/ and mkdocs.yml taken at the start.
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gzip
import io
import json
import logging
import os
import posixpath
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GENERATOR_STAGES = ("load", "validate", "link", "score", "render", "draw", "write")  # "generate": these together
SITE_STAGES = ("site", "export", "index")  # the engine (MkDocs), the data, Pagefind
PROJECT_MARK = ".kb-benchmark-project"
TODAY = "2026-01-07"  # KB_TODAY for the builds: ages and review dates do not move between runs
GIB = 1024 ** 3
DRAW_TARGET_MS = 10.0  # the issue's target: a cold drawing costs at most this on average
DRAW_MIN = 100  # drawings a cold run must draw for its average to be judged (fewer: launch dominates)

# ============================================================================ synthetic records
#
# The layout follows scripts/bench_validate.py (same kinds, ids planned first so that every
# reference can be drawn from ids of the right kind); the values have the lengths of content/'s
# 126 real records. Records fill most optional fields, so a file averages 1.0-1.6 KB (real ones
# 0.5-1.0 KB); every topic is about as rich as the richest real one (self-improvement.md: every
# table kind, two diagrams, 1,000-3,000 words, dozens of [[links]]), some 37 KB each.

SHARES = {"organizations": 8, "experts": 15, "systems": 16, "risks": 10, "metrics": 12,
          "responses": 15}  # per cent of the records; sources take the rest, topics one in 50
RECORDS_PER_TOPIC = 50
ARTICLE_SHARE = 1 / 3  # non-topic records written as <id>.md with an article (1,000-3,000 words,
# footnotes, math, inline citations), as a real base's risks, responses, people and organizations are
MATH = [r"$r > 1$", r"$\lambda \approx 0.8$", r"$p(\text{doom}) \le 0.1$", r"$T_{2x} = \ln 2 / g$",
        r"$\sigma^2 = 4$", r"$N^{0.7}$"]
DISPLAY_MATH = [r"$$\frac{dC}{dt} = k \cdot C^{\alpha}, \quad \alpha > 1$$",
                r"$$L(N, D) = \left(\frac{N_c}{N}\right)^{\alpha_N} + \left(\frac{D_c}{D}\right)^{\alpha_D}$$",
                r"$$\mathbb{E}[R] = \sum_{i=1}^{n} p_i r_i$$"]
TAGGED_SHARE = 0.05  # records that carry tags, drawn from a small shared vocabulary

WORDS = """ai model models system systems training compute data research researchers lab labs
alignment oversight evaluation evaluations benchmark benchmarks capability capabilities agent agents
policy governance safety risk risks reward feedback loop scaling inference reasoning planning code
software hardware chips cluster clusters deployment release access audit audits standard standards
evidence estimate estimates forecast forecasts progress efficiency algorithm algorithms architecture
search optimisation experiment experiments result results method methods paper report finding
findings human humans expert experts decision decisions control incentive incentives market markets
government regulator regulators treaty export controls monitoring interpretability robustness
deception misuse autonomy autonomous recursive improvement self acceleration threshold bottleneck
trend trends uncertainty confidence range interval median scenario scenarios timeline timelines
frontier open weights fine tuning preference preferences objective objectives proxy specification
verification testing red teaming incident incidents response responses institution institutions
international national public private funding investment cost costs energy supply chain language
vision robotics biology chemistry cyber security critical infrastructure economy labour automation
""".split()
LINKERS = ["and", "but", "while", "because", "so", "although", "whereas", "since", "as", "yet"]
FIRST = ("Ada Alan Amara Anika Ben Carla Chen Daniel Dana Elena Emeka Farah Grace Hiro Ines Jonas "
         "Kai Laila Lena Marco Maya Nadia Omar Priya Rafael Sara Tomas Uma Victor Wen Yara Zoe").split()
LAST = ("Okafor Lindqvist Tanaka Moreau Novak Haddad Ivanova Mensah Kowalski Rossi Schmidt Park "
        "Fernandes Nakamura Osei Petrov Quinn Rahman Silva Takahashi Umar Varga Weber Xu Yilmaz "
        "Zhang Abara Brandt Castillo Dubois Eriksen Fontaine").split()
ORG_WORDS = ("Northbridge Meridian Lumen Aster Halcyon Vantage Cobalt Solace Tessellate Arcadia "
             "Kestrel Beacon Quorum Sable Fathom Polaris").split()
ORG_SUFFIX = ["AI", "Labs", "Institute", "Research", "Foundation", "Council", "Center", "Group"]
ORG_TYPES = ["frontier-lab", "safety-org", "research-org", "academic", "government", "funder",
             "policy", "company", "nonprofit"]
SYSTEM_WORDS = ("Helios Orion Atlas Nimbus Vega Lyra Corvid Quasar Pulsar Zephyr Tempest Cirrus "
                "Kepler Hubble Juno Sirius").split()
SYSTEM_SUFFIX = ["Coder", "Reasoner", "Agent", "Scientist", "Vision", "Chat", "Planner", "Evolve"]
RISK_ADJ = ["Deceptive", "Runaway", "Emergent", "Silent", "Compounding", "Unverified", "Latent",
            "Strategic", "Irreversible", "Distributed"]
RISK_NOUN = ["goal drift", "power seeking", "reward hacking", "oversight loss", "capability jump",
             "misuse", "collusion", "value erosion", "lock-in", "escalation"]
RESPONSE_NOUN = ["compute reporting", "model evaluations", "incident disclosure", "licensing",
                 "interpretability audits", "staged deployment", "export controls", "red teaming",
                 "safety cases", "whistleblower protection"]
SOURCE_KINDS = ["paper", "report", "article", "dataset", "book", "essay", "blog-post", "website",
                "benchmark"]
SEVERITIES = ["low", "low-medium", "medium", "medium-high", "high", "critical", "existential"]
EFFECTIVENESS = ["very-low", "low", "low-medium", "medium", "medium-high", "high", "very-high"]
LEVELS = ["very-unlikely", "unlikely", "uncertain", "likely", "very-likely"]
RELATIONS = ["related-to", "causes", "mitigates", "enables", "requires", "measures", "part-of",
             "cites", "addresses", "supports", "contradicts", "exemplifies", "builds-on", "succeeds"]
ENTITY_TYPES = ["capability", "risk", "response", "concept", "scenario", "governance", "research-area"]
RELEVANCE = ["low", "medium", "high", "critical", "existential"]
UNITS = ["months", "%", "x", "days", "FLOP", "USD billion", "points"]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Synth:
    """Deterministic generator of record texts; every random draw goes through ``self.rng``."""

    def __init__(self, total: int, seed: int):
        self.total = total
        self.rng = random.Random(seed)
        self.counts = plan_counts(total)
        self.names: dict[str, str] = {}
        self.ids: dict[str, list[str]] = {kind: [] for kind in ("topics", *SHARES, "sources")}
        self._make_ids()
        # Mildly skewed popularity: the first organizations, sources and topics are cited more,
        # as real hubs are (the busiest page grows about with the square root of the base).
        self.weights = {kind: _cumulative([1 / (rank + 1) ** 0.5 for rank in range(len(ids))])
                        for kind, ids in self.ids.items()}
        self.everything = [i for ids in self.ids.values() for i in ids]
        pool = max(5, total // 100)
        self.tag_pool = [f"{self.rng.choice(WORDS)}-{self.rng.choice(WORDS)}-{n}" for n in range(pool)]
        self.positions: dict[str, list[str]] = {t: [] for t in self.ids["topics"]}  # topic -> holders

    # -- ids and names ---------------------------------------------------------------------
    def _make_ids(self) -> None:
        rng = self.rng
        makers = {
            "topics": lambda n: f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} and {rng.choice(WORDS)}",
            "organizations": lambda n: f"{rng.choice(ORG_WORDS)} {rng.choice(WORDS).capitalize()} {rng.choice(ORG_SUFFIX)}",
            "experts": lambda n: f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "systems": lambda n: f"{rng.choice(SYSTEM_WORDS)}-{rng.randint(1, 9)} {rng.choice(SYSTEM_SUFFIX)}",
            "risks": lambda n: f"{rng.choice(RISK_ADJ)} {rng.choice(RISK_NOUN)}",
            "metrics": lambda n: f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} doubling time",
            "responses": lambda n: f"{rng.choice(RESPONSE_NOUN).capitalize()} for {rng.choice(WORDS)}",
            "sources": lambda n: f"{rng.choice(LAST)} et al. {rng.randint(1995, 2025)}",
        }
        for kind, count in self.counts.items():
            for number in range(count):
                name = makers[kind](number)
                record_id = f"{slug(name)}-{number}"
                self.ids[kind].append(record_id)
                self.names[record_id] = name

    # -- random helpers ----------------------------------------------------------------------
    def pick(self, kind: str, k: int = 1, exclude: str = "") -> list[str]:
        ids = self.ids[kind]
        k = min(k, len(ids) - (exclude in ids))
        chosen: dict[str, None] = {}
        while len(chosen) < k:
            for candidate in self.rng.choices(ids, cum_weights=self.weights[kind], k=k):
                if candidate != exclude:
                    chosen[candidate] = None
        return list(chosen)[:k]

    def any_other(self, record_id: str, k: int = 1) -> list[str]:
        chosen: dict[str, None] = {}
        while len(chosen) < k:
            candidate = self.rng.choice(self.everything)
            if candidate != record_id:
                chosen[candidate] = None
        return list(chosen)

    def sentence(self, low: int = 9, high: int = 20) -> str:
        rng = self.rng
        words = rng.choices(WORDS, k=rng.randint(low, high))
        if len(words) > 8:
            words.insert(rng.randint(3, len(words) - 3), rng.choice(LINKERS))
        return " ".join(words).capitalize() + "."

    def text(self, low: int, high: int) -> str:
        """Sentences up to a length drawn from [low, high] characters."""
        target = self.rng.randint(low, high)
        out = self.sentence()
        while len(out) < target:
            out += " " + self.sentence()
        return out

    def date(self, year_low: int = 2023, year_high: int = 2025) -> str:
        return f"{self.rng.randint(year_low, year_high)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def partial_date(self) -> str:
        year = self.rng.randint(2015, 2025)
        shape = self.rng.random()
        if shape < 0.3:
            return f'"{year}"'
        if shape < 0.8:
            return f"{year}-{self.rng.randint(1, 12):02d}"
        return f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def common(self, record_id: str, kind: str, sources: tuple[int, int] = (1, 3)) -> str:
        """Fields every record has: summary, tags, sources, ratings, dates, relations."""
        rng = self.rng
        lines = [f"summary: >-\n{fold(self.text(220, 480))}"]
        if rng.random() < TAGGED_SHARE:
            lines.append(f"tags: [{', '.join(rng.sample(self.tag_pool, rng.randint(1, 3)))}]")
        if kind != "sources" and rng.random() < 0.8:
            lines.append(f"sources: [{', '.join(self.pick('sources', rng.randint(*sources)))}]")
        lines.append(f"status: {rng.choice(['stub', 'draft', 'published', 'published', 'verified'])}")
        lines.append(f"last_edited: {self.date(2024, 2025)}")
        if rng.random() < 0.3:
            lines.append(f"review_by: {self.date(2025, 2026)}")
        if rng.random() < 0.8:
            lines.append(f"importance: {rng.randint(10, 95)}")
        if rng.random() < 0.5:
            lines.append(f"quality: {rng.randint(20, 90)}")
        if rng.random() < 0.3:
            lines.append("relations:")
            for target in self.any_other(record_id, rng.randint(1, 2)):
                lines.append(f"  - type: {rng.choice(RELATIONS)}\n    target: {target}")
                if rng.random() < 0.5:
                    lines.append(f"    strength: {rng.choice(['weak', 'moderate', 'strong'])}")
                if rng.random() < 0.3:
                    lines.append(f"    note: {self.text(40, 90)}")
        return "\n".join(lines) + "\n"

    def quantity(self, indent: str) -> str:
        rng = self.rng
        value = round(rng.uniform(0.5, 100), 1)
        low, high = round(value * rng.uniform(0.2, 0.9), 1), round(value * rng.uniform(1.1, 3), 1)
        text = f"{indent}value: {value}\n{indent}unit: \"{rng.choice(UNITS)}\"\n"
        if rng.random() < 0.3:
            text += f"{indent}approximate: true\n"
        if rng.random() < 0.7:
            text += f"{indent}low: {low}\n{indent}high: {high}\n"
            if rng.random() < 0.5:
                text += f"{indent}confidence: {rng.choice([80, 90, 95])}\n"
        return text

    def position(self, holder: str) -> str:
        rng = self.rng
        topic = self.pick("topics")[0]
        self.positions[topic].append(holder)
        text = f"  - topic: {topic}\n    claim: >-\n{fold(self.text(80, 220), 6)}"
        needs_source = False
        if rng.random() < 0.5:
            text += f"    quote: {self.sentence(4, 10)[:-1].lower()}\n"
            needs_source = True
        if rng.random() < 0.3:
            text += "    estimate:\n" + self.quantity("      ")
            needs_source = True
        if rng.random() < 0.6:
            text += f"    date: {self.partial_date()}\n"
        if needs_source or rng.random() < 0.5:
            text += f"    source: {self.pick('sources')[0]}\n"
        return text

    # -- the kinds -------------------------------------------------------------------------
    def organization(self, record_id: str) -> str:
        rng = self.rng
        text = (f"name: {self.names[record_id]}\ntype: {rng.choice(ORG_TYPES)}\n"
                f"website: https://www.{record_id}.example.org/\nfounded: {rng.randint(1950, 2024)}\n"
                f"headquarters: {rng.choice(['London', 'San Francisco', 'Paris', 'Tokyo', 'Berlin', 'Toronto'])}, "
                f"{rng.choice(['United Kingdom', 'United States', 'France', 'Japan', 'Germany', 'Canada'])}\n")
        if rng.random() < 0.15:
            text += f"parent: {self.pick('organizations', exclude=record_id)[0]}\n"
        if rng.random() < 0.2:
            text += "positions:\n" + self.position(record_id)
        return text + self.common(record_id, "organizations")

    def expert(self, record_id: str) -> str:
        rng = self.rng
        text = (f"name: {self.names[record_id]}\naffiliation: {self.pick('organizations')[0]}\n"
                f"role: {rng.choice(['Professor of computer science', 'Research scientist', 'Policy director', 'Founder and chief scientist'])}\n"
                f"url: https://people.example.org/{record_id}\npositions:\n")
        text += "".join(self.position(record_id) for _ in range(rng.randint(1, 3)))
        return text + self.common(record_id, "experts")

    def system(self, record_id: str) -> str:
        rng = self.rng
        text = (f"name: {self.names[record_id]}\ndeveloper: {self.pick('organizations')[0]}\n"
                f"announced: {self.partial_date()}\ncapability: {self.text(50, 110)}\n"
                f"achievement: >-\n{fold(self.text(120, 280))}")
        if rng.random() < 0.7:
            text += f"significance: >-\n{fold(self.text(80, 200))}"
        if rng.random() < 0.5:
            text += f"limitations: >-\n{fold(self.text(100, 220))}"
        text += f"url: https://models.example.org/{record_id}\ntopics: [{', '.join(self.pick('topics', rng.randint(1, 2)))}]\n"
        return text + self.common(record_id, "systems")

    def risk(self, record_id: str) -> str:
        rng = self.rng
        low = rng.randint(1, 40)
        return (f"name: {self.names[record_id]}\ndescription: >-\n{fold(self.text(150, 300))}"
                f"evidence: >-\n{fold(self.text(150, 300))}severity: {rng.choice(SEVERITIES)}\n"
                f"likelihood: {{level: {rng.choice(LEVELS)}, low: {low}, high: {low + rng.randint(5, 50)}}}\n"
                f"topics: [{', '.join(self.pick('topics', rng.randint(1, 2)))}]\n"
                + self.common(record_id, "risks"))

    def metric(self, record_id: str) -> str:
        return (f"name: {self.names[record_id]}\nestimate:\n{self.quantity('  ')}as_of: {self.partial_date()}\n"
                f"source: {self.pick('sources')[0]}\nimplication: >-\n{fold(self.text(100, 220))}"
                f"measures: {self.any_other(record_id)[0]}\ntopics: [{self.pick('topics')[0]}]\n"
                + self.common(record_id, "metrics"))

    def response(self, record_id: str) -> str:
        rng = self.rng
        text = (f"name: {self.names[record_id]}\nmechanism: {self.text(50, 120)}\n"
                f"current_status: {self.text(40, 90)}\neffectiveness: {rng.choice(EFFECTIVENESS)}\n")
        if rng.random() < 0.4:
            text += f"effectiveness_note: {self.text(40, 100)}\n"
        text += (f"addresses: [{', '.join(self.pick('risks', rng.randint(1, 3)))}]\n"
                 f"organizations: [{', '.join(self.pick('organizations', rng.randint(1, 2)))}]\n"
                 f"topics: [{self.pick('topics')[0]}]\n")
        return text + self.common(record_id, "responses")

    def source(self, record_id: str) -> str:
        rng = self.rng
        authors = ", ".join(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 4)))
        return (f"name: {self.names[record_id]}\ntitle: {self.text(40, 110)[:-1]}\n"
                f"kind: {rng.choice(SOURCE_KINDS)}\nauthors: [{authors}]\nyear: {rng.randint(1995, 2025)}\n"
                f"publisher: {rng.choice(['arXiv', 'Nature', 'RAND', 'NeurIPS', 'ICML', 'Epoch AI'])}\n"
                f"organization: {self.pick('organizations')[0]}\nurl: https://papers.example.org/{record_id}\n"
                + self.common(record_id, "sources"))

    def topic(self, record_id: str) -> str:
        """A topic page: front matter with every kind of table and 1-2 diagrams, then prose."""
        rng = self.rng
        holders = list(dict.fromkeys(self.positions[record_id]))[:6]
        featured = {"systems": self.pick("systems", rng.randint(3, 8)),
                    "risks": self.pick("risks", rng.randint(3, 6)),
                    "metrics": self.pick("metrics", rng.randint(2, 6)),
                    "responses": self.pick("responses", rng.randint(2, 6))}
        if holders:
            featured = {"positions": holders, **featured}
        lines = [f"title: {self.names[record_id]}", f"entity_type: {rng.choice(ENTITY_TYPES)}",
                 f"safety_relevance: {rng.choice(RELEVANCE)}", f"current_status: {self.text(30, 70)}",
                 f"related: [{', '.join(self.any_other(record_id, rng.randint(2, 4)))}]", "featured:"]
        lines += [f"  {name}: [{', '.join(ids)}]" for name, ids in featured.items()]
        lines.append("assessment:")
        for dimension in rng.sample(["Severity", "Likelihood", "Timeline", "Trend", "Controllability",
                                     "Tractability"], rng.randint(4, 5)):
            lines.append(f"  - dimension: {dimension}\n    rating: {rng.choice(['High', 'Medium', 'Low', 'Uncertain (30-70%)', 'Accelerating'])}\n"
                         f"    note: >-\n{fold(self.text(80, 200), 6)}".rstrip("\n"))
            if rng.random() < 0.5:
                lines.append(f"    source: {self.pick('sources')[0]}")
        lines.append("milestones:")
        for _ in range(rng.randint(3, 5)):
            year = rng.randint(2026, 2035)
            lines.append(f"  - milestone: {self.text(30, 70)}\n    conservative: {year + 5}-{year + 10}\n"
                         f"    median: {year + 2}-{year + 5}\n    aggressive: {year}-{year + 2}\n"
                         f"    dependencies: {self.text(30, 70)}")
        lines.append("scenarios:")
        for name in ("Slow", "Moderate", "Fast"):
            low = rng.randint(5, 40)
            lines.append(f"  - name: {name} takeoff\n    duration: {rng.choice(['Decades', 'Years', 'Months', 'Days to weeks'])}\n"
                         f"    probability: {{low: {low}, high: {low + rng.randint(5, 20)}}}\n"
                         f"    characteristics: {self.text(40, 100)}")
        if rng.random() < 0.6:
            lines.append("counter_evidence:")
            for _ in range(rng.randint(2, 4)):
                lines.append(f"  - observation: {self.text(30, 60)}\n    data: >-\n{fold(self.text(60, 160), 6)}"
                             f"    implication: {self.text(40, 100)}".rstrip("\n"))
                if rng.random() < 0.5:
                    lines.append(f"    source: {self.pick('sources')[0]}")
        lines.append("tables:\n  comparison:\n    title: Benchmark results compared\n"
                     "    columns: [Benchmark, Systems, Humans, Notes]\n    rows:")
        for _ in range(rng.randint(3, 6)):
            lines.append(f'      - ["{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}", "{rng.randint(10, 99)}.{rng.randint(0, 9)}", '
                         f'"{rng.randint(10, 99)}.{rng.randint(0, 9)}", "{self.sentence(4, 9)[:-1]}"]')
        lines.append(f"    source: {self.pick('sources')[0]}")
        diagram_names = ["feedback-loop", "progression"][: rng.randint(1, 2)]
        lines.append("diagrams:")
        for name in diagram_names:
            lines.append(f"  {name}:\n    title: {self.text(20, 50)[:-1]}\n    mermaid: |\n{self.mermaid()}"
                         f"    caption: >-\n{fold(self.text(60, 160), 6)}".rstrip("\n"))
        lines.append(self.common(record_id, "topics", sources=(5, 20)).rstrip("\n"))
        directives = ["table:assessment", *(f"table:{name}" for name in featured), "table:milestones",
                      "table:scenarios", "table:comparison", *(f"diagram:{n}" for n in diagram_names)]
        if any(line.startswith("counter_evidence:") for line in lines):
            directives.append("table:counter-evidence")
        return "---\n" + "\n".join(lines) + "\n---\n" + self.prose(record_id, directives)

    def article(self, record_id: str) -> str:
        """An article for a non-topic record: sections of paragraphs with [[links]], inline
        citations of sources, numbered footnotes and inline and display math; 1,000-3,000 words."""
        rng = self.rng
        sections = ["Overview", "How it works", "Evidence", "Assessment", "Debate", "Open questions"][
            : rng.randint(4, 6)]
        out, notes = [], []
        for heading in sections:
            out.append(f"## {heading}\n")
            for _ in range(rng.randint(3, 5)):
                paragraph = self.paragraph(record_id)
                roll = rng.random()
                if roll < 0.35:
                    notes.append(self.sentence(8, 18))
                    paragraph = paragraph[:-1] + f"[^{len(notes)}]."
                elif roll < 0.55:
                    paragraph += f" Where {rng.choice(MATH)}, the {rng.choice(WORDS)} {rng.choice(WORDS)} grows."
                elif roll < 0.75:
                    paragraph += f" [[cite:{self.pick('sources', exclude=record_id)[0]}]]"
                out.append(paragraph + "\n")
            if rng.random() < 0.3:
                out.append(rng.choice(DISPLAY_MATH) + "\n")
        out += [f"[^{number}]: {note}" for number, note in enumerate(notes, start=1)]
        return "\n".join(out) + "\n"

    def mermaid(self) -> str:
        rng = self.rng
        nodes = [f'N{n}["{self.sentence(2, 5)[:-1]}"]' for n in range(rng.randint(5, 9))]
        shape = rng.choice(["TD", "LR"])
        out = [f"      flowchart {shape}"]
        for n in range(1, len(nodes)):
            parent = rng.randrange(n)
            edge = f'-->|"{rng.choice(WORDS)}"|' if rng.random() < 0.4 else "-->"
            out.append(f"          {nodes[parent] if n == 1 else f'N{parent}'} {edge} {nodes[n]}")
        return "\n".join(out) + "\n"

    def prose(self, record_id: str, directives: list[str]) -> str:
        """Sections of paragraphs with [[id]] links, external links, a list, and every table and
        diagram placed once; 1,000-3,000 words, like the real topic pages."""
        rng = self.rng
        sections = ["Overview", "Current state", "Evidence", "Mechanisms", "Safety implications",
                    "Debate", "Governance", "Open questions"][: rng.randint(5, 8)]
        slots = {index: [] for index in range(len(sections))}
        for directive in directives:
            slots[rng.randrange(len(sections))].append(directive)
        out = []
        for index, heading in enumerate(sections):
            out.append(f"## {heading}\n")
            for _ in range(rng.randint(2, 4)):
                out.append(self.paragraph(record_id) + "\n")
            if rng.random() < 0.3:
                out.append("\n".join(f"- {self.sentence(6, 14)}" for _ in range(rng.randint(3, 5))) + "\n")
            for directive in slots[index]:
                out.append(f"[[{directive}]]\n")
                out.append(self.paragraph(record_id) + "\n")
        return "\n".join(out)

    def paragraph(self, record_id: str) -> str:
        rng = self.rng
        sentences = []
        for _ in range(rng.randint(3, 6)):
            sentence = self.sentence(12, 26)
            roll = rng.random()
            if roll < 0.45:
                target = self.any_other(record_id)[0]
                link = f"[[{target}]]" if rng.random() < 0.6 else f"[[{target}|{self.names[target].lower()}]]"
                words = sentence.split(" ")
                words.insert(rng.randint(1, len(words) - 1), link)
                sentence = " ".join(words)
            elif roll < 0.52:
                sentence = sentence[:-1] + f" ([{rng.choice(WORDS)} report](https://example.org/{rng.randint(1, 10 ** 6)}))."
            sentences.append(sentence)
        return " ".join(sentences)



# ============================================================================ a set of diagrams
#
# For --draw: diagrams as editors write them, of the Mermaid types a knowledge base uses,
# flowcharts the most (the synthetic topics' own and some with shapes and subgraphs), each about
# the size of a topic's flowchart: 3-12 nodes, steps or rows, labels of one to five words.

DIAGRAM_TYPES = {"flowchart": 16, "flowchart with shapes": 14, "sequence": 14, "state": 10, "class": 10,
                 "er": 8, "pie": 8, "gantt": 8, "mindmap": 4, "timeline": 4, "journey": 4}  # weights


class DiagramSynth:
    """Deterministic editor-style Mermaid sources of every type of ``DIAGRAM_TYPES``; plain
    flowcharts are the synthetic topics' own (``Synth.mermaid``)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.topics = Synth(60, seed)

    def words(self, low: int = 2, high: int = 5) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high))).capitalize()

    def name(self) -> str:
        return "".join(word.capitalize() for word in self.rng.sample(WORDS, 2))

    def flowchart(self) -> str:
        return textwrap.dedent(self.topics.mermaid()).strip()

    def shapes(self) -> str:
        """A flowchart with node shapes, dotted and thick edges, at times a subgraph and a classDef."""
        rng = self.rng
        count = rng.randint(5, 10)
        out = [f"flowchart {rng.choice(['TD', 'LR'])}"]
        shapes = ['["{}"]', '("{}")', '{{"{}"}}', '(["{}"])', '[["{}"]]']
        for n in range(1, count):
            parent = rng.randrange(n)
            edge = f'-->|"{rng.choice(WORDS)}"|' if rng.random() < 0.4 else rng.choice(["-->", "-.->", "==>"])
            node = f"N{n}" + rng.choice(shapes).format(self.words())
            head = f'N{parent}["{self.words()}"]' if n == 1 else f"N{parent}"
            out.append(f"  {head} {edge} {node}")
        if rng.random() < 0.3:
            out.append(f"  subgraph S1[\"{self.words(1, 3)}\"]\n    N1\n    N2\n  end")
        if rng.random() < 0.2:
            out.append("  classDef hot fill:#fde0dc,stroke:#c62828\n  class N1 hot")
        return "\n".join(out)

    def sequence(self) -> str:
        rng = self.rng
        actors = rng.sample(["Lab", "Regulator", "Evaluator", "Model", "Auditor", "Public", "Funder"], rng.randint(3, 5))
        out = ["sequenceDiagram", "  autonumber"] if rng.random() < 0.4 else ["sequenceDiagram"]
        out += [f"  participant {a}" for a in actors]
        for _ in range(rng.randint(5, 10)):
            a, b = rng.sample(actors, 2)
            out.append(f"  {a}{rng.choice(['->>', '-->>', '-)', '->>', '-x'])}{b}: {self.words()}")  # ->> twice as often
            if rng.random() < 0.15:
                out.append(f"  Note over {a},{b}: {self.words()}")
        if rng.random() < 0.3:
            a, b = rng.sample(actors, 2)
            out += [f"  alt {self.words(1, 3)}", f"    {a}->>{b}: {self.words()}", "  else otherwise",
                    f"    {b}->>{a}: {self.words()}", "  end"]
        return "\n".join(out)

    def state(self) -> str:
        rng = self.rng
        states = [self.name() for _ in range(rng.randint(4, 7))]
        out = ["stateDiagram-v2", f"  [*] --> {states[0]}"]
        for n in range(1, len(states)):
            out.append(f"  {states[rng.randrange(n)]} --> {states[n]}: {self.words(1, 3)}")
        if rng.random() < 0.4:
            out.append(f"  {states[-1]} --> {states[0]}: {self.words(1, 3)}")
        out.append(f"  {states[-1]} --> [*]")
        return "\n".join(out)

    def klass(self) -> str:
        rng = self.rng
        classes = list(dict.fromkeys(self.name() for _ in range(rng.randint(3, 5))))
        out = ["classDiagram"]
        for name in classes:
            out.append(f"  class {name} {{")
            out += [f"    +{rng.choice(['int', 'str', 'float', 'bool'])} {rng.choice(WORDS)}" for _ in range(rng.randint(1, 3))]
            out += [f"    +{rng.choice(WORDS)}() {rng.choice(['bool', 'int', 'void'])}" for _ in range(rng.randint(0, 2))]
            out.append("  }")
        for n in range(1, len(classes)):
            out.append(f"  {classes[rng.randrange(n)]} {rng.choice(['<|--', '*--', 'o--', '-->', '..>'])} {classes[n]}")
        return "\n".join(out)

    def er(self) -> str:
        rng = self.rng
        entities = list(dict.fromkeys(rng.choice(WORDS).upper().replace("-", "") + f"{n}" for n in range(rng.randint(3, 5))))
        out = ["erDiagram"]
        for n in range(1, len(entities)):
            out.append(f"  {entities[rng.randrange(n)]} {rng.choice(['||--o{', '||--|{', '}o--o{', '|o--||'])} "
                       f"{entities[n]} : {rng.choice(WORDS)}")
        for entity in entities[:2]:
            out.append(f"  {entity} {{\n    string id PK\n    int {rng.choice(WORDS)}\n  }}")
        return "\n".join(out)

    def pie(self) -> str:
        rng = self.rng
        out = [f"pie title {self.words()}"]
        out += [f'  "{self.words(1, 3)}" : {rng.randint(5, 60)}' for _ in range(rng.randint(3, 6))]
        return "\n".join(out)

    def gantt(self) -> str:
        rng = self.rng
        out = ["gantt", f"  title {self.words()}", "  dateFormat YYYY-MM-DD"]
        for s in range(rng.randint(2, 3)):
            out.append(f"  section {self.words(1, 2)}")
            for t in range(rng.randint(2, 4)):
                task = f"t{s}{t}"
                start = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if t == 0 else f"after t{s}{t - 1}"
                out.append(f"  {self.words(1, 3)} :{rng.choice(['', 'done, ', 'active, ', 'crit, '])}{task}, {start}, {rng.randint(3, 60)}d")
        return "\n".join(out)

    def mindmap(self) -> str:
        rng = self.rng
        out = ["mindmap", f"  root(({self.words(1, 2)}))"]
        for _ in range(rng.randint(3, 4)):
            out.append(f"    {self.words(1, 3)}")
            out += [f"      {self.words(1, 3)}" for _ in range(rng.randint(1, 3))]
        return "\n".join(out)

    def timeline(self) -> str:
        rng = self.rng
        out = ["timeline", f"  title {self.words()}"]
        for year in sorted(rng.sample(range(2015, 2035), rng.randint(3, 6))):
            out.append(f"  {year} : {self.words()}" + (f" : {self.words()}" if rng.random() < 0.3 else ""))
        return "\n".join(out)

    def journey(self) -> str:
        rng = self.rng
        out = ["journey", f"  title {self.words()}"]
        for _ in range(rng.randint(2, 3)):
            out.append(f"  section {self.words(1, 2)}")
            out += [f"    {self.words(1, 3)}: {rng.randint(1, 5)}: {rng.choice(['Lab', 'Public', 'Regulator'])}"
                    for _ in range(rng.randint(2, 3))]
        return "\n".join(out)

    def one(self, kind: str) -> str:
        return getattr(self, {"class": "klass", "flowchart with shapes": "shapes"}.get(kind, kind))()


def diagram_set(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """``count`` different editor-style diagrams, as (type, source), types mixed by ``DIAGRAM_TYPES``."""
    synth, picker = DiagramSynth(seed), random.Random(f"diagram types {seed}")
    kinds, weights = list(DIAGRAM_TYPES), list(DIAGRAM_TYPES.values())
    out: dict[str, str] = {}
    while len(out) < count:
        kind = picker.choices(kinds, weights)[0]
        out.setdefault(synth.one(kind), kind)
    return [(kind, source) for source, kind in out.items()]

def fold(text: str, indent: int = 2) -> str:
    """A folded block scalar's lines (the text wrapped at about 96 columns), newline-ended."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > 96:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "".join(" " * indent + part + "\n" for part in lines)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def plan_counts(total: int) -> dict[str, int]:
    counts = {"topics": max(1, round(total / RECORDS_PER_TOPIC))}
    for kind, share in SHARES.items():
        counts[kind] = max(2, total * share // 100)
    counts["sources"] = max(2, total - sum(counts.values()))
    return counts


def write_records(content: Path, total: int, seed: int) -> dict[str, int]:
    """Write the synthetic base under ``content``; returns the count per kind."""
    from generator.kinds import KINDS

    synth = Synth(total, seed)
    makers = {"organizations": synth.organization, "experts": synth.expert, "systems": synth.system,
              "risks": synth.risk, "metrics": synth.metric, "responses": synth.response,
              "sources": synth.source, "topics": synth.topic}
    # Topics last: their featured positions are the holders that took a position on them.
    for kind in ("organizations", "experts", "systems", "risks", "metrics", "responses", "sources", "topics"):
        folder = content / kind
        folder.mkdir(parents=True, exist_ok=True)
        for record_id in synth.ids[kind]:
            body = makers[kind](record_id)
            suffix = KINDS[kind].suffix
            if KINDS[kind].markdown:
                text = body.replace("---\n", f"---\nid: {record_id}\n", 1)
            else:
                text = (f"# yaml-language-server: $schema=../../schemas/{kind}.schema.json\n"
                        f"id: {record_id}\n{body}")
                if synth.rng.random() < ARTICLE_SHARE:
                    text, suffix = f"---\n{text}---\n{synth.article(record_id)}", ".md"
            (folder / f"{record_id}{suffix}").write_text(text, encoding="utf-8")
    return synth.counts


def make_project(folder: Path, total: int, seed: int, code: Path = REPO) -> dict:
    """A project folder like the repository: mkdocs.yml, a symlink to generator/, content/.

    ``code`` holds the mkdocs.yml and generator/ to use: the repository, or a snapshot of it
    (--snapshot) so that edits made while a long benchmark runs do not change what it measures.
    """
    if folder.exists():
        if not (folder / PROJECT_MARK).exists():
            raise SystemExit(f"{folder} exists and was not made by this script; choose another --keep folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / PROJECT_MARK).write_text("made by scripts/benchmark.py; safe to delete\n")
    shutil.copy(code / "mkdocs.yml", folder / "mkdocs.yml")
    (folder / "generator").symlink_to(code / "generator")
    start = time.perf_counter()
    counts = write_records(folder / "content", total, seed)
    articles = sum(1 for path in (folder / "content").glob("*/*.md") if path.parent.name != "topics")
    return {"counts": counts, "articles": articles, "synth_seconds": round(time.perf_counter() - start, 3)}


# ============================================================================ the worker


def bare_parse(root: Path) -> int:
    """Every record file through yaml.load(CSafeLoader); topics: their front matter only.
    (As scripts/bench_validate.py measures it.)"""
    import yaml

    from generator.load import split_front_matter

    count = 0
    for path in sorted(root.rglob("*.*")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            text = split_front_matter(text)[0]
        yaml.load(text, Loader=yaml.CSafeLoader)
        count += 1
    return count


class _LogCounter(logging.Handler):
    """Counts what the build logs, by top-level logger and level; keeps the warnings' text."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.counts: Counter = Counter()
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.name.split('.')[0]}:{record.levelname}"] += 1
        if record.levelno >= logging.WARNING and len(self.warnings) < 20:
            self.warnings.append(f"{record.name}: {record.getMessage()[:600]}")


def _install_log_counter() -> _LogCounter:
    counter = _LogCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    root.setLevel(logging.INFO)
    return counter


def _cpu() -> float:
    """CPU seconds of this process and of the children it has reaped (Pagefind, Chromium)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _memory() -> dict:
    """This process's resident memory now and its high-water mark so far (Linux), in bytes."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss" if line.startswith("VmRSS") else "hwm"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


class _Spans:
    """Wraps the function of every stage of the runner's table to time it in wall and CPU seconds
    and read the memory high-water after it (the runner's own timings are wall seconds only).

    Of a stage's output it keeps only the list of pages written: holding more would keep the graph
    and the pages alive after the build has let them go, and the memory measured would be the
    benchmark's, not the build's."""

    def __init__(self):
        self.spans: dict[str, dict] = {}
        self.written: list[str] = []
        self.drawn: dict = {}

    def wrap(self, stage):
        def timed(run):
            wall, cpu = time.perf_counter(), _cpu()
            try:
                done = stage.function(run)
                if stage.name == "write":
                    self.written = list(done.output[0])
                if stage.name == "draw":
                    self.drawn = _drawn_figures(done.output)
                return done
            finally:
                self.spans[stage.name] = {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu, **_memory()}

        return dataclasses.replace(stage, function=timed)

    def with_generate(self) -> dict[str, dict]:
        """The spans, and "generate": the stages load to write together (high-water after write)."""
        parts = [self.spans[name] for name in GENERATOR_STAGES if name in self.spans]
        if not parts:
            return dict(self.spans)
        generate = {"wall": sum(p["wall"] for p in parts), "cpu": sum(p["cpu"] for p in parts),
                    **{key: parts[-1][key] for key in ("rss", "hwm") if key in parts[-1]}}
        return {**self.spans, "generate": generate}


def run_build(config: Path, site_dir: Path | None = None) -> dict:
    """One build_site() with wall/CPU of each stage; returns its summary and spans."""
    import generator.build as gb
    from generator import pipeline

    spans = _Spans()
    saved = pipeline.STAGES
    pipeline.STAGES = tuple(spans.wrap(stage) for stage in saved)
    wall, cpu = time.perf_counter(), _cpu()
    try:
        result = gb.build_site(config, site_dir)
    finally:
        pipeline.STAGES = saved
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    return {
        "ok": result.ok,
        "errors": [d.as_text() for d in result.diagnostics if d.severity == "error"][:10],
        "warnings": sum(d.severity == "warning" for d in result.diagnostics),
        "summary": result.summary,
        "wall": wall, "cpu": cpu,
        "spans": spans.with_generate(),
        "written": spans.written,
        "drawn": spans.drawn,
    }


def _drawn_figures(drawn) -> dict:
    """What the draw stage did (generator.diagrams.Drawn), as plain figures."""
    figures = {"drawn": drawn.drawn, "cached": drawn.cached, "left": drawn.left, "failed": len(drawn.failed)}
    if getattr(drawn, "seconds", None):  # where the time of the drawing went (launch, pages, render, post)
        figures["seconds"] = dict(drawn.seconds)
    return figures


def site_stats(site: Path) -> dict:
    files = [p for p in site.rglob("*") if p.is_file()]
    sizes = {p.relative_to(site).as_posix(): p.stat().st_size for p in files}
    html = {k: v for k, v in sizes.items() if k.endswith(".html")}
    largest = max(html, key=html.get) if html else ""
    by_top = Counter()
    for name, size in sizes.items():
        top = name.split("/")[0] if "/" in name else "(root)"
        by_top["html" if name.endswith(".html") else top] += size
    index = site / "search" / "search_index.json"
    pagefind = {k: v for k, v in sizes.items() if k.startswith("pagefind/")}
    return {
        "bytes": sum(sizes.values()), "files": len(sizes), "html_files": len(html),
        "html_bytes": sum(html.values()), "largest_page": largest, "largest_page_bytes": html.get(largest, 0),
        "largest_pages": sorted(html.items(), key=lambda item: -item[1])[:5],
        "search_index_bytes": index.stat().st_size if index.exists() else None,  # Material's lunr index
        "pagefind_bytes": sum(pagefind.values()) if pagefind else None, "pagefind_files": len(pagefind),
        "data_bytes": by_top.get("data", 0), "assets_bytes": by_top.get("assets", 0),
        "by_folder": dict(by_top.most_common()),
    }


# -- what a reader downloads ----------------------------------------------------------------

_FETCHED_RELS = {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "manifest", "apple-touch-icon"}
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


class _References(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.config: str = ""
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and attributes.get("href"):
            if set((attributes.get("rel") or "").lower().split()) & _FETCHED_RELS:
                self.urls.append(attributes["href"])
        elif tag in ("script", "img", "source", "iframe") and attributes.get("src"):
            self.urls.append(attributes["src"])
        self._in_config = tag == "script" and attributes.get("id") == "__config"

    def handle_data(self, data):
        if self._in_config:
            self.config += data

    def handle_endtag(self, tag):
        self._in_config = False


def _local(site: Path, page: str, url: str) -> str | None:
    """The site-relative path of a same-site URL referenced from ``page``, or None."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("data:", "#")) or not parts.path:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), parts.path))
    return joined if (site / joined).is_file() else None


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


def page_weight(site: Path, page: str) -> dict:
    """The HTML of ``page`` plus every same-site stylesheet, script, image and font it pulls in."""
    parser = _References()
    parser.feed((site / page).read_text(encoding="utf-8"))
    assets: dict[str, None] = {}
    missing = []
    for url in parser.urls:
        local = _local(site, page, url)
        if local:
            assets[local] = None
        elif not urlsplit(url).scheme and not url.startswith("data:"):
            missing.append(url)
    for css in [a for a in assets if a.endswith(".css")]:
        for url in _CSS_URL.findall((site / css).read_text(encoding="utf-8", errors="replace")):
            local = _local(site, css, url)
            if local:
                assets[local] = None
    html_bytes = (site / page).stat().st_size
    asset_bytes = {a: (site / a).stat().st_size for a in assets}
    result = {
        "page": page, "html_bytes": html_bytes, "html_gzip": _gz(site / page),
        "requests": 1 + len(assets), "total_bytes": html_bytes + sum(asset_bytes.values()),
        "total_gzip": _gz(site / page) + sum(_gz(site / a) for a in assets),
        "assets": sorted(asset_bytes.items(), key=lambda item: -item[1]),
        "unresolved": missing,
    }
    # Material's lunr search (when the search plugin is on): a worker script named in the page's
    # __config, fed the whole search_index.json, which Material requests on every page load.
    try:
        worker = json.loads(parser.config or "{}").get("search")
    except ValueError:
        worker = None
    index = site / "search" / "search_index.json"
    if worker and _local(site, page, worker) and index.exists():
        worker = _local(site, page, worker)
        result["lunr_search"] = {"worker": worker, "worker_bytes": (site / worker).stat().st_size,
                                 "index_bytes": index.stat().st_size, "index_gzip": _gz(index)}
    return result


def first_search(site: Path, shown: int = 5) -> dict | None:
    """What a first search costs a reader, estimated from the files.

    Pagefind (site/pagefind/): the search page and its assets, then Pagefind's UI script and
    stylesheet, and of each part of the index its loader, entry file, WebAssembly and metadata and
    one index chunk for the query (the largest counted), and one fragment per result shown
    (``shown`` of average size). Material's
    lunr search: its worker and the whole search_index.json.
    """
    folder = site / "pagefind"
    if folder.is_dir():
        # a large site's index is in parts (pagefind/part-<n>/, generator/search_index.py), all
        # merged into the first search: each part's loader, entry, WebAssembly, metadata and chunk
        bundles = [folder] + sorted(p for p in folder.glob("part-*") if p.is_dir())
        fixed = [p for bundle in bundles for p in bundle.iterdir() if p.is_file() and (
            (bundle == folder and p.name in ("pagefind-ui.js", "pagefind-ui.css", "kb-parts.json"))
            or p.name in ("pagefind.js", "pagefind-entry.json")
            or p.name.endswith(".pf_meta") or p.name == "wasm.en.pagefind")]
        chunks = {bundle: [p.stat().st_size for p in (bundle / "index").glob("*")] or [0] for bundle in bundles}
        fragments = [p.stat().st_size for bundle in bundles for p in (bundle / "fragment").glob("*")] or [0]
        page = page_weight(site, "search.html") if (site / "search.html").exists() else None
        fixed_bytes = sum(p.stat().st_size for p in fixed)
        query_bytes = sum(max(sizes) for sizes in chunks.values()) + shown * round(statistics.mean(fragments))
        every_chunk = [size for sizes in chunks.values() for size in sizes]
        return {"engine": "pagefind", "search_page": page["page"] if page else None,
                "search_page_bytes": page["total_bytes"] if page else 0,
                "search_page_requests": page["requests"] if page else 0,
                "index_parts": len(bundles),
                "pagefind_fixed_bytes": fixed_bytes, "pagefind_fixed_files": sorted(p.name for p in fixed),
                "index_chunks": len(every_chunk), "index_chunk_max": max(every_chunk),
                "index_chunk_mean": round(statistics.mean(every_chunk)),
                "fragments": len(fragments), "fragment_mean": round(statistics.mean(fragments)),
                "query_bytes": query_bytes,
                "pagefind_bytes": fixed_bytes + query_bytes,
                "total_bytes": (page["total_bytes"] if page else 0) + fixed_bytes + query_bytes}
    index = site / "search" / "search_index.json"
    if index.exists():
        workers = sorted((site / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
        worker_bytes = workers[0].stat().st_size if workers else 0
        return {"engine": "lunr", "index_bytes": index.stat().st_size, "index_gzip": _gz(index),
                "worker_bytes": worker_bytes, "total_bytes": index.stat().st_size + worker_bytes}
    return None


def reader_pages(site: Path) -> dict:
    topics = [p for p in (site / "topics").glob("*.html") if p.name != "index.html"]
    records = sorted((p for p in (site / "systems").glob("*.html") if p.name != "index.html"),
                     key=lambda p: (p.stat().st_size, p.name))
    out = {}
    if topics:
        largest = max(topics, key=lambda p: (p.stat().st_size, p.name))
        out["topic"] = page_weight(site, largest.relative_to(site).as_posix())
    if records:
        median = records[len(records) // 2]
        out["record"] = page_weight(site, median.relative_to(site).as_posix())
    out["first_search"] = first_search(site)
    return out


def browser_readers(site: Path, pages: list[str], query: str = "risk") -> dict:
    """Load pages in Debian's Chromium from a local HTTP server, each with an empty cache, and
    record every finished request (workers included): what a first visit really transfers.
    With Pagefind, also load search.html?q=QUERY, where the header's search box leads."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    visits = list(pages)
    if (site / "search.html").exists() and (site / "pagefind").is_dir():
        visits.append(f"search.html?q={query}")
    out = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                for visit in visits:
                    context = browser.new_context()
                    finished: list = []
                    context.on("requestfinished", lambda request, finished=finished: finished.append(request))
                    page = context.new_page()
                    page.goto(base + visit, wait_until="networkidle", timeout=180_000)
                    page.wait_for_timeout(1500)
                    page.wait_for_load_state("networkidle")
                    fetched = {}
                    for request in finished:
                        try:
                            size = request.sizes()["responseBodySize"]
                        except Exception:  # aborted or redirected
                            size = 0
                        fetched[request.url[len(base):]] = size
                    entry = {"requests": len(fetched), "bytes": sum(fetched.values()),
                             "largest": sorted(fetched.items(), key=lambda item: -item[1])[:10]}
                    if visit.startswith("search.html"):
                        pagefind = {k: v for k, v in fetched.items() if k.startswith("pagefind/")}
                        entry.update(results_shown=page.locator(".pagefind-ui__result").count(),
                                     pagefind_requests=len(pagefind), pagefind_bytes=sum(pagefind.values()))
                    out[visit] = entry
                    context.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
    return out


# -- profiles ----------------------------------------------------------------------------------


def profile_stage(stage: str, content: Path, top: int = 25) -> str:
    """cProfile of one stage of the runner's table, run again on the same base: the stages before
    it run first (into a scratch docs tree and diagram cache: draw and write start cold)."""
    from generator import pipeline

    scratch = Path(tempfile.mkdtemp(prefix="kb-bench-profile-"))
    run = pipeline.Run(content, docs=scratch / "docs", cache=scratch / "diagrams")
    try:
        pipeline.run(run, pipeline.NAMES[:pipeline.NAMES.index(stage)])
        profiler = cProfile.Profile()
        profiler.runcall(pipeline.run, run, (stage,))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _stats_text(profiler, top)


def profile_mkdocs(config: Path, top: int = 30) -> str:
    """cProfile of the site stage (MkDocs) on the docs tree the build left in build/docs."""
    from generator import pipeline

    project = config.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix="kb-bench-site-"))
    run = pipeline.Run(project / "content", docs=project / pipeline.GENERATED_DIR,
                       cache=project / pipeline.DIAGRAM_CACHE, config=config, site=staging)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(pipeline.run, run, ("site",))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _stats_text(profiler, top)


def _stats_text(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return re.sub(r"\n{3,}", "\n\n", out.getvalue())


# -- the worker's run ------------------------------------------------------------------------


def draw_set_pages(project: Path, count: int, seed: int) -> tuple[dict[str, str], Counter]:
    """The pages of the base in ``project`` that hold diagrams (its topics' flowcharts and the two
    maps, as render makes them) and one page for each of ``count`` editor-style diagrams
    (``diagram_set``); and how many diagrams of each type they hold."""
    from generator import diagrams, pipeline

    scratch = project / "draw-scratch"
    run = pipeline.Run(project / "content", docs=scratch / "docs", cache=scratch / "diagrams",
                       parsed=scratch / "mermaid-parsed.json")
    pipeline.run(run, pipeline.NAMES[:pipeline.NAMES.index("draw")])
    if not run.ok:
        raise SystemExit("the synthetic base does not build: " + "; ".join(d.as_text() for d in run.diagnostics[:5]))
    pages = {path: page.markdown for path, page in run.rendered.pages.items() if diagrams.MARK in page.data}
    types: Counter = Counter()
    for text in pages.values():
        for _, linked in diagrams.found_in(text):
            types["map (linked)" if linked else "topic flowchart"] += 1
    for number, (kind, source) in enumerate(diagram_set(count, seed)):
        pages[f"draw-set/{number}.md"] = diagrams.block(source) + "\n"
        types[kind] += 1
    return pages, types


def draw_set(project: Path, count: int, seed: int, repeat: int) -> dict:
    """``diagrams.draw()`` of the draw set into an empty cache, ``repeat`` times (each run launches
    its own Chromium): wall and CPU seconds of this process and of the processes under it
    (Playwright's driver and Chromium, TreeCPU), what was drawn, and, when the drawing code
    reports it, where the time went."""
    import gc

    from generator import diagrams

    pages, types = draw_set_pages(project, count, seed)
    unique = {diagram for text in pages.values() for diagram in diagrams.found_in(text)}
    runs = []
    for number in range(repeat):
        cache = project / f"draw-cache-{number}"
        shutil.rmtree(cache, ignore_errors=True)
        gc.collect()
        load = os.getloadavg()
        tree = TreeCPU(os.getpid())
        wall, cpu = time.perf_counter(), time.process_time()
        drawn = diagrams.draw(pages, cache)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        tree.stop()
        runs.append({"load_average": load, "wall": wall, "cpu": cpu, "children_cpu": tree.seconds(),
                     "files": len(list(cache.glob("*.svg"))), **_drawn_figures(drawn)})
        shutil.rmtree(cache, ignore_errors=True)
    return {"diagrams": len(unique), "types": dict(types.most_common()), "runs": runs}


def worker(args) -> int:
    project = Path(args.worker).resolve()
    sys.path.insert(0, str(project))  # import the project's generator/ (the repository's, or a snapshot)
    os.chdir(project)
    os.environ["KB_TODAY"] = TODAY
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    if args.diagrams == "client":
        os.environ["KB_DIAGRAMS"] = "client"
    else:
        os.environ.pop("KB_DIAGRAMS", None)  # auto: drawn in Chromium when it is there
    logs = _install_log_counter()
    out: dict = {"load_average": os.getloadavg(), "diagrams_mode": args.diagrams}
    content = project / "content"
    config = project / args.config

    if args.mode == "mkdocs-only":  # --compare-mermaid2: one build, timed
        build = run_build(config, project / f"site-{Path(args.config).stem}")
        out["build"] = build
        out["logs"] = dict(logs.counts)
        out["log_warnings"] = logs.warnings
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))
        return 0

    if args.mode == "draw":  # --draw N: a set of diagrams drawn into an empty cache, --repeat times
        out["draw_set"] = draw_set(project, args.draw, args.seed, args.repeat)
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))
        return 0

    started = time.time()
    first = run_build(config)
    out["phases"] = {"build": [started, time.time()]}  # the parent's TreeMemory peak of the first build
    out["peak_rss_after_build"] = _self_maxrss()
    out["build"] = first
    out["logs_first_build"] = dict(logs.counts)
    out["log_warnings"] = list(logs.warnings)
    if not first["ok"]:
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))
        return 1
    site = project / "site"
    out["site"] = site_stats(site)
    out["readers"] = reader_pages(site)
    drawn = project / "build" / "diagrams"
    out["diagram_svgs"] = len(list(drawn.glob("*.svg"))) if drawn.exists() else 0
    # Pages that make the reader's browser download Mermaid (a script tag naming the vendored file).
    out["client_diagram_pages"] = sum(b"vendor/mermaid-" in p.read_bytes() for p in site.rglob("*.html"))

    # Validation against the bare parse: interleaved, best of --repeat, wall and CPU. Each run
    # starts from a collected heap and nothing big stays alive between runs, so neither side pays
    # for the other's garbage (the check result is reduced to its figures at once).
    import gc

    from generator import pipeline

    def check_figures(root: Path) -> dict:
        checked = pipeline.check(root)
        return {"check_stages": checked.timings, "records": len(checked.entries),
                "edges": sum(len(edges) for edges in checked.graph.outgoing.values()),
                "errors": sum(d.severity == "error" for d in checked.diagnostics),
                # with diagrams left to the browser (--diagrams client), Mermaid parses none: said once
                "warnings": sum(d.severity == "warning" and d.code != "mermaid-unchecked" for d in checked.diagnostics),
                "mermaid_unchecked": any(d.code == "mermaid-unchecked" for d in checked.diagnostics),
                "first_diagnostics": [d.as_text() for d in checked.diagnostics[:5]]}

    bare_parse(content)  # the file cache is warm for both
    best = {"parse": [float("inf")] * 2, "check": [float("inf")] * 2}
    figures: dict = {}
    for _ in range(args.repeat):
        for name, function in (("parse", bare_parse), ("check", check_figures)):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = function(content)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name == "check" and wall < best["check"][0]:
                figures = result
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
            del result
    gc.collect()
    out["validation"] = {"parse_wall": best["parse"][0], "parse_cpu": best["parse"][1],
                         "check_wall": best["check"][0], "check_cpu": best["check"][1], **figures}

    # Incremental: one record's summary changes; the write stage writes what changed, MkDocs reruns.
    edited = sorted((content / "systems").glob("*.yaml"))[0]
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("summary: >-\n", "summary: >-\n  Edited for the incremental benchmark.\n", 1),
                      encoding="utf-8")
    second = run_build(config)
    out["incremental"] = {"edited": edited.relative_to(project).as_posix(), "ok": second["ok"],
                          "written": len(second["written"]), "written_files": second["written"][:40],
                          "wall": second["wall"], "cpu": second["cpu"], "spans": second["spans"],
                          "stages": (second["summary"] or {}).get("stages", {})}

    if args.browser:
        pages = [out["readers"][key]["page"] for key in ("topic", "record") if out["readers"].get(key)]
        try:
            out["browser"] = browser_readers(site, pages)
        except Exception as exc:  # no Chromium or Playwright: say so, do not fail the benchmark
            out["browser"] = {"error": f"{type(exc).__name__}: {exc}"}
    if args.profile:
        stages = first["summary"]["stages"]
        candidates = [s for s in GENERATOR_STAGES if s in stages and not (s == "draw" and args.diagrams == "build")]
        slowest = max(candidates, key=lambda s: stages[s])
        out["profile"] = {"stage": slowest, "text": profile_stage(slowest, content)}
    if args.profile_mkdocs:
        out["profile_mkdocs"] = profile_mkdocs(config)
    out["logs_total"] = dict(logs.counts)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    return 0


def _self_maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ============================================================================ the parent


class TreeMemory:
    """The resident memory of a process and of every process under it, summed: sampled every
    50 ms from /proc (Linux) by a thread of the parent, so that the worker runs as it would alone.

    Why a sum: Pagefind and a forked renderer run beside the build, so the machine needs the
    tree's memory at once, which no one process's high-water mark (VmHWM, wait4) shows. A page
    two processes share (a library, a forked page not yet written to) counts in both, so the
    figure is an upper bound of what the tree uses, never an underestimate; a peak shorter than
    50 ms can be missed (the build's memory rises and falls over seconds).
    """

    INTERVAL = 0.05
    PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-memory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, window: list[float] | None = None) -> int:
        """The largest sum sampled, within ``[start, end]`` (time.time()) if given."""
        start, end = window or (float("-inf"), float("inf"))
        return max((size for moment, size in self.samples if start <= moment <= end), default=0)

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self.samples.append((time.time(), sum(map(self._rss, self._tree()))))

    def _tree(self) -> list[int]:
        """The pid and its descendants, from each process's parent in /proc/<pid>/stat."""
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parent = int(stat.rpartition(")")[2].split()[1])  # after "pid (comm) state"
            children.setdefault(parent, []).append(int(entry.name))
        tree, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            tree.append(pid)
            queue.extend(children.get(pid, ()))
        return tree

    def _rss(self, pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.PAGE
        except (OSError, IndexError, ValueError):
            return 0


class TreeCPU(TreeMemory):
    """The CPU seconds of the processes under a process (not its own), sampled like
    TreeMemory: each process's user and system time as last seen, summed. Chromium's processes
    are not all reaped by their parents before the browser exits, so getrusage(RUSAGE_CHILDREN)
    misses most of them; a process's last 100 ms can be missed here."""

    INTERVAL = 0.1
    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int):
        self.seen: dict[int, int] = {}  # pid -> clock ticks
        super().__init__(pid)

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            for pid in self._tree():
                if pid != self.pid:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                        self.seen[pid] = max(self.seen.get(pid, 0), int(fields[11]) + int(fields[12]))
                    except (OSError, IndexError, ValueError):
                        pass

    def seconds(self) -> float:
        return sum(self.seen.values()) / self.TICK


def spawn_worker(project: Path, out: Path, diagrams: str, extra: list[str],
                 log: Path) -> tuple[int, int, float, TreeMemory]:
    """Run one worker in a fresh process; (exit code, its own peak RSS in bytes, wall seconds,
    the memory of its process tree)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(project), "--out", str(out),
               "--diagrams", diagrams, *extra]
    start = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=project)
        tree = TreeMemory(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        tree.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux: the largest resident set of the worker (or a child it reaped).
    return process.returncode, usage.ru_maxrss * 1024, time.perf_counter() - start, tree


def measure_size(total: int, args, base: Path) -> dict:
    project = base / f"kb-{total}-{args.diagrams}"
    note(f"{total:,} records: writing the synthetic base into {project}")
    made = make_project(project, total, args.seed, args.code)
    note(f"{total:,} records: {sum(made['counts'].values()):,} files in {made['synth_seconds']:.1f} s; "
         f"building (diagrams: {args.diagrams}) in a fresh process ...")
    out = project / "benchmark-result.json"
    extra = ["--repeat", str(args.repeat)]
    extra += ["--profile"] if args.profile else []
    extra += ["--profile-mkdocs"] if args.profile_mkdocs else []
    extra += ["--browser"] if args.browser else []
    code, peak, seconds, tree = spawn_worker(project, out, args.diagrams, extra, project / "benchmark-worker.log")
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update(records=total, counts=made["counts"], articles=made["articles"], synth_seconds=made["synth_seconds"],
                  worker_exit=code, peak_rss=peak, worker_seconds=seconds, project=str(project),
                  tree_peak=tree.peak(), tree_samples=len(tree.samples))
    if result.get("phases"):
        result["tree_peak_build"] = tree.peak(result["phases"]["build"])
    if code != 0:
        tail = (project / "benchmark-worker.log").read_text(errors="replace")[-3000:]
        note(f"{total:,} records: the worker failed (exit {code}):\n{tail}")
        if result.get("build", {}).get("errors"):
            note("\n".join(result["build"]["errors"]))
    else:
        note(f"{total:,} records: done in {seconds:.0f} s")
    return result


def measure_draw(args, base: Path) -> dict:
    """--draw N: the draw set (N editor-style diagrams and every diagram of a --draw-records base)
    drawn cold --repeat times, in a fresh worker process."""
    project = base / f"kb-draw-{args.draw}"
    note(f"draw set: writing a {args.draw_records:,}-record base into {project}")
    make_project(project, args.draw_records, args.seed, args.code)
    note(f"draw set: drawing its diagrams and {args.draw:,} more into an empty cache, {args.repeat} time(s) ...")
    out = project / "benchmark-result.json"
    code, _, seconds, _ = spawn_worker(project, out, "build", ["--mode", "draw", "--draw", str(args.draw),
                                                               "--repeat", str(args.repeat)],
                                       project / "benchmark-worker.log")
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update(records=args.draw_records, extra=args.draw, worker_exit=code, worker_seconds=seconds)
    if code != 0 or not result.get("draw_set"):
        note(f"draw set: the worker failed (exit {code}):\n"
             + (project / "benchmark-worker.log").read_text(errors="replace")[-3000:])
    return result


def _ms_per_drawing(seconds: float, drawn: int) -> float | None:
    return seconds / drawn * 1000 if drawn else None


def draw_table(result: dict) -> str:
    """The runs of --draw: one row each."""
    drawset = result["draw_set"]
    types = ", ".join(f"{count} {kind}" for kind, count in drawset["types"].items())
    lines = [f"Cold drawing: {drawset['diagrams']:,} diagrams ({types}; the editor-style ones from "
             f"--draw {result['extra']:,}, the rest from a {result['records']:,}-record base), each run into an "
             f"empty cache with a Chromium of its own", "",
             "| run | load average at start | drawn / failed | wall s | ms per drawing | CPU s: build process / "
             "Chromium and its driver | launch / pages ready / drawing / post-processing s |",
             "|---|---|---|---|---|---|---|"]
    for number, run in enumerate(drawset["runs"], start=1):
        ms = _ms_per_drawing(run["wall"], run["drawn"])
        parts = run.get("seconds") or {}
        split = " / ".join(_s(parts.get(key)) for key in ("launch", "pages", "drawing", "post")) if parts else "-"
        lines.append(f"| {number} | {' '.join(f'{x:.1f}' for x in run['load_average'])} | {run['drawn']:,} / "
                     f"{run['failed']} | {run['wall']:.2f} | {ms:.1f} | {run['cpu']:.2f} / {run['children_cpu']:.2f} | "
                     f"{split} |" if ms is not None else f"| {number} | - | 0 / {run['failed']} | - | - | - | - |")
    return "\n".join(lines)


def draw_check(result: dict) -> dict:
    """The target on the draw set: the median run's ms per drawing."""
    runs = [run for run in (result.get("draw_set") or {}).get("runs", []) if run["drawn"]]
    name = f"cold drawing <= {DRAW_TARGET_MS:g} ms on average"
    if not runs:
        return {"check": name, "result": "FAIL", "detail": "the draw set was not drawn (no Chromium, or the worker failed)"}
    per = sorted(_ms_per_drawing(run["wall"], run["drawn"]) for run in runs)
    median = statistics.median(per)
    failed = max(run["failed"] for run in runs)
    return {"check": name, "result": "PASS" if median <= DRAW_TARGET_MS and not failed else "FAIL",
            "detail": f"{median:.1f} ms per drawing (median of {len(per)} run(s), {per[0]:.1f}-{per[-1]:.1f} ms; "
                      f"{runs[0]['drawn']:,} drawn cold, {failed} failed; --draw {result['extra']:,})"}


def compare_mermaid2(args, base: Path) -> dict:
    """The same base built with our fence and with the mkdocs-mermaid2 plugin (KB_DIAGRAMS=client)."""
    total = args.compare_records
    project = base / f"kb-{total}-mermaid2"
    note(f"mermaid2 comparison: writing {total:,} records into {project}")
    make_project(project, total, args.seed, args.code)
    ours = (project / "mkdocs.yml").read_text()
    fence = ("        - name: mermaid\n          class: kb-mermaid\n"
             "          format: !!python/name:pymdownx.superfences.fence_code_format\n")
    plugin_fence = ("        - name: mermaid\n          class: mermaid\n"
                    "          format: !!python/name:mermaid2.fence_mermaid_custom\n")
    local_js = "assets/vendor/" + _vendored_mermaid()

    def with_plugin(entry: str) -> str:
        """mkdocs.yml with ``entry`` added to its plugins and the plugin's fence for Mermaid."""
        if "plugins: []\n" in ours:
            text = ours.replace("plugins: []\n", "plugins:\n" + entry)
        elif re.search(r"^plugins:\n(  - .*\n)+", ours, re.M):
            text = re.sub(r"^(plugins:\n(?:  - .*\n)+)", lambda m: m.group(1) + entry, ours, count=1, flags=re.M)
        else:
            raise SystemExit("mkdocs.yml has no 'plugins:' list this script can extend; update compare_mermaid2()")
        if fence not in text:
            raise SystemExit("mkdocs.yml no longer has the expected Mermaid fence; update compare_mermaid2()")
        return text.replace(fence, plugin_fence)

    variants = {
        "ours": ours,
        "mermaid2": with_plugin("  - mermaid2\n"),
        "mermaid2-local": with_plugin(f"  - mermaid2:\n      javascript: {local_js}\n"),
    }
    results = {"records": total, "variants": {}}
    for name, text in variants.items():
        config = project / f"mkdocs-{name}.yml"
        config.write_text(text)
        out = project / f"benchmark-{name}.json"
        note(f"mermaid2 comparison: building with {config.name} ...")
        code, peak, seconds, _ = spawn_worker(project, out, "client",
                                           ["--mode", "mkdocs-only", "--config", config.name],
                                           project / f"benchmark-{name}.log")
        data = json.loads(out.read_text()) if out.exists() else {}
        build = data.get("build", {})
        mkdocs_span = build.get("spans", {}).get("site", {})
        mermaid2_info = sum(v for k, v in data.get("logs", {}).items() if k.startswith("mkdocs:INFO"))
        results["variants"][name] = {
            "config": config.name, "ok": build.get("ok"), "worker_exit": code,
            "mkdocs_wall": mkdocs_span.get("wall"), "mkdocs_cpu": mkdocs_span.get("cpu"),
            "build_wall": build.get("wall"), "peak_rss": peak,
            "errors": build.get("errors"), "log_warnings": data.get("log_warnings", [])[:5],
            "logs": data.get("logs", {}), "mkdocs_info_lines": mermaid2_info,
        }
        status = "ok" if build.get("ok") else "FAILED: " + "; ".join(build.get("errors") or ["see log"])[:300]
        note(f"mermaid2 comparison: {name}: {status}")
    ours_time = results["variants"]["ours"]["mkdocs_wall"]
    for name in ("mermaid2", "mermaid2-local"):
        variant = results["variants"][name]
        if variant["ok"] and ours_time and variant["mkdocs_wall"]:
            variant["ratio_to_ours"] = variant["mkdocs_wall"] / ours_time
            variant["cpu_ratio_to_ours"] = variant["mkdocs_cpu"] / results["variants"]["ours"]["mkdocs_cpu"]
    return results


def _revision() -> str:
    """The commit and how many files differ from it, to tell runs of different code apart."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "generator", "mkdocs.yml"], cwd=REPO,
                                 capture_output=True, text=True, timeout=10).stdout.splitlines()
        return f"{head}" + (f" + {len(changed)} changed file(s) in generator/ or mkdocs.yml" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _vendored_mermaid() -> str:
    found = sorted((REPO / "generator" / "static" / "assets" / "vendor").glob("mermaid-*.min.js"))
    return found[-1].name if found else "mermaid.min.js"


# -- reporting ---------------------------------------------------------------------------------


def note(message: str) -> None:
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


def _s(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1024 ** 2:.1f} MB"


def _kb(value) -> str:
    return "-" if value is None else f"{value / 1024:.1f} KB"


def rows_for(result: dict) -> dict[str, str]:
    """The table's cells of one size, by row label."""
    build = result.get("build") or {}
    stages = (build.get("summary") or {}).get("stages", {})
    spans = build.get("spans", {})
    validation = result.get("validation", {})
    site = result.get("site", {})
    readers = result.get("readers", {})
    incremental = result.get("incremental", {})
    n = result["records"]
    row: dict[str, str] = {}
    row["records (files)"] = f"{n:,}"
    row["pages generated"] = f"{(build.get('summary') or {}).get('pages', 0):,}"
    row["edges"] = f"{validation.get('edges', 0):,}"
    row["validation errors / warnings"] = f"{validation.get('errors', '-')} / {validation.get('warnings', '-')}"
    row["load average at start"] = " ".join(f"{x:.1f}" for x in result.get("load_average", []))
    row["**parse** (bare CSafeLoader), best s"] = (f"{_s(validation.get('parse_wall'))} "
                                                  f"(CPU {_s(validation.get('parse_cpu'))})")
    row["load+validate+link, best s"] = f"{_s(validation.get('check_wall'))} (CPU {_s(validation.get('check_cpu'))})"
    if validation.get("parse_wall"):
        row["validation / parse"] = (f"{validation['check_wall'] / validation['parse_wall']:.2f}x "
                                     f"(CPU {validation['check_cpu'] / validation['parse_cpu']:.2f}x)")
    for stage in GENERATOR_STAGES:
        row[f"**{stage}**, s"] = _s(stages.get(stage))
    generate = spans.get("generate", {})
    row["generate (load to write) total, s"] = f"{_s(generate.get('wall'))} (CPU {_s(generate.get('cpu'))})"
    for stage in SITE_STAGES:
        span = spans.get(stage)
        if span or stage in stages:
            span = span or {"wall": stages.get(stage)}
            row[f"**{stage}**, s"] = f"{_s(span.get('wall'))} (CPU {_s(span.get('cpu'))})"
    row["build total, s"] = f"{_s(build.get('wall'))} (CPU {_s(build.get('cpu'))})"
    if build.get("wall"):
        row["build per record, ms"] = f"{build['wall'] / n * 1000:.1f} (CPU {build['cpu'] / n * 1000:.1f})"
        row["generator share of build"] = f"{generate.get('wall', 0) / build['wall'] * 100:.1f}%"
    row["peak memory of the build's process tree (RSS summed, 50 ms samples)"] = _mb(result.get("tree_peak_build"))
    row["peak memory of the build process alone (VmHWM)"] = _mb(result.get("peak_rss_after_build"))
    marks = [(label, spans[label].get("hwm")) for label in ("generate", *SITE_STAGES)
             if spans.get(label, {}).get("hwm")]
    if marks:
        row["  high-water after generate / site / ..."] = " / ".join(
            f"{label} {value / 1024 ** 2:.0f}" for label, value in marks) + " MB"
    row["peak memory of the worker, rebuild included (wait4)"] = _mb(result.get("peak_rss"))
    row["peak memory of the worker's process tree, rebuild included"] = _mb(result.get("tree_peak"))
    row["site size"] = f"{_mb(site.get('bytes'))} in {site.get('files', 0):,} files"
    if site.get("bytes"):
        row["site size per record"] = _kb(site["bytes"] / n)
        row["  of which HTML / data / assets"] = (f"{_mb(site.get('html_bytes'))} / {_mb(site.get('data_bytes'))} / "
                                                  f"{_mb(site.get('assets_bytes'))}")
    row["largest page"] = f"{site.get('largest_page', '-')} ({_kb(site.get('largest_page_bytes'))})"
    if site.get("pagefind_bytes") is not None:
        row["search index (pagefind/)"] = f"{_mb(site['pagefind_bytes'])} in {site['pagefind_files']:,} files"
    if site.get("search_index_bytes") is not None:
        row["search index (search/search_index.json)"] = _mb(site["search_index_bytes"])
    for label, key in (("topic page", "topic"), ("record page", "record")):
        weight = readers.get(key)
        if weight:
            row[f"reader: {label}"] = f"{weight['page']}: HTML {_kb(weight['html_bytes'])}"
            row[f"reader: {label} + assets"] = (f"{_mb(weight['total_bytes'])} in {weight['requests']} requests "
                                                f"(gzip {_mb(weight['total_gzip'])})")
    search = readers.get("first_search")
    if search and search["engine"] == "pagefind":
        row["reader: first search fetches (estimate)"] = (
            f"{_mb(search['total_bytes'])}: search page {_kb(search['search_page_bytes'])} + Pagefind "
            f"{_kb(search['pagefind_fixed_bytes'])} + query {_kb(search['query_bytes'])} "
            f"({search.get('index_parts', 1)} index part(s), {search['index_chunks']} chunks, "
            f"max {_kb(search['index_chunk_max'])}; "
            f"{search['fragments']:,} fragments, mean {_kb(search['fragment_mean'])})")
    elif search:
        row["reader: first search fetches (estimate)"] = (
            f"{_mb(search['total_bytes'])} (worker {_kb(search['worker_bytes'])} + index "
            f"{_mb(search['index_bytes'])}, gzip {_mb(search['index_gzip'])}), on every page load")
    browser = result.get("browser") or {}
    for key, label in (("topic", "topic page"), ("record", "record page")):
        measured = browser.get((readers.get(key) or {}).get("page"))
        if measured:
            row[f"Chromium: {label}, first visit"] = f"{_mb(measured['bytes'])} in {measured['requests']} requests"
    for key, measured in browser.items():
        if key.startswith("search.html"):
            row["Chromium: first search"] = (f"{_mb(measured['bytes'])} in {measured['requests']} requests "
                                             f"(Pagefind {_kb(measured['pagefind_bytes'])} in "
                                             f"{measured['pagefind_requests']}; {measured['results_shown']} results)")
    if incremental:
        row["incremental: files written"] = f"{incremental.get('written', '-')}"
        row["incremental: rebuild total, s"] = (f"{_s(incremental.get('wall'))} (generate "
                                                f"{_s(incremental.get('spans', {}).get('generate', {}).get('wall'))}, "
                                                f"site {_s(incremental.get('spans', {}).get('site', {}).get('wall'))})")
    row["diagrams drawn at build (SVG cache)"] = f"{result.get('diagram_svgs', 0):,}"
    drawn = build.get("drawn") or {}
    if drawn:
        row["draw: drawn cold / from cache / left to the browser / failed"] = (
            f"{drawn['drawn']:,} / {drawn['cached']:,} / {drawn['left']:,} / {drawn['failed']}")
        ms = _ms_per_drawing(stages.get("draw", 0), drawn["drawn"])
        row["draw: stage seconds, ms per drawing drawn"] = f"{_s(stages.get('draw'))} ({'-' if ms is None else f'{ms:.1f} ms'})"
    row["pages that load Mermaid in the browser"] = f"{result.get('client_diagram_pages', 0):,}"
    logs = result.get("logs_first_build", {})
    row["log records of one build (INFO / WARNING)"] = (
        f"{sum(v for k, v in logs.items() if k.endswith(':INFO'))} / "
        f"{sum(v for k, v in logs.items() if k.endswith(':WARNING'))}")
    return row


def markdown_table(results: list[dict]) -> str:
    columns = [rows_for(r) for r in results]
    labels = list(dict.fromkeys(label for column in columns for label in column))
    head = "| | " + " | ".join(f"{r['records']:,} records" for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for label in labels:
        cells = [column.get(label, "-").replace("|", "\\|") for column in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def checks(results: list[dict]) -> list[dict]:
    """The targets, each PASS, FAIL or n/a with the figures behind it."""
    ok = [r for r in results if (r.get("build") or {}).get("ok")]
    out = []

    def add(name, passed, detail):
        out.append({"check": name, "result": "n/a" if passed is None else ("PASS" if passed else "FAIL"),
                     "detail": detail})

    for r in ok:
        v = r["validation"]
        ratio = v["check_wall"] / v["parse_wall"]
        add(f"validation of {r['records']:,} records <= 1.5x bare parse", ratio <= 1.5,
            f"{v['check_wall']:.3f} s / {v['parse_wall']:.3f} s = {ratio:.2f}x (CPU {v['check_cpu'] / v['parse_cpu']:.2f}x)")
    if len(ok) >= 2:
        small, large = min(ok, key=lambda r: r["records"]), max(ok, key=lambda r: r["records"])
        per = lambda r: r["build"]["wall"] / r["records"]  # noqa: E731
        cpu_per = lambda r: r["build"]["cpu"] / r["records"]  # noqa: E731
        ratio = per(large) / per(small)
        add(f"build per record at {large['records']:,} within 1.3x of {small['records']:,}", ratio <= 1.3,
            f"{per(large) * 1000:.1f} ms vs {per(small) * 1000:.1f} ms = {ratio:.2f}x "
            f"(CPU {cpu_per(large) / cpu_per(small):.2f}x)")
        site = lambda r: r["site"]["bytes"] / r["records"]  # noqa: E731
        ratio = site(large) / site(small)
        add(f"site size per record at {large['records']:,} within 1.3x of {small['records']:,}", ratio <= 1.3,
            f"{site(large) / 1024:.1f} KB vs {site(small) / 1024:.1f} KB = {ratio:.2f}x")
        page = lambda r: r["site"]["largest_page_bytes"]  # noqa: E731
        ratio = page(large) / page(small)
        add(f"largest page at {large['records']:,} within 1.3x of {small['records']:,}", ratio <= 1.3,
            f"{large['site']['largest_page']} {page(large) / 1024:.0f} KB vs {small['site']['largest_page']} "
            f"{page(small) / 1024:.0f} KB = {ratio:.2f}x")
    else:
        add("scaling (build, site size, largest page per record)", None, "needs two sizes")
    at_1000 = [r for r in ok if r["records"] == 1000]
    for r in at_1000:
        generate = r["build"]["spans"]["generate"]
        share = generate["wall"] / r["build"]["wall"]
        add("generator's own stages <= 15% of the build at 1,000", share <= 0.15,
            f"load to write {generate['wall']:.2f} s of {r['build']['wall']:.2f} s = {share:.1%} "
            f"(CPU {generate['cpu'] / r['build']['cpu']:.1%}; diagrams {r.get('diagrams_mode')})")
    if not at_1000:
        add("generator's own stages <= 15% of the build at 1,000", None, "no 1,000-record run")
    at_10k = [r for r in results if r["records"] == 10_000]
    for r in at_10k:
        peak = r.get("tree_peak_build") or r.get("tree_peak") or 0
        add("peak memory < 2 GiB at 10,000", 0 < peak < 2 * GIB,
            f"the build's process tree {peak / GIB:.2f} GiB (the build process alone "
            f"{(r.get('peak_rss_after_build') or 0) / GIB:.2f} GiB); the worker's tree with its second, "
            f"incremental build {(r.get('tree_peak') or 0) / GIB:.2f} GiB")
    if not at_10k:
        add("peak memory < 2 GiB at 10,000", None, "no 10,000-record run")
    for r in ok:
        if r.get("diagrams_mode") != "build":
            continue
        drawn = (r["build"].get("drawn") or {}).get("drawn", 0)
        seconds = r["build"]["summary"]["stages"].get("draw", 0)
        name = f"cold drawing <= {DRAW_TARGET_MS:g} ms on average ({r['records']:,} records)"
        if drawn < DRAW_MIN:
            add(name, None, f"{drawn} drawn cold in {seconds:.2f} s: too few for an average (at least {DRAW_MIN}); "
                            f"scripts/benchmark.py --draw N draws a set of N")
        else:
            ms = _ms_per_drawing(seconds, drawn)
            add(name, ms <= DRAW_TARGET_MS, f"draw stage {seconds:.2f} s for {drawn:,} drawn cold = {ms:.1f} ms per drawing")
    for r in [r for r in ok if r["records"] == 3300]:
        add("build of 3,300 records <= 40 s", r["build"]["wall"] <= 40, f"{r['build']['wall']:.1f} s")
    for r in results:
        if not (r.get("build") or {}).get("ok"):
            add(f"build of {r['records']:,} records succeeds", False,
                "; ".join((r.get("build") or {}).get("errors") or [f"worker exit {r.get('worker_exit')}"])[:500])
    return out


def mermaid2_table(compare: dict) -> str:
    lines = [f"Diagrams: Material's fence (ours) vs mkdocs-mermaid2, {compare['records']:,} records, KB_DIAGRAMS=client",
             "", "| config | build | MkDocs wall s | MkDocs CPU s | ratio to ours (wall / CPU) | MkDocs INFO lines | first warning |",
             "|---|---|---|---|---|---|---|"]
    for name, v in compare["variants"].items():
        ratio = (f"{v['ratio_to_ours']:.2f}x / {v['cpu_ratio_to_ours']:.2f}x" if v.get("ratio_to_ours") else "-")
        status = "ok" if v["ok"] else "FAILED: " + "; ".join(v.get("errors") or ["worker failed"])
        warning = (v.get("log_warnings") or ["-"])[0]
        lines.append(f"| {name} ({v['config']}) | {status[:240]} | {_s(v['mkdocs_wall'])} | {_s(v['mkdocs_cpu'])} | "
                     f"{ratio} | {v['mkdocs_info_lines']} | {warning[:300].replace('|', '/')} |".replace("\n", " "))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, action="append", help="size of the synthetic base; repeatable")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--diagrams", choices=("client", "build"), default="client",
                        help="KB_DIAGRAMS: client leaves Mermaid to the browser; build draws SVGs in Chromium")
    parser.add_argument("--keep", type=Path, help="build the projects in this folder and keep them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the parse/validation comparison (best counts)")
    parser.add_argument("--profile", action="store_true", help="cProfile the slowest generator stage")
    parser.add_argument("--profile-mkdocs", action="store_true", help="cProfile one MkDocs build")
    parser.add_argument("--browser", action="store_true",
                        help="also load the reader pages in Chromium and record every request")
    parser.add_argument("--compare-mermaid2", action="store_true",
                        help="build one base with our Mermaid fence and with the mkdocs-mermaid2 plugin")
    parser.add_argument("--compare-records", type=int, default=1000)
    parser.add_argument("--draw", type=int, metavar="N",
                        help="draw N editor-style diagrams of several Mermaid types, and every diagram of a "
                             "--draw-records base, into an empty cache, --repeat times: ms per cold drawing")
    parser.add_argument("--draw-records", type=int, default=1000, help="size of the base of --draw")
    parser.add_argument("--snapshot", action="store_true",
                        help="copy generator/ and mkdocs.yml once at the start and build every size with that "
                             "copy, so that edits made meanwhile do not change what is measured")
    # the worker's own arguments (the parent starts it)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--config", default="mkdocs.yml", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if not args.records and not args.compare_mermaid2 and not args.draw:
        parser.error("give --records N (repeatable), --draw N and/or --compare-mermaid2")

    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="kb-benchmark-"))
    base.mkdir(parents=True, exist_ok=True)
    args.code = REPO
    if args.snapshot:
        args.code = base / "code-snapshot"
        if args.code.exists():
            shutil.rmtree(args.code)
        shutil.copytree(REPO / "generator", args.code / "generator",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "mkdocs.yml", args.code / "mkdocs.yml")
    report: dict = {"meta": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "seed": args.seed,
                             "diagrams": args.diagrams, "load_average": os.getloadavg(),
                             "started": time.strftime("%Y-%m-%d %H:%M:%S"), "code": _revision(),
                             "snapshot": bool(args.snapshot)}}
    try:
        results = [measure_size(total, args, base) for total in sorted(set(args.records or []))]
        report["sizes"] = results
        if results:
            print(f"## Build benchmark (diagrams: {args.diagrams}, seed {args.seed}, {os.cpu_count()} CPUs, "
                  f"code {report['meta']['code']}{', snapshot' if args.snapshot else ''})\n")
            print(markdown_table(results))
            report["checks"] = checks(results)
            print("\n## Targets\n")
            for check in report["checks"]:
                print(f"- {check['result']}: {check['check']}: {check['detail']}")
            for r in results:
                if r.get("profile"):
                    print(f"\n## cProfile of the slowest generator stage at {r['records']:,} records: "
                          f"{r['profile']['stage']}\n\n```\n{r['profile']['text'][:6000]}\n```")
                if r.get("profile_mkdocs"):
                    print(f"\n## cProfile of the MkDocs build at {r['records']:,} records\n\n"
                          f"```\n{r['profile_mkdocs'][:6000]}\n```")
                if r.get("browser"):
                    print(f"\n## Chromium, {r['records']:,} records: a first visit (empty cache), largest requests\n")
                    print("```")
                    for visit, measured in r["browser"].items():
                        if not isinstance(measured, dict):
                            print(f"{visit}: {measured}")
                            continue
                        print(f"{visit}: {measured['requests']} requests, {measured['bytes']:,} bytes")
                        for url, size in measured["largest"][:6]:
                            print(f"  {size:>10,}  {url}")
                    print("```")
        if args.draw:
            report["draw"] = measure_draw(args, base)
            if report["draw"].get("draw_set"):
                print(f"\n## {draw_table(report['draw'])}")
            report.setdefault("checks", []).append(draw_check(report["draw"]))
            print("\n## Targets (draw set)\n")
            print(f"- {report['checks'][-1]['result']}: {report['checks'][-1]['check']}: {report['checks'][-1]['detail']}")
        if args.compare_mermaid2:
            report["mermaid2"] = compare_mermaid2(args, base)
            print("\n## " + mermaid2_table(report["mermaid2"]))
    finally:
        if args.json:
            args.json.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    failed = any((r.get("build") or {}).get("ok") is not True for r in report.get("sizes", []))
    failed = failed or bool(args.draw and (report.get("draw") or {}).get("worker_exit") != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
