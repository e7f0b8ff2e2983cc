"""Refunds when an all-or-nothing project fails, and payouts when one is funded."""

from __future__ import annotations

from datetime import timedelta

from tontine.accounts.models import StaffAction
from tontine.db import utcnow
from tontine.jobs.services import run_pending
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, trial_balance
from tontine.payments.models import Contribution, Payout
from tontine.payments.services import contribute, mark_received, request_payout
from tontine.payments.states import PaymentState, PayoutState
from tontine.projects.services import close_project, raised
from tontine.testing import csrf_token_from


def euros(kind, ref, currency="EUR"):
    return balance(kind, ref, currency).amount


def give(project, supporter, amount, provider, key, **kw):
    return contribute(
        project_id=project.id,
        supporter=supporter,
        amount=amount,
        provider_key=provider,
        idempotency_key=key,
        return_url="/",
        **kw,
    )


def after_deadline(project):
    return utcnow() + timedelta(days=project_days(project) + 1)


def project_days(project):
    return int(project.terms.get("duration_days", 30))


def test_a_missed_goal_refunds_every_gift_to_the_chosen_place(
    client, make_user, capped_project, top_up, wire_webhooks, provider_says, rows
):
    wire_webhooks(client.application)
    project = capped_project(goal=100)
    card, card_to_balance, from_balance, by_transfer, late = (make_user() for _ in range(5))
    staff = make_user(roles=("moderator",))
    top_up(from_balance, "20")

    _, a, _ = give(project, card, "10", "sandbox", "a", tip="1")
    _, b, _ = give(project, card_to_balance, "15", "sandbox", "b", tip="2", refund_to="balance")
    give(project, from_balance, "20", "balance", "c")
    _, d, _ = give(project, by_transfer, "5", "manual", "d")
    _, e, _ = give(project, late, "7", "sandbox", "e")  # still at the checkout when it fails
    assert provider_says(client, a, "succeeded").status_code == 200
    assert provider_says(client, b, "succeeded").status_code == 200
    mark_received(d.id, staff, "seen on the statement of 3 March")
    assert raised(project).amount == 5000 < project.goal_amount

    assert close_project(project.id, now=after_deadline(project)) == "failed"
    run_pending()

    states = {
        c.id: rows.get(Contribution, c.id).state
        for c in (a.contribution, b.contribution, d.contribution)
    }
    assert set(states.values()) == {PaymentState.REFUNDED}
    assert rows.get(Contribution, 3).state == PaymentState.REFUNDED
    assert euros(AccountKind.SUPPORTER_BALANCE, card.id) == 0  # back on the card
    assert euros(AccountKind.SUPPORTER_BALANCE, card_to_balance.id) == 1700  # gift and tip
    assert euros(AccountKind.SUPPORTER_BALANCE, from_balance.id) == 2000
    assert euros(AccountKind.PROJECT_ESCROW, project.id) == 0
    assert euros(AccountKind.DONATIONS, "platform") == 0
    assert raised(project).amount == 0
    assert trial_balance() == {"EUR": 0}

    # The late checkout is paid after the failure: it is refunded too.
    assert provider_says(client, e, "succeeded").json["outcomes"] == ["applied"]
    run_pending()
    assert rows.get(Contribution, e.contribution_id).state == PaymentState.REFUNDED
    assert euros(AccountKind.PROJECT_ESCROW, project.id) == 0
    assert trial_balance() == {"EUR": 0}


def test_my_gifts_shows_a_refund_to_the_balance(
    client, login, make_user, capped_project, provider_says, top_up
):
    project = capped_project(goal=100)
    supporter = make_user()
    _, payment, _ = give(project, supporter, "15", "sandbox", "x", refund_to="balance")
    provider_says(client, payment, "succeeded")
    close_project(project.id, now=after_deadline(project))
    run_pending()
    login(client, supporter)
    page = client.get("/my/contributions").get_data(as_text=True)
    assert "refunded" in page and "to your balance" in page and "€15.00" in page
    assert "Your Tontine balance:" in page


