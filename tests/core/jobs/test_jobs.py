"""Background jobs: enqueued once, leased, retried, never run by two workers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tontine.db import db, unit_of_work, utcnow
from tontine.jobs.models import Job, JobState
from tontine.jobs.services import LEASE, claim, enqueue, run_job, run_pending, schedule_recurring


def jobs_of(kind: str) -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))


def test_enqueue_with_a_dedupe_key_creates_one_job(db_app: Any) -> None:
    with unit_of_work():
        first = enqueue("record", {"n": 1}, dedupe_key="refund:42")
    with unit_of_work():
        second = enqueue("record", {"n": 2}, dedupe_key="refund:42")
        enqueue("record", {"n": 3})
    assert first is not None and second is not None and second.id == first.id
    assert [job.payload for job in jobs_of("record")] == [{"n": 1}, {"n": 3}]


def test_a_claimed_job_is_leased_to_one_worker(db_app: Any) -> None:
    with unit_of_work():
        enqueue("record", {"n": 1})
    now = utcnow()
    ids = claim(now=now)
    assert len(ids) == 1
    job = db.session.get(Job, ids[0])
    assert job.state == JobState.RUNNING
    assert job.locked_until == now + LEASE
    assert job.locked_by and job.attempts == 1
    assert claim(now=now + LEASE - timedelta(seconds=1)) == []


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(db_app: Any, jobs_plugin: Any) -> None:
    with unit_of_work():
        enqueue("record", {"n": 1})
    now = utcnow()
    [job_id] = claim(now=now)
    # The worker dies here: the job stays RUNNING until its lease runs out.
    assert claim(now=now + timedelta(minutes=1)) == []
    later = now + LEASE + timedelta(seconds=1)
    assert claim(now=later) == [job_id]
    assert db.session.get(Job, job_id).attempts == 2
    assert run_job(job_id) is True
    assert jobs_plugin.calls == [{"n": 1}]
    assert jobs_of("record")[0].state == JobState.DONE


def test_a_failing_job_is_retried_with_backoff(db_app: Any, jobs_plugin: Any) -> None:
    jobs_plugin.failures_left = 2
    with unit_of_work():
        enqueue("record", {"n": 7})
    [job_id] = claim()
    assert run_job(job_id) is False
    job = jobs_of("record")[0]
    assert job.state == JobState.QUEUED
    assert "temporary failure" in job.last_error
    first_delay = job.run_at - utcnow()
    assert timedelta(seconds=5) < first_delay <= timedelta(seconds=10)  # base 10 s
    assert claim() == []  # not before its run_at

    [job_id] = claim(now=job.run_at + timedelta(seconds=1))
    assert run_job(job_id) is False
    job = jobs_of("record")[0]
    assert timedelta(seconds=15) < job.run_at - utcnow() <= timedelta(seconds=20)  # doubled

    [job_id] = claim(now=job.run_at + timedelta(seconds=1))
    assert run_job(job_id) is True
    assert jobs_plugin.calls == [{"n": 7}]
    job = jobs_of("record")[0]
    assert (job.state, job.attempts) == (JobState.DONE, 3)


def test_a_job_that_keeps_failing_ends_failed_after_max_attempts(db_app: Any) -> None:
    with unit_of_work():
        enqueue("explode", {}, max_attempts=3)
        enqueue("no_such_kind", {}, max_attempts=1)
    far = utcnow()
    for _ in range(5):
        far += timedelta(days=1)
        run_pending(now=far)
    [job] = jobs_of("explode")
    assert (job.state, job.attempts) == (JobState.FAILED, 3)
    assert "always fails" in job.last_error and job.finished_at is not None
    [unknown] = jobs_of("no_such_kind")
    assert unknown.state == JobState.FAILED and "no handler" in unknown.last_error


def test_schedules_enqueue_a_recurring_job_once_per_slot(db_app: Any, jobs_plugin: Any) -> None:
    now = utcnow()
    assert schedule_recurring(now) >= 1
    schedule_recurring(now)
    schedule_recurring(now + timedelta(seconds=30))
    assert len(jobs_of("record")) == 1
    schedule_recurring(now + timedelta(seconds=61))
    assert len(jobs_of("record")) == 2
    run_pending(now=now + timedelta(seconds=62))
    assert len(jobs_plugin.calls) == 2
    assert all(job.state == JobState.DONE for job in jobs_of("record"))


def test_concurrent_schedulers_enqueue_each_slot_once(db_app: Any) -> None:
    now = utcnow()
    app = db_app
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def schedule() -> None:
        try:
            with app.app_context():
                start.wait()
                schedule_recurring(now)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(jobs_of("record")) == 1


@pytest.mark.postgres
def test_two_workers_never_claim_the_same_job_on_postgres(make_app: Any, jobs_plugin: Any) -> None:
    app = make_app(
        plugins=[], extra_plugins=[jobs_plugin], PAYMENT_PROVIDERS=[], database="postgres"
    )
    with app.app_context(), unit_of_work():
        for n in range(60):
            enqueue("record", {"n": n})
    claimed: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    errors: list[BaseException] = []
    start = threading.Barrier(len(claimed))

    def worker(name: str) -> None:
        try:
            with app.app_context():
                start.wait()
                while ids := claim(limit=3):
                    claimed[name].extend(ids)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    everything = [job_id for ids in claimed.values() for job_id in ids]
    assert len(everything) == len(set(everything)) == 60
    with app.app_context():
        attempts = db.session.scalar(select(func.max(Job.attempts)).where(Job.kind == "record"))
        assert attempts == 1


@contextmanager
def idle_worker(app: Any) -> Iterator[None]:
    """A worker thread polling every 30 s, already waiting when the body starts."""
    from tontine.jobs.services import work_forever

    stop = threading.Event()
    worker = threading.Thread(target=work_forever, args=(app, stop), kwargs={"idle_seconds": 30})
    worker.start()
    try:
        time.sleep(0.5)  # the worker is now waiting
        yield
    finally:
        stop.set()
        with unit_of_work():
            enqueue("record", {"n": "stop"})  # wakes the worker so it sees the stop
        worker.join(timeout=35)


def test_an_idle_worker_wakes_when_a_job_is_enqueued(db_app, jobs_plugin):
    """A worker polling every 30 s still runs a new job at once: enqueueing announces it."""
    from tontine.testing import wait_for

    run_pending()  # the recurring "tick" is done: the worker will find nothing and wait
    ticks = len(jobs_plugin.calls)
    with idle_worker(db_app):
        started = time.monotonic()
        with unit_of_work():
            enqueue("record", {"n": "wake"})
        wait_for(lambda: len(jobs_plugin.calls) > ticks, timeout=10)
        assert time.monotonic() - started < 10  # far less than the 30 s poll
        assert jobs_plugin.calls[-1] == {"n": "wake"}


def test_an_idle_worker_runs_a_job_enqueued_for_later_on_time(db_app, jobs_plugin, monkeypatch):
    """A job due in a moment (a delayed webhook, a retry) runs then, not at the next 30 s poll:
    the announcement of its enqueueing came while it was not yet due."""
    from tontine.jobs import services
    from tontine.jobs.services import seconds_to_next_job
    from tontine.testing import wait_for

    monkeypatch.setattr(services, "SCHEDULE_EVERY_SECONDS", 60)  # no schedule check meanwhile

    run_pending()
    assert seconds_to_next_job() is None or seconds_to_next_job() > 1  # only recurring ones
    ticks = len(jobs_plugin.calls)
    with idle_worker(db_app):
        started = time.monotonic()
        with unit_of_work():
            enqueue("record", {"n": "later"}, run_at=utcnow() + timedelta(seconds=1))
        assert 0 < seconds_to_next_job() <= 1
        wait_for(lambda: len(jobs_plugin.calls) > ticks, timeout=20)
        took = time.monotonic() - started
        assert 1 <= took < 5, took  # on time: not before it is due, far less than the poll
        assert jobs_plugin.calls[-1] == {"n": "later"}
