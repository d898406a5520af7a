"""Loopback load on the app: N concurrent gradio_client users send a bounded number of mixed, cheap requests across
the tabs; prints per endpoint the count, errors, p50 and p95 latency (queue wait included), and the server's RSS.

    python bench/app_load.py --users 16 --requests 64
    python bench/app_load.py --users 64 --requests 240
    python bench/app_load.py --url http://127.0.0.1:7860/ --pid 1234    # a running app (RSS read from its pid)

Without --url it starts `python app.py` of this checkout on a free port as its own process, so the RSS printed is
the server's alone (not the clients'), and stops it afterwards. Every user is one thread with its own Client.
"""
from __future__ import annotations

import argparse
import collections
import itertools
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.app_cold_start import ROOT, free_port, page_answers

CVAE = "CVAE (fast, the study's baseline)"
LAYOUT_MODEL = "World (any country style)"
CYCLEGAN = "CycleGAN: Paris → Venice"
PLACES = [(35.68, 139.77), (48.86, 2.35), (-1.29, 36.82), (59.91, 10.75), (40.0, -30.0)]  # the last one at sea


def request(client, kind: str, k: int):
    """Request number `k` of `kind` (the seed and place vary with k); returns the result."""
    lat, lon = PLACES[k % len(PLACES)]
    if kind == "render_world":
        return client.predict(["JP", "FR", "KE", "Venice"][k % 4], k, "128", 1, api_name="/render_world")
    if kind == "generate_country":
        return client.predict(["JP", "NO", "BR"][k % 3], 1, k, CVAE, api_name="/generate_country")
    if kind == "generate_map":
        return client.predict(lat, lon, 1, k, api_name="/generate_map")
    if kind == "new_layout":
        return client.predict(k, LAYOUT_MODEL, api_name="/new_layout")
    if kind == "describe_place":
        return client.predict(lat, lon, api_name="/describe_place")
    if kind == "city_example+translate_city":
        from gradio_client import handle_file

        photo = client.predict("Paris", k, api_name="/city_example")
        return client.predict(handle_file(photo), CYCLEGAN, "Venice", 0.2, k, api_name="/translate_city")
    raise ValueError(f"unknown request kind {kind!r}")


KINDS = ["describe_place", "render_world", "generate_country", "generate_map", "new_layout",
         "city_example+translate_city"]


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (from /proc; nan where there is none)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return float("nan")


def huge_png(path: Path, w: int = 16000, h: int = 8000, rows: int | None = None) -> Path:
    """A black RGB PNG whose header says w × h (16000 × 8000 decodes to 384 MB) and whose data compress to a few
    hundred KB; with `rows`, only that many rows of data are written (a truncated file, made at once)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    packer, row = zlib.compressobj(9), b"\0" * (1 + 3 * w)
    data = b"".join(packer.compress(row) for _ in range(h if rows is None else rows)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def send_huge_panorama(url: str, pid: int) -> str:
    """Send a 16000 × 8000 PNG to /translate_city_panorama; one line with the server's RSS around it and the reply."""
    from gradio_client import Client, handle_file

    path = huge_png(Path(tempfile.mkdtemp(prefix="app-load-")) / "huge_pano.png")
    before = rss_mb(pid)
    try:
        Client(url, verbose=False).predict(handle_file(str(path)), CYCLEGAN, "Venice", 0.2, 0,
                                           api_name="/translate_city_panorama")
        reply = "accepted"
    except Exception as err:  # noqa: BLE001 - the refusal is the expected answer
        reply = f"refused: {str(err)[:140]}"
    time.sleep(1)
    return (f"16000×8000 PNG ({path.stat().st_size:,} bytes) to /translate_city_panorama: server RSS {before:.0f} → "
            f"{rss_mb(pid):.0f} MB, {reply}")


def output_folders() -> tuple[int, int]:
    """(loose <tmp>/streetgen-* folders, folders in the managed <tmp>/streetgen-outputs; <tmp> is Python's temporary
    folder): each output used to get a folder of its own straight in <tmp>; now they go to one folder swept by age."""
    tmp = Path(tempfile.gettempdir())
    managed = tmp / "streetgen-outputs"
    loose = [p for p in tmp.glob("streetgen-*") if p.is_dir() and p != managed]
    return len(loose), len(list(managed.iterdir())) if managed.is_dir() else 0


