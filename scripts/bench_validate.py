#!/usr/bin/env python3
"""How much `kb validate` costs over bare YAML parsing.

Writes the synthetic base of scripts/benchmark.py (N records) in a temporary folder, then
times in the same run, without building a site:

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
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchmark import bare_parse, write_records  # noqa: E402  the one synthetic base, the one bare parse
from generator import pipeline  # noqa: E402


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
        count = sum(write_records(root, args.records, args.seed).values())
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
