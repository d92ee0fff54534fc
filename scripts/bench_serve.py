#!/usr/bin/env python3
"""How fast `mkdocs serve` / `kb serve` reloads after one record is edited, and what it writes.

    .venv/bin/python scripts/benchmark.py --records 1000 --keep /tmp/servebench   # makes a project
    .venv/bin/python scripts/bench_serve.py /tmp/servebench/kb-1000-client --serve mkdocs
    .venv/bin/python scripts/bench_serve.py /tmp/servebench/kb-1000-client --serve kb --json out.json

It starts the server on the project (a folder with mkdocs.yml, generator/ and content/) as its
own process, waits for the first build, then --edits times: waits until the server is idle,
makes one edit, and measures. The edits take --sorts in turn, each on other records:

* summary: a sentence at the start of a risk's summary (with --record, that record's);
* name: an organization that others link to renamed (their pages show its name);
* reference: a paragraph linking to an expert added to a risk's article (a new reference);
* new: an expert added (a new page);
* deleted: the expert added before deleted (its page goes: the check is that it answers 404).

For each edit:

* the reload: seconds from saving the file to the server's "Reloading browsers" (what a reader
  waits for; it includes the file watcher's polling, up to half a second), and the CPU seconds the
  server process and its children spent meanwhile;
* files written in that reload, by their modification time: the generator's Markdown in
  build/docs, and in the served site the HTML pages, the search index (pagefind/), the data
  export (data/) and anything else;
* with a background refresh of the search index and data (``kb serve``), the seconds until the
  server logs that search is refreshed, that the JSON and CSV of data/ are, and that everything
  is (the SQLite file last), and the files it wrote;
* that the served page shows the edit (and, after a refresh, the record's JSON);
* how many records' pages the generator made again (``kb serve`` keeps what the reload before
  made and makes again only what read something that changed: generator/incremental.py), and
  how many pages MkDocs rebuilt, from the log.

The server's log is kept beside the --json file (or printed with --verbose). The project's
content/ is edited in place: run it on a throw-away project, e.g. one made by benchmark.py --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

READY = re.compile(r"Serving on ")
RELOADED = re.compile(r"Reloading browsers")
FAILED = re.compile(r"An error happened during the rebuild|Aborted with|^ERROR")
REFRESH_STARTED = re.compile(r"refreshing the search index and data")
REFRESH_DONE = re.compile(r"search index and data refreshed|search index and data: refresh failed")
SEARCH_DONE = re.compile(r"search index refreshed|search index and data refreshed")  # the first comes when only changed pages are indexed
DATA_DONE = re.compile(r"data/ refreshed but knowledge.sqlite|search index and data refreshed")
TODAY = "2026-01-07"
RACY_SECONDS = 2.5  # (generator/load.py's RACY_NS is 2 s)


class Server:
    """The serve command as a child process; every line it prints, with the time it arrived."""

    def __init__(self, project: Path, serve: str, port: int, env: dict):
        python = sys.executable
        address = ["-a", f"127.0.0.1:{port}"]
        command = {
            "mkdocs": [python, "-m", "mkdocs", "serve", *address],
            "mkdocs-dirty": [python, "-m", "mkdocs", "serve", "--dirty", *address],
            "kb": [python, "-m", "generator", "serve", *address],
        }[serve]
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), "<exited>"))
            self.cond.notify_all()

    def wait_for(self, pattern: re.Pattern, after: float, timeout: float) -> float:
        """The time of the first line after ``after`` that matches; raises on a failed build."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, line in self.lines:
                    if at < after:
                        continue
                    if pattern.search(line):
                        return at
                    if FAILED.search(line) or line == "<exited>":
                        raise RuntimeError(f"the server failed: {line}\n" + self.log())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no line matching {pattern.pattern!r} in {timeout} s\n" + self.log()[-3000:])
                self.cond.wait(left)

    def seen(self, pattern: re.Pattern, after: float, before: float) -> bool:
        with self.cond:
            return any(after <= at <= before and pattern.search(line) for at, line in self.lines)

    def cpu(self) -> float:
        """CPU seconds of the server and of its children it has waited for (Pagefind, export)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(int(v) for v in fields[11:15]) / ticks

    def log(self) -> str:
        with self.cond:
            return "\n".join(f"{at - self.started:8.2f}  {line}" for at, line in self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def written_since(folder: Path, since_ns: int) -> dict[str, int]:
    """Files under ``folder`` modified at or after ``since_ns``, by part of the site."""
    counts = {"pages": 0, "pagefind": 0, "data": 0, "other": 0, "markdown": 0}
    if not folder.is_dir():
        return counts
    for path in folder.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_mtime_ns < since_ns:
                continue
        except FileNotFoundError:
            continue
        top = path.relative_to(folder).parts[0]
        if path.suffix == ".md":
            counts["markdown"] += 1
        elif top in ("pagefind", "data"):
            counts[top] += 1
        elif path.suffix == ".html":
            counts["pages"] += 1
        else:
            counts["other"] += 1
    return {k: v for k, v in counts.items() if v}


SORTS = ("summary", "name", "reference", "new", "deleted")


def edit_record(path: Path, number: int) -> str:
    """Put a marker at the start of the record's summary; return the marker."""
    marker = f"Edited-{number}-{os.getpid()}"
    text = re.sub(r"^(summary: (?:>-\n  )?)(?:Edited-\S+ )?", rf"\g<1>{marker} ", path.read_text(), count=1,
                  flags=re.M)
    path.write_text(text)
    return marker


