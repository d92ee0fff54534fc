#!/usr/bin/env python3
"""How much `kb validate` costs over bare YAML parsing.

Writes the synthetic base of scripts/benchmark.py (N records) in a temporary folder, then
times in the same run, without building a site:

  (a) parse: read every file and yaml.load it with PyYAML's C loader (topics: the front matter);
  (b) check: generator.pipeline.check(root), i.e. load + validate + link;
  (c) check of a copy with --errors broken records (default 200: half a misspelt or deleted
      id in a topic's related, half an unknown field), which must cost at most 1.5x (b);

and prints them, their ratio and check's time per stage (of its fastest run). Each is the
best of --repeat runs, in wall-clock and in CPU seconds (steadier on a busy machine).

    .venv/bin/python scripts/bench_validate.py            # 10,000 records
    .venv/bin/python scripts/bench_validate.py -n 2000 --profile
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchmark import bare_parse, write_records  # noqa: E402  the one synthetic base, the one bare parse
from generator import pipeline  # noqa: E402


def break_records(root: Path, count: int) -> int:
    """Break ``count`` records of the base at ``root``: half the topics get the first id of
    ``related`` (a field that names a record of any kind) misspelt, two letters swapped, or,
    every fourth, replaced by an id of no record (deleted); the other half of the records an
    unknown field. Returns how many it broke."""
    broken = 0
    for path in sorted((root / "topics").glob("*.md"))[: count // 2]:
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^related: \[([a-z0-9-]{5,})", text, re.M)
        if match is None:
            continue
        word = match.group(1)
        typo = word[:2] + word[3] + word[2] + word[4:] if broken % 4 else f"withdrawn-report-{broken}"
        if typo != word:
            path.write_text(text[:match.start(1)] + typo + text[match.end(1):], encoding="utf-8")
            broken += 1
    for path in sorted(root.rglob("*.yaml"))[: count - broken]:
        path.write_text(path.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
        broken += 1
    return broken


def measure(repeat: int, root: Path, broken_root: Path | None = None) -> dict:
    """Best wall-clock and CPU seconds of each, runs interleaved so all see the same machine."""
    best = {"parse": [float("inf")] * 2, "check": [float("inf")] * 2, "errors": [float("inf")] * 2}
    checked = errors = None
    steps = [("parse", bare_parse, root), ("check", pipeline.check, root)]
    steps += [("errors", pipeline.check, broken_root)] if broken_root else []
    for _ in range(repeat):
        for name, function, folder in steps:
            wall, cpu = time.perf_counter(), time.process_time()
            result = function(folder)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name == "check" and wall < best["check"][0]:
                checked = result
            if name == "errors":
                errors = result
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    return {**best, "checked": checked, "with_errors": errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one check")
    parser.add_argument("--errors", type=int, default=200, help="records broken in (c); 0: no (c)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "content"
        count = sum(write_records(root, args.records, args.seed).values())
        broken_root = None
        if args.errors:
            broken_root = Path(folder) / "broken" / "content"
            shutil.copytree(root, broken_root)
            broken = break_records(broken_root, args.errors)
        bare_parse(root)  # warm the file cache for both
        best = measure(args.repeat, root, broken_root)
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
        if broken_root:
            (errors_wall, errors_cpu), found = best["errors"], best["with_errors"].diagnostics
            print(f"(c) check, {broken} broken  {errors_wall:8.3f} {errors_cpu:8.3f}   {len(found)} errors")
            print(f"ratio (c) / (b)         {errors_wall / check_wall:7.2f}x {errors_cpu / check_cpu:7.2f}x")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(pipeline.check, root)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
