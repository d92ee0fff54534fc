"""`kb serve` in a real browser: an open page turns into the error page when a record breaks and
back into the page when it is fixed, by MkDocs' live reload alone (generator/serve_errors.py)."""
from __future__ import annotations

import time

from test_serve import HOSTILE, Served, break_records, project, restore  # noqa: F401 (project: a fixture)


def test_an_open_page_shows_the_errors_then_the_page_again(watched, project, tmp_path):  # noqa: F811
    page, watch = watched
    served = Served(project, tmp_path / "tmp")
    try:
        served.wait_for(r"Serving on http", time.monotonic() - 1)
        page.goto(f"http://127.0.0.1:{served.port}/risks/deceptive-alignment.html", wait_until="load")
        page.locator("h1", has_text="Deceptive alignment").wait_for()
        served.wait_for(r"Browser connected", time.monotonic() - 5, timeout=10)  # its poll is waiting

        saved = time.monotonic()
        originals = break_records(project)
        page.locator("ol.kb-serve-errors").wait_for(timeout=20_000)
        print(f"\nerror page in the browser {time.monotonic() - saved:.2f} s after the save")
        errors = page.locator("ol.kb-serve-errors > li")
        assert errors.count() >= 2  # the parse error and the hostile id; no cascade from the first
        assert errors.filter(has_text="content/risks/deceptive-alignment.yaml:12:9").count() == 1
        assert errors.filter(has_text=HOSTILE).count() == 1  # shown as the text the editor typed
        assert page.evaluate("() => typeof window.__pwned") == "undefined"
        assert page.evaluate("() => document.scripts.length") == 1  # only the live-reload script

        fixed = time.monotonic()
        restore(project, originals)
        page.locator("h1", has_text="Deceptive alignment").wait_for(timeout=20_000)
        print(f"page back in the browser {time.monotonic() - fixed:.2f} s after the fix")
        assert page.locator("ol.kb-serve-errors").count() == 0
        watch.assert_clean("kb serve, broken then fixed")  # no CSP refusal, no failed request
    finally:
        served.stop()
