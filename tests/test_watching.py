"""How `kb serve` learns of a save (generator/watching.py): inotify at once, a slow poll behind it
for what inotify cannot hear, one build a save, and no build for a file that is only read."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from generator import watching


@pytest.fixture
def watched(tmp_path, monkeypatch, request):
    """A server watching a content folder and mkdocs.yml; the poll behind inotify every half
    second, or every ``request.param`` seconds."""
    from mkdocs.livereload import LiveReloadServer

    monkeypatch.setattr(watching, "BACKUP_POLL", getattr(request, "param", 0.5))
    content = tmp_path / "content"
    (content / "sources").mkdir(parents=True)
    (content / "sources" / "a.yaml").write_text("id: a\n")
    (content / "risks").mkdir()
    (content / "risks" / "r.yaml").write_text("id: r\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(tmp_path))
    server.watch(str(content))
    server.watch(str(tmp_path / "mkdocs.yml"))
    polling = watching.watch_natively(server)
    server.observer.start()
    time.sleep(1.2)  # the polls' first looks
    server._want_rebuild = False
    server.content, server.polling = content, polling
    yield server
    server.observer.stop()
    if polling is not None:
        polling.stop()


def seen(server, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server._want_rebuild:
            return True
        time.sleep(0.02)
    return False


def test_folders_go_to_inotify_and_files_stay_polled(watched, tmp_path):
    from watchdog.observers.inotify import InotifyObserver

    assert isinstance(watched.observer, InotifyObserver)
    assert [e.watch.raw_path for e in watched.observer.emitters] == [str(tmp_path / "content")]
    assert [e.watch.raw_path for e in watched.polling.emitters] == [str(tmp_path / "mkdocs.yml")]
    (tmp_path / "mkdocs.yml").write_text("site_name: y\n")
    assert seen(watched)


@pytest.mark.parametrize("watched", [2.0], indirect=True)
def test_a_save_is_heard_at_once_and_starts_one_build(watched):
    (watched.content / "risks" / "r.yaml").write_text("id: r\nname: R\n")
    assert seen(watched, 0.5), "inotify did not report the save before the poll"
    # a save is several events (the file truncated, then written); like the server (build_delay),
    # wait until they stop
    while True:
        watched._want_rebuild = False
        if not seen(watched, 0.3):
            break
    assert not seen(watched, 3 * watching.BACKUP_POLL), "the poll reported the save inotify had reported"


def test_reading_a_file_is_no_change(watched):
    (watched.content / "risks" / "r.yaml").read_text()
    os.listdir(watched.content / "risks")
    assert not seen(watched, 1.5), "reading a watched file started a build"


def test_an_editor_s_atomic_saves_are_heard(watched, tmp_path):
    record = watched.content / "risks" / "r.yaml"
    os.rename(record, record.with_name("r.yaml~"))  # vim: the file becomes the backup, a new one is written
    record.write_text("id: r\nname: R\n")
    os.unlink(record.with_name("r.yaml~"))
    assert seen(watched)
    time.sleep(0.3)
    watched._want_rebuild = False
    temporary = tmp_path / "tmp.yaml"  # a file written elsewhere and renamed over the record
    temporary.write_text("id: r\nname: R2\n")
    os.replace(temporary, record)
    assert seen(watched)


@pytest.mark.parametrize("watched", [60.0], indirect=True)  # inotify alone: the poll is a minute away
def test_a_folder_of_records_moved_out_is_heard(watched, tmp_path):
    """inotify sends one event for the folder, which MkDocs' callback would skip (it skips folders)."""
    (tmp_path / "attic").mkdir()
    os.rename(watched.content / "sources", tmp_path / "attic" / "sources")
    assert seen(watched), "records moved out of content/ started no build"


def test_an_edit_in_a_content_folder_put_in_place_of_the_old_one_is_heard(watched, tmp_path):
    """inotify keeps watching the folder it was given; the poll behind it sees the new one."""
    shutil.copytree(watched.content, tmp_path / "new")
    os.rename(watched.content, tmp_path / "content.old")
    os.rename(tmp_path / "new", watched.content)
    time.sleep(3 * watching.BACKUP_POLL)
    watched._want_rebuild = False
    (watched.content / "risks" / "r.yaml").write_text("id: r\nname: After the swap\n")
    assert seen(watched), "an edit in the new content/ started no build"
