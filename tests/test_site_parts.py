"""A large site is built by MkDocs in two processes at once (generator/site_parts.py): the site is
the same, byte for byte, as built in one; a problem found in either part stops the build; links
between the parts' pages are checked as MkDocs checks them within one."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from generator import pipeline, site_parts
from generator.build import build_site

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """The docs tree `kb build` writes for the valid fixtures (and the project it is in)."""
    project = tmp_path_factory.mktemp("parts")
    shutil.copy(REPO / "mkdocs.yml", project / "mkdocs.yml")
    (project / "generator").symlink_to(REPO / "generator")
    shutil.copytree(REPO / "tests" / "fixtures" / "valid" / "content", project / "content")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KB_DIAGRAMS", "client")
        patch.setenv("KB_TODAY", "2026-01-07")
        assert build_site(project / "mkdocs.yml").ok
    CONFIG[:] = [project / "mkdocs.yml"]
    return project / "build" / "docs"


def files_of(site: Path) -> dict[str, str]:
    return {path.relative_to(site).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(site.rglob("*")) if path.is_file()}


CONFIG: list[Path] = []  # the project's mkdocs.yml (the docs fixture makes it)


def parts_for(docs: Path, config: Path | None = None) -> int:
    loaded = pipeline.mkdocs_config(config or CONFIG[0], docs, docs.parent / "site")
    return site_parts.parts_for(loaded, docs, own_hooks={str(pipeline.PAGE_HOOKS)})


def variant(name: str, *changes: tuple[str, str]) -> Path:
    """The project's mkdocs.yml with ``changes`` (old, new), beside it as ``name``."""
    text = CONFIG[0].read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = CONFIG[0].with_name(name)
    path.write_text(text)
    return path


def built(docs: Path, site: Path, parts: bool, monkeypatch, config: Path | None = None) -> str | None:
    monkeypatch.setattr(site_parts, "PARTS_FROM", 1 if parts else 10**9)
    problem = pipeline._mkdocs(config or CONFIG[0], docs, site)
    return None if problem is None else problem.message


@pytest.mark.parametrize("titled", [True, False])
def test_the_site_built_in_two_parts_is_the_site_built_in_one(docs, tmp_path, monkeypatch, titled):
    """Also with navigation entries that name no title: every page then shows the title of each
    such page's front matter, which only converting it reads (so every part converts them)."""
    assert parts_for(docs) == 1  # a small site: one process
    monkeypatch.setattr(site_parts, "PARTS_FROM", 1)
    assert parts_for(docs) == 2
    config = None
    if not titled:
        config = CONFIG[0].with_name("untitled.yml")
        text = CONFIG[0].read_text()
        for entry in ("Home: index.md", "Tags: tags.md", "Quality: quality.md", "Risks and responses: maps/risks.md"):
            assert entry in text
            text = text.replace(entry, entry.split(": ")[1])
        config.write_text(text)
    assert built(docs, tmp_path / "whole", False, monkeypatch, config) is None
    stale = tmp_path / "parts" / "stale.html"  # a dirty build cleans nothing: the parts' build does
    stale.parent.mkdir()
    stale.write_text("old")
    assert built(docs, tmp_path / "parts", True, monkeypatch, config) is None
    whole, parts = files_of(tmp_path / "whole"), files_of(tmp_path / "parts")
    assert len(whole) > 40 and {"404.html", "sitemap.xml", "index.html", "systems/gpt-4.html"} <= set(whole)
    assert parts == whole


@pytest.fixture
def hand_docs(docs, tmp_path):
    """A copy of the docs tree with two hand-written pages, one built by each part."""
    copy = tmp_path / "docs"
    shutil.copytree(docs, copy)
    pages = sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*.md"))
    names = ("zz-a.md", "zz-b.md")  # the last two pages in the order of their paths
    parts_of = {name: (len(pages) + number) % 2 for number, name in enumerate(names)}
    assert sorted(parts_of.values()) == [0, 1]
    return copy, parts_of


def write_pages(docs: Path, a: str, b: str) -> None:
    (docs / "zz-a.md").write_text(f"---\ntitle: A\n---\n# A\n\n{a}\n", encoding="utf-8")
    (docs / "zz-b.md").write_text(f"---\ntitle: B\n---\n# B\n\n## Real anchor\n\n{b}\n", encoding="utf-8")


def test_links_between_the_parts_pages_are_checked(hand_docs, tmp_path, monkeypatch):
    docs, _ = hand_docs
    write_pages(docs, "[to b](zz-b.md#real-anchor)", "[to a](zz-a.md#a)")
    assert built(docs, tmp_path / "good", True, monkeypatch) is None
    write_pages(docs, "[to b](zz-b.md#no-such-anchor)", "[to a](zz-a.md#a)")
    problem = built(docs, tmp_path / "bad", True, monkeypatch)
    assert problem is not None and "'zz-b.md' does not contain an anchor '#no-such-anchor'" in problem
    # built whole, MkDocs says the same
    whole = built(docs, tmp_path / "whole", False, monkeypatch)
    assert whole is not None and "Aborted with 1 warnings in strict mode" in whole


