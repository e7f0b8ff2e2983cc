"""A lender withdraws repaid money: a core payout from their balance, paid by the provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tontine.db import db, unit_of_work
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, credit, debit, post, trial_balance
from tontine.money import Money
from tontine.payments.models import Payout
from tontine.payments.states import PayoutState


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, make_app: Any) -> Iterator[Any]:
    """The microloans set-up (sandbox, bank transfer, balance) on SQLite, then PostgreSQL."""
    app = make_app(plugins=["loan", "sandbox", "manual", "balance"], database=request.param)
    with app.app_context():
        yield app


def repaid(lender: Any, euros: int) -> None:
    """Repayments arrived on the lender's balance."""
    money = Money(euros * 100, "EUR")
    with unit_of_work():
        post(
            "repayment",
            [
                debit(AccountKind.PROVIDER_CLEARING, "manual", money),
                credit(AccountKind.SUPPORTER_BALANCE, lender.id, money),
            ],
        )


def sandbox_says(client: Any, payout: Payout, kind: str) -> Any:
    """The sandbox's signed webhook about ``payout``, as it would send it."""
    from tontine_sandbox import SIGNATURE_HEADER, sign
    from tontine_sandbox.provider import event_body, webhook_secret

    event_id = f"evt_{payout.provider_ref}_{kind}"
    body = event_body(event_id, kind, payout.provider_ref, payout.amount).encode()
    return client.post(
        "/payments/webhook/sandbox",
        data=body,
        headers={SIGNATURE_HEADER: sign(body, webhook_secret())},
    )


def count(model: Any) -> int:
    db.session.rollback()
    return db.session.query(model).count()


def lender_client(site: Any, make_user: Any, login: Any, euros: int = 50) -> tuple[Any, Any]:
    lender = make_user()
    repaid(lender, euros)
    client = site.test_client()
    login(client, lender)
    return lender, client


def euros_of(lender: Any) -> int:
    db.session.rollback()
    return balance(AccountKind.SUPPORTER_BALANCE, lender.id, "EUR").amount


def test_a_lender_withdraws_part_of_the_balance_and_the_sandbox_pays_it(
    site, make_user, login, form_post
) -> None:
    lender, client = lender_client(site, make_user, login)
    response = form_post(client, "/my/loans", "/my/loans/withdraw", data={"amount": "30"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/my/loans/withdrawals")
    page = client.get("/my/loans/withdrawals").get_data(as_text=True)
    assert "Your withdrawal is requested" in page
    assert "€30.00" in page and "Requested" in page and "€20.00" in page  # left on the balance
    assert euros_of(lender) == 2000
    (payout,) = db.session.scalars(db.select(Payout)).all()
    assert (payout.supporter_id, payout.provider) == (lender.id, "sandbox")

    webhook = site.test_client()
    assert sandbox_says(webhook, payout, "payout_paid").json["outcomes"] == ["applied"]
    postings = count(LedgerTransaction)
    assert sandbox_says(webhook, payout, "payout_paid").json["outcomes"] == ["duplicate"]
    assert count(LedgerTransaction) == postings
    assert db.session.get(Payout, payout.id).state == PayoutState.PAID
    assert "Paid" in client.get("/my/loans/withdrawals").get_data(as_text=True)
    assert euros_of(lender) == 2000
    assert trial_balance() == {"EUR": 0}


def test_a_failed_payout_puts_the_money_back_on_the_balance(
    site, make_user, login, form_post
) -> None:
    lender, client = lender_client(site, make_user, login)
    form_post(client, "/my/loans/withdrawals", "/my/loans/withdraw", data={"amount": "12,50"})
    assert euros_of(lender) == 3750
    (payout,) = db.session.scalars(db.select(Payout)).all()
    assert sandbox_says(site.test_client(), payout, "payout_failed").json["outcomes"] == ["applied"]
    assert euros_of(lender) == 5000
    page = client.get("/my/loans/withdrawals").get_data(as_text=True)
    assert "Failed: back in your balance" in page and "€50.00" in page
    assert trial_balance() == {"EUR": 0}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("50.01", "You cannot withdraw more than your balance of 50.00 EUR."),
        ("0", "The amount must be more than zero."),
        ("twenty", "Enter an amount in EUR."),
        ("", "Enter an amount in EUR."),
    ],
)
def test_a_bad_amount_is_refused_on_the_form_and_writes_nothing(
    site, make_user, login, form_post, amount, message
) -> None:
    lender, client = lender_client(site, make_user, login)
    postings = count(LedgerTransaction)
    response = form_post(client, "/my/loans/withdrawals", "/my/loans/withdraw", data={"amount": amount})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert count(Payout) == 0 and count(LedgerTransaction) == postings
    assert euros_of(lender) == 5000


def test_the_withdrawals_page_is_the_lenders_own(site, make_user, login, form_post) -> None:
    _, client = lender_client(site, make_user, login)
    form_post(client, "/my/loans/withdrawals", "/my/loans/withdraw", data={"amount": "7"})
    _, other = lender_client(site, make_user, login)
    page = other.get("/my/loans/withdrawals").get_data(as_text=True)
    assert "€7.00" not in page and "No withdrawal yet." in page
    assert site.test_client().get("/my/loans/withdrawals").status_code in (302, 401)
    assert other.post("/my/loans/withdraw", data={"amount": "1"}).status_code == 400  # no CSRF


def test_the_page_speaks_french(site, make_user, login, form_post) -> None:
    _, client = lender_client(site, make_user, login)
    client.post("/locale", data={"locale": "fr"})
    with client.session_transaction() as session:
        session["locale"] = "fr"
    response = form_post(client, "/my/loans/withdrawals", "/my/loans/withdraw", data={"amount": "99"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vous ne pouvez pas retirer plus que votre solde" in page
    assert "Aucun retrait pour l’instant" in page or "Retraits" in page
