"""``kb init DIR``: a knowledge base in a repository of its own, which installs this generator
and runs ``kb validate``, ``kb build`` and ``kb serve`` there. Its mkdocs.yml names only its own
settings: the theme, static assets and hooks come from the installed package
(``engines.package_defaults``)."""
from __future__ import annotations

from pathlib import Path

from .kinds import KINDS
from .vocabulary import FILE as VOCABULARY_FILE, render as render_vocabulary

MKDOCS_YML = """\
# The site of this knowledge base. The theme, its assets and the hooks come from the installed
# generator (pip install kb-wiki); name only this base's own settings here.
site_name: {name}
site_dir: site
use_directory_urls: false
strict: true
theme:
  name: material
  font: false
nav:
  - Home: index.md
markdown_extensions:  # what the generated pages are written for
  - tables
  - attr_list
  - md_in_html
  - toc:
      permalink: true
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: kb-mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
extra_css:  # the generator's assets, copied into the docs tree by kb build and kb serve
  - assets/kb.css
extra_javascript:
  - assets/kb.js
validation:
  nav:
    omitted_files: ignore
  links:
    anchors: warn
"""

EXAMPLE = """\
id: example-source
name: Example 2025
title: An example source
kind: article
year: 2025
summary: >-
  A first record, to show the form; replace it with your own (kb new sources "Name").
status: draft
last_edited: 2025-01-01
"""

WORKFLOW = """\
name: validate
on: [pull_request, push]
permissions:
  contents: read
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      # Pinned by commit: a moved tag cannot change what runs here.
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0
        with:
          python-version: "3.11"
      - run: pip install '{package}[site]'  # [site]: Playwright and Pagefind, for kb build
      - run: kb validate --format github
      - run: kb build
"""

PRE_COMMIT = """\
# kb validate on the staged records (the generator installed in this environment).
repos:
  - repo: local
    hooks:
      - id: kb-validate
        name: kb validate
        entry: kb validate
        language: system
        files: ^content/.*\\.(yaml|md)$
        pass_filenames: true
        always_run: true  # a deletion passes no file, yet can break the base
        require_serial: true
"""

GITIGNORE = "site/\nbuild/\n.site*\n"

PACKAGE = "kb-wiki"  # what the starter's workflow installs: this package, from where it is published


class Refused(Exception):
    """DIR already holds a knowledge base (or something that is not one)."""


def init(folder: Path) -> list[Path]:
    """Write the starter into ``folder`` (created if missing) and return the files written.
    Refuses a folder that already has a mkdocs.yml or a content folder."""
    taken = [name for name in ("mkdocs.yml", "content") if (folder / name).exists()]
    if taken:
        raise Refused(f"{folder} already has {' and '.join(taken)}: kb init starts a new knowledge base "
                      "in an empty folder")
    if folder.exists() and not folder.is_dir():
        raise Refused(f"{folder} is not a folder")
    files = {"mkdocs.yml": MKDOCS_YML.format(name=folder.resolve().name),
             ".github/workflows/validate.yml": WORKFLOW.format(package=PACKAGE),
             ".pre-commit-config.yaml": PRE_COMMIT, ".gitignore": GITIGNORE,
             "content/sources/example-source.yaml": EXAMPLE, f"content/{VOCABULARY_FILE}": render_vocabulary()}
    files.update({f"content/{kind}/.gitkeep": "" for kind in KINDS if kind != "sources"})
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
