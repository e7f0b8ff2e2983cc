"""Enqueue, claim and run jobs.

A worker claims due jobs with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite
writes are serialized anyway) and marks them with a lease (``locked_until``). The lock is
released at once; the lease keeps other workers away while the job runs. A worker that dies
leaves its jobs to be claimed again when the lease runs out, so handlers are idempotent.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from tontine.db import after_commit, db, unit_of_work, utcnow
from tontine.extensions import registry
from tontine.jobs.models import Job, JobState, Schedule

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
CHANNEL = "tontine_jobs"
_local_wakeup = threading.Event()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> Job | None:
    """Add a job in the current transaction; with ``dedupe_key``, at most one such job.

    One ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING`` (PostgreSQL and SQLite):
    a job that is already there (or being inserted by a concurrent transaction that then
    commits) is returned instead of a second one, without a savepoint round trip.
    """
    session = db.session
    when = run_at or utcnow()
    values = {
        "kind": kind,
        "payload": payload or {},
        "state": JobState.QUEUED,
        "run_at": when,
        "attempts": 0,
        "max_attempts": max_attempts,
        "last_error": "",
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:  # pragma: no cover - the core supports PostgreSQL and SQLite
        upsert = None
    if upsert is None:
        job = Job(**values)
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:
            return session.scalars(select(Job).where(Job.dedupe_key == dedupe_key)).first()
    else:
        statement = upsert(Job).values(**values).returning(Job)
        if dedupe_key is not None:
            statement = statement.on_conflict_do_nothing(index_elements=[Job.dedupe_key])
        job = session.scalars(statement).first()
        if job is None:  # deduplicated: the job that holds this key
            return session.scalars(select(Job).where(Job.dedupe_key == dedupe_key)).first()
    _announce()  # also for a job due later: idle workers then sleep until it is due
    return job


def _announce() -> None:
    """Wake idle workers when the enqueueing transaction commits (instead of at their next poll).

    On PostgreSQL a ``NOTIFY`` is delivered at commit to every listening worker, on any
    machine; in one process (SQLite) an event wakes the in-process worker. One announcement
    per transaction is enough: identical notifications are folded into one anyway.
    """
    session = db.session()  # the Session itself (the scoped proxy lacks some methods)
    # The innermost transaction: a NOTIFY sent inside a savepoint that is rolled back is lost.
    current = session.get_nested_transaction() or session.get_transaction()
    if current is not None and session.info.get("tontine_announced") is current:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info["tontine_announced"] = (
        session.get_nested_transaction() or session.get_transaction()
    )
    after_commit(_local_wakeup.set)


@dataclass(frozen=True)
class Claimed:
    """A job leased to this worker, with what it needs to run (no second read of its row)."""

    id: int
    kind: str
    payload: dict[str, Any]


def claim(limit: int = 10, now: datetime | None = None) -> list[int]:
    """Lease up to ``limit`` due jobs to this worker; returns their ids."""
    return [job.id for job in _claim(limit, now)]


def _claim(limit: int = 10, now: datetime | None = None) -> list[Claimed]:
    now = now or utcnow()
    with unit_of_work() as session:
        due = or_(
            and_(Job.state == JobState.QUEUED, Job.run_at <= now),
            and_(Job.state == JobState.RUNNING, Job.locked_until < now),
        )
        jobs = session.scalars(
            select(Job).where(due).order_by(Job.run_at, Job.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        name = worker_name()
        for job in jobs:
            job.state = JobState.RUNNING
            job.locked_until = now + LEASE
            job.locked_by = name
            job.attempts += 1
        return [Claimed(job.id, job.kind, dict(job.payload)) for job in jobs]


def seconds_to_next_job(now: datetime | None = None) -> float | None:
    """Seconds until the earliest queued job is due; None when none is queued.

    An idle worker sleeps that long at most, so a job due a moment later (a delayed webhook,
    a retry, a batch gathered during a burst) runs on time rather than at the next poll.
    """
    now = now or utcnow()
    run_at = db.session.scalar(select(func.min(Job.run_at)).where(Job.state == JobState.QUEUED))
    return None if run_at is None else max((run_at - now).total_seconds(), 0.0)


def backoff(attempts: int) -> timedelta:
    base = float(current_app.config.get("JOB_RETRY_BASE_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3 * 24 * 3600))


def run_job(job_id: int) -> bool:
    """Run one claimed job; True when it is done. Failures are retried with backoff."""
    session = db.session
    job = session.get(Job, job_id)
    if job is None or job.state != JobState.RUNNING:
        return False
    claimed = Claimed(job.id, job.kind, dict(job.payload))
    return _run(claimed)


def _run(job: Claimed) -> bool:
    """Run a job this worker holds the lease of (just claimed: no need to read it again)."""
    session = db.session
    handler = registry().job_handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        handler(dict(job.payload))
    except Exception:  # noqa: BLE001 - recorded and retried; never kills the worker
        error = traceback.format_exc(limit=5)
        log.warning("job %s (%s) failed: %s", job.id, job.kind, error)
        session.rollback()
        with unit_of_work() as session:
            row = session.get(Job, job.id)
            assert row is not None
            row.last_error = error[-4000:]
            row.locked_until = None
            if row.attempts >= row.max_attempts:
                row.state = JobState.FAILED
                row.finished_at = utcnow()
            else:
                row.state = JobState.QUEUED
                row.run_at = utcnow() + backoff(row.attempts)
        return False
    with unit_of_work() as session:  # one UPDATE: the job row needs no reloading
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(state=JobState.DONE, locked_until=None, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def schedule_recurring(now: datetime | None = None) -> int:
    """Enqueue every recurring job that is due; returns how many were enqueued."""
    now = now or utcnow()
    count = 0
    with unit_of_work() as session:
        known = {s.name: s for s in session.scalars(select(Schedule).with_for_update()).all()}
        for name, kind, interval in registry().schedules:
            sched = known.get(name)
            if sched is None:
                sched = Schedule(name=name, kind=kind, interval_seconds=interval, next_run_at=now)
                try:
                    with session.begin_nested():
                        session.add(sched)
                except IntegrityError:  # another worker created it first: use (and lock) theirs
                    sched = session.scalars(
                        select(Schedule).where(Schedule.name == name).with_for_update()
                    ).one()
            sched.kind, sched.interval_seconds = kind, interval
            if sched.next_run_at <= now:
                slot = int(sched.next_run_at.timestamp())
                enqueue(kind, {"scheduled_at": slot}, dedupe_key=f"schedule:{name}:{slot}")
                sched.next_run_at = now + timedelta(seconds=interval)
                count += 1
    return count


def run_pending(limit: int = 100, now: datetime | None = None, *, schedule: bool = True) -> int:
    """Schedule, claim and run what is due now (tests and ``worker --once``)."""
    if schedule:
        schedule_recurring(now)
    done = 0
    while limit > 0:
        ids = claim(min(limit, 10), now)
        if not ids:
            break
        for job_id in ids:
            done += run_job(job_id)
        limit -= len(ids)
    return done


#: How often a worker looks at the schedule. Recurring jobs run at most every few minutes,
#: so looking every few seconds (not on every loop) spares a locking write per loop.
SCHEDULE_EVERY_SECONDS = 5.0


def _run_claimed(app: Flask, pool: Any, jobs: list[Claimed]) -> int:
    """Run claimed jobs, side by side when the worker has threads (each its own session).

    Each job is leased to this worker and idempotent, so running them at once is as safe as
    running them in two worker processes; a slow HTTP delivery no longer holds the others.
    """

    def one(job: Claimed) -> bool:
        with app.app_context():
            try:
                return _run(job)
            finally:
                db.session.remove()

    if pool is None or len(jobs) == 1:
        return sum(one(job) for job in jobs)
    return sum(pool.map(one, jobs))


def work_forever(app: Flask, stop: threading.Event, idle_seconds: float = 1.0) -> None:
    """The worker loop (``tontine worker`` and the in-process thread).

    ``JOB_THREADS`` (default 4 on PostgreSQL, 1 on SQLite where writers queue anyway) jobs
    run at a time.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tontine.db import is_sqlite

    waiter = Waiter(app)
    with app.app_context():
        default_threads = 1 if is_sqlite(db.engine) else 4
        threads = int(app.config.get("JOB_THREADS") or default_threads)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="tontine-job") if threads > 1 else None
    next_schedule = 0.0
    try:
        while not stop.is_set():
            next_job: float | None = None
            try:
                if time.monotonic() >= next_schedule:
                    with app.app_context():
                        schedule_recurring()
                        db.session.remove()
                    next_schedule = time.monotonic() + SCHEDULE_EVERY_SECONDS
                with app.app_context():
                    jobs = _claim(threads)
                    if not jobs:
                        next_job = seconds_to_next_job()
                    db.session.remove()
                ran = _run_claimed(app, pool, jobs) if jobs else 0
                ran = ran or len(jobs)
            except Exception:  # keep the worker alive across database hiccups
                log.exception("worker loop error")
                ran = 0
            if not ran and not stop.is_set():
                idle = min(idle_seconds, max(next_schedule - time.monotonic(), 0.01))
                if next_job is not None:
                    idle = min(idle, max(next_job, 0.01))
                waiter.wait(idle)
    finally:
        waiter.close()
        if pool is not None:
            pool.shutdown(wait=True)


