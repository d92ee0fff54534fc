"""The few Linux calls the build and render need that Python has no wrapper for.

A child process the build starts must not outlive it, even when the build is killed with
SIGKILL, which no handler sees: the kernel can kill the child then (prctl PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.cache
def libc():
    """The C library (None where it is not Linux's)."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True)


def die_with(parent: int) -> None:
    """In a child: have the kernel SIGKILL this process when its parent dies (however it dies),
    and exit at once if the parent ``parent`` is already gone. Elsewhere than Linux, nothing.
    The setting survives an exec; it is tied to the parent thread that started the child, which
    here waits for it. Safe between fork and exec: only getppid and prctl are called."""
    library = libc()
    if library is None:
        return
    library.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def dies_with_parent():
    """A ``preexec_fn`` for subprocess that makes the child :func:`die_with` this process (None
    where that cannot be done, and such a child outlives a killed build)."""
    if libc() is None:
        return None
    parent = os.getpid()
    return lambda: die_with(parent)


def raise_in(thread: int, exception: type[BaseException]) -> None:
    """Raise ``exception`` in another thread of this process as soon as it runs Python code
    (CPython's PyThreadState_SetAsyncExc): the one way to stop a thread in the middle of a
    function that does not poll for it."""
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
    set_async_exc(thread, exception)


def receive_interrupt(seconds: float = 1.0) -> None:
    """Let an exception raised in this thread by :func:`raise_in` and not yet arrived arrive
    here: the interpreter delivers it at the next check of this loop. The time limit is for one
    swallowed on its way (by an ``except BaseException`` that does not raise again): the runner
    stops before the next stage all the same, since the run's ``stopping`` is set."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


# From this many items, split_map works in two processes (the build machine has two cores).
PARALLEL_FROM = 400


def can_fork() -> bool:
    """Forking is safe with one thread: a fork copies only the calling thread, and a lock held
    by another (logging's, the import lock) would stay locked in the child forever. So `kb
    build` and `mkdocs build` work in two processes; `mkdocs serve` (with its watcher threads)
    in one."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def split_map(function, items: list, parallel_from: int | None = None) -> list:
    """``[function(item) for item in items]``, the second half in a forked child when there are
    many items and forking is safe; the results must pickle. The items are independent of one
    another, so the result is the same either way. A child that dies has its half done here; an
    error in this half kills the child and comes through.

    The child sends its results a few at a time (:data:`BATCH`), and this process takes each
    batch between two of its own items: neither holds the child's whole half as one message
    (at 10,000 records, the pages of half the base, a few hundred MB, twice over)."""
    threshold = PARALLEL_FROM if parallel_from is None else parallel_from
    if len(items) < threshold or not can_fork():
        return [function(item) for item in items]
    import multiprocessing

    context = multiprocessing.get_context("fork")
    half = len(items) // 2
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(function, items[half:], sending, receiving, os.getpid()),
                            daemon=True)
    child.start()
    sending.close()
    theirs: list = []
    state = {"done": False, "died": False}

    def take(wait: bool) -> None:
        """Take what the child has sent (one batch, waiting for it if ``wait``), or see it is done or dead."""
        while not (state["done"] or state["died"]) and (wait or receiving.poll()):
            try:
                batch = receiving.recv()
            except (EOFError, OSError):
                state["died"] = True
                return
            if batch is None:
                state["done"] = True
            else:
                theirs.extend(batch)
            wait = False

    try:
        mine = []
        for item in items[:half]:
            mine.append(function(item))
            take(wait=False)
        while not (state["done"] or state["died"]):
            take(wait=True)
        if state["died"]:  # the child died: its half is done here
            theirs = [function(item) for item in items[half:]]
    except BaseException:  # this half failed, or the build was stopped: the child's half is not needed
        child.kill()
        raise
    finally:
        receiving.close()
        child.join()
    return mine + theirs


BATCH = 32  # results the child sends at a time


def _in_child(function, items: list, sending, receiving, parent: int) -> None:
    die_with(parent)  # a killed build takes its child with it
    receiving.close()  # the fork's copy: with it open, a parent that stopped reading is never noticed
    try:
        for start in range(0, len(items), BATCH):
            sending.send([function(item) for item in items[start:start + BATCH]])
        sending.send(None)  # done
    finally:
        sending.close()
        os._exit(0)  # no atexit handlers or buffers of the parent run twice
