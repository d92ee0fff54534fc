"""``kb``: a command line of short verbs, each a thin shell over a library function.

Exit codes: 0 success, 1 the knowledge base has errors (or the build could not write its
folders), 2 a usage error; `kb build` stopped by a signal exits 128 + its number (143: SIGTERM).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import pipeline
from .core import KnowledgeBaseError, errors_of, format_github, format_json, format_text
from .engines import ENGINES
from .export import FORMATS as EXPORT_FORMATS
from .kinds import KINDS
from .vocabulary import FILE as VOCABULARY_FILE

FORMATS = {"text": format_text, "json": format_json, "github": format_github}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb", description="Curated knowledge base: validate, build, export.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    check = verbs.add_parser("validate", help="check records; report every error with file and line")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="content folder(s) or record files (default: content); the whole base is "
                            "always checked, the errors of the given files come first")
    check.add_argument("--format", choices=FORMATS, default="text", help="text (default), json or github")
    check.add_argument("--summary", type=Path, metavar="FILE",
                       help="append a Markdown summary (errors; records changed since --base, quality before "
                            "and after); default with --format github: $GITHUB_STEP_SUMMARY")
    check.add_argument("--base", type=Path, metavar="DIR",
                       help="the content folder before the change (the pull request's base), for the summary")
    check.set_defaults(run=_validate)

    schema = verbs.add_parser("schema", help="write schemas/<kind>.schema.json from the models")
    schema.add_argument("--out", type=Path, default=Path("schemas"), help="folder (default: schemas)")
    schema.add_argument("--check", action="store_true", help="exit 1 if the written files would change")
    schema.add_argument("--content", type=Path, default=Path("content"),
                        help="content folder whose vocabulary.yaml gives the choices (default: content)")
    schema.set_defaults(run=_schema)

    new = verbs.add_parser("new", help="start a record: id from the name, required fields as placeholders")
    new.add_argument("kind", choices=sorted(KINDS), help="kind of record")
    new.add_argument("name", help="the record's name (topics: title)")
    new.add_argument("--content", type=Path, default=Path("content"), help="content folder")
    new.add_argument("--article", action=argparse.BooleanOptionalAction, default=None,
                     help="write <id>.md, the fields as front matter then an article (the default for topics); "
                          "--no-article writes <id>.yaml")
    new.set_defaults(run=_new)

    build = verbs.add_parser("build", help="validate, generate and build the site (atomic: site/ is "
                                           "replaced only when the new one is complete)")
    build.add_argument("--config", type=Path, default=Path("mkdocs.yml"))
    build.add_argument("--site", type=Path, default=None, help="output folder (default: site_dir of mkdocs.yml)")
    build.add_argument("--engine", choices=ENGINES, default="mkdocs",
                       help="what builds the site from the docs tree: " + ", ".join(ENGINES) + " (default: mkdocs)")
    build.set_defaults(run=_build)

    serve = verbs.add_parser("serve", help="preview the site; after an edit, rebuild only the pages it changes")
    serve.add_argument("--config", type=Path, default=Path("mkdocs.yml"))
    serve.add_argument("-a", "--dev-addr", metavar="IP:PORT", help="default: dev_addr of mkdocs.yml (127.0.0.1:8000)")
    serve.add_argument("--open", action="store_true", help="open the site in a browser")
    serve.add_argument("--full", action="store_true", help="rebuild every page, the search index and the data "
                                                           "on each change (plain mkdocs serve)")
    serve.set_defaults(run=_serve)

    start = verbs.add_parser("init", help="start a knowledge base in a repository of its own")
    start.add_argument("folder", type=Path, metavar="DIR", help="a new or empty folder")
    start.set_defaults(run=_init)

    export = verbs.add_parser("export", help="write the base as JSON, CSV or SQLite")
    export.add_argument("--format", choices=EXPORT_FORMATS, action="append", dest="formats",
                        help=f"repeatable; default: all ({', '.join(EXPORT_FORMATS)})")
    export.add_argument("--out", type=Path, default=Path("site/data"))
    export.add_argument("--content", type=Path, default=Path("content"))
    export.set_defaults(run=_export)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"kb {args.verb}: {exc}", file=sys.stderr)
        return 2


class UsageError(Exception):
    pass


def _validate(args) -> int:
    """Every error of each base the PATHs are in; those of the given files first (pre-commit
    passes the files a commit touches, and a deletion passes none: the whole base)."""
    roots: dict[Path, list[Path] | None] = {}
    for path in args.paths or [Path("content")]:
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
        if path.is_dir() and path.name in KINDS and not any((path / kind).is_dir() for kind in KINDS):
            # a kind folder of a content folder: its base, with its records' errors first
            if roots.get(path.parent, []) is not None:
                roots.setdefault(path.parent, []).extend(sorted(p for p in path.iterdir() if p.is_file()))
            continue
        if path.is_dir():
            roots[path] = None
            continue
        root = path.parent.parent
        if path.name == VOCABULARY_FILE and path.parent.name not in KINDS:
            root = path.parent  # the base's vocabulary, at the root of its content folder
        elif path.parent.name not in KINDS:
            raise UsageError(f"{path} is not inside a kind folder ({', '.join(KINDS)}) of a content folder, "
                             f"nor the content folder's {VOCABULARY_FILE}")
        if roots.get(root, []) is not None:
            roots.setdefault(root, []).append(path)
    summary = args.summary or (os.environ.get("GITHUB_STEP_SUMMARY") if args.format == "github" else None)
    if args.base is not None and (not args.base.is_dir() or len(roots) != 1 or not summary):
        raise UsageError("--base takes the content folder before the change, compared with one content "
                         "folder, for a summary (--summary FILE, or --format github on GitHub)")
    stages = (*pipeline.CHECK, "score") if summary else pipeline.CHECK
    given, elsewhere, runs = [], [], []
    for root, only in roots.items():
        runs.append(pipeline.run(pipeline.Run(root), stages))
        wanted = None if only is None else {pipeline.display_path(p) for p in only}
        for found in runs[-1].diagnostics:
            (given if wanted is None or found.file in wanted else elsewhere).append(found)
    _report(args.format, given, elsewhere)
    errors = errors_of(given + elsewhere)
    if summary:
        from . import review

        before = pipeline.run(pipeline.Run(args.base), stages) if args.base is not None else None
        with open(summary, "a", encoding="utf-8") as out:
            out.write(review.summary(given + elsewhere, review.changes(before, runs[0]) if before else None))
    if args.format == "text":
        print(f"{len(errors)} error{'s' * (len(errors) != 1)} in {len({d.file for d in errors})} file(s)"
              if errors else "content is valid", file=sys.stderr)
    return 1 if errors else 0


def _report(form: str, given: list, elsewhere: list) -> None:
    """The diagnostics of the given files, then those elsewhere in the base: in text under a
    line that counts them; in JSON each with ``"given"`` true or false, the given ones first."""
    if form == "json":
        print(format_json(given + elsewhere, given={d.file for d in given}))  # the lists split the base by file
        return
    parts = [FORMATS[form](given)]
    if elsewhere:
        errors = len(errors_of(elsewhere))
        if form == "text":
            parts.append(f"elsewhere in the base, {errors} error{'s' * (errors != 1)}"
                         f"{f' and {len(elsewhere) - errors} warning(s)' if len(elsewhere) > errors else ''}:")
        parts.append(FORMATS[form](elsewhere))
    output = "\n".join(part for part in parts if part)
    if output:
        print(output)


def _schema(args) -> int:
    from .pipeline import vocabulary_of
    from .schemas import write_schemas

    try:
        vocabulary = vocabulary_of(args.content).vocabulary
    except KnowledgeBaseError as exc:
        print(format_text(exc.diagnostics), file=sys.stderr)
        return 1
    changed = write_schemas(args.out, dry_run=args.check, vocabulary=vocabulary)
    for path in changed:
        print(("would change " if args.check else "wrote ") + str(path))
    return 1 if (args.check and changed) else 0


def _new(args) -> int:
    from .scaffold import new_record

    try:
        args.name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal's encoding could not decode (surrogate escapes)
        shown = args.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise UsageError(f"the name '{shown}' is not UTF-8 text: set the terminal to UTF-8 "
                         "(e.g. LANG=C.UTF-8) and type it again") from None
    vocabulary = pipeline.run(pipeline.Run(args.content), ("vocabulary",))
    if vocabulary.diagnostics:  # the record is still started, with the defaults where the file is wrong
        print(format_text(vocabulary.diagnostics) + "\n(the new record lists the default values where the "
              "vocabulary has errors)", file=sys.stderr)
    try:
        path = new_record(args.content, args.kind, args.name, args.article, vocabulary.vocabulary)
    except FileExistsError as exc:
        raise UsageError(f"{exc} already exists") from None
    print(path)
    return 0


def _build(args) -> int:
    import logging

    from .build import Stopped, build_site

    runner_log = logging.getLogger("kb")  # the runner's line per stage, on this call's stderr
    for earlier in [h for h in runner_log.handlers if getattr(h, "kb_cli", False)]:
        runner_log.removeHandler(earlier)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kb %(message)s"))
    handler.kb_cli = True
    runner_log.addHandler(handler)
    runner_log.setLevel(logging.INFO)

    from mkdocs.exceptions import ConfigurationError

    if not args.config.is_file():
        raise UsageError(f"no such file: {args.config}")
    try:
        result = build_site(args.config, args.site, args.engine)
    except ConfigurationError as exc:  # mkdocs.yml does not parse or has a bad setting: one line, no traceback
        print(f"kb build: {args.config}: " + " ".join(str(exc).split()), file=sys.stderr)
        return 1
    except Stopped as stopped:  # its staging folder is removed and its children ended: exit as killed
        print(f"kb build: {stopped}; its unfinished site is removed, the site folder holds the last "
              "complete build", file=sys.stderr)
        return 128 + stopped.signum
    if result.diagnostics:
        print(format_text(result.diagnostics), file=sys.stderr)
    if not result.ok:
        print("build stopped: the previous site (if any) is untouched", file=sys.stderr)
        return 1
    print(json.dumps(result.summary), file=sys.stderr)
    return 0


def _serve(args) -> int:
    """`mkdocs serve --dirty` with this project's hooks: see generator/mkdocs_hooks.py."""
    import os

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    import logging

    import click
    from mkdocs.__main__ import ColorFormatter
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import ConfigurationError

    from .engines import package_paths

    if not args.config.is_file():
        raise UsageError(f"no such file: {args.config}")
    handler = logging.StreamHandler()  # MkDocs' log as its command line shows it
    handler.setFormatter(ColorFormatter())
    logging.getLogger("mkdocs").addHandler(handler)
    logging.getLogger("mkdocs").setLevel(logging.INFO)
    options = {**package_paths(args.config), **({"dev_addr": args.dev_addr} if args.dev_addr else {})}
    try:
        serve(str(args.config), build_type=None if args.full else "dirty", open_in_browser=args.open, **options)
    except ConfigurationError as exc:
        print(f"kb serve: {args.config}: " + " ".join(str(exc).split()), file=sys.stderr)
        return 1
    except click.ClickException as exc:  # MkDocs' Abort: the first build failed
        exc.show()
        return 1
    except (click.exceptions.Abort, KeyboardInterrupt):
        return 1
    return 0


def _init(args) -> int:
    from .starter import Refused, init

    try:
        init(args.folder)
    except Refused as exc:
        raise UsageError(str(exc)) from None
    print(f"started a knowledge base in {args.folder}. Next:\n"
          f"  cd {args.folder}\n"
          "  kb validate      # check the records of content/\n"
          "  kb new sources \"Name\"   # add a record\n"
          "  kb serve         # preview the site while you edit\n"
          "  kb build         # the site into site/")
    return 0


def _export(args) -> int:
    run = pipeline.Run(args.content, data=args.out, formats=tuple(args.formats or EXPORT_FORMATS))
    pipeline.run(run, (*pipeline.CHECK, "export"))
    if not run.ok:
        print(format_text(run.diagnostics), file=sys.stderr)
        return 1
    for path in run.exported:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
