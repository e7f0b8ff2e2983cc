"""The ledger needs no plugin: its tests run on a core-only site, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def db_app(request: pytest.FixtureRequest, make_app: Callable[..., Any]) -> Iterator[Any]:
    """A core-only site (no plugin), on SQLite, then on PostgreSQL."""
    app = make_app(plugins=[], PAYMENT_PROVIDERS=[], database=request.param)
    with app.app_context():
        yield app
