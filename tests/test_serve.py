"""Incremental rebuilds: dirty MkDocs builds and `kb serve` render only the pages an edit changed."""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from generator.build import DIRTY_STATE
from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "valid" / "content"
RECORD = Path("content/risks/deceptive-alignment.yaml")
NEW_ORGANIZATION = """\
id: test-lab
name: Test Lab
type: safety-org
summary: An organisation that exists only for this test.
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder: the repo's mkdocs.yml and generator beside a copy of the valid fixtures."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(REPO / "mkdocs.yml", folder / "mkdocs.yml")
    (folder / "generator").symlink_to(REPO / "generator")
    shutil.copytree(FIXTURE, folder / "content")
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    monkeypatch.chdir(folder)
    return folder


def mkdocs_build(project: Path, dirty: bool) -> None:
    """What `mkdocs build [--dirty]` does."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(project / "mkdocs.yml"))
    config.plugins.on_startup(command="build", dirty=dirty)
    try:
        build(config, dirty=dirty)
    finally:
        config.plugins.on_shutdown()


def mtimes(folder: Path, pattern: str) -> dict[str, int]:
    """Path -> mtime of the files under ``folder``, but in the search refresh's temporary folders
    (``.pagefind-*``: links to pages, there while Pagefind runs, which search_index._pages skips too)."""
    found = {}
    for path in folder.rglob(pattern):
        relative = path.relative_to(folder)
        if not relative.parts[0].startswith(".pagefind"):
            try:
                found[relative.as_posix()] = path.stat().st_mtime_ns
            except FileNotFoundError:  # in a folder removed as it was walked
                pass
    return found


def changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {path for path, mtime in after.items() if before.get(path) != mtime}


def edit(record: Path, marker: str) -> None:
    record.write_text(record.read_text().replace("summary: ", f"summary: {marker} ", 1))


def html_of(markdown: set[str]) -> set[str]:
    return {path[:-3] + ".html" for path in markdown}


def test_a_dirty_build_renders_only_the_pages_whose_markdown_changed(project):
    site, docs = project / "site", project / "build" / "docs"
    mkdocs_build(project, dirty=False)
    pages, markdown = mtimes(site, "*.html"), mtimes(docs, "*.md")
    assert len(pages) > 20 and html_of(set(markdown)) <= set(pages)
    edit(project / RECORD, "Edited once.")

    mkdocs_build(project, dirty=True)  # strict mode: MkDocs' warning about dirty builds must not abort it

    rewritten = changed(markdown, mtimes(docs, "*.md"))
    assert "risks/deceptive-alignment.md" in rewritten and len(rewritten) < len(markdown) / 2
    rebuilt = changed(pages, mtimes(site, "*.html")) - {"404.html"}  # MkDocs renders its templates every time
    assert rebuilt == html_of(rewritten)
    assert "Edited once." in (site / "risks/deceptive-alignment.html").read_text()
    # a build that is not served still indexes and exports everything before it ends
    assert "Edited once." in (site / "data/risks/deceptive-alignment.json").read_text()
    assert (site / "pagefind" / "pagefind.js").is_file()


def test_a_dirty_build_after_mkdocs_yml_changed_renders_every_page(project):
    site = project / "site"
    mkdocs_build(project, dirty=False)
    pages = mtimes(site, "*.html")
    with (project / "mkdocs.yml").open("a") as config:
        config.write("\n# edited\n")
    mkdocs_build(project, dirty=True)
    assert changed(pages, mtimes(site, "*.html")) == set(pages)


def test_a_dirty_build_deletes_the_pages_of_removed_records(project):
    site = project / "site"
    added = project / "content/organizations/test-lab.yaml"
    added.write_text(NEW_ORGANIZATION)
    mkdocs_build(project, dirty=False)
    assert (site / "organizations/test-lab.html").is_file()
    added.unlink()
    mkdocs_build(project, dirty=True)
    assert not (site / "organizations/test-lab.html").exists()
    assert "test-lab" not in (site / "organizations/index.html").read_text()