class Waiter:
    """How an idle worker waits: until a job is announced, or ``idle`` seconds at most.

    On PostgreSQL it listens on the jobs channel with a connection of its own (and falls back
    to plain polling if that connection fails); elsewhere it waits on the process's event.
    """

    def __init__(self, app: Flask):
        self._listener: Any = None
        with app.app_context():
            url = db.engine.url
        if url.get_backend_name() == "postgresql":
            self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        else:
            self._dsn = None

    def _listen(self) -> Any:
        if self._listener is None or self._listener.closed:
            import psycopg

            self._listener = psycopg.connect(self._dsn, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
        return self._listener

    def wait(self, idle: float) -> None:
        if self._dsn is None:
            _local_wakeup.wait(idle)
            _local_wakeup.clear()
            return
        try:
            for _ in self._listen().notifies(timeout=idle, stop_after=1):
                pass
        except Exception:  # the listening connection broke: poll, and listen again next time
            log.warning("job notifications unavailable; polling", exc_info=True)
            self.close()
            time.sleep(idle)

    def close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None


def start_in_process_worker(app: Flask) -> threading.Event:
    """Start the single worker thread used with SQLite; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=work_forever, args=(app, stop), name="tontine-worker", daemon=True
    )
    thread.start()
    return stop


def start_in_process_worker_if_embedded(app: Flask) -> threading.Event | None:
    """With SQLite (or ``JOBS_IN_PROCESS = true``) the web process runs the one worker."""
    from tontine.db import is_sqlite

    setting = app.config.get("JOBS_IN_PROCESS")
    if setting is None:
        with app.app_context():
            setting = is_sqlite(db.engine)
    return start_in_process_worker(app) if setting else None
