"""``insert_rows``: bulk rows (COPY on PostgreSQL) with their ids, in order, and defaults."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tontine.accounts.models import StaffAction
from tontine.db import COPY_THRESHOLD, db, insert_rows, unit_of_work


@pytest.mark.parametrize("count", [5, COPY_THRESHOLD + 5], ids=["few rows", "bulk (COPY)"])
def test_rows_come_back_as_ids_in_order_with_their_defaults(
    db_app: Any, make_user: Any, count: int
) -> None:
    actor = make_user(roles=("admin",))
    rows = [
        {"actor_id": actor.id, "action": "check", "subject": f"thing:{n}", "reason": f"r{n}"}
        for n in range(count)
    ]
    with unit_of_work():
        first = insert_rows(StaffAction.__table__, rows, returning_ids=True)
        second = insert_rows(StaffAction.__table__, rows[:2], returning_ids=True)
        assert insert_rows(StaffAction.__table__, rows[:1]) == []
        assert insert_rows(StaffAction.__table__, [], returning_ids=True) == []
    assert len(set(first + second)) == count + 2
    stored = {a.id: a for a in db.session.scalars(select(StaffAction))}
    assert [stored[i].subject for i in first] == [f"thing:{n}" for n in range(count)]
    assert [stored[i].subject for i in second] == ["thing:0", "thing:1"]
    assert all(a.created_at is not None for a in stored.values())  # the column's default
