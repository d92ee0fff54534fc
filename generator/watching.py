"""How `kb serve` learns of a save: from the system (inotify) at once, and by a slow poll as well.

MkDocs' server polls every watched file twice a second: at 10,000 records that is a tenth of a core
all the time, and up to half a second before a save is seen. :func:`watch_natively` hands the
watched folders to an inotify observer, which hears of a change as it happens, and keeps a poll
of the same folders every few seconds (``BACKUP_POLL``) for what inotify cannot hear: a watched
folder replaced by another (inotify keeps watching the old one), a folder on a network or shared
file system (whose changes from the other side send no event), events lost to a full queue. What
the poll finds that inotify reported in the last ``SEEN_FOR`` seconds is dropped, so a save
starts one build, not two. A folder moved out or deleted is reported as such (MkDocs' callback
ignores events of folders, and inotify sends one event for the whole folder). Opening or reading
a file is no change: the build itself reads every record and template.

A watched file (mkdocs.yml) stays on MkDocs' own poll: inotify would watch the file, and an
editor that saves by renaming a new file over it would leave it watching the old one.
"""
from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger("mkdocs.plugins.kb")

BACKUP_POLL = 2.0  # seconds between two polls of the watched folders behind inotify
SEEN_FOR = 10.0  # seconds during which the poll drops what inotify reported


def _changes() -> list:
    from watchdog import events

    return [events.FileCreatedEvent, events.FileDeletedEvent, events.FileModifiedEvent, events.FileMovedEvent,
            events.FileAttribEvent, events.DirCreatedEvent, events.DirDeletedEvent, events.DirMovedEvent,
            events.EventsLostEvent]


class _Heard:
    """The paths inotify reported, and when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[str, float] = {}

    def note(self, paths) -> None:
        now = time.monotonic()
        with self._lock:
            for path in paths:
                self._at[path] = now
            if len(self._at) > 10_000:  # forget the old ones
                self._at = {p: t for p, t in self._at.items() if now - t < SEEN_FOR}

    def recent(self, paths) -> bool:
        now = time.monotonic()
        with self._lock:
            return all(now - self._at.get(path, -SEEN_FOR) < SEEN_FOR for path in paths)


def _paths(event) -> list[str]:
    return [os.fsdecode(path) for path in (event.src_path, getattr(event, "dest_path", "")) if path]


def _as_files(event):
    """A folder deleted or moved as the deletion of its path, which MkDocs' callback does not skip."""
    from watchdog.events import FileDeletedEvent

    if event.is_directory and event.event_type in ("deleted", "moved"):
        return FileDeletedEvent(event.src_path)
    return event


def _handlers():
    from watchdog.events import FileSystemEventHandler

    class Told(FileSystemEventHandler):
        """What inotify reports, passed on and noted."""

        def __init__(self, handler, heard: _Heard):
            self.handler, self.heard = handler, heard

        def dispatch(self, event) -> None:
            self.heard.note(_paths(event))
            self.handler.dispatch(_as_files(event))

    class Missed(FileSystemEventHandler):
        """What the poll finds, passed on unless inotify reported it."""

        def __init__(self, handler, heard: _Heard):
            self.handler, self.heard = handler, heard

        def dispatch(self, event) -> None:
            if event.event_type == "modified" and event.is_directory:
                return  # a folder's time: what changed in it comes as its own event
            if not self.heard.recent(_paths(event)):
                self.handler.dispatch(_as_files(event))

    return Told, Missed


def _observer_class():
    from watchdog.observers.inotify import InotifyObserver
    from watchdog.observers.polling import PollingObserver

    Told, Missed = _handlers()

    class Watching(InotifyObserver):
        """inotify for every folder scheduled here, filtered to changes, with a slow poll of the
        same folders behind it."""

        def __init__(self) -> None:
            super().__init__()
            self.heard = _Heard()
            self.backup = PollingObserver(timeout=BACKUP_POLL)
            self._backups: dict = {}

        def schedule(self, handler, path, *, recursive=False, event_filter=None, follow_symlink=False):
            watch = super().schedule(Told(handler, self.heard), path, recursive=recursive,
                                     event_filter=event_filter or _changes(), follow_symlink=follow_symlink)
            self._backups[watch] = self.backup.schedule(Missed(handler, self.heard), path, recursive=recursive)
            return watch

        def unschedule(self, watch) -> None:
            if watch in self._backups:
                self.backup.unschedule(self._backups.pop(watch))
            super().unschedule(watch)

        def start(self) -> None:
            super().start()  # starts every inotify watch here, in this thread: a refusal is raised here
            self.backup.start()

        def stop(self) -> None:
            if self.backup.is_alive():
                self.backup.stop()
            super().stop()

        def join(self, timeout=None) -> None:
            if self.backup.is_alive():
                self.backup.join(timeout)
            super().join(timeout)

    return Watching


def watch_natively(server):
    """Watch ``server``'s folders (an mkdocs.livereload.LiveReloadServer that has not started)
    with inotify and a slow poll, where inotify can watch every one of them (a limit on watches
    may refuse it: then MkDocs' polling stays). Returns the observer that still polls the watched
    files, which the caller stops when the server stops (the server starts and stops its own), or
    None."""
    watched = getattr(server, "_watched_paths", None)  # MkDocs' LiveReloadServer keeps its watches there
    if not isinstance(watched, dict):
        return None
    try:
        Watching = _observer_class()
    except ImportError:  # not Linux
        return None
    from watchdog.events import FileSystemEventHandler

    folders = {path: count for path, count in watched.items() if os.path.isdir(path)}
    trial = Watching()
    try:
        for path in folders:
            trial.schedule(FileSystemEventHandler(), path, recursive=True)
        trial.start()
    except OSError as error:
        log.info("Watching for changes by polling (inotify: %s)", error)
        return None
    finally:
        if trial.is_alive():
            trial.stop()
            trial.join()
    for path, count in folders.items():
        for _ in range(count):
            server.unwatch(path)
    polling, server.observer = server.observer, Watching()
    for path, count in folders.items():
        for _ in range(count):
            server.watch(path)
    if not polling.emitters:
        return None
    polling.start()
    return polling
