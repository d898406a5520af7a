"""ui.memory: the malloc arena limit, trimming freed memory back to the system, and the trimmer's trigger."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ui import memory

glibc = pytest.mark.skipif(memory.glibc() is None, reason="glibc's malloc only (Linux)")


def _fragment_in_thread(mb: int) -> list[bytearray]:
    """`mb` MB of small blocks (malloc'ed, not mmap'ed) made in a fresh thread, as a job's temporaries are, of which
    every 16th stays alive: glibc cannot give back the 15 freed blocks between two live ones by itself."""
    keep: list[bytearray] = []

    def work() -> None:
        blocks = [bytearray(4000) for _ in range(mb * 256)]
        keep.extend(blocks[::16])

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return keep


_TRIM = """
import sys
sys.path[:0] = [{tests!r}, {root!r}]
from test_memory import _fragment_in_thread
from ui import memory
memory.trim()
start = memory.rss_mb()
alive = _fragment_in_thread(48)
before = memory.rss_mb()
assert before > start + 32, (start, before)  # the freed blocks are still resident
assert memory.trim() is True
after = memory.rss_mb()
assert after < before - 24, (start, before, after)
assert len(alive) == 48 * 16
"""


@glibc
def test_trim_gives_freed_memory_back():
    """In a fresh interpreter: inside a long test session the process's arenas already hold free memory that the
    fragmenting thread reuses, so its growth would depend on what ran before (a full run once saw 28 MB)."""
    tests = Path(__file__).resolve().parent
    code = _TRIM.format(tests=str(tests), root=str(tests.parents[1]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@glibc
def test_limit_arenas_is_taken():
    assert memory.limit_arenas(8 * 64) is True  # glibc's own default limit on a 64-core machine: no change here


def test_without_glibc_everything_is_a_no_op(monkeypatch):
    monkeypatch.setattr(memory, "glibc", lambda: None)
    assert memory.limit_arenas(2) is False
    assert memory.trim() is False
    assert memory.start_trimmer() is None


def test_trim_only_after_growth(monkeypatch):
    sizes, trims = iter([1000.0, 1020.0, 900.0, 800.0]), []
    monkeypatch.setattr(memory, "rss_mb", lambda: next(sizes))
    monkeypatch.setattr(memory, "trim", lambda: trims.append(1) or True)
    assert memory.trim_if_grown(990.0, 16.0) == 990.0  # grew 10 MB: no trim, the mark stays
    assert trims == []
    assert memory.trim_if_grown(990.0, 16.0) == 900.0  # grew 30 MB: trimmed, the mark is the size afterwards
    assert trims == [1]
    assert memory.trim_if_grown(900.0, 16.0) == 800.0  # shrank: no trim, the mark follows it down
    assert trims == [1]
