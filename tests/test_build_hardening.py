"""`kb build` cleans up after itself: killed, failing, or short of disk space or permissions.

Real `kb build` processes on a small project (a synthetic base of scripts/benchmark.py, so that
each phase lasts long enough to be caught), killed from outside at points seen from outside:
while MkDocs writes the staging folder, after the export began, while Pagefind runs. What a
build guarantees (generator/build.py, build_site): no staging folder or child process left
behind a build stopped by SIGTERM; after SIGKILL the next build removes the leftover; the site
folder complete at every moment; a folder it cannot write or a full disk reported in one
diagnostic (exit 1), never a traceback.

Read-only folders: the tests run as root, whom permission bits do not stop, and the Python of
.venv lives under /root, which the user nobody cannot enter; so the builds run as root without
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (dropped from the bounding set before exec), which
the permission bits do stop. A full disk: a 64 MB tmpfs mounted for the test, nearly filled;
where mounting is not allowed, a file size limit (RLIMIT_FSIZE) instead.
"""
from __future__ import annotations

import ctypes
import errno
import importlib.util
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import build

REPO = Path(__file__).resolve().parent.parent
KB = Path(sys.executable).parent / "kb"
ENV = {**os.environ, "KB_DIAGRAMS": "client", "KB_TODAY": "2026-01-07", "NO_MKDOCS_2_WARNING": "1",
       "PYTHONDONTWRITEBYTECODE": "1"}
RECORDS = 150  # a build of some 5 s here: long enough phases to kill it in each

_spec = importlib.util.spec_from_file_location("kb_benchmark_script", REPO / "scripts" / "benchmark.py")
benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark)


# ---------------------------------------------------------------------------- projects and builds


def make_project(folder: Path, records: int = RECORDS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", folder / "mkdocs.yml")
    (folder / "generator").symlink_to(REPO / "generator")
    benchmark.write_records(folder / "content", records, seed=3)
    return folder


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    """A project built once; each test gets a copy (:func:`project`) with its previous site."""
    project = make_project(tmp_path_factory.mktemp("hardening") / "project")
    done = run_build(project)
    assert done.returncode == 0, done.stderr
    return project


@pytest.fixture
def project(built_template, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built_template, copy, symlinks=True)
    return copy


def start_build(project: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([str(KB), "build"], cwd=project, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def run_build(project: Path, **popen) -> subprocess.CompletedProcess:
    process = start_build(project, **popen)
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".site.new-", ".site.old-")))


def snapshot(site: Path) -> tuple[int, dict[str, bytes]]:
    """The site folder's inode (a swap puts another folder there) and a few of its files."""
    return site.stat().st_ino, {name: (site / name).read_bytes()
                                for name in ("index.html", "search.html", "data/all.json", "pagefind/pagefind.js")}


# ---------------------------------------------------------------------------- processes, from /proc


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after "pid (comm)": state, ppid, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def running() -> dict[int, tuple[int, str]]:
    """Every live process (zombies are dead): pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[0] in ("Z", "X"):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), cmdline)
    return found


def children_of(pid: int) -> dict[int, str]:
    return {child: cmdline for child, (parent, cmdline) in running().items() if parent == pid}


def mentioning(text: str) -> dict[int, str]:
    return {pid: cmdline for pid, (_, cmdline) in running().items() if text in cmdline}


def wait_until(process: subprocess.Popen, ready, what: str, timeout: float = 300) -> None:
    """Poll every 2 ms until ``ready()``; fail if the build ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the build ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.002)


