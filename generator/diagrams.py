"""Part of the build stage: draw every Mermaid diagram to SVG before the reader arrives.

The source wiki shows "Loading diagram..." until a 3.5 MB script has run. Here, when Chromium
is on the build machine, each ```mermaid block of the rendered Markdown is drawn once by the
same pinned Mermaid in headless Chromium (``draw``), and the MkDocs hook puts the SVG in place
of the block in the page's HTML (``inline``): readable at once, no script to download, links
in generated diagrams work without JavaScript. Drawings are cached by a hash of Mermaid's
version and the source, so a rebuild draws only new or changed diagrams.

Without Chromium (or with KB_DIAGRAMS=client) the blocks stay as they are and kb.js draws
them in the reader's browser with the same Mermaid, shipped with the site.
"""
from __future__ import annotations

import hashlib
import html
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


DRAWING = "3"  # bump when the drawing settings change: every cache key changes with it


@dataclass
class Drawn:
    drawn: int  # diagrams drawn in this run (cache misses)
    cached: int
    left: int  # diagrams left to the reader's browser
    failed: list[str]


def _key(source: str) -> str:
    return hashlib.sha256(f"{MERMAID_VERSION}\n{DRAWING}\n{source.strip()}".encode()).hexdigest()[:16]


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
    """Make sure the cache holds a drawing of every Mermaid block of the rendered pages.

    The Markdown itself keeps its ```mermaid blocks (portable to any engine); ``inline`` puts
    the drawings into the HTML that MkDocs makes of them.
    """
    sources = {match.group(1).strip() for text in pages.values() for match in _FENCE.finditer(text)}
    cache.mkdir(parents=True, exist_ok=True)
    missing = [source for source in sorted(sources) if not (cache / f"{_key(source)}.svg").exists()]
    failed: list[str] = []
    chromium = _chromium() if missing else None
    if missing and chromium:
        for source, svg in _draw_in_chromium(chromium, missing, progress).items():
            if svg.startswith("ERROR:"):
                failed.append(f"{svg[6:]}: {source.splitlines()[0] if source else ''}")
                continue
            (cache / f"{_key(source)}.svg").write_text(svg, encoding="utf-8")
    drawn = len(missing) - len(failed) if chromium else 0
    return Drawn(drawn, len(sources) - len(missing), len(missing) - drawn, failed)


_DRAWN_BLOCK = re.compile(r'<pre class="kb-mermaid"><code>(.*?)</code></pre>', re.S)


def inline(page_html: str, cache: Path) -> tuple[str, bool]:
    """Replace each Mermaid block of a page's HTML with its drawing from the cache.

    Returns the HTML and whether a block is left for the browser to draw (then the page loads
    Mermaid). Done on HTML, after Markdown: an SVG pasted into Markdown would be parsed as such.
    """
    left = False

    def replace(match: re.Match) -> str:
        nonlocal left
        path = cache / f"{_key(html.unescape(match.group(1)))}.svg"
        if not path.exists():
            left = True
            return match.group(0)
        # Focusable: a wide drawing scrolls sideways, and keyboard users must reach it too.
        return f'<div class="kb-diagram kb-diagram--static" tabindex="0">{path.read_text(encoding="utf-8")}</div>'

    return _DRAWN_BLOCK.sub(replace, page_html), left


_SCRIPT = """async (items) => {
  const out = {};
  for (const [key, source, generated] of items) {
    mermaid.initialize({startOnLoad: false, securityLevel: generated ? "loose" : "strict",
                        theme: "default", flowchart: {useMaxWidth: true}});
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
    import concurrent.futures

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

    # In a thread of its own: the caller may already run an event loop (pytest-playwright does,
    # and so would any async host), and asyncio.run() refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
    return {source: by_key[key] for key, source, _ in items}
