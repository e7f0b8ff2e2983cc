"""Paying from the Tontine balance: shown where you give, never overspent, refunded back."""

from __future__ import annotations

from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, trial_balance
from tontine.payments.models import Contribution, Payment
from tontine.payments.states import PaymentState


def test_the_give_page_and_my_gifts_show_the_balance(
    client, login, make_user, capped_project, top_up
):
    project = capped_project()
    supporter = make_user()
    top_up(supporter, "42.50")
    login(client, supporter)
    assert "your balance: €42.50" in client.get(f"/projects/{project.id}/give").get_data(
        as_text=True
    )
    assert "€42.50" in client.get("/my/contributions").get_data(as_text=True)


def test_paying_from_the_balance_succeeds_at_once(
    client, login, make_user, capped_project, top_up, give_form, rows
):
    project = capped_project()
    supporter = make_user()
    top_up(supporter, "50")
    login(client, supporter)
    response, _ = give_form(client, project.id, amount="30", tip="2", provider="balance")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/my/contributions/1"
    )
    assert "Thank you" in client.get("/my/contributions/1").get_data(as_text=True)
    assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter.id, "EUR").amount == 1800
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR").amount == 3000
    assert balance(AccountKind.DONATIONS, "platform", "EUR").amount == 200
    assert trial_balance() == {"EUR": 0}


def test_a_balance_too_small_is_refused_clearly_and_writes_nothing(
    client, login, make_user, capped_project, top_up, give_form, rows
):
    project = capped_project()
    supporter = make_user()
    top_up(supporter, "5")
    login(client, supporter)
    response, _ = give_form(client, project.id, amount="5", tip="1", provider="balance")
    assert response.status_code == 422
    assert "Your balance (5.00 EUR) does not cover this payment (6.00 EUR)." in response.get_data(
        as_text=True
    )
    assert rows.count(Contribution) == 0 and rows.count(Payment) == 0
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter.id, "EUR").amount == 500


def test_a_refund_goes_back_to_the_balance(app, make_user, capped_project, top_up, rows):
    from tontine.payments.services import contribute, refund_contribution

    project = capped_project()
    supporter = make_user()
    top_up(supporter, "25")
    contribution, _, _ = contribute(
        project_id=project.id,
        supporter=supporter,
        amount="25",
        provider_key="balance",
        idempotency_key="k",
        return_url="/",
    )
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter.id, "EUR").amount == 0
    assert refund_contribution(contribution.id) == "refund requested"
    assert rows.get(Contribution, contribution.id).state == PaymentState.REFUNDED
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter.id, "EUR").amount == 2500
    assert refund_contribution(contribution.id) == "nothing to refund"  # a second run is a no-op
    assert balance(AccountKind.SUPPORTER_BALANCE, supporter.id, "EUR").amount == 2500
    assert trial_balance() == {"EUR": 0}


def test_money_is_not_paid_out_through_a_balance(make_site):
    app = make_site(PAYMENT_PROVIDERS=["balance", "manual"])
    with app.app_context():
        from tontine.payments.services import payout_provider_key

        assert payout_provider_key() == "manual"
