"""Cold start of the app: seconds from `python app.py` to the first HTTP 200 of its page, best of --runs.

    python bench/app_cold_start.py                 # this checkout's app.py, 1 run
    python bench/app_cold_start.py --repo ../main --runs 2

Each run starts a fresh interpreter on a free port (GRADIO_SERVER_PORT), polls the page every 0.1 s, and stops the
process once the page answered (or after --timeout seconds).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_answers(url: str) -> bool:
    """True once GET `url` returns 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def time_to_first_page(repo: Path, python: str, timeout: float) -> float:
    """Seconds from starting `python app.py` in `repo` to its page's first 200 (inf when it never answered)."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
    start = time.perf_counter()
    proc = subprocess.Popen([python, "app.py"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - start < timeout and proc.poll() is None:
            if page_answers(f"http://127.0.0.1:{port}/"):
                return time.perf_counter() - start
            time.sleep(0.1)
        return float("inf")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose app.py is started")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    times = [time_to_first_page(args.repo.resolve(), args.python, args.timeout) for _ in range(args.runs)]
    print(f"cold start of {args.repo.resolve()}/app.py to the first 200: best {min(times):.1f} s "
          f"(runs: {', '.join(f'{t:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
