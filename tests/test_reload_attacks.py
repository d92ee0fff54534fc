"""What a hostile review of kb serve's reloads (generator/reload.py) tried: sequences of edits, images
added and removed, another day, a warning in strict mode, a run handed to a build that failed."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from test_reload import (NEW, NEW_ORGANIZATION, RISK, TOPIC, project, reload_then_compare, served,  # noqa: F401
                         serving, with_images)


def test_sequences_of_new_edit_delete_readd_move(served, project, tmp_path):
    (project / NEW).write_text(NEW_ORGANIZATION)
    reload_then_compare(served, tmp_path)
    (project / NEW).write_text(NEW_ORGANIZATION.replace("name: Test Lab", "name: Test Lab Two"))
    site = reload_then_compare(served, tmp_path)
    assert b"Test Lab Two" in site["organizations/test-lab.html"]
    (project / NEW).unlink()
    reload_then_compare(served, tmp_path)
    (project / NEW).write_text(NEW_ORGANIZATION)
    site = reload_then_compare(served, tmp_path)
    assert b"Test Lab" in site["organizations/test-lab.html"]
    # the record moves kind: an expert now (everything made again)
    (project / NEW).unlink()
    (project / "content/experts/test-lab.yaml").write_text(
        "id: test-lab\nname: Test Lab\naffiliation: openai\nrole: Tester\nsummary: Moved here for the test.\n")
    site = reload_then_compare(served, tmp_path)
    assert "experts/test-lab.html" in site and "organizations/test-lab.html" not in site


def test_an_image_removed_is_removed_from_the_served_site(project, tmp_path):
    with_images(project)
    with serving(project, tmp_path) as server:
        topic = next((project / "content/topics").glob("*.md"))
        original = topic.read_text()
        shutil.copy(project / "content/images/figure.png", project / "content/images/second.png")
        topic.write_text(original + "\n![A second figure](../images/second.png)\n")
        reload_then_compare(server, tmp_path, fast=False)
        (project / "content/images/second.png").unlink()
        topic.write_text(original)
        site = reload_then_compare(server, tmp_path, fast=False)
        assert "images/second.png" not in site


def test_a_reload_after_the_day_changed(served, project, tmp_path, monkeypatch):
    """A kb serve left running past midnight (UTC): MkDocs dates each page (the sitemap's lastmod)
    when it makes its Page; the kept pages keep yesterday's date."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) + 86400))  # tomorrow
    (project / RISK).write_text((project / RISK).read_text().replace("summary: ", "summary: Next day. ", 1))
    reload_then_compare(served, tmp_path, fast=False)  # every page is dated again


def test_a_strict_mode_warning_is_not_lost_by_the_next_reload(served, project, tmp_path, monkeypatch):
    """A page whose rendering logs a MkDocs warning aborts the build (strict). MkDocs' own dirty
    build renders it again next time (on_build_error marks its HTML stale) and aborts again until
    it is fixed; the fast reload renders only what the generator rewrote, and the warning is gone."""
    import logging

    from mkdocs.exceptions import Abort

    from generator import sanitize

    page = sanitize.page

    def warning(html, **kwargs):
        if "WARNME" in html:
            logging.getLogger("mkdocs.plugins.test").warning("a warning of the page")
        return page(html, **kwargs)

    monkeypatch.setattr(sanitize, "page", warning)
    (project / TOPIC).write_text((project / TOPIC).read_text() + "\nWARNME\n")
    with pytest.raises(Abort):
        served.builder()
    (project / RISK).write_text((project / RISK).read_text().replace("summary: ", "summary: Other. ", 1))
    before = served.whole_builds
    try:
        served.builder()
        aborted = False
    except Abort:
        aborted = True
    with pytest.raises(Abort):  # MkDocs' own build of this content, into an empty folder, aborts
        served.whole(tmp_path / "fresh-whole")
    assert aborted, f"the reload ({'whole' if served.whole_builds > before else 'fast'}) no longer shows the warning"


def test_vocabulary_and_image_edits_then_more(project, tmp_path):
    with_images(project)
    with serving(project, tmp_path) as server:
        vocabulary = project / "content/vocabulary.yaml"
        vocabulary.write_text("relation_types:\n  related-to: related to\n  inspires: inspired by\n")
        reload_then_compare(server, tmp_path)
        vocabulary.unlink()
        reload_then_compare(server, tmp_path)
        # the same image, other bytes (same name: the set of static files is as it was)
        figure = project / "content/images/figure.png"
        data = figure.read_bytes()
        figure.write_bytes(data + b"\0")
        site = reload_then_compare(server, tmp_path)
        assert site["images/figure.png"] == data + b"\0"
        # back to the old bytes with the old time (mv of a file saved earlier)
        old = tmp_path / "old.png"
        old.write_bytes(data)
        os.utime(old, (1, 1))
        os.replace(old, figure)
        site = reload_then_compare(server, tmp_path)
        assert site["images/figure.png"] == data


def test_a_handed_run_does_not_outlive_the_build_it_was_handed_to(served, project, tmp_path, monkeypatch):
    """A run with errors is handed to MkDocs' own build (_handed). If that build fails before
    on_config (mkdocs.yml saved broken meanwhile: load_config raises), the run stays handed, and
    the next build, once mkdocs.yml is mended, shows that old run instead of the content."""
    original = (project / RISK).read_text()
    (project / RISK).write_text(original.replace("topics: [ai-alignment]", "topics: [ai-alignment"))
    config_file = project / "mkdocs.yml"
    good = config_file.read_text()
    generate = served.hooks._generate

    def broken_yml_meanwhile(config):
        run = generate(config)
        config_file.write_text(good + "\nnav: [\n")  # saved broken while the generator ran
        return run

    monkeypatch.setattr(served.hooks, "_generate", broken_yml_meanwhile)
    with pytest.raises(Exception):
        served.builder()
    monkeypatch.undo()
    (project / RISK).write_text(original.replace("summary: ", "summary: Mended. ", 1))  # the record fixed
    with pytest.raises(Exception):
        served.builder()  # mkdocs.yml still broken
    config_file.write_text(good)  # mended
    served.builder()
    assert not served.hooks._errors.diagnostics, "the preview shows errors the content no longer has"
    assert b"Mended." in (served.site / "risks/deceptive-alignment.html").read_bytes()
