"""The stages in order, each timed and counted: load -> validate -> link -> score -> render.

Every stage is a plain function of the previous stage's output; this module only runs them
in sequence and keeps the diagnostics of all of them, so a run reports every error at once.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import link, load, validate
from .core import Diagnostic, Entry, errors_of, gc_paused

log = logging.getLogger("kb")


@dataclass
class Checked:
    entries: list[Entry]
    graph: link.Graph | None
    diagnostics: list[Diagnostic]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not errors_of(self.diagnostics)


class _Timer:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    def __call__(self, stage: str, function, *args):
        start = time.perf_counter()
        result = function(*args)
        elapsed = time.perf_counter() - start
        self.timings[stage] = elapsed
        items = result[0] if isinstance(result, tuple) else result
        count = len(items) if hasattr(items, "__len__") else len(getattr(items, "entries", ()))
        log.info("%-9s %6d items in %7.1f ms", stage, count, elapsed * 1000)
        return result


@gc_paused()  # once around all three stages: the heap only grows here (scripts/bench_validate.py)
def check(root: Path) -> Checked:
    """load -> validate -> link: everything `kb validate` reports."""
    timings: dict[str, float] = {}
    timed = _Timer(timings)
    documents, diagnostics = timed("load", load.load, Path(root))
    entries, found = timed("validate", validate.validate, documents)
    diagnostics += found
    failed = frozenset(d.record_id for d in documents) - {e.id for e in entries}
    graph, found = timed("link", link.link, entries, failed)
    diagnostics += found
    return Checked(entries, graph, sorted(diagnostics), timings)


def display_path(path: Path) -> str:
    return load.display_path(path)