def _nth(content: Path, kind: str, n: int, suffix: str = ".yaml") -> Path:
    paths = sorted((content / kind).glob(f"*{suffix}"))
    return paths[n % len(paths)]


def make_edit(sort: str, number: int, content: Path, record: Path | None, added: list[str]) -> tuple[str, str | None]:
    """Make edit ``number`` of ``sort``; (the record's page, the text it must now show, or None:
    it must be gone)."""
    marker = f"Edited-{number}-{os.getpid()}"
    if sort == "summary":
        path = record or _nth(content, "risks", number)
        return f"{path.parent.name}/{path.stem}.html", edit_record(path, number)
    if sort == "name":
        path = _nth(content, "organizations", number)
        text = re.sub(r"^name: (.*?)(?: Edited-\S+)?$", rf"name: \1 {marker}", path.read_text(), count=1, flags=re.M)
        path.write_text(text)
        return f"organizations/{path.stem}.html", marker
    if sort == "reference":
        path = _nth(content, "risks", number, ".md")
        path.write_text(path.read_text() + f"\n\n{marker} is about [[{_nth(content, 'experts', number).stem}]].\n")
        return f"risks/{path.stem}.html", marker
    if sort == "new":
        template = _nth(content, "experts", number)
        record_id = f"bench-serve-new-{number}-{os.getpid()}"
        text = re.sub(r"^id: .*$", f"id: {record_id}", template.read_text(), count=1, flags=re.M)
        (content / "experts" / f"{record_id}.yaml").write_text(re.sub(r"^name: .*$", f"name: {marker}", text,
                                                                      count=1, flags=re.M))
        added.append(record_id)
        return f"experts/{record_id}.html", marker
    if sort == "deleted":
        if not added:
            raise SystemExit("a 'deleted' edit deletes the record a 'new' edit added: put new before deleted")
        record_id = added.pop(0)
        (content / "experts" / f"{record_id}.yaml").unlink()
        return f"experts/{record_id}.html", None
    raise ValueError(sort)


def _last_count(pattern: str, lines: list[str]) -> int | None:
    found = [m.group(1) for line in lines for m in [re.search(pattern, line)] if m]
    return int(found[-1].replace(",", "")) if found else None


