"""The build: generation inside MkDocs, strict, atomic, and incremental."""
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from generator import pipeline
from generator.build import build_site

REPO = Path(__file__).resolve().parent.parent

FIXTURE = REPO / "tests" / "fixtures" / "valid" / "content"


@pytest.fixture
def project(tmp_path):
    """A project folder: the repo's mkdocs.yml and generator beside a copy of the valid fixtures."""
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")
    shutil.copytree(FIXTURE, tmp_path / "content")
    return tmp_path


def test_build_produces_every_page_and_nothing_from_elsewhere(project):
    result = build_site(project / "mkdocs.yml")
    assert result.ok, result.diagnostics
    site = project / "site"
    for page in ("index.html", "tags.html", "quality.html", "maps/risks.html", "maps/topics.html",
                 "systems/index.html", "systems/gpt-4.html", "topics/ai-alignment.html"):
        assert (site / page).is_file(), page
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert "unpkg.com" not in text and "fonts.googleapis" not in text and "cdn.jsdelivr" not in text, html


def test_diagrams_are_drawn_at_build_time_and_mermaid_is_not_loaded(project):
    if not shutil.which("chromium"):
        pytest.skip("needs Debian's chromium, which ./dev test installs")
    assert build_site(project / "mkdocs.yml").ok
    page = (project / "site" / "maps" / "risks.html").read_text()
    assert 'class="kb-diagram kb-diagram--static" tabindex="0"><svg' in page
    assert "mermaid-11.17.2.min.js" not in page and 'class="kb-mermaid"' not in page
    assert list((project / "build" / "diagrams").glob("*.svg"))


def test_the_drawings_in_the_docs_tree_reach_the_pages_as_they_were_cached(project):
    """The write stage puts each drawing into the page's Markdown; MkDocs (passthrough, the page
    allow-list with the drawings set aside) must hand it to the reader byte for byte."""
    import re

    if not shutil.which("chromium"):
        pytest.skip("needs Debian's chromium, which ./dev test installs")
    assert build_site(project / "mkdocs.yml").ok
    docs, cache, site = project / "build" / "docs", project / "build" / "diagrams", project / "site"
    checked = 0
    for markdown in docs.rglob("*.md"):
        keys = re.findall(r'<div class="kb-diagram kb-diagram--static" tabindex="0"><svg id="kb-([0-9a-f]{16})"',
                          markdown.read_text())
        page = (site / markdown.relative_to(docs).with_suffix(".html")).read_text() if keys else ""
        for key in keys:
            assert (cache / f"{key}.svg").read_text() in page, (markdown, key)
            checked += 1
    assert checked >= 2  # the two maps at least


def test_without_chromium_mermaid_loads_only_where_a_diagram_is(project, monkeypatch):
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    assert build_site(project / "mkdocs.yml").ok
    site = project / "site"
    assert "mermaid-11.17.2.min.js" in (site / "maps/risks.html").read_text()
    assert 'class="kb-mermaid"' in (site / "maps/risks.html").read_text()
    for page in ("systems/gpt-4.html", "systems/index.html", "index.html"):
        assert "mermaid-11.17.2.min.js" not in (site / page).read_text(), page
    # a record's neighbourhood is drawn by the generator in either mode
    assert '<svg class="kb-nb"' in (site / "systems/gpt-4.html").read_text()


def test_a_bad_record_stops_the_build_and_leaves_the_old_site(project):
    assert build_site(project / "mkdocs.yml").ok
    marker = project / "site" / "index.html"
    before = marker.read_bytes()
    bad = project / "content" / "systems" / "gpt-4.yaml"
    bad.write_text(bad.read_text().replace("developer: openai", "developer: opnai"))
    result = build_site(project / "mkdocs.yml")
    assert not result.ok
    (problem,) = [d for d in result.diagnostics if d.severity == "error"]
    assert problem.file.endswith("content/systems/gpt-4.yaml") and problem.field == "developer"
    assert marker.read_bytes() == before
    assert not [p for p in project.iterdir() if p.name.startswith(".site.")]


def test_mkdocs_build_runs_the_generator_and_fails_on_bad_records(project, monkeypatch, caplog):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    monkeypatch.chdir(project)
    build(load_config(str(project / "mkdocs.yml")))
    assert (project / "site" / "systems" / "gpt-4.html").is_file()
    (project / "content" / "systems" / "gpt-4.yaml").write_text("id: gpt-4\n")
    with pytest.raises(Abort):
        build(load_config(str(project / "mkdocs.yml")))
    assert "content/systems/gpt-4.yaml:1:1: error: missing required field 'name'" in caplog.text
    assert (project / "site" / "systems" / "gpt-4.html").is_file()


def generate(project: Path) -> pipeline.Run:
    """The stages up to write: the complete docs tree in build/docs."""
    return pipeline.run(pipeline.Run(project / "content", docs=project / "build" / "docs",
                                     cache=project / "build" / "diagrams"), pipeline.GENERATE)


def test_second_generation_writes_only_what_changed(project):
    first = generate(project)
    assert len(first.written) == len(first.rendered.pages)
    assert (project / "build" / "docs" / "assets" / "kb.js").is_file()  # the docs tree is complete
    again = generate(project)
    assert again.written == []
    record = project / "content" / "risks" / "deceptive-alignment.yaml"
    record.write_text(record.read_text().replace("summary: ", "summary: Edited. ", 1))
    edited = generate(project)
    assert "risks/deceptive-alignment.md" in edited.written
    assert 1 <= len(edited.written) < len(first.written) / 2


