"""Keep the app's resident memory from creeping up under load (glibc's malloc on Linux; a no-op elsewhere).

glibc gives each thread that allocates its own malloc arena (up to 8 per core) and keeps what a finished job frees
inside them; with Gradio's worker threads and torch's, that freed memory stayed resident. Two remedies, both from
glibc's own interface: fewer arenas (`mallopt(M_ARENA_MAX)`) and handing free pages back to the system
(`malloc_trim(0)`) whenever the resident size has grown since the last time.
"""
from __future__ import annotations

import ctypes
import functools
import os
import threading
import time

M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (glibc's malloc.h)


@functools.cache
def glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not Linux with glibc (macOS, Windows, musl)
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(n: int) -> bool:
    """Let at most `n` malloc arenas exist from now on (threads share them); True where glibc took the setting.
    Call it early: arenas already made stay."""
    libc = glibc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, int(n)) == 1)


def trim() -> bool:
    """Give the free memory malloc holds back to the system; True where some was released."""
    libc = glibc()
    return bool(libc and libc.malloc_trim(0) == 1)


def rss_mb() -> float:
    """This process's resident memory in MB (nan where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def trim_if_grown(last_mb: float, grown_mb: float) -> float:
    """Trim when the resident size is at least `grown_mb` above `last_mb`; returns the size to compare with next."""
    now = rss_mb()
    if now != now or now < last_mb + grown_mb:  # nan, or not grown enough: nothing to do (and keep the mark)
        return min(last_mb, now) if now == now else last_mb
    trim()
    return rss_mb()


def start_trimmer(every_s: float = 2.0, grown_mb: float = 16.0) -> threading.Thread | None:
    """A daemon thread that every `every_s` seconds trims once the resident size grew by `grown_mb` (an idle app
    costs nothing); None where there is no glibc."""
    if glibc() is None:
        return None

    def loop() -> None:
        mark = rss_mb()
        while True:
            time.sleep(every_s)
            mark = trim_if_grown(mark, grown_mb)

    thread = threading.Thread(target=loop, name="memory-trim", daemon=True)
    thread.start()
    return thread