def fetch(port: int, url: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{url}", timeout=600) as response:
        return response.read().decode("utf-8", "replace")


def status(port: int, url: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{url}", timeout=600) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def measure(project: Path, serve: str, edits: int, timeout: float, record: str | None,
            sorts: tuple[str, ...] = ("summary",)) -> dict:
    project = project.resolve()
    scratch = project / ".bench-serve-tmp"
    scratch.mkdir(exist_ok=True)
    for old in scratch.glob("mkdocs_*"):
        subprocess.run(["rm", "-rf", str(old)], check=False)
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=str(project), NO_MKDOCS_2_WARNING="1", CI="1")
    env.setdefault("KB_DIAGRAMS", "client")
    env.setdefault("KB_TODAY", TODAY)
    content = project / "content"
    target = content / (record or f"risks/{sorted((content / 'risks').glob('*.yaml'))[0].name}")
    kind, record_id = target.parent.name, target.stem
    added: list[str] = []
    # An editor's files are older than the few seconds within which load reads a file again on
    # the next reload whatever its times say (load.RACY_NS): a base made just now would have
    # thousands of them read again by the first reload, which no editor sees.
    newest = max((path.stat().st_mtime for path in content.rglob("*") if path.is_file()), default=0.0)
    time.sleep(max(0.0, newest + RACY_SECONDS - time.time()))
    port = free_port()
    server = Server(project, serve, port, env)
    result: dict = {"serve": serve, "project": str(project), "record": f"{kind}/{record_id}",
                    "records": sum(1 for _ in (project / "content").rglob("*.*")), "reloads": []}
    try:
        ready = server.wait_for(READY, server.started, timeout)
        result["first_build_seconds"] = round(ready - server.started, 2)
        if server.seen(REFRESH_STARTED, server.started, time.monotonic()):
            server.wait_for(REFRESH_DONE, server.started, timeout)
        site = next(scratch.glob("mkdocs_*"))
        for number in range(1, edits + 1):
            idle = server.cpu()
            time.sleep(3)  # idle: the watcher has seen every earlier change
            cpu_before = server.cpu()
            since_ns = time.time_ns()
            saved = time.monotonic()
            sort = sorts[(number - 1) % len(sorts)]
            page, marker = make_edit(sort, number, content, target if record else None, added)
            reloaded = server.wait_for(RELOADED, saved, timeout)
            lines = [line for at, line in server.lines if at >= saved]
            reload: dict = {"sort": sort, "page": page, "seconds": round(reloaded - saved, 2),
                            "cpu_seconds": round(server.cpu() - cpu_before, 2),
                            "records_remade": _last_count(r"([\d,]+) records' pages made again", lines),
                            "mkdocs_rebuilt": _last_count(r"MkDocs rebuilt ([\d,]+) of", lines),
                            "idle_cpu_percent": round(100 * (cpu_before - idle) / 3),
                            "generator_wrote": written_since(project / "build" / "docs", since_ns).get("markdown", 0),
                            "site_wrote": written_since(site, since_ns)}
            reload["page_shows_edit"] = (status(port, page) == 404 if marker is None
                                         else marker in fetch(port, page))
            time.sleep(0.5)
            if server.seen(REFRESH_STARTED, saved, time.monotonic()):
                done = server.wait_for(REFRESH_DONE, saved, timeout)
                reload["refresh_seconds_after_save"] = round(done - saved, 2)
                reload["search_seconds_after_save"] = round(server.wait_for(SEARCH_DONE, saved, timeout) - saved, 2)
                reload["data_seconds_after_save"] = round(server.wait_for(DATA_DONE, saved, timeout) - saved, 2)
                reload["cpu_seconds_with_refresh"] = round(server.cpu() - cpu_before, 2)
                reload["site_wrote_with_refresh"] = written_since(site, since_ns)
                data = "data/" + page.removesuffix(".html") + ".json"
                reload["data_shows_edit"] = (status(port, data) == 404 if marker is None
                                             else sort == "reference" or marker in fetch(port, data))
            result["reloads"].append(reload)
            print(f"{serve}: reload {number}: {json.dumps(reload)}", file=sys.stderr)
    finally:
        server.stop()
        result["log"] = server.log()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="folder with mkdocs.yml, generator/ and content/")
    parser.add_argument("--serve", choices=("mkdocs", "mkdocs-dirty", "kb"), action="append",
                        help="mkdocs serve, mkdocs serve --dirty or kb serve; repeatable (default: mkdocs and kb)")
    parser.add_argument("--edits", type=int, default=3, help="reloads to measure per server (default 3)")
    parser.add_argument("--record", help="record whose summary to edit, e.g. risks/goal-drift.yaml (default: "
                                          "the first risk, then others)")
    parser.add_argument("--sorts", default="summary",
                        help=f"comma-separated edits to take in turn, of {', '.join(SORTS)} (default summary; "
                             "'all' for every sort)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path, help="write the figures (and the server logs beside it)")
    parser.add_argument("--verbose", action="store_true", help="print the server's log")
    args = parser.parse_args(argv)
    results = []
    for serve in args.serve or ["mkdocs", "kb"]:
        sorts = SORTS if args.sorts == "all" else tuple(args.sorts.split(","))
        if not set(sorts) <= set(SORTS):
            parser.error(f"--sorts: one or more of {', '.join(SORTS)}")
        result = measure(args.project, serve, args.edits, args.timeout, args.record, sorts)
        log = result.pop("log")
        if args.verbose:
            print(log, file=sys.stderr)
        if args.json:
            args.json.with_name(f"{args.json.stem}-{serve}.log").write_text(log + "\n")
        results.append(result)
    print("| server | records | first build | edit | reload (s) | CPU (s) | records' pages made again | "
          "generator wrote | MkDocs rebuilt | site wrote | search, JSON and CSV, all data refreshed after (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for n, reload in enumerate(r["reloads"], 1):
            wrote = ", ".join(f"{v} {k}" for k, v in reload["site_wrote"].items())
            refreshed = (f"{reload['search_seconds_after_save']}, {reload['data_seconds_after_save']}, "
                         f"{reload['refresh_seconds_after_save']}" if "refresh_seconds_after_save" in reload else "-")
            print(f"| {r['serve']} #{n} | {r['records']:,} | {r['first_build_seconds']} s | {reload['sort']} | "
                  f"{reload['seconds']} | {reload['cpu_seconds']} | {reload['records_remade'] or '-'} | "
                  f"{reload['generator_wrote']} | {reload['mkdocs_rebuilt'] or '-'} | {wrote} | {refreshed} |")
        seconds = [reload["seconds"] for reload in r["reloads"]]
        refreshed = [[reload[f"{what}_seconds_after_save"] for reload in r["reloads"] if "refresh_seconds_after_save" in reload]
                     for what in ("search", "data", "refresh")]
        if seconds:
            print(f"| {r['serve']} median | | | | **{statistics.median(seconds):.2f}** | | | | | | "
                  f"{', '.join(f'{statistics.median(t):.2f}' for t in refreshed) if refreshed[0] else '-'} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ok = all(reload["page_shows_edit"] and reload.get("data_shows_edit", True)
             for r in results for reload in r["reloads"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
