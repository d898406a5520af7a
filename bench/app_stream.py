"""Streaming long actions through the app's API: per endpoint (morph with each country model, journey, frames),
seconds from `submit()` to the first frame and to the final GIF, idle and with N background users.

    python bench/app_stream.py                       # idle, then with 4 background users
    python bench/app_stream.py --users 0,8 --repeats 3
    python bench/app_stream.py --repo ../main        # another checkout (before streaming: first output = GIF)

It starts `python app.py` of the checkout on a free port (as bench/app_load.py does) and stops it afterwards.
Background users are threads with their own Client, each sending bench/app_load.py's mixed cheap requests one
after another until the measurements end (at most --background-requests in all, so the load is bounded).
"""
from __future__ import annotations

import argparse
import itertools
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.app_cold_start import ROOT
from bench.app_load import CVAE, CYCLEGAN, KINDS, request, start_app

DIFFUSION = "Diffusion (sharp, a few seconds)"
PAN = {}  # the world pan the frames endpoint translates, made once per app


def streaming_calls(client) -> dict[str, tuple]:
    """Endpoint label -> (api_name, arguments) of each long action, as the tabs' buttons send them."""
    from gradio_client import handle_file

    if "pan" not in PAN:
        PAN["pan"] = client.predict("Paris", 0, api_name="/city_pan_example")
    return {"morph (CVAE)": ("/morph_countries", ("JP", "NO", 0, CVAE, 12.0)),
            "morph (diffusion)": ("/morph_countries", ("JP", "NO", 0, DIFFUSION, 12.0)),
            "journey": ("/map_journey", (48.8566, 2.3522, 35.6812, 139.7671, 0)),
            "frames (CycleGAN)": ("/translate_city_frames", (handle_file(PAN["pan"]), CYCLEGAN, "Venice", 0.2, 0,
                                                             True))}


def time_stream(client, api_name: str, args: tuple) -> tuple[float, float, int]:
    """(seconds to the first output, seconds to the end, outputs streamed) of one submitted call; an endpoint
    that does not stream (a checkout before streaming) shows its first output, the result, at the end."""
    start = time.perf_counter()
    job = client.submit(*args, api_name=api_name)
    first, count = None, 0
    for _ in job:
        count += 1
        first = time.perf_counter() - start if first is None else first
    job.result()  # raises what the call raised
    total = time.perf_counter() - start
    return first if first is not None else total, total, count


class Background:
    """`users` threads sending mixed cheap requests until stopped (at most `limit` requests in all)."""

    def __init__(self, url: str, users: int, limit: int) -> None:
        self.url, self.users, self.limit = url, users, limit
        self.stop, self.counter, self.done, self.errors = threading.Event(), itertools.count(), 0, 0
        self.threads = [threading.Thread(target=self._user, daemon=True) for _ in range(users)]

    def _user(self) -> None:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        while not self.stop.is_set():
            k = next(self.counter)
            if k >= self.limit:
                return
            try:
                request(client, KINDS[k % len(KINDS)], k)
            except Exception:  # noqa: BLE001 - background load only: its errors are counted, not raised
                self.errors += 1
            self.done += 1

    def __enter__(self) -> Background:
        for t in self.threads:
            t.start()
        time.sleep(2.0 if self.users else 0.0)  # let the load reach the queue before measuring
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=300)


def measure(url: str, users: list[int], repeats: int, limit: int, only: list[str] | None) -> list[str]:
    """One table row per (endpoint, background users): medians of `repeats` runs."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    calls = streaming_calls(client)
    calls = {k: v for k, v in calls.items() if not only or any(o in k for o in only)}
    for api_name, args in calls.values():  # warm: models loaded, kernels built
        time_stream(client, api_name, args)
    rows = [f"{'endpoint':<20} {'users':>5} {'runs':>4} {'first s':>8} {'total s':>8} {'outputs':>7}"]
    for n in users:
        with Background(url, n, limit) as load:
            for label, (api_name, args) in calls.items():
                runs = [time_stream(client, api_name, args) for _ in range(repeats)]
                rows.append(f"{label:<20} {n:>5} {repeats:>4} {statistics.median(r[0] for r in runs):>8.2f} "
                            f"{statistics.median(r[1] for r in runs):>8.2f} {runs[0][2]:>7}")
                print(rows[-1], flush=True)
        if n:
            rows.append(f"  ({load.done} background requests were served meanwhile, {load.errors} of them errors)")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", default="0,4", help="background users, comma-separated (0: idle)")
    p.add_argument("--repeats", type=int, default=1, help="runs per endpoint and load (the median is shown)")
    p.add_argument("--background-requests", type=int, default=400, help="the most background requests in all")
    p.add_argument("--only", default="", help="endpoint labels containing any of these words (comma-separated)")
    p.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose app.py is started")
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args()
    proc, url = start_app(args.python, args.repo.resolve())
    try:
        rows = measure(url, [int(u) for u in args.users.split(",")], args.repeats, args.background_requests,
                       [w for w in args.only.split(",") if w])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"{args.repo.resolve().name}: os.cpu_count() {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
