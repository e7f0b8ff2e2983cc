"""Bank transfers: instructions with a unique reference; staff mark them received, with a reason."""

from __future__ import annotations

import re

import pytest

from tontine.accounts.models import StaffAction
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, trial_balance
from tontine.payments.models import Contribution, Payment
from tontine.payments.states import PaymentState
from tontine.testing import csrf_token_from

BANK = {
    "iban": "DE89 3704 0044 0532 0130 00",
    "bic": "COBADEFFXXX",
    "account_holder": "Les Rêves asbl",
}


@pytest.fixture
def app(make_site):
    app = make_site(MANUAL=BANK)
    with app.app_context():
        yield app


@pytest.fixture
def transfer(client, login, make_user, capped_project, give_form):
    """A supporter chose a bank transfer of €40; returns the done page's response."""
    project = capped_project(title="Un atelier vélo")
    login(client, make_user())
    response, _ = give_form(client, project.id, amount="40", provider="manual")
    assert response.status_code == 303
    return client.get(response.headers["Location"])


def test_the_supporter_gets_the_account_amount_and_a_unique_reference(transfer, rows):
    html = transfer.get_data(as_text=True)
    assert BANK["iban"] in html and BANK["bic"] in html and "Les Rêves asbl" in html
    assert "€40.00" in html
    reference = re.search(r"TNT-[A-Z2-9]{4}-[A-Z2-9]{4}", html).group(0)
    payment = rows.get(Payment, 1)
    assert payment.provider_ref == reference and payment.state == PaymentState.PENDING
    assert 'http-equiv="refresh"' not in html  # a transfer takes days: no polling


def test_staff_see_pending_transfers_and_mark_one_received_with_a_reason(
    client, login, make_user, transfer, rows
):
    supporter_page = client.get("/payments/transfers")
    assert supporter_page.status_code == 403
    staff = make_user(roles=("moderator",))
    login(client, staff)
    page = client.get("/payments/transfers").get_data(as_text=True)
    reference = rows.get(Payment, 1).provider_ref
    assert reference in page and "€40.00" in page and "Un atelier vélo" in page
    token = csrf_token_from(page)

    no_reason = client.post(
        "/payments/transfers/1/received", data={"csrf_token": token, "reason": "  "}
    )
    assert no_reason.status_code == 422
    assert "Say how the transfer was checked." in no_reason.get_data(as_text=True)
    assert rows.count(StaffAction) == 0 and rows.count(LedgerTransaction) == 0

    done = client.post(
        "/payments/transfers/1/received",
        data={"csrf_token": token, "reason": "Statement of 4 March, line 12"},
    )
    assert done.status_code == 303
    assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED
    action = rows.get(StaffAction, 1)
    assert (action.actor_id, action.action, action.subject) == (
        staff.id,
        "transfer_received",
        "payment:1",
    )
    assert action.reason == "Statement of 4 March, line 12"
    assert balance(AccountKind.PROVIDER_CLEARING, "manual", "EUR").amount == 4000
    assert trial_balance() == {"EUR": 0}
    assert reference not in client.get("/payments/transfers").get_data(as_text=True)

    twice = client.post(
        "/payments/transfers/1/received", data={"csrf_token": token, "reason": "again"}
    )
    assert twice.status_code == 409 and "already succeeded" in twice.get_data(as_text=True)
    assert (
        client.post(
            "/payments/transfers/99/received", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
    assert client.post("/payments/transfers/1/received", data={"reason": "x"}).status_code == 400
    assert rows.count(StaffAction) == 1 and rows.count(LedgerTransaction) == 1


def test_a_supporter_cannot_mark_a_transfer_received(client, transfer, rows):
    token = csrf_token_from(transfer.get_data(as_text=True))
    response = client.post(
        "/payments/transfers/1/received", data={"csrf_token": token, "reason": "trust me"}
    )
    assert response.status_code == 403
    assert rows.get(Payment, 1).state == PaymentState.PENDING and rows.count(StaffAction) == 0


def test_only_transfers_are_marked_received(app, make_user, capped_project):
    from tontine.errors import DomainError
    from tontine.payments.services import contribute, mark_received

    project = capped_project()
    _, payment, _ = contribute(
        project_id=project.id,
        supporter=make_user(),
        amount="5",
        provider_key="sandbox",
        idempotency_key="k",
        return_url="/",
    )
    with pytest.raises(DomainError, match="Only bank transfers"):
        mark_received(payment.id, make_user(roles=("admin",)), "looks fine")


def test_refunds_and_payouts_by_transfer_are_recorded_at_once(make_site, make_user, capped_project):
    from datetime import timedelta

    from tontine.db import utcnow
    from tontine.payments.models import Payout
    from tontine.payments.services import (
        contribute,
        mark_received,
        refund_contribution,
        request_payout,
    )
    from tontine.payments.states import PayoutState
    from tontine.projects.services import close_project

    app = make_site(PAYMENT_PROVIDERS=["manual", "sandbox", "balance"], MANUAL=BANK)
    with app.app_context():
        staff = make_user(roles=("admin",))
        owner = make_user(roles=("supporter", "project_owner"))
        project = capped_project(goal=50, owner=owner)
        _, p1, _ = contribute(
            project_id=project.id,
            supporter=make_user(),
            amount="50",
            provider_key="manual",
            idempotency_key="a",
            return_url="/",
        )
        mark_received(p1.id, staff, "bank statement")
        assert close_project(project.id, now=utcnow() + timedelta(days=40)) == "funded"
        payout = request_payout(project.id, owner)
        assert payout.provider == "manual"
        from tontine.db import db

        db.session.rollback()
        assert db.session.get(Payout, payout.id).state == PayoutState.PAID

        other = capped_project(goal=50)
        c2, p2, _ = contribute(
            project_id=other.id,
            supporter=make_user(),
            amount="20",
            provider_key="manual",
            idempotency_key="b",
            return_url="/",
        )
        mark_received(p2.id, staff, "bank statement")
        assert (
            refund_contribution(c2.id, actor=staff, reason="supporter asked") == "refund requested"
        )
        db.session.rollback()
        assert db.session.get(Contribution, c2.id).state == PaymentState.REFUNDED
        assert trial_balance() == {"EUR": 0}


def test_transfers_have_no_webhook(client, rows):
    response = client.post("/payments/webhook/manual", data=b"{}")
    assert response.status_code == 400
    assert response.json["detail"] == "manual does not receive webhooks"


def test_staff_find_the_transfers_page_in_the_navigation(client, login, make_user):
    login(client, make_user())
    assert "/payments/transfers" not in client.get("/my/contributions").get_data(as_text=True)
    login(client, make_user(roles=("moderator",)))
    assert 'href="/payments/transfers"' in client.get("/my/contributions").get_data(as_text=True)