@pytest.mark.parametrize("page", ["zz-a.md", "zz-b.md"])
def test_a_warning_in_either_part_stops_the_build(hand_docs, tmp_path, monkeypatch, page):
    docs, parts_of = hand_docs
    write_pages(docs, "text", "text")
    (docs / page).write_text("---\ntitle: X\n---\n# X\n\n[gone](no-such-page.md)\n", encoding="utf-8")
    problem = built(docs, tmp_path / "site", True, monkeypatch)
    assert problem is not None, page
    if parts_of[page] == 1:  # the other process's words come through
        assert "part 1 of the site failed" in problem and "no-such-page.md" in problem
    else:
        assert "Aborted with 1 warnings in strict mode" in problem


def test_a_plugin_or_an_extra_template_keeps_the_site_whole(docs, monkeypatch):
    """A plugin may gather something from every page (search's index) and an extra template is
    written by every part: such a site is built in one part."""
    monkeypatch.setattr(site_parts, "PARTS_FROM", 1)
    assert parts_for(docs) == 2
    assert parts_for(docs, variant("search.yml", ("plugins: []", "plugins: [search]"))) == 1
    assert parts_for(docs, variant("default.yml", ("plugins: []", ""))) == 1  # MkDocs' default: search
    assert parts_for(docs, variant("extra.yml", ("plugins: []", "plugins: []\nextra_templates: [robots.txt]"))) == 1


def test_a_docs_tree_that_changed_between_the_parts_listings_fails_the_build(docs, tmp_path, monkeypatch):
    """Each part takes every other page of the list it made: a page added or removed between the
    two lists shifts the shares, and half the site would go unwritten. The parts report their
    lists, and the build fails when they differ or a page was not written."""
    reports = [{"pages": ["a.md", "b.md"], "anchors": {"a.md": []}, "links": {}},
               {"pages": ["a.md", "b.md"], "anchors": {"b.md": []}, "links": {}}]
    assert site_parts.check_pages(reports) is None
    assert "changed while the site was built" in site_parts.check_pages(
        [reports[0], {**reports[1], "pages": ["a.md", "b.md", "c.md"]}])
    assert "changed while the site was built" in site_parts.check_pages([reports[0], {**reports[1], "anchors": {}}])
    report = site_parts.report

    def seeing_another_tree(files):  # part 0 (this process) reports a list with one page more
        report(files)
        path = Path(os.environ[site_parts.REPORT_ENV])
        found = json.loads(path.read_text())
        path.write_text(json.dumps({**found, "pages": sorted(found["pages"] + ["zz-new.md"])}))

    monkeypatch.setattr(site_parts, "report", seeing_another_tree)
    problem = built(docs, tmp_path / "site", True, monkeypatch)
    assert problem is not None and "changed while the site was built" in problem


def test_without_strict_a_parts_warnings_are_shown_and_do_not_stop_it(hand_docs, tmp_path, monkeypatch, caplog):
    docs, parts_of = hand_docs
    config = variant("lenient.yml", ("strict: true", "strict: false"), ("anchors: warn", "anchors: info"))
    other = next(name for name, number in parts_of.items() if number == 1)  # the page the other process builds
    mine = next(name for name in parts_of if name != other)
    write_pages(docs, "text", "text")
    (docs / other).write_text("---\ntitle: O\n---\n# O\n\n[gone](no-such-page.md)\n", encoding="utf-8")
    (docs / mine).write_text(f"---\ntitle: M\n---\n# M\n\n[to o]({other}#no-such-anchor)\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="mkdocs"):
        assert built(docs, tmp_path / "site", True, monkeypatch, config) is None
    said = {record.getMessage(): record.levelno for record in caplog.records}
    gone = [message for message in said if "no-such-page.md" in message]
    anchor = [message for message in said if "does not contain an anchor '#no-such-anchor'" in message]
    assert gone and said[gone[0]] == logging.WARNING  # from the other process
    assert anchor and said[anchor[0]] == logging.INFO  # validation.links.anchors: info


def test_the_part_variables_act_only_together(monkeypatch):
    monkeypatch.setenv(site_parts.ENV, "1/2")
    monkeypatch.delenv(site_parts.REPORT_ENV, raising=False)
    assert site_parts.part() == (0, 1)
    monkeypatch.setenv(site_parts.REPORT_ENV, "/tmp/x.json")
    assert site_parts.part() == (1, 2)
