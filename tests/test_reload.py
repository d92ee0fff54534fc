"""`kb serve`'s reloads with what the build before kept (generator/reload.py): after every sort of
edit the served site is, file for file and byte for byte, what MkDocs' own build of the same
content writes into an empty folder; the reloads that cannot take that way take MkDocs' own."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_serve import REPO, project  # noqa: F401 (the project: the repo's mkdocs.yml and generator, the valid fixtures)

URL = "http://127.0.0.1:8000/"
RISK = Path("content/risks/deceptive-alignment.yaml")
ORGANIZATION = Path("content/organizations/openai.yaml")
TOPIC = Path("content/topics/ai-alignment.md")
NEW = Path("content/organizations/test-lab.yaml")
NEW_ORGANIZATION = """\
id: test-lab
name: Test Lab
type: safety-org
summary: An organisation that exists only for this test; it works on deceptive alignment.
"""
# what the export and the search index write, in the background of a served reload
BACKGROUND = ("pagefind", "data", "schemas")


class Server:
    """What `kb serve` hands the hooks' on_serve: a builder (MkDocs' own, a dirty build of the
    served site) that on_serve wraps, and the watching and app the preview of errors uses."""

    def __init__(self, project: Path, site: Path):
        from watchdog.observers.polling import PollingObserver

        self.project, self.site, self.whole_builds = project, site, 0
        self.app = lambda environ, start_response: []
        self._watched_paths, self.observer = {}, PollingObserver()  # nothing watched here

    def config(self, site: Path):
        from mkdocs.config import load_config

        config = load_config(str(self.project / "mkdocs.yml"), site_dir=str(site))
        config.site_url = URL
        return config

    def whole(self, site: Path | None = None) -> None:
        """MkDocs' own reload (serve.py's builder): mkdocs.yml loaded again, a dirty build."""
        from mkdocs.commands.build import build

        if site is None:
            self.whole_builds += 1
        build(self.config(site or self.site), serve_url=URL, dirty=True)

    builder = whole

    def watch(self, path: str) -> None:
        pass

    def get_app(self):
        return self.app

    def set_app(self, app) -> None:
        self.app = app


@contextmanager
def serving(project: Path, tmp_path: Path):
    """The first build of `kb serve`, then its on_serve: the server's builder is the hooks' reload."""
    server = Server(project, tmp_path / "served")
    config = server.config(server.site)
    config.plugins.on_startup(command="serve", dirty=True)
    server.hooks = config.hooks["generator/mkdocs_hooks.py"]
    try:
        server.whole()
        config.plugins.on_serve(server, config=config, builder=server.whole)
        yield server
    finally:
        config.plugins.on_shutdown()


@pytest.fixture
def served(project, tmp_path):
    with serving(project, tmp_path) as server:
        yield server


def with_images(project: Path) -> None:
    """The project's content: the prose-features fixture, which has an image."""
    shutil.rmtree(project / "content")
    shutil.copytree(REPO / "tests" / "fixtures" / "prose-features" / "content", project / "content")


def files_of(site: Path) -> dict[str, bytes]:
    return {path.relative_to(site).as_posix(): path.read_bytes() for path in sorted(site.rglob("*"))
            if path.is_file() and path.relative_to(site).parts[0] not in BACKGROUND
            and not path.relative_to(site).parts[0].startswith(".pagefind")}


def reload_then_compare(served: Server, tmp_path: Path, fast: bool = True) -> dict[str, bytes]:
    """Reload as the server does after a change; then build the same content whole into an empty
    folder and compare the two sites."""
    before = served.whole_builds
    served.builder()
    served.hooks._refresher.stop(wait=True)
    assert (served.whole_builds == before) == fast, "the reload took the other way"
    site = served.files = files_of(served.site)
    fresh = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    kept = dict(served.hooks._kept)  # what the served site's reload left, not the fresh build
    served.whole(fresh)
    served.hooks._refresher.stop(wait=True)
    served.hooks._kept.clear()
    served.hooks._kept.update(kept)
    assert sorted(site) == sorted(files_of(fresh))
    different = [path for path, data in files_of(fresh).items() if site[path] != data]
    assert not different, f"{len(different)} files differ from the whole build, e.g. {different[:5]}"
    return site