def test_every_build_publishes_the_data_and_schemas_the_pages_link_to(project, monkeypatch):
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    assert build_site(project / "mkdocs.yml").ok
    site = project / "site"
    page = (site / "systems" / "gpt-4.html").read_text()
    assert 'href="../data/systems/gpt-4.json"' in page and (site / "data/systems/gpt-4.json").is_file()
    index = (site / "systems" / "index.html").read_text()
    for link in ("../data/systems.json", "../data/systems.csv", "../schemas/systems.schema.json"):
        assert f'href="{link}"' in index and (site / "systems" / link).resolve().is_file(), link
    assert (site / "data" / "knowledge.sqlite").is_file()


def test_plain_mkdocs_build_exports_too(project, monkeypatch):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.setenv("KB_DIAGRAMS", "client")
    monkeypatch.chdir(project)
    build(load_config(str(project / "mkdocs.yml")))
    assert (project / "site" / "data" / "all.json").is_file()
    assert (project / "site" / "schemas" / "topics.schema.json").is_file()


def test_serve_watches_records_templates_and_theme(project):
    import importlib.util

    from mkdocs.config import load_config

    spec = importlib.util.spec_from_file_location("kb_hooks", REPO / "generator" / "mkdocs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)

    class Server:  # the parts of MkDocs' LiveReloadServer that on_serve uses
        watched: list = []
        app = None

        def builder(self):
            pass

        def watch(self, path):
            self.watched.append(path)

        def get_app(self):
            return self.app

        def set_app(self, app):
            self.app = app

    server = hooks.on_serve(Server(), load_config(str(project / "mkdocs.yml")), None)
    assert {Path(p) for p in server.watched} >= {  # the base's records, the installed generator's templates
        project / "content", REPO / "generator" / "templates", REPO / "generator" / "theme"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.targets.append(attrs[name])


def test_every_link_in_the_site_leads_somewhere(project, monkeypatch):
    """Generated blocks are HTML with final addresses, which MkDocs does not check: this does,
    fragments included, on a build whose lists are split into pages of 2 (and "What links here"
    shows 1 record of a kind, so that the pages listing them all are made too)."""
    from generator import emitters, present

    monkeypatch.setattr(present, "PAGE_ROWS", 2)
    monkeypatch.setattr(emitters.record, "BACKLINKS_SHOWN", 1)
    monkeypatch.setenv("KB_DIAGRAMS", "client")
    assert build_site(project / "mkdocs.yml").ok
    site = project / "site"
    parsed = {}
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text())
        parsed[page] = parser
    assert (site / "quality" / "sources" / "2.html").is_file() and (site / "sources" / "index" / "2.html").is_file()
    assert list((site / "links").rglob("*.html"))  # pages of every record that links to a busy one
    checked, broken = 0, []
    for page, parser in parsed.items():
        if page == site / "404.html":
            continue  # served at any address, so its links are absolute; the browser tests load it
        for target in parser.targets:
            if target.startswith(("http://", "https://", "mailto:", "data:", "#")) or target.startswith("javascript:"):
                continue
            path, _, fragment = target.partition("#")
            path = path.split("?")[0]
            resolved = (page.parent / path).resolve() if path else page
            if resolved.is_dir():
                resolved = resolved / "index.html"
            checked += 1
            if not resolved.exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
            elif fragment and resolved in parsed and fragment not in parsed[resolved].ids:
                broken.append(f"{page.relative_to(site)} -> {target} (no such id)")
    assert checked > 1000 and not broken, broken[:20]


def test_a_generated_page_whose_front_matter_mkdocs_cannot_read_stops_the_build(project):
    """The hooks' backstop: MkDocs drops front matter it cannot parse without a word and renders
    it as Markdown; for a generated page (all of them have a title) that is an error."""
    import pytest as _pytest
    from mkdocs.exceptions import PluginError

    from generator import page_hooks as hooks  # kb build's only hook; mkdocs_hooks.py uses the same

    class Config(dict):
        config_file_path = str(project / "mkdocs.yml")

    class FakeFile:
        src_uri = "topics/x.md"
        abs_src_path = str(project / "build" / "docs" / "topics" / "x.md")

    class FakePage:
        file = FakeFile()
        meta: dict = {}

    with _pytest.raises(PluginError, match="front matter the generator wrote could not be read"):
        hooks.on_page_markdown("---\ntitle: x\n---\n", FakePage(), Config(), None)
    FakePage.meta = {"title": "X"}
    assert hooks.on_page_markdown("text", FakePage(), Config(), None) == "text"


def test_kb_build_and_plain_mkdocs_build_make_the_same_pages(project, monkeypatch):
    """`kb build` runs MkDocs on the complete docs tree with page_hooks.py alone; `mkdocs build`
    runs mkdocs_hooks.py, which drives the runner around MkDocs: the pages come out the same, and
    every one carries one Content-Security-Policy, the theme's 404 page too (MkDocs renders it as
    a template, not a page: on_post_template)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.setenv("KB_DIAGRAMS", "client")
    monkeypatch.setenv("KB_TODAY", "2026-01-07")
    monkeypatch.chdir(project)
    assert build_site(project / "mkdocs.yml", project / "by-kb").ok
    build(load_config(str(project / "mkdocs.yml"), site_dir=str(project / "by-mkdocs")))
    pages = sorted(p.relative_to(project / "by-kb") for p in (project / "by-kb").rglob("*.html")
                   if not p.relative_to(project / "by-kb").as_posix().startswith("pagefind/"))
    assert len(pages) > 20
    assert Path("404.html") in pages
    for page in pages:
        assert (project / "by-kb" / page).read_text() == (project / "by-mkdocs" / page).read_text(), page
        assert (project / "by-kb" / page).read_text().count('http-equiv="Content-Security-Policy"') == 1, page