def funded_project(capped_project, make_user, top_up, fee_site=None):
    owner = make_user(roles=("supporter", "project_owner"))
    project = capped_project(goal=100, owner=owner)
    backer = make_user()
    top_up(backer, "100")
    give(project, backer, "100", "balance", "all")
    assert close_project(project.id, now=after_deadline(project)) == "funded"
    return owner, project


def test_a_payout_posts_the_fee_and_the_net_and_is_paid_by_webhook(
    make_site, make_user, capped_project, top_up, wire_webhooks, login, rows
):
    app = make_site(PLATFORM_FEE_PERCENT="5")
    with app.app_context():
        client = app.test_client()
        wire_webhooks(app)
        owner, project = funded_project(capped_project, make_user, top_up)
        login(client, owner)
        page = client.get(f"/projects/{project.id}/payouts")
        assert "Request a payout" in page.get_data(as_text=True)
        response = client.post(
            f"/projects/{project.id}/payout",
            data={"csrf_token": csrf_token_from(page.get_data(as_text=True))},
        )
        assert response.status_code == 303
        payout = rows.get(Payout, 1)
        assert (payout.amount, payout.fee_amount, payout.state) == (
            9500,
            500,
            PayoutState.REQUESTED,
        )
        assert euros(AccountKind.PROJECT_ESCROW, project.id) == 0
        assert euros(AccountKind.PLATFORM_FEES, "platform") == 500
        assert euros(AccountKind.PAYOUTS_IN_TRANSIT, payout.id) == 9500
        assert rows.count(StaffAction, StaffAction.action == "payout_requested") == 1

        run_pending()  # the sandbox confirms by webhook
        assert rows.get(Payout, 1).state == PayoutState.PAID
        assert euros(AccountKind.PAYOUTS_IN_TRANSIT, payout.id) == 0
        assert euros(AccountKind.PLATFORM_FEES, "platform") == 500
        assert trial_balance() == {"EUR": 0}
        assert "paid" in client.get(f"/projects/{project.id}/payouts").get_data(as_text=True)

        again = client.post(
            f"/projects/{project.id}/payout",
            data={"csrf_token": csrf_token_from(page.get_data(as_text=True))},
        )
        assert again.status_code == 409
        assert "There is nothing left to pay out." in again.get_data(as_text=True)
        assert rows.count(Payout) == 1


def test_a_failed_payout_puts_the_money_back(
    make_site, make_user, capped_project, top_up, provider_says, rows
):
    app = make_site(PLATFORM_FEE_PERCENT="5")
    with app.app_context():
        owner, project = funded_project(capped_project, make_user, top_up)
        payout = request_payout(project.id, owner)
        response = provider_says(app.test_client(), payout.provider_ref, "payout_failed")
        assert response.json["outcomes"] == ["applied"]
        assert rows.get(Payout, payout.id).state == PayoutState.FAILED
        assert euros(AccountKind.PROJECT_ESCROW, project.id) == 10000
        assert euros(AccountKind.PLATFORM_FEES, "platform") == 0
        # The provider's later "paid" for the same payout changes nothing.
        assert provider_says(app.test_client(), payout.provider_ref, "payout_paid").json[
            "outcomes"
        ] == ["ignored"]
        assert trial_balance() == {"EUR": 0}


def test_only_the_owner_of_a_funded_project_gets_a_payout(
    client, login, make_user, capped_project, top_up, rows
):
    owner = make_user(roles=("supporter", "project_owner"))
    open_project = capped_project(owner=owner)
    stranger = make_user()
    login(client, stranger)
    assert client.get(f"/projects/{open_project.id}/payouts").status_code == 404
    login(client, owner)
    page = client.get(f"/projects/{open_project.id}/payouts").get_data(as_text=True)
    assert "Request a payout" not in page
    response = client.post(
        f"/projects/{open_project.id}/payout", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 409
    assert "Money is paid out once the project is funded." in response.get_data(as_text=True)
    login(client, stranger)
    assert (
        client.post(
            f"/projects/{open_project.id}/payout", data={"csrf_token": csrf_token_from(page)}
        ).status_code
        == 404
    )
    assert client.post(f"/projects/{open_project.id}/payout").status_code == 400  # no CSRF token
    assert rows.count(Payout) == 0