def test_every_sort_of_edit_reloads_to_what_a_whole_build_writes(served, project, tmp_path):
    # a summary: the record's page, and the pages that show the summary
    (project / RISK).write_text((project / RISK).read_text().replace("summary: ", "summary: Edited once. ", 1))
    site = reload_then_compare(served, tmp_path)
    assert b"Edited once." in site["risks/deceptive-alignment.html"]
    # a name other pages show
    (project / ORGANIZATION).write_text((project / ORGANIZATION).read_text().replace("name: OpenAI", "name: OpenAI Labs"))
    site = reload_then_compare(served, tmp_path)
    assert b"OpenAI Labs" in site["systems/gpt-4.html"]
    # a new reference in an article
    (project / TOPIC).write_text((project / TOPIC).read_text() + "\nSee also [[uc-berkeley]].\n")
    reload_then_compare(served, tmp_path)
    # a new record: a new page, not in the navigation
    (project / NEW).write_text(NEW_ORGANIZATION)
    site = reload_then_compare(served, tmp_path)
    assert b"Test Lab" in site["organizations/test-lab.html"] and b"test-lab" in site["organizations/index.html"]
    assert b"organizations/test-lab.html" in site["sitemap.xml"]
    # that record deleted: its page is gone, and so is every mention
    (project / NEW).unlink()
    site = reload_then_compare(served, tmp_path)
    assert "organizations/test-lab.html" not in site and b"test-lab" not in site["sitemap.xml"]
    # nothing changed
    reload_then_compare(served, tmp_path)


def test_a_reload_with_errors_or_a_new_mkdocs_yml_is_mkdocs_own(served, project, tmp_path):
    original = (project / RISK).read_text()
    (project / RISK).write_text(original.replace("topics: [ai-alignment]", "topics: [ai-alignment"))
    served.builder()  # the run with errors goes to MkDocs' own build, which shows the preview of errors
    assert served.whole_builds == 2 and served.hooks._errors.diagnostics
    (project / RISK).write_text(original.replace("summary: ", "summary: Mended. ", 1))
    reload_then_compare(served, tmp_path, fast=False)  # the build that held the errors kept nothing
    assert not served.hooks._errors.diagnostics
    (project / RISK).write_text(original.replace("summary: ", "summary: Mended twice. ", 1))
    reload_then_compare(served, tmp_path)
    with (project / "mkdocs.yml").open("a") as config:
        config.write("\nextra:\n  note: edited\n")
    reload_then_compare(served, tmp_path, fast=False)
    (project / RISK).write_text(original)
    reload_then_compare(served, tmp_path)


def test_a_reload_that_fails_leaves_the_next_to_mkdocs(served, project, tmp_path, monkeypatch):
    from generator import reload

    def broken(*args, **kwargs):
        raise RuntimeError("a plugin failed")

    monkeypatch.setattr(reload, "_build_page", broken)
    (project / RISK).write_text((project / RISK).read_text().replace("summary: ", "summary: Failed. ", 1))
    with pytest.raises(RuntimeError):
        served.builder()
    monkeypatch.undo()
    site = reload_then_compare(served, tmp_path, fast=False)
    assert b"Failed." in site["risks/deceptive-alignment.html"]


def test_the_served_site_has_the_content_s_images_and_a_new_one_is_mkdocs_own_reload(project, tmp_path):
    with_images(project)
    with serving(project, tmp_path) as server:
        figure = (project / "content/images/figure.png").read_bytes()
        assert (server.site / "images/figure.png").read_bytes() == figure
        shutil.copy(project / "content/images/figure.png", project / "content/images/second.png")
        topic = next((project / "content/topics").glob("*.md"))
        topic.write_text(topic.read_text() + "\n![A second figure](../images/second.png)\n")
        site = reload_then_compare(server, tmp_path, fast=False)  # a new file beside the pages
        assert site["images/second.png"] == figure and b"images/second.png" in site[f"topics/{topic.stem}.html"]
        topic.write_text(topic.read_text() + "\nOne more sentence.\n")
        reload_then_compare(server, tmp_path)


def test_a_reload_that_rewrites_a_page_of_the_navigation_without_a_title_is_mkdocs_own(project, tmp_path):
    """That page takes its title from its content, and every page shows it in the navigation."""
    config_file = project / "mkdocs.yml"
    config_file.write_text(config_file.read_text().replace("  - Tags: tags.md\n", "  - tags.md\n"))
    with serving(project, tmp_path) as server:
        (project / RISK).write_text((project / RISK).read_text() + "tags: [a-tag-of-the-test]\n")
        server.builder()  # the first build, then this reload: MkDocs' own
        assert server.whole_builds == 2 and b"a-tag-of-the-test" in (server.site / "tags.html").read_bytes()
        (project / RISK).write_text((project / RISK).read_text().replace("summary: ", "summary: Edited. ", 1))
        server.builder()  # tags.md is as it was: the kept navigation stays right
        assert server.whole_builds == 2
