"""Jobs need no funding model nor provider: a core-only site plus a plugin with test jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tontine.hookspecs import hookimpl


class JobsUnderTest:
    """A plugin registering the jobs these tests run, as any plugin would."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures_left = 0

    @hookimpl
    def register_job_handlers(self) -> dict[str, Any]:
        return {"record": self.record, "explode": self.explode}

    @hookimpl
    def register_schedules(self) -> list[tuple[str, str, int]]:
        return [("tick", "record", 60)]

    def record(self, payload: dict[str, Any]) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("temporary failure")
        self.calls.append(payload)

    def explode(self, payload: dict[str, Any]) -> None:
        raise RuntimeError("this job always fails")


@pytest.fixture
def jobs_plugin() -> JobsUnderTest:
    return JobsUnderTest()


@pytest.fixture(params=["sqlite", "postgres"])
def db_app(
    request: pytest.FixtureRequest, make_app: Callable[..., Any], jobs_plugin: JobsUnderTest
) -> Iterator[Any]:
    """A core-only site with the test jobs, on SQLite, then on PostgreSQL."""
    app = make_app(
        plugins=[],
        extra_plugins=[jobs_plugin],
        PAYMENT_PROVIDERS=[],
        JOB_RETRY_BASE_SECONDS=10,
        database=request.param,
    )
    with app.app_context():
        yield app