def connect(client_class, url: str, tries: int = 5):
    """A Client for `url`, asking again when the page's config times out (a busy server on a loaded machine)."""
    import httpx

    for attempt in range(tries):
        try:
            return client_class(url, verbose=False)
        except httpx.TimeoutException:
            if attempt == tries - 1:
                raise
            time.sleep(1 + attempt)


def run_load(url: str, users: int, requests: int) -> dict[str, list]:
    """`requests` requests shared by `users` threads (one Client each); {kind: [(seconds, error or None)]}."""
    from gradio_client import Client

    counter, lock = itertools.count(), threading.Lock()
    results: dict[str, list] = collections.defaultdict(list)
    local = threading.local()

    def user() -> None:
        while True:
            with lock:
                k = next(counter)
            if k >= requests:
                return
            if not hasattr(local, "client"):
                local.client = connect(Client, url)
            kind, start, error = KINDS[k % len(KINDS)], time.perf_counter(), None
            try:
                request(local.client, kind, k)
            except Exception as err:  # noqa: BLE001 - every failure is counted and its message kept
                error = f"{type(err).__name__}: {str(err)[:160]}"
            with lock:
                results[kind].append((time.perf_counter() - start, error))

    with ThreadPoolExecutor(users) as pool:
        for f in [pool.submit(user) for _ in range(users)]:
            f.result()
    return results


def table(results: dict[str, list]) -> str:
    """Per endpoint: count, errors, p50 and p95 seconds, and the first error message."""
    lines = [f"{'endpoint':<30} {'count':>5} {'errors':>6} {'p50 s':>7} {'p95 s':>7}"]
    for kind in KINDS:
        rows = results.get(kind, [])
        if not rows:
            continue
        times = sorted(t for t, _ in rows)
        errors = [e for _, e in rows if e]
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        lines.append(f"{kind:<30} {len(rows):>5} {len(errors):>6} {statistics.median(times):>7.2f} {p95:>7.2f}"
                     + (f"  first error: {errors[0]}" if errors else ""))
    return "\n".join(lines)


def start_app(python: str, repo: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """`python app.py` of checkout `repo` on a free port; (process, URL) once its page answers."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
    proc = subprocess.Popen([python, "app.py"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while not page_answers(url):
        if time.time() > deadline or proc.poll() is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            raise SystemExit("the app did not start within 120 s")
        time.sleep(0.2)
    return proc, url


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=64, help="concurrent gradio_client users")
    p.add_argument("--requests", type=int, default=240, help="requests in all (the load is bounded by this)")
    p.add_argument("--url", help="a running app instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the app's process id, for its RSS")
    p.add_argument("--repo", type=Path, default=ROOT, help="without --url: the checkout whose app.py is started")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--huge-panorama", action="store_true", help="then send one 16000 × 8000 PNG panorama")
    args = p.parse_args()
    proc = None
    if args.url:
        url, pid = args.url, args.pid or 0
    else:
        proc, url = start_app(args.python, args.repo.resolve())
        pid = proc.pid
    try:
        run_load(url, min(args.users, len(KINDS)), len(KINDS))  # one of each first: models loaded, kernels built
        before, folders = rss_mb(pid), output_folders()
        start = time.perf_counter()
        results = run_load(url, args.users, args.requests)
        wall = time.perf_counter() - start
        after = rss_mb(pid)
        huge = send_huge_panorama(url, pid) if args.huge_panorama else ""
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    total = sum(len(r) for r in results.values())
    failed = sum(1 for r in results.values() for _, e in r if e)
    print(f"{args.repo if not args.url else url}: {args.users} users, {total} requests in {wall:.1f} s "
          f"({total / wall:.2f}/s), {failed} errors")
    print(table(results))
    print(f"server RSS: {before:.0f} MB after one request of each kind, {after:.0f} MB after the {total} requests")
    print("output folders (loose <tmp>/streetgen-*, managed <tmp>/streetgen-outputs/*): "
          f"{folders} before the load, {output_folders()} after")
    if huge:
        print(huge)


if __name__ == "__main__":
    main()
