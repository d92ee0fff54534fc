"""Part of the site stage: MkDocs builds a large site in parts, one process per core.

MkDocs converts and lays out one page after another in one process, and that was half of a cold
`kb build` at 10,000 records, with the second core idle. Its pages are independent of one another
once the navigation is made (it is fixed in mkdocs.yml), so ``build`` runs it ``count`` times at
once, into the same site folder: part 0 in this process, the others each in a process of its own
(``python -m generator.site_parts``, a fresh interpreter: a fork would copy the build's whole
memory). Each is a *dirty* MkDocs build that sees every file and the whole navigation but
treats as modified, so converts and writes, only its own share (:func:`claim`):

* its pages, every ``count``-th in the order of their paths;
* all pages of the navigation, converted in every part (their titles and links are the same in
  every page's navigation) and written by their own part only;
* the static files, the theme's 404 page and the sitemap: part 0 alone.

MkDocs checks the anchors of links between the pages one part built; the links from a page of
one part to a page of another are checked here, after all parts (:func:`check_anchors`, logged
at the level of ``validation.links.anchors``, an error in strict mode), from what each part
reports (:func:`report`), and so is that every part saw the same pages and each was written (a
page added or removed between two parts' listings would shift every share: :func:`check_pages`).
The other parts' warnings are logged here after them; in strict mode any fails the build. A
site whose mkdocs.yml names a plugin or an extra template is built in one part (a plugin may
gather from every page). ``tests/test_site_parts.py`` builds a site both ways and compares every
file byte for byte.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from . import processes

ENV = "KB_SITE_PART"  # "index/count" of the part the MkDocs build in this process makes
REPORT_ENV = "KB_SITE_PART_REPORT"  # where that part writes what it found (anchors, links)
PARTS_FROM = 400  # pages: below this, one process (starting another costs about a second)

log = logging.getLogger("mkdocs.plugins.kb")


def part() -> tuple[int, int]:
    """(index, count) of this process's part: (0, 1) when the site is built whole (also when only
    one of the two variables is set: both are :func:`build`'s)."""
    value = os.environ.get(ENV, "") if os.environ.get(REPORT_ENV) else ""
    try:
        index, count = (int(number) for number in value.split("/"))
    except ValueError:
        return 0, 1
    return (index, count) if 0 <= index < count else (0, 1)


def _set(file, modified: bool) -> None:
    file.is_modified = (lambda: True) if modified else (lambda: False)


def claim(files, nav) -> int:
    """on_nav of a part: mark what it converts (its pages and the navigation's) as modified and
    the rest not; returns how many pages it writes."""
    index, count = part()
    in_nav = {page.file.src_uri for page in nav.pages}
    pages = sorted(files.documentation_pages(), key=lambda file: file.src_uri)
    written = 0
    for number, file in enumerate(pages):
        own = number % count == index
        _set(file, own or file.src_uri in in_nav)
        file.kb_own = own
        written += own
    for file in files:
        if not file.is_documentation_page():
            _set(file, index == 0)
    return written


def release(files) -> None:
    """on_env of a part, once every page is converted: the pages of the navigation another part
    writes are left to it."""
    for file in files.documentation_pages():
        if not getattr(file, "kb_own", True):
            _set(file, False)


def theme_templates(config) -> None:
    """on_config of a part: the theme's own pages (404.html, sitemap.xml) are part 0's."""
    if part()[0] != 0:
        config.theme.static_templates.clear()


def report(files) -> None:
    """on_post_build of a part: the anchors of the pages it wrote and their links to anchors of
    other pages, for :func:`check_anchors`."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    anchors, links, seen = {}, {}, []
    for file in files.documentation_pages():
        seen.append(file.src_uri)
        page = file.page
        if not getattr(file, "kb_own", False) or page is None or page.present_anchor_ids is None:
            continue
        anchors[file.src_uri] = sorted(page.present_anchor_ids)
        links[file.src_uri] = {to.src_uri: dict(found) for to, found in (page.links_to_anchors or {}).items()}
    Path(target).write_text(json.dumps({"pages": sorted(seen), "anchors": anchors, "links": links}), encoding="utf-8")


def check_pages(reports: list[dict]) -> str | None:
    """Whether the parts saw the same pages and wrote each: a page added or removed while they
    listed the docs tree would shift every part's share (half the site unwritten)."""
    listings = {tuple(found["pages"]) for found in reports}
    written = sorted(uri for found in reports for uri in found["anchors"])
    if len(listings) != 1 or written != list(next(iter(listings))):
        return ("the docs tree changed while the site was built in parts (a page was added or removed): "
                "build again")
    return None


