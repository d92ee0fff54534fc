"""Under CI a test that cannot run is a failure (tests/conftest.py): CI installs Chromium,
Playwright, the npm packages and Datasette, so a skip for a missing one would hide a check that
never happened. Only a skip that says the case does not apply stays a skip."""
from __future__ import annotations

from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

TESTS = '''
import pytest, shutil

def test_needs_a_browser():
    if not shutil.which("no-such-browser"):
        pytest.skip("needs Debian's chromium, which ./dev test installs")

@pytest.mark.skipif(True, reason="needs playwright")
def test_marked():
    pass

def test_imports():
    pytest.importorskip("no_such_module_here")

def test_elsewhere():
    pytest.skip("not applicable: another engine")

@pytest.mark.xfail(reason="known")
def test_expected_to_fail():
    assert False
'''


def outcomes(pytester, monkeypatch, ci: str | None) -> tuple:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_cases=TESTS)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider").parseoutcomes()
    # a skipif marker skips in set-up, so under CI it fails there: an error
    return result.get("failed", 0) + result.get("errors", 0), result.get("skipped", 0), result.get("xfailed", 0)


def test_under_ci_a_test_that_cannot_run_fails(pytester, monkeypatch):
    assert outcomes(pytester, monkeypatch, "true") == (3, 1, 1)


def test_on_a_workstation_it_is_a_skip(pytester, monkeypatch):
    assert outcomes(pytester, monkeypatch, None) == (0, 4, 1)
    assert outcomes(pytester, monkeypatch, "false") == (0, 4, 1)  # CI=false is no CI
