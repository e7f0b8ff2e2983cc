"""Funding rush: 50 supporters give at the same moment, over HTTP, paid through the sandbox.

Each supporter (already logged in) opens the give form, submits it, and pays on the sandbox
checkout page; the sandbox then confirms the payment with a signed webhook delivered by a
``tontine worker``. A gift is done when its payment succeeded and is posted to the ledger.
The site runs under gunicorn (deploy/wsgi.py, deploy/gunicorn.conf.py) on PostgreSQL with two
workers; the supporters are threads of a separate load-generator process (plain `http.client`
with a cookie jar, as light as `bench/load.py`).

The baseline is a bare psycopg program writing the same rows (contribution, payment, webhook
job, provider event, state updates, ledger transaction and postings) in the same transactions,
over 50 connections. Goal: Tontine's rush takes at most ~6.7x the baseline (>= 15 %).

The two alternate for ``--rounds`` rounds (the same supporters give again each round, the
baseline writes on fresh connections) and the best round of each is compared, so that a
burst of load from elsewhere on the machine does not decide the ratio. A last rush against a
project capped at its goal checks that the goal is never exceeded.

``python bench/funding_rush.py [--supporters 50] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import re
import subprocess
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from common import BIN, PASSWORD, Site, gunicorn, machine, record, table

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')
GIFT = "10"


# --- Set-up ---------------------------------------------------------------------------------


def seed(site: Site, supporters: int) -> tuple[int, int, list[str]]:
    """An open keep-it-all project, an open project capped at 80 % of the gifts, supporters."""
    from argon2 import PasswordHasher

    from tontine.accounts.models import Role, RoleAssignment, User
    from tontine.accounts.services import create_user
    from tontine.db import db
    from tontine.projects import services

    app = site.app()
    with app.app_context():
        owner = create_user(email="owner@rush.example", password=PASSWORD, display_name="Owner",
                            roles=(Role.SUPPORTER, Role.PROJECT_OWNER))
        common = {"summary": "Rush", "story": "A rush of gifts.", "place": "Lyon", "country": "FR",
                  "category": "food", "currency": "EUR", "duration_days": 30, "funding_model": "gift"}
        open_project = services.create_project(owner, {
            **common, "title": "The open dream", "goal": 10_000_000, "terms": {"mode": "keep_it_all"}})
        capped_goal = int(supporters * 0.8) * int(GIFT)
        capped = services.create_project(owner, {
            **common, "title": "The capped dream", "goal": capped_goal,
            "terms": {"mode": "all_or_nothing", "cap_at_goal": True}})
        services.walk_to(open_project, "open")
        services.walk_to(capped, "open")
        hashed = PasswordHasher().hash(PASSWORD)
        emails = [f"supporter{n}@rush.example" for n in range(2 * supporters)]
        for email in emails:
            user = User(email=email, password_hash=hashed, display_name=email.split("@")[0],
                        security_stamp=uuid.uuid4().hex[:16])
            user.roles = [RoleAssignment(role=Role.SUPPORTER)]
            db.session.add(user)
        db.session.commit()
        ids = open_project.id, capped.id
        db.engine.dispose()
    return ids[0], ids[1], emails


# --- The supporters (a separate process) ---------------------------------------------------


class Supporter:
    """One supporter's browser, reduced to what the rush needs: a cookie jar and plain
    ``http.client`` requests (no redirects followed). A light client, like ``bench/load.py``,
    so that the two shared cores go to the server being measured."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """``(status, Location header, body)`` of one request."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.headers.get("Location", ""), text
        finally:
            conn.close()


