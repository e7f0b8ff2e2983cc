"""Paying from a balance at the same moment can never spend the same money twice
(on SQLite and PostgreSQL; each thread has its own session, like concurrent requests)."""

from __future__ import annotations

from tontine.accounts.models import User
from tontine.db import db


def test_paying_from_a_balance_concurrently_cannot_overspend(
    any_db, race, make_user, capped_project, top_up
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

    results = race(10, attempt)
    assert results.count("succeeded") == 3
    refusals = [r for r in results if r != "succeeded"]
    assert len(refusals) == 7 and all("does not cover this payment" in r for r in refusals)
    db.session.rollback()
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter_id, "EUR").amount == 1000
    assert trial_balance() == {"EUR": 0}
