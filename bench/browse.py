"""Browse benchmark: the dreams list page (20 per page) against a bare Flask endpoint.

Both are served by gunicorn with deploy/gunicorn.conf.py on the same machine, one after the
other, with the load generator in its own process. Figures:

- Tontine's list page with 10,000 projects vs the bare endpoint (goal: at least 20 %);
- the same page with 100 vs 10,000 projects (goal: within 1.2x, thanks to cursor
  pagination and indexes).

``python bench/browse.py [--seconds 10] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import urllib.request

from common import BENCH, Site, free_port, gunicorn, load, machine, record, seed_projects, table


def cards_on(url: str) -> int:
    html = urllib.request.urlopen(url, timeout=10).read().decode()
    return len(re.findall(r'<article class="card"', html))


def in_process_ms(site: Site, requests: int = 50) -> float:
    """Cost of one list page inside the process (no HTTP, no load generator): less noisy."""
    import time

    app = site.app()
    client = app.test_client()
    for _ in range(5):
        client.get("/projects/")
    started = time.perf_counter()
    for _ in range(requests):
        assert client.get("/projects/").status_code == 200
    return (time.perf_counter() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    print("machine:", machine())
    big, small = Site("browse10k"), Site("browse100")
    seed_projects(big, 10_000)
    seed_projects(small, 100)
    runs: dict[str, list[dict]] = {"bare": [], "10000": [], "100": []}
    for _ in range(args.rounds):
        port = free_port()
        with gunicorn(big.env, port, app="bare_app:app", chdir=BENCH):
            runs["bare"].append(load(f"http://127.0.0.1:{port}/projects/", args.seconds, args.concurrency))
        for label, site in (("10000", big), ("100", small)):
            with gunicorn(site.env, site.port):
                url = f"{site.url}/projects/"
                assert cards_on(url) == 20, f"expected 20 projects on {url}"
                runs[label].append(load(url, args.seconds, args.concurrency))

    def best(label: str) -> dict:
        return max(runs[label], key=lambda r: r["rps"])

    bare, big_run, small_run = best("bare"), best("10000"), best("100")
    for label, results in runs.items():
        errors = sum(r["errors"] for r in results)
        if errors:
            raise SystemExit(f"{label}: {errors} failed requests")
    vs_bare = big_run["rps"] / bare["rps"]
    small_vs_big = small_run["rps"] / big_run["rps"]
    rows = [("endpoint", "req/s", "p50 ms", "p95 ms", "rounds (req/s)")]
    for label, name in (("bare", "bare Flask constant"), ("10000", "/projects/ with 10,000"),
                        ("100", "/projects/ with 100")):
        r = best(label)
        rows.append((name, f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                     ", ".join(f"{x['rps']:.0f}" for x in runs[label])))
    print(table("Browse (gunicorn, deploy/gunicorn.conf.py, PostgreSQL)", rows))
    print()
    print(f"list page with 10,000 projects / bare endpoint: {vs_bare:.1%} (goal >= 20 %)")
    print(f"page with 100 / page with 10,000 projects: {small_vs_big:.2f}x (goal <= 1.2x)")
    big_ms, small_ms = in_process_ms(big), in_process_ms(small)
    print(f"in-process cost of the page: {big_ms:.1f} ms with 10,000, {small_ms:.1f} ms with 100 "
          f"({big_ms / small_ms:.2f}x)")
    record("browse", {
        "runs": runs, "vs_bare": vs_bare, "small_vs_big": small_vs_big,
        "stdev_rps_10000": statistics.pstdev([r["rps"] for r in runs["10000"]]),
        "in_process_ms": {"10000": big_ms, "100": small_ms},
    })


if __name__ == "__main__":
    main()
