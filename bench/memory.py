"""Memory benchmark: resident size of one gunicorn worker after warm-up (goal < 150 MB).

One gunicorn worker (deploy/gunicorn.conf.py, PostgreSQL, 1,000 projects) serves a warm-up
of the site's pages; then its RSS is read from /proc.

``python bench/memory.py [--requests 600]``
"""

from __future__ import annotations

import argparse
import time
import urllib.request
from pathlib import Path

from common import Site, gunicorn, machine, record, seed_projects, table


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    print("machine:", machine())
    site = Site("memory")
    ids = seed_projects(site, 1_000)
    pages = ["/", "/projects/", "/projects/?q=dream", "/projects/?category=food",
             "/account/login", "/account/signup", "/healthz"]
    pages += [f"/projects/{pid}" for pid in ids[:: max(1, len(ids) // 50)]]
    with gunicorn(site.env, site.port, workers=1) as master:
        time.sleep(1)
        [worker] = children(master.pid)
        started = rss_mb(worker)
        for n in range(args.requests):
            with urllib.request.urlopen(site.url + pages[n % len(pages)], timeout=30) as response:
                response.read()
        time.sleep(0.5)
        assert children(master.pid) == [worker], "the worker was replaced during the warm-up"
        warm = rss_mb(worker)
        master_rss = rss_mb(master.pid)
    rows = [("process", "RSS MB"), ("worker at start", f"{started:.1f}"),
            (f"worker after {args.requests} requests", f"{warm:.1f}"), ("gunicorn master", f"{master_rss:.1f}")]
    print(table("Memory (one gunicorn worker, PostgreSQL)", rows))
    print()
    print(f"one worker after warm-up: {warm:.1f} MB (goal < 150 MB)")
    record("memory", {"worker_start_mb": started, "worker_warm_mb": warm, "master_mb": master_rss,
                      "requests": args.requests})


if __name__ == "__main__":
    main()
