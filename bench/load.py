"""HTTP load generator, run in its own process: GET one URL as fast as it answers.

``python bench/load.py URL --seconds 10 --concurrency 8 --processes 2`` prints one JSON line:
requests, errors, requests per second and latency percentiles (ms). Each thread keeps its
connection open when the server allows it (gunicorn's sync workers close it after each
response), so what is measured is the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import threading
import time
from urllib.parse import urlsplit


def hammer(url: str, seconds: float, threads: int, out: multiprocessing.Queue) -> None:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def one_thread() -> None:
        mine: list[float] = []
        failed = 0
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < stop_at:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Language": "en"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                mine.append(time.perf_counter() - started)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                failed += 1
                if conn is not None:
                    conn.close()
                conn = None
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    workers = [threading.Thread(target=one_thread) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((latencies, errors[0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8, help="threads in all")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    per_process = max(1, args.concurrency // args.processes)
    procs = [
        multiprocessing.Process(target=hammer, args=(args.url, args.seconds, per_process, queue))
        for _ in range(args.processes)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    latencies: list[float] = []
    errors = 0
    for _ in procs:
        got, failed = queue.get()
        latencies += got
        errors += failed
    for proc in procs:
        proc.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else 0.0

    print(json.dumps({
        "url": args.url, "requests": len(latencies), "errors": errors,
        "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.5), "p95_ms": pct(0.95),
        "p99_ms": pct(0.99), "seconds": round(elapsed, 2), "concurrency": per_process * args.processes,
    }))


if __name__ == "__main__":
    main()
