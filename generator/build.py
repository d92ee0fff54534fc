"""Stage 6, build: write the rendered Markdown where MkDocs reads it, then run MkDocs.

Only files whose content changed are written, so a rebuild after one edited record touches
one record's page plus the pages that show it, and ``mkdocs serve`` reloads fast. The site
folder is replaced only when a new one is complete: a failed build leaves the old site.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import diagrams, export, render, score, schemas
from .core import Diagnostic
from .kinds import KINDS
from .pipeline import Checked, check

log = logging.getLogger("kb")

GENERATED_DIR = Path("build") / "docs"
DIAGRAM_CACHE = Path("build") / "diagrams"


@dataclass
class Generated:
    checked: Checked
    rendered: render.Rendered | None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked.ok


class Progress:
    """A one-line progress bar on a terminal; silent in CI and when output is piped."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() and not os.environ.get("CI")
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 200:
            return
        percent = 100 * done // total
        if percent == self.shown:
            return
        self.shown = percent
        bar = "#" * (percent // 4)
        self.stream.write(f"\r{self.label:<10} [{bar:<25}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def today() -> dt.date:
    """The build's day; KB_TODAY=YYYY-MM-DD pins it for reproducible builds and tests."""
    pinned = os.environ.get("KB_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def generate(content: Path, out: Path, cache: Path | None = None) -> Generated:
    """check -> score -> render, draw the diagrams, then write the pages that changed into ``out``."""
    checked = check(content)
    if not checked.ok:
        return Generated(checked, None)
    start = time.perf_counter()
    assessments = score.assess(checked.graph, today())
    checked.timings["score"] = time.perf_counter() - start
    start = time.perf_counter()
    rendered = render.render(checked.graph, assessments, today())
    checked.timings["render"] = time.perf_counter() - start
    start = time.perf_counter()
    drawn = diagrams.draw({path: page.markdown for path, page in rendered.pages.items()},
                          cache or out.parent / DIAGRAM_CACHE.name, Progress("diagrams"))
    checked.timings["diagrams"] = time.perf_counter() - start
    log.info("diagrams  %6d drawn, %d from cache, %d left to the browser", drawn.drawn, drawn.cached, drawn.left)
    for failure in drawn.failed:
        log.warning("diagram could not be drawn at build time (the browser will try): %s", failure)
    pages = {path: page.markdown for path, page in rendered.pages.items()}
    start = time.perf_counter()
    written, removed = write_changed(out, pages)
    checked.timings["write"] = time.perf_counter() - start
    log.info("write     %6d pages changed, %d removed", len(written), len(removed))
    return Generated(checked, rendered, written, removed)


def write_changed(out: Path, pages: dict[str, str]) -> tuple[list[str], list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in pages.items():
        target = out / relative
        data = text.encode("utf-8")
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(relative)
    removed = []
    for existing in out.rglob("*.md"):
        relative = existing.relative_to(out).as_posix()
        if relative not in pages:
            existing.unlink()
            removed.append(relative)
    return written, removed


@dataclass
class BuildResult:
    ok: bool
    diagnostics: list[Diagnostic]
    summary: dict


def build_site(config_file: Path, site_dir: Path | None = None) -> BuildResult:
    """Validate and generate, run MkDocs into a fresh folder, then swap it into place."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    root = config_file.resolve().parent
    started = time.perf_counter()
    generated = generate(root / "content", root / GENERATED_DIR)
    if not generated.ok:
        return BuildResult(False, generated.checked.diagnostics, {})
    config = load_config(str(config_file))
    final = Path(site_dir or config.site_dir).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent))
    config = load_config(str(config_file), site_dir=str(staging))
    config.extra["kb_pregenerated"] = True
    mkdocs_start = time.perf_counter()
    try:
        build(config)
    except (MkDocsException, SystemExit) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return BuildResult(False, [Diagnostic(str(config_file), 1, 1, f"MkDocs build failed: {exc}", code="mkdocs")], {})
    search_start = time.perf_counter()
    index_search(staging)
    search_seconds = time.perf_counter() - search_start
    mkdocs_seconds = search_start - mkdocs_start
    export_start = time.perf_counter()
    publish_data(generated.checked.graph, staging)
    export_seconds = time.perf_counter() - export_start
    _swap(staging, final)
    timings = {k: round(v, 3) for k, v in generated.checked.timings.items()}
    timings["mkdocs"] = round(mkdocs_seconds, 3)
    timings["search"] = round(search_seconds, 3)
    timings["export"] = round(export_seconds, 3)
    summary = {"records": len(generated.checked.entries), "pages": len(generated.rendered.pages),
               "written": len(generated.written), "seconds": round(time.perf_counter() - started, 2),
               "stages": timings, "site": str(final)}
    return BuildResult(True, generated.checked.diagnostics, summary)


def index_search(site: Path) -> None:
    """Pagefind's chunked search index into site/pagefind/: a first search fetches a few small
    chunks, not an index of the whole site."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--silent",
                           "--exclude-selectors", ".headerlink"],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pagefind failed: {done.stderr or done.stdout}")


def publish_data(graph, site: Path) -> None:
    """Stage 7, export, into the site: data/ (JSON, CSV, SQLite) and schemas/ (one per kind)."""
    export.export(graph, site / "data", export.FORMATS)
    (site / "schemas").mkdir(exist_ok=True)
    for kind in KINDS.values():
        (site / "schemas" / f"{kind.folder}.schema.json").write_text(schemas.render_schema(kind), encoding="utf-8")


def _swap(staging: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
