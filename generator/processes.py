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