def supporters_process(base: str, project_id: int, emails: list[str], out: multiprocessing.Queue) -> None:
    supporters = [Supporter(base) for _ in emails]

    def log_in(supporter: Supporter, email: str) -> None:
        _, _, page = supporter.request("GET", f"{base}/account/login")
        token = CSRF.search(page).group(1)
        status, _, _ = supporter.request("POST", f"{base}/account/login", {
            "csrf_token": token, "email": email, "password": PASSWORD})
        assert status in (302, 303), f"log-in failed for {email}: {status}"

    threads = [threading.Thread(target=log_in, args=pair) for pair in zip(supporters, emails, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    start = threading.Barrier(len(supporters) + 1)
    outcomes: list[str] = []

    def give(supporter: Supporter) -> None:
        start.wait()
        try:
            _, _, form = supporter.request("GET", f"{base}/projects/{project_id}/give")
            data = {"csrf_token": CSRF.search(form).group(1),
                    "idempotency_key": IDEMPOTENCY.search(form).group(1),
                    "amount": GIFT, "tip": "", "provider": "sandbox",
                    "refund_to": "payment_method", "details.reward_tier_id": ""}
            status, checkout_url, _ = supporter.request("POST", f"{base}/projects/{project_id}/give", data)
            if status == 422:
                outcomes.append("refused")
                return
            _, _, checkout = supporter.request("GET", checkout_url)
            status, _, _ = supporter.request("POST", checkout_url, {
                "csrf_token": CSRF.search(checkout).group(1), "action": "pay"})
            outcomes.append("paid" if status == 303 else f"checkout {status}")
        except Exception as exc:  # noqa: BLE001 - reported in the outcomes
            outcomes.append(f"error {exc!r}")

    threads = [threading.Thread(target=give, args=(s,)) for s in supporters]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.time()
    for thread in threads:
        thread.join()
    out.put({"started": started, "client_done": time.time(), "outcomes": outcomes})


def posted_gifts(conn: sa.Connection, project_id: int) -> int:
    """Gifts to the project whose payment succeeded and is posted to the ledger."""
    done = conn.execute(sa.text(
        "SELECT count(*) FROM payments p JOIN contributions c ON c.id = p.contribution_id "
        "JOIN ledger_transactions t ON t.cause = concat('payment', chr(58), p.id, chr(58), 'succeeded') "
        "WHERE c.project_id = :pid AND p.state = 'succeeded'"), {"pid": project_id}).scalar()
    conn.rollback()
    return int(done)


def rush(site: Site, project_id: int, emails: list[str]) -> dict[str, Any]:
    """Run the supporters' process, then wait until every paid gift is posted to the ledger."""
    engine = sa.create_engine(site.database_url)
    with engine.connect() as conn:
        before = posted_gifts(conn, project_id)
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    proc = multiprocessing.get_context("spawn").Process(
        target=supporters_process, args=(site.url, project_id, emails, queue))
    proc.start()
    result = queue.get(timeout=600)
    proc.join()
    paid = result["outcomes"].count("paid")
    deadline = time.time() + 300
    with engine.connect() as conn:
        while True:
            done = posted_gifts(conn, project_id) - before
            if done >= paid or time.time() > deadline:
                break
            time.sleep(0.05)
        finished = time.time()
        raised, goal = conn.execute(sa.text(
            "SELECT (SELECT coalesce(sum(amount), 0) FROM contributions WHERE project_id = :pid "
            "AND state = 'succeeded'), goal_amount FROM projects WHERE id = :pid"), {"pid": project_id}).one()
        trial = conn.execute(sa.text("SELECT coalesce(sum(amount), 0) FROM ledger_postings")).scalar()
    engine.dispose()
    return {**result, "paid": paid, "done": done, "seconds": finished - result["started"],
            "raised": int(raised), "goal": int(goal), "trial_balance": int(trial)}


# --- The baseline: the same rows with bare psycopg -----------------------------------------


def baseline(database_url: str, project_id: int, connections: int) -> float:
    import psycopg

    url = sa.make_url(database_url)
    dsn = f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        accounts = []
        for kind, ref in (("provider_clearing", "sandbox"), ("project_escrow", str(project_id))):
            accounts.append(conn.execute(
                "INSERT INTO ledger_accounts (kind, ref, currency, created_at) VALUES (%s, %s, 'EUR', now()) "
                "ON CONFLICT (kind, ref, currency) DO UPDATE SET ref = EXCLUDED.ref RETURNING id",
                (kind, ref)).fetchone()[0])
        supporter = conn.execute("SELECT min(id) FROM users WHERE email LIKE 'supporter%%'").fetchone()[0]
    conns = [psycopg.connect(dsn) for _ in range(connections)]
    start = threading.Barrier(connections + 1)

    def one(conn: psycopg.Connection, n: int) -> None:
        start.wait()
        key, ref = f"bare-{n}-{uuid.uuid4().hex}", f"bare-ref-{n}-{uuid.uuid4().hex}"
        with conn.transaction():  # contribute: lock the project, check the cap, reserve
            conn.execute("SELECT id FROM projects WHERE id = %s FOR UPDATE", (project_id,))
            conn.execute("SELECT coalesce(sum(amount - refunded_amount), 0) FROM contributions "
                         "WHERE project_id = %s AND state IN ('created','pending','requires_action','succeeded')",
                         (project_id,))
            cid = conn.execute(
                "INSERT INTO contributions (project_id, supporter_id, amount, tip_amount, refunded_amount, "
                "currency, state, anonymous, refund_to, details, idempotency_key, created_at) VALUES "
                "(%s, %s, 1000, 0, 0, 'EUR', 'pending', false, 'payment_method', '{}', %s, now()) RETURNING id",
                (project_id, supporter, key)).fetchone()[0]
            pid = conn.execute(
                "INSERT INTO payments (contribution_id, provider, provider_ref, amount, currency, state, "
                "refunded_amount, failure_reason, created_at, updated_at) VALUES "
                "(%s, 'sandbox', %s, 1000, 'EUR', 'pending', 0, '', now(), now()) RETURNING id",
                (cid, ref)).fetchone()[0]
        with conn.transaction():  # the checkout's "pay": queue the webhook
            conn.execute("SELECT id FROM payments WHERE id = %s FOR UPDATE", (pid,))
            job = conn.execute(
                "INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts, last_error, "
                "dedupe_key, created_at) VALUES ('sandbox_deliver_webhook', '{}', 'queued', now(), 0, 8, '', "
                "%s, now()) RETURNING id", (f"bare-hook-{ref}",)).fetchone()[0]
        with conn.transaction():  # a worker claims it
            conn.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE SKIP LOCKED", (job,))
            conn.execute("UPDATE jobs SET state = 'running', attempts = 1, locked_until = now() "
                         "+ interval '5 minutes' WHERE id = %s", (job,))
        with conn.transaction():  # the webhook: event once, payment state, ledger
            conn.execute("INSERT INTO payment_events (provider, event_id, kind, applied, note, received_at, "
                         "payment_id) VALUES ('sandbox', %s, 'succeeded', true, 'applied', now(), %s)",
                         (f"bare-evt-{ref}", pid))
            conn.execute("SELECT id FROM payments WHERE id = %s FOR UPDATE", (pid,))
            conn.execute("UPDATE payments SET state = 'succeeded', updated_at = now() WHERE id = %s", (pid,))
            conn.execute("UPDATE contributions SET state = 'succeeded' WHERE id = %s", (cid,))
            txn = conn.execute("INSERT INTO ledger_transactions (kind, memo, cause, created_at) VALUES "
                               "('contribution', '', %s, now()) RETURNING id", (f"bare:{pid}",)).fetchone()[0]
            conn.execute("INSERT INTO ledger_postings (transaction_id, account_id, amount, currency) VALUES "
                         "(%s, %s, 1000, 'EUR'), (%s, %s, -1000, 'EUR')", (txn, accounts[0], txn, accounts[1]))
        with conn.transaction():
            conn.execute("UPDATE jobs SET state = 'done', finished_at = now() WHERE id = %s", (job,))

    threads = [threading.Thread(target=one, args=(c, n)) for n, c in enumerate(conns)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for conn in conns:
        conn.close()
    return elapsed


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--supporters", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="tontine worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    args = parser.parse_args()
    print("machine:", machine())
    site = Site("rush")
    open_id, capped_id, emails = seed(site, args.supporters)
    workers = [subprocess.Popen([str(BIN / "tontine"), "worker"], env=site.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(args.workers)]
    rounds: list[tuple[dict[str, Any], float]] = []
    try:
        with gunicorn(site.env, site.port):
            for _ in range(args.rounds):
                free = rush(site, open_id, emails[: args.supporters])
                rounds.append((free, baseline(site.database_url, open_id, args.supporters)))
            capped = rush(site, capped_id, emails[args.supporters:])
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    free = min((r for r, _ in rounds), key=lambda r: r["seconds"])
    bare = min(b for _, b in rounds)

    outcomes = [o for r, _ in rounds for o in r["outcomes"]] + capped["outcomes"]
    problems = [o for o in outcomes if o not in ("paid", "refused")]
    ratio = bare / free["seconds"]
    rows = [
        ("run", "gifts paid", "done (posted)", "seconds", "gifts/s"),
        (f"Tontine, {args.supporters} supporters over HTTP", str(free["paid"]), str(free["done"]),
         f"{free['seconds']:.2f}", f"{free['done'] / free['seconds']:.1f}"),
        (f"bare psycopg, {args.supporters} connections", str(args.supporters), str(args.supporters),
         f"{bare:.2f}", f"{args.supporters / bare:.1f}"),
        ("Tontine, capped project", str(capped["paid"]), str(capped["done"]),
         f"{capped['seconds']:.2f}", f"{capped['done'] / capped['seconds']:.1f}"),
    ]
    print(table("Funding rush (gunicorn + 2 tontine workers, PostgreSQL)", rows))
    print()
    print("rounds (Tontine s / bare s):",
          ", ".join(f"{r['seconds']:.2f} / {b:.2f} ({b / r['seconds']:.1%})" for r, b in rounds))
    print(f"Tontine / bare psycopg, best round of each: {ratio:.1%} of the baseline's speed "
          "(goal >= 15 %)")
    print(f"capped project: raised {capped['raised'] / 100:.2f} of a {capped['goal'] / 100:.2f} goal, "
          f"{capped['outcomes'].count('refused')} gifts refused; over the goal: "
          f"{'YES' if capped['raised'] > capped['goal'] else 'never'}")
    print(f"trial balance: {capped['trial_balance']} (must be 0)")
    if problems:
        print("unexpected outcomes:", json.dumps(problems[:5]))
    record("funding_rush", {"tontine": free, "capped": capped, "bare_seconds": bare, "ratio": ratio,
                            "rounds": [{"tontine_seconds": r["seconds"], "bare_seconds": b} for r, b in rounds],
                            "problems": problems})
    unfinished = any(r["done"] < r["paid"] for r, _ in rounds)
    if problems or capped["raised"] > capped["goal"] or unfinished:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