class SitePoller:
    """Another process that checks, as fast as it can, that ``<site>/index.html`` exists; it
    reports how many checks it made and how many found it missing. It stops when told to, or
    when the test process is gone (a failed test must not leave it spinning)."""

    CODE = ("import os, sys\n"
            "page, stop, parent = sys.argv[1], sys.argv[2], os.getppid()\n"
            "checks = missing = 0\n"
            "print('polling', flush=True)\n"
            "while not os.path.exists(stop) and (checks % 10000 or os.getppid() == parent):\n"
            "    checks += 1\n"
            "    missing += not os.path.exists(page)\n"
            "print(checks, missing)\n")

    def __init__(self, site: Path, stop: Path):
        self.stop = stop
        self.process = subprocess.Popen([sys.executable, "-c", self.CODE, str(site / "index.html"), str(stop)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline() == "polling\n"

    def result(self) -> tuple[int, int]:
        self.stop.touch()
        checks, missing = map(int, self.process.communicate(timeout=30)[0].split())
        return checks, missing

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def site_poller(tmp_path):
    """``site_poller(site)`` starts a :class:`SitePoller`; every one is ended after the test."""
    started = []

    def start(site: Path) -> SitePoller:
        started.append(SitePoller(site, tmp_path / f"stop-{len(started)}"))
        return started[-1]

    yield start
    for poller in started:
        poller.end()


def staging_of(project: Path, process: subprocess.Popen) -> Path:
    return project / f".site.new-{process.pid}"


def pagefind_running(process: subprocess.Popen) -> bool:
    return any("pagefind" in cmdline for cmdline in children_of(process.pid).values())


KILL_POINTS = {
    # MkDocs copies the theme's assets after reading every page, then writes the pages
    "mkdocs": lambda project, process: (staging_of(project, process) / "assets").is_dir(),
    "export": lambda project, process: (staging_of(project, process) / "data").is_dir(),
    "pagefind": lambda project, process: pagefind_running(process),
}


# ---------------------------------------------------------------------------- killed builds


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_build_stopped_by_sigterm_leaves_no_folder_no_child_and_the_previous_site(project, point):
    before = snapshot(project / "site")
    process = start_build(project)
    staging = staging_of(project, process)
    wait_until(process, lambda: KILL_POINTS[point](project, process), point)
    children = children_of(process.pid)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err, err
    assert leftovers(project) == [] and not staging.exists()
    assert snapshot(project / "site") == before
    assert not (set(children) & set(running())), f"children left running: {children}"
    assert not mentioning(str(staging)), mentioning(str(staging))
    if point == "pagefind":
        assert any("pagefind" in cmdline for cmdline in children.values()), children


@pytest.mark.parametrize("point", KILL_POINTS)
def test_after_a_sigkill_the_next_build_removes_the_leftover_and_the_site_never_goes_missing(project, point,
                                                                                           site_poller):
    before = snapshot(project / "site")
    poller = site_poller(project / "site")
    process = start_build(project)
    staging = staging_of(project, process)
    wait_until(process, lambda: KILL_POINTS[point](project, process), point)
    process.kill()
    process.communicate(timeout=60)
    assert staging.is_dir() and snapshot(project / "site") == before
    deadline = time.monotonic() + 10  # Pagefind gets SIGKILL from the kernel as the build dies
    while mentioning(str(staging)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not mentioning(str(staging)), mentioning(str(staging))

    again = run_build(project)
    checks, missing = poller.result()
    assert again.returncode == 0, again.stderr
    assert f"removing {staging}, left by a build that was stopped" in again.stderr
    assert leftovers(project) == []
    inode, files = snapshot(project / "site")
    assert inode != before[0] and files == before[1]  # another folder, the same complete site
    assert checks > 1000 and missing == 0, (checks, missing)


# ---------------------------------------------------------------------------- the swap and the lock


def _two_sites(folder: Path) -> tuple[Path, Path]:
    final, staging = folder / "site", folder / ".site.new-1"
    for site, text in ((final, "old"), (staging, "new")):
        site.mkdir()
        (site / "index.html").write_text(text)
    return staging, final


def test_the_exchange_leaves_no_moment_without_a_site(tmp_path, site_poller):
    staging, final = _two_sites(tmp_path)
    poller = site_poller(final)
    exchanges, until = 0, time.monotonic() + 0.5
    while time.monotonic() < until or exchanges % 2:
        build._swap(staging, final)
        exchanges += 1
    checks, missing = poller.result()
    assert checks > 1000 and missing == 0, (exchanges, checks, missing)
    assert (final / "index.html").read_text() == "old" and (staging / "index.html").read_text() == "new"


def test_without_the_exchange_two_renames_leave_the_old_site_where_the_caller_removes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "_exchange", lambda first, second: False)  # another OS or filesystem
    staging, final = _two_sites(tmp_path)
    build._swap(staging, final)
    assert (final / "index.html").read_text() == "new" and (staging / "index.html").read_text() == "old"
    assert leftovers(tmp_path) == [staging.name]


def test_a_site_missing_beside_an_old_one_is_put_back_and_other_leftovers_removed(tmp_path):
    """What a build killed between the fallback's two renames leaves: the next one repairs it."""
    old = tmp_path / ".site.old-123"
    old.mkdir()
    (old / "index.html").write_text("old")
    (tmp_path / ".site.new-456" / "assets").mkdir(parents=True)
    build._remove_leftovers(tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_text() == "old" and leftovers(tmp_path) == []


def test_a_second_build_of_the_same_site_fails_at_once_and_leaves_the_first_alone(project):
    first = start_build(project)
    staging = staging_of(project, first)
    wait_until(first, staging.is_dir, "the first build's staging folder")
    second = run_build(project)
    assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
    assert f"another build of site is running (pid {first.pid}" in second.stderr, second.stderr
    assert staging.is_dir() and first.poll() is None
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert leftovers(project) == []


# ---------------------------------------------------------------------------- folders it cannot write


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def _without_dac_override() -> None:
    """preexec_fn: root without the capabilities that let it ignore permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def bound_by_permissions(tmp_path):
    """The preexec_fn of a build that permission bits stop (None for a user they already stop)."""
    if os.geteuid() != 0:
        return None
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o555)
    try:
        probe = subprocess.run(["touch", str(closed / "x")], preexec_fn=_without_dac_override, capture_output=True)
    except subprocess.SubprocessError:
        probe = None
    if probe is None or probe.returncode == 0:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here, and root ignores permission bits")
    return _without_dac_override


def _set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _assert_failed_cleanly(done: subprocess.CompletedProcess, project: Path, before, *expected: str) -> None:
    """Exit 1 with one diagnostic and no traceback, nothing left beside the site, the site as it was."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for pattern in expected:
        assert re.search(pattern, done.stderr), (pattern, done.stderr)
    assert "build stopped: the previous site (if any) is untouched" in done.stderr
    assert leftovers(project) == []
    assert snapshot(project / "site") == before


def test_a_read_only_build_folder_is_a_diagnostic_naming_the_file(project, bound_by_permissions):
    before = snapshot(project / "site")
    record = sorted((project / "content" / "systems").glob("*.yaml"))[0]
    record.write_text(record.read_text().replace("summary: >-\n", "summary: >-\n  Edited.\n", 1))
    _set_writable(project / "build", False)
    try:
        done = run_build(project, preexec_fn=bound_by_permissions)
    finally:
        _set_writable(project / "build", True)
    _assert_failed_cleanly(done, project, before, f"cannot write build/docs/systems/{record.stem}.md: Permission denied",
                           "hint: this user may not write in build:")


def test_a_read_only_project_folder_is_a_diagnostic_naming_it(project, bound_by_permissions):
    before = snapshot(project / "site")
    project.chmod(0o555)
    try:
        done = run_build(project, preexec_fn=bound_by_permissions)
    finally:
        project.chmod(0o755)
    _assert_failed_cleanly(done, project, before, r"cannot write \.site\.new-\d+: Permission denied",
                           f"hint: this user may not write in {re.escape(str(project))}:")


# ---------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs (mounted as root), or None where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                             capture_output=True).returncode == 0
    yield disk if mounted else None
    if mounted:
        subprocess.run(["umount", str(disk)], check=True)


def _free(folder: Path) -> int:
    status = os.statvfs(folder)
    return status.f_bavail * status.f_frsize


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        chunk = b"\1" * (1 << 20)
        while _free(disk) - len(chunk) > leave:
            handle.write(chunk)
            handle.flush()
        handle.write(b"\1" * max(0, _free(disk) - leave))
    return filler


WRITTEN = r"cannot write (\.site\.new-\d+|build)(/\S+)?: "  # a file (or, unnamed, the folder) of the build


def _file_size_limit(limit: int):
    def preexec() -> None:  # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_a_full_disk_is_a_diagnostic_and_the_build_frees_what_it_wrote(built_template, small_disk, tmp_path):
    project = (small_disk or tmp_path) / "project"
    shutil.copytree(built_template, project, symlinks=True)
    before = snapshot(project / "site")
    if small_disk is None:  # no tmpfs: a file size limit below the largest file of the site
        largest = max(path.stat().st_size for path in (project / "site").rglob("*") if path.is_file())
        done = run_build(project, preexec_fn=_file_size_limit(largest // 2))
        _assert_failed_cleanly(done, project, before, WRITTEN + os.strerror(errno.EFBIG))
        return
    filler = _fill(small_disk, leave=_size(project / "site") // 2)  # room for half a new site
    free = _free(small_disk)
    done = run_build(project)
    _assert_failed_cleanly(done, project, before, WRITTEN + os.strerror(errno.ENOSPC), "hint: the disk is full")
    assert _free(small_disk) >= free - (64 << 10), "the failed build left files that fill the disk"
    filler.unlink()
    again = run_build(project)
    assert again.returncode == 0, again.stderr
    assert leftovers(project) == []



def test_an_error_naming_a_copy_s_source_and_destination_names_the_file_written(tmp_path):
    staging = tmp_path / ".site.new-1"
    error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/usr/lib/theme/app.js", None, str(staging / "app.js"))
    diagnostic = build._os_diagnostic(error, staging, tmp_path)
    assert diagnostic.message == "cannot write .site.new-1/app.js: No space left on device"
    unnamed = build._os_diagnostic(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), staging, tmp_path)
    assert unnamed.message == "cannot write .site.new-1: No space left on device"
