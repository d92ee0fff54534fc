"""kb as a tool (issue 14): `kb init` starts a knowledge base in a folder of its own, outside this
checkout, where `kb validate`, `kb build` and `kb serve` work with the theme, assets and hooks of
the installed generator; a config given with --config is read relative to its own folder; a
missing or bad one is a one-line error naming the file, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KB = [sys.executable, "-m", "generator.cli"]  # the generator as installed (or importable from ROOT)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
       "KB_DIAGRAMS": "client"}


def kb(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*KB, *args], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=timeout)


@pytest.fixture
def base(tmp_path) -> Path:
    done = kb("init", "kb1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kb build" in done.stdout  # what to do next
    return tmp_path / "kb1"


def test_init_writes_a_base_that_validates(base):
    for name in ("mkdocs.yml", ".pre-commit-config.yaml", ".github/workflows/validate.yml"):
        assert (base / name).is_file()
    assert "kb validate" in (base / ".pre-commit-config.yaml").read_text()
    assert "custom_dir" not in (base / "mkdocs.yml").read_text()  # the package's, not the checkout's
    done = kb("validate", cwd=base)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_started_workflow_pins_its_actions_and_only_reads(base):
    import re

    import yaml

    workflow = yaml.safe_load((base / ".github" / "workflows" / "validate.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use) for use in uses), uses
    # the starter's markdown extensions are this repository's (what the generated pages need)
    starter, ours = (yaml.load((folder / "mkdocs.yml").read_text(), Loader=yaml.Loader) for folder in (base, ROOT))
    assert starter["markdown_extensions"] == ours["markdown_extensions"]


def test_init_refuses_a_base(base):
    done = kb("init", str(base), cwd=base.parent)
    assert done.returncode == 2
    assert "already has mkdocs.yml" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_build_outside_the_checkout(base, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = kb("build", "--config", str(base / "mkdocs.yml"), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (base / "site" / "index.html").is_file() and (base / "site" / "assets" / "kb.css").is_file()
    assert not (elsewhere / "site").exists()
    index = (base / "site" / "index.html").read_text(encoding="utf-8")
    assert 'name="kb-root"' in index and "assets/kb.css" in index  # the package's theme and assets


@pytest.mark.slow
def test_serve_outside_the_checkout(base):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*KB, "serve", "-a", f"127.0.0.1:{port}"], cwd=base, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, page = time.monotonic() + 240, None
        while time.monotonic() < deadline and server.poll() is None and page is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5).read()
            except OSError:
                time.sleep(1)
        assert page is not None and b"kb.css" in page, server.stdout.read() if server.poll() is not None else ""
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("verb", ["build", "serve"])
def test_missing_config_is_one_line(tmp_path, verb):
    missing = tmp_path / "nowhere" / "mkdocs.yml"
    done = kb(verb, "--config", str(missing), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(missing) in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_config_is_one_line(tmp_path):
    bad = tmp_path / "mkdocs.yml"
    bad.write_text("site_name: [unclosed\n", encoding="utf-8")
    done = kb("build", "--config", str(bad), cwd=tmp_path)
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert str(bad) in done.stderr
