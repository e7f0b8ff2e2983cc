"""The sandbox checkout page: each button becomes signed webhooks delivered by a job."""

from __future__ import annotations

from tontine.jobs.models import Job, JobState
from tontine.jobs.services import run_pending
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, trial_balance
from tontine.payments.models import Contribution, PaymentEvent
from tontine.payments.states import PaymentState
from tontine.testing import csrf_token_from


def start_gift(client, login, make_user, capped_project, give_form, **fields):
    project = capped_project(title="Un four à pain")
    login(client, make_user())
    response, _ = give_form(client, project.id, amount="25", **fields)
    assert response.status_code == 303
    # The checkout is on this site (BASE_URL); the test client keeps cookies per host.
    return project, response.headers["Location"].removeprefix(client.application.config["BASE_URL"])


def press(client, checkout_url, action):
    page = client.get(checkout_url)
    assert page.status_code == 200
    return client.post(
        checkout_url,
        data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "action": action},
    )


def test_the_checkout_page_shows_amount_project_and_the_five_choices(
    client, login, make_user, capped_project, give_form
):
    _, url = start_gift(client, login, make_user, capped_project, give_form, tip="2")
    html = client.get(url).get_data(as_text=True)
    assert "Pay €27.00" in html and "Un four à pain" in html
    for action in ("pay", "pay_debit", "pay_3ds", "decline", "abandon"):
        assert f'value="{action}"' in html
    assert 'name="csrf_token"' in html and 'class="site-header' in html  # base.html


def test_pay_succeeds_when_the_webhook_arrives(
    client, login, make_user, capped_project, give_form, wire_webhooks, rows
):
    deliveries = wire_webhooks(client.application)
    project, url = start_gift(client, login, make_user, capped_project, give_form)
    response = press(client, url, "pay")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/my/contributions/1")
    # Nothing changes until the provider's webhook is delivered (asynchronously, by a job).
    assert rows.get(Contribution, 1).state == PaymentState.PENDING
    assert 'http-equiv="refresh"' in client.get("/my/contributions/1").get_data(as_text=True)
    run_pending()
    assert [status for status, _ in deliveries] == [200]  # a card: one "succeeded" event
    assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR").amount == 2500
    assert balance(AccountKind.PROVIDER_CLEARING, "sandbox", "EUR").amount == 2500
    assert trial_balance() == {"EUR": 0}
    assert "Thank you" in client.get("/my/contributions/1").get_data(as_text=True)


def test_pay_with_3d_secure_requires_action_then_succeeds(
    client, login, make_user, capped_project, give_form, wire_webhooks, rows
):
    wire_webhooks(client.application)
    _, url = start_gift(client, login, make_user, capped_project, give_form)
    response = press(client, url, "pay_3ds")
    assert response.status_code == 303 and "/3ds" in response.headers["Location"]
    run_pending()
    assert rows.get(Contribution, 1).state == PaymentState.REQUIRES_ACTION
    challenge = response.headers["Location"]
    assert "Confirm the payment of €25.00" in client.get(challenge).get_data(as_text=True)
    assert press(client, challenge, "authenticate").status_code == 303
    run_pending()
    assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED


def test_decline_and_abandon_release_the_reservation(
    client, login, make_user, capped_project, give_form, wire_webhooks, rows
):
    from tontine.projects.services import reserved

    wire_webhooks(client.application)
    project, url = start_gift(client, login, make_user, capped_project, give_form)
    press(client, url, "decline")
    _, url2 = start_gift(client, login, make_user, capped_project, give_form)
    press(client, url2, "abandon")
    run_pending()
    first, second = rows.get(Contribution, 1), rows.get(Contribution, 2)
    assert (
        first.state == PaymentState.FAILED and first.payments[0].failure_reason == "card_declined"
    )
    assert second.state == PaymentState.CANCELLED
    assert reserved(project) == 0
    assert rows.count(LedgerTransaction) == 0
    done = client.get("/my/contributions/2").get_data(as_text=True)  # the last supporter
    assert "cancelled" in done and "Try again" in done


def test_one_outcome_per_checkout_even_when_clicked_twice(
    client, login, make_user, capped_project, give_form, wire_webhooks, rows
):
    wire_webhooks(client.application)
    _, url = start_gift(client, login, make_user, capped_project, give_form)
    assert press(client, url, "pay").status_code == 303
    second = press(client, url, "decline")  # before the webhook arrived
    assert second.status_code == 409
    assert "This checkout is finished" in second.get_data(as_text=True)
    run_pending()
    third = press(client, url, "pay")
    assert third.status_code == 409 and "already succeeded" in third.get_data(as_text=True)
    assert rows.count(Job, Job.kind == "sandbox_deliver_webhook") == 1
    assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED


def test_garbage_on_the_checkout_page_is_refused(
    client, login, make_user, capped_project, give_form, rows
):
    _, url = start_gift(client, login, make_user, capped_project, give_form)
    assert press(client, url, "steal").status_code == 400
    assert client.post(url, data={"action": "pay"}).status_code == 400  # no CSRF token
    assert client.get("/sandbox/checkout/sbx_nope").status_code == 404
    assert rows.count(Job) == 0


def test_duplicated_and_reversed_webhooks_still_confirm_once(
    make_site, make_user, capped_project, login, give_form, wire_webhooks, rows
):
    app = make_site(SANDBOX={"duplicate_webhooks": True, "out_of_order": True})
    with app.app_context():
        client = app.test_client()
        deliveries = wire_webhooks(app)
        _, url = start_gift(client, login, make_user, capped_project, give_form)
        press(client, url, "pay_debit")  # "pending", then "succeeded"
        run_pending()
        outcomes = [body for _, body in deliveries]
        assert len(outcomes) == 4
        assert '"applied"' in outcomes[0] and '"duplicate"' in outcomes[1]  # succeeded, twice
        assert '"ignored"' in outcomes[2] and '"duplicate"' in outcomes[3]  # then pending, twice
        assert rows.get(Contribution, 1).state == PaymentState.SUCCEEDED
        assert rows.count(LedgerTransaction) == 1 and rows.count(PaymentEvent) == 2
        assert trial_balance() == {"EUR": 0}


def test_a_failed_delivery_is_retried_with_backoff(
    make_site, make_user, capped_project, login, give_form, rows
):
    from tontine.testing import free_port

    app = make_site(BASE_URL=f"http://127.0.0.1:{free_port()}")  # nobody listens there
    with app.app_context():
        client = app.test_client()
        _, url = start_gift(client, login, make_user, capped_project, give_form)
        press(client, url, "pay")
        run_pending()
        job = rows.get(Job, 1)
        assert job.state == JobState.QUEUED and job.attempts == 1
        assert job.run_at > job.created_at and "WebhookDeliveryFailed" in job.last_error
        assert rows.get(Contribution, 1).state == PaymentState.PENDING


def test_the_checkout_only_returns_to_this_site(
    client, login, make_user, capped_project, give_form
):
    _, url = start_gift(client, login, make_user, capped_project, give_form)
    evil = url.split("?")[0] + "?return_to=https%3A%2F%2Fevil.example%2Fphish"
    response = press(client, evil, "abandon")
    assert response.status_code == 303
    assert response.headers["Location"] == "/my/contributions/1"


def test_the_checkout_speaks_french(client, login, make_user, capped_project, give_form):
    _, url = start_gift(client, login, make_user, capped_project, give_form)
    with client.application.app_context():  # a fresh ``g``: the locale is chosen again
        html = client.get(url, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Payer 25,00" in html and "Abandonner" in html and "aucun argent réel" in html.lower()
