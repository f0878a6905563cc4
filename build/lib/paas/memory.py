"""Giving memory back: the platform's processes are long-lived and mostly idle, and glibc keeps
the pages that a build, a burst of requests or a big reconcile freed. malloc_trim returns them
to the system (measured: tens of MB per process after a test run)."""

import ctypes
import ctypes.util
import threading

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def release_free_memory() -> None:
    try:
        _libc.malloc_trim(0)
    except AttributeError:  # not glibc: nothing to do
        pass


_started = threading.Event()


def release_periodically(interval: float) -> None:
    """In a thread of its own (one per process), for processes with no loop to call it from."""
    if _started.is_set():
        return
    _started.set()

    def loop() -> None:
        while True:
            threading.Event().wait(interval)
            release_free_memory()

    threading.Thread(target=loop, daemon=True, name="malloc-trim").start()
