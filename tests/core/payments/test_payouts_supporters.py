"""A supporter's balance is paid out through the payment provider, as a project's money is."""

from __future__ import annotations

import pytest

from tontine.accounts.models import User
from tontine.db import db
from tontine.errors import DomainError
from tontine.jobs.services import run_pending
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, trial_balance
from tontine.payments.models import Payout
from tontine.payments.services import balance_payouts_of, request_balance_payout
from tontine.payments.states import PayoutState


def euros(kind, ref):
    return balance(kind, ref, "EUR").amount


def test_a_supporter_is_paid_through_the_sandbox_webhook(
    any_db, make_user, top_up, wire_webhooks, rows
):
    seen = wire_webhooks(any_db)
    supporter = make_user()
    top_up(supporter, "50")
    payout = request_balance_payout(supporter, "20", "EUR")
    assert (payout.supporter_id, payout.project_id, payout.provider) == (supporter.id, None, "sandbox")
    assert rows.get(Payout, payout.id).state == PayoutState.REQUESTED
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 3000
    assert euros(AccountKind.PAYOUTS_IN_TRANSIT, payout.id) == 2000

    run_pending()  # the sandbox's signed "payout_paid" webhook arrives
    assert [status for status, _ in seen] == [200]
    assert rows.get(Payout, payout.id).state == PayoutState.PAID
    assert euros(AccountKind.PAYOUTS_IN_TRANSIT, payout.id) == 0
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 3000
    assert [p.id for p in balance_payouts_of(supporter)] == [payout.id]
    assert trial_balance() == {"EUR": 0}


def test_a_failed_payout_returns_the_money_to_the_balance_and_duplicates_change_nothing(
    any_db, make_user, top_up, provider_says, rows
):
    supporter = make_user()
    top_up(supporter, "50")
    payout = request_balance_payout(supporter, "20.50", "EUR")
    client = any_db.test_client()
    response = provider_says(client, payout.provider_ref, "payout_failed")
    assert response.json["outcomes"] == ["applied"]
    assert rows.get(Payout, payout.id).state == PayoutState.FAILED
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 5000
    assert euros(AccountKind.PAYOUTS_IN_TRANSIT, payout.id) == 0
    postings = rows.count(LedgerTransaction)
    # The same webhook again, and a late "paid": nothing moves.
    assert provider_says(client, payout.provider_ref, "payout_failed").json["outcomes"] == ["duplicate"]
    assert provider_says(client, payout.provider_ref, "payout_paid").json["outcomes"] == ["ignored"]
    assert rows.count(LedgerTransaction) == postings
    assert rows.get(Payout, payout.id).state == PayoutState.FAILED
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 5000
    assert trial_balance() == {"EUR": 0}


def test_a_duplicate_paid_webhook_changes_nothing(any_db, make_user, top_up, provider_says, rows):
    supporter = make_user()
    top_up(supporter, "10")
    payout = request_balance_payout(supporter, "10", "EUR")
    client = any_db.test_client()
    assert provider_says(client, payout.provider_ref, "payout_paid").json["outcomes"] == ["applied"]
    postings = rows.count(LedgerTransaction)
    assert provider_says(client, payout.provider_ref, "payout_paid").json["outcomes"] == ["duplicate"]
    assert rows.count(LedgerTransaction) == postings
    assert euros(AccountKind.PROVIDER_CLEARING, "sandbox") == 0  # 10 topped up, 10 paid out
    assert trial_balance() == {"EUR": 0}


@pytest.mark.parametrize("amount", ["50.01", "0", "-5", "abc", "1.234", "", "1e30"])
def test_more_than_the_balance_or_a_bad_amount_is_refused_and_writes_nothing(
    app, make_user, top_up, rows, amount
):
    supporter = make_user()
    top_up(supporter, "50")
    postings = rows.count(LedgerTransaction)
    with pytest.raises(DomainError) as refused:
        request_balance_payout(supporter, amount, "EUR")
    assert refused.value.field == "amount"
    if amount == "50.01":
        assert "50.00 EUR" in refused.value.message  # says what the balance is
    assert rows.count(Payout) == 0 and rows.count(LedgerTransaction) == postings
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 5000


def test_a_site_that_cannot_pay_out_refuses(make_site, make_user, top_up, rows):
    app = make_site(PAYMENT_PROVIDERS=["balance"])
    with app.app_context():
        supporter = make_user()
        top_up(supporter, "50")
        with pytest.raises(DomainError, match="pay money out"):
            request_balance_payout(supporter, "10", "EUR")
        assert rows.count(Payout) == 0


def test_the_manual_provider_pays_a_supporter_as_it_pays_a_project(make_site, make_user, top_up, rows):
    app = make_site(PAYMENT_PROVIDERS=["manual", "balance"])
    with app.app_context():
        supporter = make_user()
        top_up(supporter, "50")
        payout = request_balance_payout(supporter, "10", "EUR")
        assert payout.provider == "manual"
        assert rows.get(Payout, payout.id).state == PayoutState.PAID
        assert euros(AccountKind.SUPPORTER_BALANCE, supporter.id) == 4000
        assert trial_balance() == {"EUR": 0}


def test_two_withdrawals_at_once_cannot_overdraw(any_db, make_user, top_up, rows):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    supporter = make_user()
    top_up(supporter, "30")
    supporter_id = supporter.id
    count = 6
    barrier = threading.Barrier(count)

    def attempt(i: int) -> str:
        with any_db.app_context():
            barrier.wait()
            try:
                request_balance_payout(db.session.get(User, supporter_id), "20", "EUR")
                return "paid out"
            except DomainError:
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(attempt, range(count)))
    assert sorted(results) == ["paid out"] + ["refused"] * (count - 1)
    assert rows.count(Payout) == 1
    assert euros(AccountKind.SUPPORTER_BALANCE, supporter_id) == 1000
    assert trial_balance() == {"EUR": 0}


def test_the_database_refuses_a_payout_with_no_source_or_two(app, make_user, capped_project):
    from sqlalchemy.exc import IntegrityError

    user = make_user()
    project = capped_project()
    for project_id, supporter_id in ((None, None), (project.id, user.id)):
        db.session.add(Payout(project_id=project_id, supporter_id=supporter_id, amount=1,
                              currency="EUR", provider="sandbox"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
