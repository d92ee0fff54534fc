"""The Content-Security-Policy names by hash only the inline scripts the theme's templates and the
live-reload server write (sanitize.trusted_script), not every inline script a page holds: text
that reached a page past every other check (a template slot nobody escaped, a future bug) does not
run. The scripts are read from the installed packages' own files."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jinja2
import pytest

from generator import sanitize

THEMES = [name for name in sanitize.THEME_PACKAGES if importlib.util.find_spec(name) is not None]


def _partials(package: str) -> list[Path]:
    root = Path(next(iter(importlib.util.find_spec(package).submodule_search_locations)))
    return sorted((root / "templates" / "partials" / "javascripts").glob("*.html"))


def _rendered_scripts(package: str, base_url: str) -> list[str]:
    """Each theme partial rendered as the theme renders it (every feature on), its scripts."""
    scripts = []
    for path in _partials(package):
        template = jinja2.Environment().from_string(path.read_text(encoding="utf-8"))
        html = template.render(base_url=base_url, config={"extra": {}}, features=["content.tabs.link"])
        scripts += re.findall(r"<script>(.*?)</script>", html, re.S)
    return scripts


def _hashed(page: str) -> list[str]:
    return re.findall(r"'sha256-[^']+'", sanitize.policy(page))


@pytest.mark.parametrize("package", THEMES)
@pytest.mark.parametrize("base_url", ["..", ".", "../..", "/", "https://kb.example.org/wiki/"])
def test_every_script_of_the_theme_is_trusted(package, base_url):
    scripts = _rendered_scripts(package, base_url)
    assert len(scripts) >= 6, scripts  # base, palette, content (two), announce, consent, outdated
    assert all(sanitize.trusted_script(script) for script in scripts)


def test_the_live_reload_scripts_are_trusted_with_numbers_only_and_only_on_a_served_page():
    import mkdocs.livereload as live
    script = live._SCRIPT_TEMPLATE.substitute(epoch=1733338800, request_id=1733338801)
    assert sanitize.trusted_script(script, live_reload=True)
    assert not sanitize.trusted_script(script)  # a built page has no live-reload script to run
    assert not sanitize.trusted_script(script.replace("1733338800", "alert(document.cookie)"), live_reload=True)
    page = f"<html><head><script>{script}</script></head><body></body></html>"
    assert len(_hashed(page)) == 0 and len(re.findall(r"'sha256-", sanitize.policy(page, live_reload=True))) == 1
    if importlib.util.find_spec("properdocs") is not None:
        import properdocs.livereload as proper
        assert sanitize.trusted_script(proper._SCRIPT_TEMPLATE.substitute(epoch=1, request_id=2), live_reload=True)


def test_a_script_the_theme_did_not_write_gets_no_hash():
    theme = next(script for script in _rendered_scripts(THEMES[0], "..") if "__md_scope=new URL(\"..\"" in script)
    injected = [
        "alert(1)",
        theme + "alert(1)",  # the theme's script with code after it
        theme.replace("..", '"),alert(1),("', 1),  # a hole that quotes its way out
        theme.replace("..", "..\n", 1),
        theme[:-1],  # one character short
    ]
    page = "<html><head><script>" + theme + "</script></head><body>" + "".join(
        f"<script>{script}</script>" for script in injected) + "</body></html>"
    assert _hashed(page) == [sanitize.source_hash(theme.encode())]
    assert not any(sanitize.trusted_script(script) for script in injected)


def test_scripts_that_do_not_run_inline_are_not_hashed():
    page = ('<script id="__config" type="application/json">{"base": ".."}</script>'
            '<script src="assets/kb.js"></script>')
    assert _hashed(page) == []
    assert "script-src 'self' 'wasm-unsafe-eval';" in sanitize.policy(page)
