"""No over-funding and no duplicates under concurrency, on SQLite and PostgreSQL.

Each thread has its own app context (its own session and connection), like concurrent
requests served by several gunicorn workers.
"""

from __future__ import annotations

from tontine.accounts.models import User
from tontine.db import db
from tontine.payments.states import RESERVES


def test_fifty_supporters_racing_for_the_last_slots_never_overfund(
    any_db, race, make_user, capped_project, top_up
):
    from sqlalchemy import func, select

    from tontine.payments.models import Contribution
    from tontine.payments.services import contribute
    from tontine.projects.services import raised, reserved

    project = capped_project(goal=100)
    early = make_user()
    top_up(early, "75")
    contribute(
        project_id=project.id,
        supporter=early,
        amount="75",
        provider_key="balance",
        idempotency_key="early",
        return_url="/",
    )
    assert raised(project).amount == 7500
    project_id, goal = project.id, project.goal_amount
    supporter_ids = [make_user().id for _ in range(3)]

    def attempt(i):
        supporter = db.session.get(User, supporter_ids[i % 3])
        contribute(
            project_id=project_id,
            supporter=supporter,
            amount="1",
            provider_key="sandbox",
            idempotency_key=f"race-{i}",
            return_url="/",
        )
        return "accepted"

    results = race(50, attempt)
    assert results.count("accepted") == 25  # exactly the €25 left, one euro each
    assert set(results) - {"accepted"} == {"This project has reached its goal."}
    db.session.rollback()
    held = db.session.scalar(
        select(func.sum(Contribution.amount)).where(
            Contribution.project_id == project.id, Contribution.state.in_(RESERVES)
        )
    )
    assert held == reserved(project) == goal == 10000


def test_a_form_submitted_ten_times_at_once_creates_one_contribution(
    any_db, race, make_user, capped_project
):
    from tontine.payments.models import Contribution
    from tontine.payments.services import contribute

    project_id = capped_project().id
    supporter_id = make_user().id

    def attempt(i):
        contribution, _, _ = contribute(
            project_id=project_id,
            supporter=db.session.get(User, supporter_id),
            amount="10",
            provider_key="sandbox",
            idempotency_key="the-same-form",
            return_url="/",
        )
        return contribution.id

    assert len(set(race(10, attempt))) == 1
    db.session.rollback()
    assert db.session.query(Contribution).count() == 1


def test_one_webhook_delivered_ten_times_at_once_posts_once(
    any_db, race, make_user, capped_project
):
    from tontine.ledger.models import LedgerTransaction
    from tontine.ledger.services import trial_balance
    from tontine.payments.provider import ProviderEvent
    from tontine.payments.services import apply_event, contribute

    project = capped_project()
    _, payment, _ = contribute(
        project_id=project.id,
        supporter=make_user(),
        amount="10",
        provider_key="sandbox",
        idempotency_key="k",
        return_url="/",
    )
    event = ProviderEvent(event_id="evt_once", provider_ref=payment.provider_ref, kind="succeeded")
    outcomes = race(10, lambda i: apply_event("sandbox", event))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    db.session.rollback()
    assert db.session.query(LedgerTransaction).count() == 1
    assert trial_balance() == {"EUR": 0}
