"""No over-funding and no double spending under concurrency, on SQLite and PostgreSQL.

Each thread has its own app context (its own session and connection), like concurrent
requests served by several gunicorn workers.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tontine.accounts.models import User
from tontine.db import db
from tontine.funding import ContributionRefused
from tontine.payments.states import RESERVES


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request, make_site):
    app = make_site(database=request.param)
    with app.app_context():
        yield app


def race(app, count, attempt):
    """Run ``attempt(i)`` in ``count`` threads released at the same moment."""

    barrier = threading.Barrier(count)

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                return attempt(i)
            except ContributionRefused as exc:
                return exc.message
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_fifty_supporters_racing_for_the_last_slots_never_overfund(
    any_db, make_user, capped_project, top_up
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

    results = race(any_db, 50, attempt)
    assert results.count("accepted") == 25  # exactly the €25 left, one euro each
    assert set(results) - {"accepted"} == {"This project has reached its goal."}
    db.session.rollback()
    held = db.session.scalar(
        select(func.sum(Contribution.amount)).where(
            Contribution.project_id == project.id, Contribution.state.in_(RESERVES)
        )
    )
    assert held == reserved(project) == goal == 10000


def test_paying_from_a_balance_concurrently_cannot_overspend(
    any_db, make_user, capped_project, top_up
):
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance, trial_balance
    from tontine.payments.services import contribute

    project_ids = [capped_project(goal=1000).id, capped_project(goal=1000).id]
    supporter = make_user()
    supporter_id = supporter.id
    top_up(supporter, "100")

    def attempt(i):
        _, payment, _ = contribute(
            project_id=project_ids[i % 2],
            supporter=db.session.get(User, supporter_id),
            amount="30",
            provider_key="balance",
            idempotency_key=f"spend-{i}",
            return_url="/",
        )
        return payment.state.value

    results = race(any_db, 10, attempt)
    assert results.count("succeeded") == 3
    refusals = [r for r in results if r != "succeeded"]
    assert len(refusals) == 7 and all("does not cover this payment" in r for r in refusals)
    db.session.rollback()
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter_id, "EUR").amount == 1000
    assert trial_balance() == {"EUR": 0}


def test_a_form_submitted_ten_times_at_once_creates_one_contribution(any_db, make_user, capped_project):
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

    assert len(set(race(any_db, 10, attempt))) == 1
    db.session.rollback()
    assert db.session.query(Contribution).count() == 1


def test_one_webhook_delivered_ten_times_at_once_posts_once(any_db, make_user, capped_project):
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
    outcomes = race(any_db, 10, lambda i: apply_event("sandbox", event))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    db.session.rollback()
    assert db.session.query(LedgerTransaction).count() == 1
    assert trial_balance() == {"EUR": 0}
