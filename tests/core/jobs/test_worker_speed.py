"""The worker's fast paths: one announcement per transaction, jobs run side by side, once each."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, select

from tontine.db import db, unit_of_work
from tontine.jobs.models import Job, JobState
from tontine.jobs.services import enqueue, run_pending, work_forever
from tontine.testing import wait_for


def test_a_transaction_that_enqueues_many_jobs_wakes_the_workers_once(db_app: Any) -> None:
    sent: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("NOTIFY"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        with unit_of_work():
            for n in range(5):
                enqueue("record", {"n": n})
        first = len(sent)
        with unit_of_work():
            enqueue("record", {"n": 5})
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    expected = 1 if db.engine.dialect.name == "postgresql" else 0
    assert first == expected  # one NOTIFY for five jobs
    assert len(sent) == 2 * expected  # and again in the next transaction
    assert len(db.session.scalars(select(Job).where(Job.kind == "record")).all()) == 6


def test_a_worker_with_threads_runs_every_job_exactly_once(db_app: Any, jobs_plugin: Any) -> None:
    run_pending()  # the recurring "tick" is done
    ticks = len(jobs_plugin.calls)
    db_app.config["JOB_THREADS"] = 3
    with unit_of_work():
        for n in range(12):
            enqueue("record", {"n": n})
    stop = threading.Event()
    worker = threading.Thread(target=work_forever, args=(db_app, stop), kwargs={"idle_seconds": 0.2})
    worker.start()
    try:
        wait_for(lambda: len(jobs_plugin.calls) >= ticks + 12, timeout=20)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert sorted(call["n"] for call in jobs_plugin.calls[ticks:]) == list(range(12))
    db.session.expire_all()
    states = db.session.scalars(select(Job.state).where(Job.kind == "record")).all()
    assert set(states) == {JobState.DONE}
