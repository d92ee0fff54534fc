"""A reload of ``kb serve`` with what the build before it kept: MkDocs' files, navigation and theme
environment, so that only the pages the generator rewrote are read and rendered.

``mkdocs serve --dirty`` starts every reload from nothing: it loads mkdocs.yml, lists every file,
makes the navigation and compares the times of every page's Markdown and HTML. At 10,000 records
that is seconds before the first changed page is rendered. None of it can change when only
records change: the navigation is mkdocs.yml's, with the titles mkdocs.yml gives (a record's page
is in no navigation), and a page's HTML depends on its own Markdown, the navigation and the theme.
So the hooks (generator/mkdocs_hooks.py) keep the build's objects (:class:`Kept`) and, while
mkdocs.yml names no plugin but hooks and it, the theme, the static files and the content's images
are as they were, a reload renders the rewritten pages with them (:func:`rebuild`): the pages removed are taken out of the files and their HTML deleted,
the pages added get a file and a page as MkDocs' navigation gives a page it does not list, and each
rewritten page goes through MkDocs' own steps (``_populate_page``, ``_build_page``: the same plugin
events, template and writing), then the theme's templates (sitemap, 404), the anchors of the
rendered pages and ``on_post_build``, in strict mode as MkDocs counts warnings.

Every other reload is MkDocs' own (the first, one after an edit of mkdocs.yml or the theme, one
whose run has errors, which the preview shows, one that rewrote a page of the navigation whose
title mkdocs.yml does not give: its new title would show on every page). ``tests/test_reload.py`` checks that the served
site is, file for file, what MkDocs' whole build of the same content writes.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mkdocs import utils
from mkdocs.commands.build import _build_extra_template, _build_page, _build_theme_template, _populate_page
from mkdocs.exceptions import Abort, BuildError
from mkdocs.structure.files import File, Files, InclusionLevel, set_exclusions
from mkdocs.structure.pages import Page

from . import images

log = logging.getLogger("mkdocs.commands.build")


@dataclass
class Kept:
    """What a build leaves for the next reload: its config (after the plugins' on_config), files,
    navigation and theme environment, and what it was built with (``build.site_fingerprint``, the
    static files of docs_dir)."""

    config: object
    files: Files
    nav: object
    env: object
    fingerprint: str
    static: frozenset[str]
    day: str  # MkDocs dates every page it makes (the sitemap's lastmod): another day, every page


def keep(config, files: Files, nav, env, fingerprint: str, docs: Path) -> Kept:
    """The build's objects for the next reload, without the pages' HTML and, but for the pages of
    the navigation (whose titles other pages show), their Markdown: every page would otherwise
    hold its own until the next build. A page keeps its front matter and anchors."""
    _release([file.page for file in files.documentation_pages() if file.page is not None], nav)
    return Kept(config, files, nav, env, fingerprint, static_files(config, docs), utils.get_build_date())


def _release(pages: list, nav) -> None:
    listed = {id(page) for page in nav.pages}
    for page in pages:
        page.content = None
        if id(page) not in listed:
            page.markdown = None  # its title is then None, as that of a page a dirty build did not read


def static_files(config, docs: Path) -> frozenset[str]:
    """The files that are not pages, under docs_dir and in the generator's docs tree (the content's
    images): MkDocs lists them when a build starts, and copies those changed since."""
    found = set()
    for top in (config.docs_dir, docs / images.FOLDER):
        for folder, _, names in os.walk(top):
            found.update(os.path.join(folder, name) for name in names if not name.endswith(".md"))
    return frozenset(found)


def fits(kept: Kept, fingerprint: str, docs: Path, written: list[str], removed: list[str]) -> bool:
    """Whether a reload can render with ``kept``: mkdocs.yml names no plugin but hooks (a plugin's
    on_files or on_nav would not run again), mkdocs.yml, the theme, docs_dir's static files and
    the content's images are as they were, it is the same day, no page of the navigation is
    gone, and none that was rewritten takes its title from its content (an entry of ``nav``
    without a title)."""
    config = kept.config
    if any(name not in config.hooks for name in config.plugins):
        return False
    if fingerprint != kept.fingerprint or static_files(config, docs) != kept.static:
        return False
    if utils.get_build_date() != kept.day:
        return False
    listed = {id(page) for page in kept.nav.pages}
    if any((file := kept.files.get_file_from_path(relative)) is not None and id(file.page) in listed
           for relative in removed):
        return False
    # a page of the navigation whose title mkdocs.yml does not give takes it from its content:
    # if the generator rewrote it, the title every page shows may have changed
    return not any((file := kept.files.get_file_from_path(relative)) is not None and id(file.page) in listed
                   and "title" not in vars(file.page) for relative in written)


def _in_order(files: Files, docs: Path) -> None:
    """The generated pages after the others, in the order of their paths, as the hooks' on_files
    appends them (the sitemap lists the pages in that order)."""
    generated = [file for file in files if file.abs_src_path and Path(file.abs_src_path).is_relative_to(docs)]
    for file in generated:
        files.remove(file)
    for file in sorted(generated, key=lambda file: file.src_uri.split("/")):
        files.append(file)


def rebuild(kept: Kept, docs: Path, written: list[str], removed: list[str]) -> None:
    """Render the pages of ``written`` (paths in ``docs``, the generator's docs tree) and take
    those of ``removed`` out of the files (the hooks have deleted their HTML), with what the build
    before kept, as MkDocs' dirty build does. Raises what MkDocs' build raises (Abort)."""
    config, files, nav, env = kept.config, kept.files, kept.nav, kept.env
    counter = utils.CountHandler()
    counter.setLevel(logging.WARNING)
    if config.strict:
        logging.getLogger("mkdocs").addHandler(counter)
    start = time.monotonic()
    try:
        config.plugins.on_pre_build(config=config)
        for relative in removed:
            if (file := files.get_file_from_path(relative)) is not None:
                files.remove(file)
        added = [File.generated(config, relative, abs_src_path=str(docs / relative))
                 for relative in written if files.get_file_from_path(relative) is None]
        set_exclusions(added, config)
        for file in added:
            files.append(file)
            Page(None, file, config)  # as MkDocs' navigation gives each page it does not list
        if added:
            _in_order(files, docs)
        pages = [files.get_file_from_path(relative).page for relative in written]
        for page in pages:
            _populate_page(page, config, files)
        env = config.plugins.on_env(env, config=config, files=files)
        files.copy_static_files(dirty=True, inclusion=InclusionLevel.is_in_serve)
        for template in config.theme.static_templates:
            _build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            _build_extra_template(template, files, config, nav)
        doc_files = files.documentation_pages(inclusion=InclusionLevel.is_in_serve)
        for page in pages:
            _build_page(page, config, doc_files, nav, env, excluded=page.file.inclusion.is_excluded())
        for page in pages:
            page.validate_anchor_links(files=files, log_level=config.validation.links.anchors)
        _release(pages, nav)
        config.plugins.on_post_build(config=config)
        if counts := counter.get_counts():
            raise Abort(f"Aborted with {', '.join(f'{v} {k.lower()}s' for k, v in counts)} in strict mode!")
        log.info(f"Documentation built in {time.monotonic() - start:.2f} seconds")
    except Exception as error:
        config.plugins.on_build_error(error=error)
        if isinstance(error, BuildError):
            log.error(str(error))
            raise Abort("Aborted with a BuildError!")
        raise
    finally:
        logging.getLogger("mkdocs").removeHandler(counter)