def test_kb_build_records_what_its_site_was_built_with(project):
    assert main(["build"]) == 0
    state = json.loads((project / DIRTY_STATE).read_text())
    assert str((project / "site").resolve()) in state
    pages = mtimes(project / "site", "*.html")
    mkdocs_build(project, dirty=True)  # nothing changed: nothing is rendered again
    assert changed(pages, mtimes(project / "site", "*.html")) <= {"404.html"}


def test_kb_serve_without_a_config_file_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert "no such file: mkdocs.yml" in capsys.readouterr().err


class Served:
    """`kb serve` as a process of its own, every line it logs kept with the time it came."""

    def __init__(self, project: Path, tmp: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        tmp.mkdir()
        self.tmp = tmp
        env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(project), CI="1")
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator", "serve", "-a", f"127.0.0.1:{self.port}"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip()))
                self.cond.notify_all()

    def wait_for(self, pattern: str, after: float, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, line in self.lines:
                    if at >= after and (found := re.search(pattern, line)):
                        return found
                assert self.process.poll() is None, self.log()
                assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.log()}"
                self.cond.wait(1)

    def log(self) -> str:
        return "\n".join(line for _, line in self.lines)

    @property
    def site(self) -> Path:
        return next(self.tmp.glob("mkdocs_*"))

    def get(self, url: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{url}", timeout=60) as response:
            return response.read().decode()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_kb_serve_reloads_only_the_edited_pages_then_refreshes_search_and_data(project, tmp_path):
    served = Served(project, tmp_path / "tmp")
    try:
        started = time.monotonic() - 1
        served.wait_for(r"Serving on http", started)
        site, docs = served.site, project / "build" / "docs"
        pages, markdown = mtimes(site, "*.html"), mtimes(docs, "*.md")
        index, data = mtimes(site / "pagefind", "*"), mtimes(site / "data", "*.json")
        time.sleep(1)

        saved = time.monotonic()
        edit(project / RECORD, "Edited while served.")
        served.wait_for(r"Reloading browsers", saved)

        rewritten = changed(markdown, mtimes(docs, "*.md"))
        assert "risks/deceptive-alignment.md" in rewritten and len(rewritten) < len(markdown) / 2
        assert changed(pages, mtimes(site, "*.html")) - {"404.html"} == html_of(rewritten)
        rebuilt = served.wait_for(r"MkDocs rebuilt (\d+) of (\d+) pages", saved)
        assert int(rebuilt[1]) == len(rewritten) < int(rebuilt[2])
        assert "Edited while served." in served.get("risks/deceptive-alignment.html")

        # search and data were not redone before the reload, the log says so, and then they are
        served.wait_for(r"Search and data/ still show the previous build: refreshing", saved)
        refreshed = served.wait_for(r"search index and data refreshed in .*search index of (\d+) pages changed", saved)
        # search first, then the JSON and CSV the pages link to, the SQLite file of the whole base last
        order = [served.wait_for(pattern, saved).string for pattern in (
            r"search index refreshed [\d.]+ s after the reload", r"data/ refreshed but knowledge.sqlite",
            r"search index and data refreshed in")]
        log = served.log().splitlines()
        assert [log.index(line) for line in order] == sorted(log.index(line) for line in order)
        assert "Edited while served." in served.get("data/risks/deceptive-alignment.json")
        assert mtimes(site / "pagefind", "*") != index
        # search indexed the pages MkDocs rebuilt alone, and hides what they were in the whole index
        from generator.search_index import PARTS_FILE, fragments_of
        parts = json.loads((site / "pagefind" / PARTS_FILE).read_text())
        assert parts["merge"][-1] == "kb-delta-1/" and int(refreshed[1]) == len(rewritten)
        again = fragments_of(site / "pagefind" / "kb-delta-1")
        assert set(again) == {"/" + page for page in html_of(rewritten)}
        fragment = site / "pagefind" / "kb-delta-1" / "fragment" / f"{again['/risks/deceptive-alignment.html']}.pf_fragment"
        assert "Edited while served." in gzip.decompress(fragment.read_bytes()).decode()
        whole = fragments_of(site / "pagefind")
        assert whole["/risks/deceptive-alignment.html"] in parts["hide"]
        assert set(parts["hide"]) <= {whole[url] for url in again}
        rewritten_data = changed(data, mtimes(site / "data", "*.json"))
        assert "risks/deceptive-alignment.json" in rewritten_data and len(rewritten_data) < len(data) / 2
        assert not list(site.glob(".pagefind-*"))

        # saved again without a change: nothing to render, index or export
        time.sleep(1)
        pages, index = mtimes(site, "*.html"), mtimes(site / "pagefind", "*")
        saved = time.monotonic()
        (project / RECORD).write_text((project / RECORD).read_text())
        served.wait_for(r"No page changed: the search index and data are up to date", saved)
        served.wait_for(r"Reloading browsers", saved)
        assert changed(pages, mtimes(site, "*.html")) <= {"404.html"}
        assert mtimes(site / "pagefind", "*") == index
    finally:
        served.stop()
    assert served.process.returncode is not None


# ---------------------------------------------------------------- a broken record while serving

SYSTEM = Path("content/systems/gpt-4.yaml")
HOSTILE = "<script>window.__pwned=1</script>"


def break_records(project: Path) -> dict[Path, str]:
    """A YAML syntax error in the risk (so the records that name it point at nothing), and a
    `<script>` as GPT-4's developer (the message quotes it). Returns what the files held."""
    originals = {path: (project / path).read_text() for path in (RECORD, SYSTEM)}
    (project / RECORD).write_text(originals[RECORD].replace("topics: [ai-alignment]", "topics: [ai-alignment"))
    (project / SYSTEM).write_text(originals[SYSTEM].replace("developer: openai", f'developer: "{HOSTILE}"'))
    return originals


def restore(project: Path, originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        (project / path).write_text(text)


def fetch(port: int, url: str) -> tuple[dict, str]:
    """GET with a short timeout: a preview that hangs fails here instead of waiting."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{url}", timeout=10) as response:
        assert response.status == 200
        return response.headers, response.read().decode()


def fetch_any(port: int, url: str) -> tuple[int, dict, str]:
    """GET with any status: (status, headers, body)."""
    import urllib.error

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{url}", timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def page_until(served: Served, url: str, wanted, timeout: float = 30) -> tuple[float, dict, str]:
    """GET ``url`` until ``wanted(body)`` (a save can reach the watcher as two changes);
    returns the seconds it took, the headers and the body."""
    started = time.monotonic()
    while True:
        headers, body = fetch(served.port, url)
        if wanted(body):
            return time.monotonic() - started, headers, body
        assert time.monotonic() - started < timeout, f"{url} never became what was wanted:\n{body[:3000]}"
        time.sleep(0.2)


def is_error_page(body: str) -> bool:
    return 'class="kb-serve-errors"' in body


def assert_shows_every_error(body: str, headers) -> None:
    from generator.core import errors_of
    from generator.pipeline import check

    errors = errors_of(check(Path("content")).diagnostics)
    assert len(errors) >= 2 and f"The knowledge base has {len(errors)} errors" in body
    for d in errors:
        assert f"{d.file}:{d.line}:{d.column}</code>" in body
    assert "content/risks/deceptive-alignment.yaml:12:9</code>" in body  # where the list opened
    assert ("YAML syntax error: the list opened with &#x27;[&#x27; here is not closed: the file ends before "
            "its &#x27;]&#x27;") in body  # the file's last line: there is no line 13
    assert "hint: close it with &#x27;]&#x27; at the end of line 12" in body
    # the record that does not parse still exists: its references are no errors of their own
    assert "does not exist" not in body and "hint: create content/" not in body
    # the editor's text is shown, never run: escaped, and only the live-reload script may run
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in body and HOSTILE not in body
    assert body.count("<script>") == 1 and "livereload(" in body
    assert "script-src 'sha256-" in headers["Content-Security-Policy"]


def assert_served_with_the_policy(headers, body: str, live_reload: bool = True) -> None:
    """A served page has no policy of its own (MkDocs adds the live-reload script after the
    hooks), so the server sends it, naming that script and the theme's by their hashes."""
    import base64
    import hashlib

    policy = headers["Content-Security-Policy"]
    assert 'http-equiv="Content-Security-Policy"' not in body
    inline = [m for m in re.findall(r"<script>(.*?)</script>", body, re.S)]
    assert inline and ("livereload(" in inline[-1]) == live_reload  # MkDocs adds none to its 404 answer
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("style-src")[0]


def test_kb_serve_shows_the_errors_of_a_broken_record_then_the_page_again(project, tmp_path):
    served = Served(project, tmp_path / "tmp")
    page = "risks/deceptive-alignment.html"
    try:
        served.wait_for(r"Serving on http", time.monotonic() - 1)
        assert not is_error_page(fetch(served.port, page)[1])
        # MkDocs serves the page at addresses that do not end in .html too, and a 404 page at any:
        # whatever the address, an HTML answer has the policy
        for address, status in ((page + "%FF", 200), (page + "%C3", 200), ("no-such-page.html", 404)):
            answer = fetch_any(served.port, address)
            assert answer[0] == status, address
            assert_served_with_the_policy(answer[1], answer[2], live_reload=status == 200)
        time.sleep(1)

        saved = time.monotonic()
        originals = break_records(project)
        served.wait_for(r"Reloading browsers", saved, timeout=30)
        seconds, headers, body = page_until(served, page, lambda body: "pwned" in body and "YAML" in body)
        print(f"\nerror page {time.monotonic() - saved:.2f} s after the save")
        assert_shows_every_error(body, headers)
        served.wait_for(r"ERROR .*The knowledge base has errors", saved)
        assert is_error_page(fetch(served.port, "")[1])  # every page, the home page too
        assert is_error_page(fetch(served.port, page + "%FF")[1])  # at any address MkDocs serves a page at
        assert "kb-serve-errors" not in fetch(served.port, "assets/kb.css")[1]  # assets pass through

        # the page polls the server with its epoch; the server answers when a build ends
        epoch = int(re.search(r"livereload\((\d+), \d+\)", body)[1])
        polled = {}
        poll = threading.Thread(target=lambda: polled.update(
            answer=int(fetch(served.port, f"livereload/{epoch}/1")[1])))
        poll.start()
        time.sleep(1)
        fixed = time.monotonic()
        restore(project, originals)
        poll.join(30)
        assert polled["answer"] > epoch
        seconds, headers, body = page_until(served, page, lambda body: not is_error_page(body))
        print(f"page back {time.monotonic() - fixed:.2f} s after the fix")
        assert "A trained model behaves well" in body and "livereload(" in body
        assert_served_with_the_policy(headers, body)
        served.wait_for(r"The knowledge base has no errors any more", fixed)
    finally:
        served.stop()


def test_kb_serve_started_with_a_broken_record_serves_the_error_page(project, tmp_path):
    originals = break_records(project)
    assert main(["build"]) == 1  # a build still fails
    served = Served(project, tmp_path / "tmp")
    page = "risks/deceptive-alignment.html"
    try:
        served.wait_for(r"Serving on http", time.monotonic() - 1)
        _, headers, body = page_until(served, page, is_error_page, timeout=0)
        assert_shows_every_error(body, headers)

        fixed = time.monotonic()
        restore(project, originals)
        served.wait_for(r"Reloading browsers", fixed, timeout=30)
        _, _, body = page_until(served, page, lambda body: not is_error_page(body))
        assert "A trained model behaves well" in body
        assert not is_error_page(fetch(served.port, "systems/gpt-4.html")[1])
    finally:
        served.stop()
