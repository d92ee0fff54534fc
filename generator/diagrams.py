"""Part of the build stage: draw every Mermaid diagram to SVG before the reader arrives.

The source wiki shows "Loading diagram..." until a 3.5 MB script has run. Here, when Chromium
is on the build machine, each ```mermaid block of the rendered Markdown is drawn once by the
same pinned Mermaid in headless Chromium and inlined as SVG: readable at once, no script to
download, links in generated diagrams work without JavaScript. Drawings are cached by a hash
of Mermaid's version and the source, so a rebuild draws only new or changed diagrams.

Without Chromium (or with KB_DIAGRAMS=client) the blocks stay as they are and kb.js draws
them in the reader's browser with the same Mermaid, shipped with the site.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kb")

MERMAID_VERSION = "11.17.2"
MERMAID_JS = Path(__file__).parent / "static" / "assets" / "vendor" / f"mermaid-{MERMAID_VERSION}.min.js"
GENERATED_MARK = "%% kb:generated"
_FENCE = re.compile(r"^```mermaid\n(.*?)\n```$", re.S | re.M)
CHUNK = 40  # diagrams per call into the page: progress shows, no call runs for minutes
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Drawn:
    pages: dict[str, str]  # path -> Markdown with diagrams inlined as SVG where they could be drawn
    client_side: set[str]  # pages that still need Mermaid in the browser
    drawn: int  # diagrams drawn in this run (cache misses)
    cached: int
    failed: list[str]


def _key(source: str) -> str:
    return hashlib.sha256(f"{MERMAID_VERSION}\n{source}".encode()).hexdigest()[:16]


def _chromium() -> str | None:
    if os.environ.get("KB_DIAGRAMS", "auto") == "client":
        return None
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        return None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    return path


def draw(pages: dict[str, str], cache: Path, progress=None) -> Drawn:
    """Inline an SVG for every Mermaid block that can be drawn here; leave the rest to kb.js."""
    sources = {match.group(1) for text in pages.values() for match in _FENCE.finditer(text)}
    cache.mkdir(parents=True, exist_ok=True)
    svgs: dict[str, str] = {}
    missing = []
    for source in sources:
        path = cache / f"{_key(source)}.svg"
        if path.exists():
            svgs[source] = path.read_text(encoding="utf-8")
        else:
            missing.append(source)
    failed: list[str] = []
    chromium = _chromium() if missing else None
    if missing and chromium:
        for source, svg in _draw_in_chromium(chromium, missing, progress).items():
            if svg.startswith("ERROR:"):
                failed.append(f"{svg[6:]}: {source.splitlines()[0] if source else ''}")
                continue
            (cache / f"{_key(source)}.svg").write_text(svg, encoding="utf-8")
            svgs[source] = svg
    elif missing:
        log.info("diagrams  %d left to the reader's browser (no Chromium here, or KB_DIAGRAMS=client)",
                 len(missing))
    result: dict[str, str] = {}
    client_side: set[str] = set()
    for path, text in pages.items():
        def inline(match: re.Match) -> str:
            svg = svgs.get(match.group(1))
            if svg is None:
                client_side.add(path)
                return match.group(0)
            # Focusable: a wide drawing scrolls sideways, and keyboard users must reach it too.
            return f'<div class="kb-diagram kb-diagram--static" tabindex="0">{svg}</div>'
        result[path] = _FENCE.sub(inline, text)
    drawn = len(missing) - len(failed) if chromium else 0
    return Drawn(result, client_side, drawn, len(sources) - len(missing), failed)


_SCRIPT = """async (items) => {
  const out = {};
  for (const [key, source, generated] of items) {
    mermaid.initialize({startOnLoad: false, securityLevel: generated ? "loose" : "strict",
                        theme: "default", flowchart: {htmlLabels: false, useMaxWidth: true}});
    try {
      const result = await mermaid.render("kb-" + key, source);
      out[key] = result.svg;
    } catch (error) {
      out[key] = "ERROR:" + (error && error.message ? error.message : String(error));
      document.querySelectorAll("[id^='dkb-" + key + "']").forEach((node) => node.remove());
    }
  }
  return out;
}"""


def _draw_in_chromium(executable: str, sources: list[str], progress=None) -> dict[str, str]:
    """Draw in a few pages of one headless Chromium at once (one per core), in chunks."""
    import asyncio

    from playwright.async_api import async_playwright

    items = [[_key(s), s, GENERATED_MARK in s] for s in sources]
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    by_key: dict[str, str] = {}

    async def worker(browser, queue: asyncio.Queue) -> None:
        page = await browser.new_page()
        await page.set_content("<!doctype html><html><body></body></html>")
        await page.add_script_tag(path=str(MERMAID_JS))
        while not queue.empty():
            chunk = queue.get_nowait()
            by_key.update(await page.evaluate(_SCRIPT, chunk))
            if progress:
                progress(len(by_key), len(items))
        await page.close()

    async def run() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                queue: asyncio.Queue = asyncio.Queue()
                for chunk in chunks:
                    queue.put_nowait(chunk)
                workers = min(len(chunks), max(1, os.cpu_count() or 1), 4)
                await asyncio.gather(*(worker(browser, queue) for _ in range(workers)))
            finally:
                await browser.close()

    asyncio.run(run())
    # Markdown ends a raw HTML block at a blank line: keep each drawing on one line.
    return {source: by_key[key].replace("\r", "").replace("\n", " ") for key, source, _ in items}