def check_anchors(reports: list[dict]) -> list[str]:
    """MkDocs' words for each link from a page of one part to an anchor that a page of another
    part does not have (those within a part MkDocs checked itself)."""
    owner = {uri: number for number, found in enumerate(reports) for uri in found["anchors"]}
    anchors = {uri: set(ids) for found in reports for uri, ids in found["anchors"].items()}
    problems = []
    for number, found in enumerate(reports):
        for source, targets in sorted(found["links"].items()):
            for target, links in sorted(targets.items()):
                if owner.get(target, number) == number:
                    continue
                for anchor, original in sorted(links.items()):
                    if anchor not in anchors[target]:
                        problems.append(f"Doc file '{source}' contains a link '{original}', but the doc "
                                        f"'{target}' does not contain an anchor '#{anchor}'.")
    return problems


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parts_for(config, docs: Path, own_hooks: set[str]) -> int:
    """How many parts a docs tree is built in: one per core, two at most; one for a small site,
    and one when mkdocs.yml names a plugin or an extra template (a plugin may gather something
    from every page, search's index say, and a template is written by every part) besides the
    generator's own hooks (``own_hooks``)."""
    if any(name not in own_hooks for name in config.plugins) or config.extra_templates:
        return 1
    pages = sum(1 for _ in docs.rglob("*.md"))
    return 2 if pages >= PARTS_FROM and _cores() >= 2 else 1


def build(config_file: Path, docs: Path, site: Path, count: int, config) -> str | None:
    """The site built in ``count`` parts, part 0 here with ``config`` (mkdocs.yml as loaded for
    this build); what went wrong, or None. What the other parts log (their warnings, when the
    build is not strict) is logged here after them."""
    import time

    from mkdocs import utils

    if site.is_dir():
        utils.clean_directory(str(site))  # a dirty build cleans nothing
    with tempfile.TemporaryDirectory(prefix="kb-site-parts-") as scratch:
        reports = [Path(scratch) / f"part-{number}.json" for number in range(count)]
        others = []
        try:
            # the same generator package as this process's, whatever the working folder holds (-P: not
            # the working folder first)
            package_home = str(Path(__file__).resolve().parent.parent)
            python_path = os.pathsep.join(filter(None, [package_home, os.environ.get("PYTHONPATH")]))
            for number in range(1, count):
                environment = {**os.environ, ENV: f"{number}/{count}", REPORT_ENV: str(reports[number]),
                               "PYTHONPATH": python_path}
                errors = open(Path(scratch) / f"part-{number}.log", "w+b")  # noqa: SIM115 (closed below)
                others.append((subprocess.Popen(
                    [sys.executable, "-P", "-m", "generator.site_parts", *(str(path.resolve()) for path in (config_file, docs, site))],
                    env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                    preexec_fn=processes.dies_with_parent()), errors))
            started = time.monotonic()
            problem = _in_this_process(config, f"0/{count}", reports[0])
            failures = [problem] if problem else []
            # The other parts do as much work as this one: one that takes far longer is stuck.
            deadline = time.monotonic() + max(WAIT_AT_LEAST, WAIT_FACTOR * (time.monotonic() - started))
            for number, (other, errors) in enumerate(others, start=1):
                try:
                    other.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    failures.append(f"part {number} of the site did not finish: stopped {WAIT_FACTOR:g} times as "
                                    "long as part 0 took")
                    continue
                errors.seek(0)
                said = [line for line in errors.read().decode("utf-8", "replace").splitlines()
                        if line.startswith(("WARNING", "ERROR", "CRITICAL")) or _PROBLEM.match(line)]
                if other.returncode != 0:
                    failures.append(f"part {number} of the site failed (exit {other.returncode})"
                                    + ("".join("\n" + line for line in said)))
                else:
                    for line in said:  # not strict: the warnings are shown, as in a build in one part
                        log.warning("%s", line.split(" - ", 1)[-1])
        finally:  # stopped, failed or done: no part goes on without this one
            for other, errors in others:
                if other.poll() is None:
                    other.kill()
                    other.wait()
                errors.close()
        if failures:
            return "\n".join(failures)
        found = [json.loads(path.read_text(encoding="utf-8")) for path in reports]
    changed = check_pages(found)
    if changed:
        return changed
    level, problems = config.validation.links.anchors, check_anchors(found)
    for problem in problems:  # as MkDocs logs them: at the level of validation.links.anchors
        log.log(level, "%s", problem)
    if problems and config.strict and level >= logging.WARNING:
        return "Aborted with a link to a missing anchor in strict mode:\n" + "\n".join(problems)
    return None


WAIT_AT_LEAST = 120.0  # seconds the other parts are waited for after part 0, at least ...
WAIT_FACTOR = 4.0  # ... or this many times as long as part 0 took
_PROBLEM = re.compile(r"MkDocs build failed|Aborted|Error")


def _in_this_process(config, which: str, report_to: Path) -> str | None:
    """One part built by MkDocs in this process, dirty, with ``config`` (mkdocs.yml with
    page_hooks.py as its only hook: pipeline.mkdocs_config)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    from .build import watch_dirty_builds

    before = {name: os.environ.get(name) for name in (ENV, REPORT_ENV)}
    try:
        os.environ.update({ENV: which, REPORT_ENV: str(report_to)})
        watch_dirty_builds()  # MkDocs' warning that a build is dirty is not one here
        mkdocs_build(config, dirty=True)
    except (MkDocsException, SystemExit) as exc:
        return f"MkDocs build failed: {exc}"
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return None


def main(argv: list[str]) -> int:
    """A part beside the build (see :func:`build`): its warnings and errors on stderr, exit
    status 1 when it failed."""
    from .pipeline import mkdocs_config

    config_file, docs, site = (Path(value) for value in argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s - %(message)s")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    problem = _in_this_process(mkdocs_config(config_file, docs, site), os.environ[ENV], Path(os.environ[REPORT_ENV]))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
