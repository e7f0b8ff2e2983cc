"""Sandbox webhooks: signed, applied once, in any order; anything else is 400 and writes nothing."""

from __future__ import annotations

import json
import time

import pytest

from tontine.ledger.models import LedgerTransaction
from tontine.ledger.services import trial_balance
from tontine.payments.models import Contribution, Payment, PaymentEvent
from tontine.payments.provider import InvalidWebhook
from tontine.payments.states import PaymentState
from tontine_sandbox import SIGNATURE_HEADER, sign, verify
from tontine_sandbox.provider import webhook_secret

URL = "/payments/webhook/sandbox"


def test_sign_and_verify_roundtrip():
    body = b'{"id":"evt_1"}'
    header = sign(body, "s3cret", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    verify(body, header, "s3cret", now=1_700_000_100)
    for bad_body, secret, now, message in [
        (b'{"id":"evt_2"}', "s3cret", 1_700_000_000, "does not match"),
        (body, "other", 1_700_000_000, "does not match"),
        (body, "s3cret", 1_700_000_000 + 301, "5-minute tolerance"),
        (body, "s3cret", 1_700_000_000 - 301, "5-minute tolerance"),
    ]:
        with pytest.raises(InvalidWebhook, match=message):
            verify(bad_body, header, secret, now=now)


@pytest.fixture
def pending(site, make_user, capped_project):
    """A sandbox contribution of €10 waiting for the provider's word."""
    from tontine.payments.services import contribute

    project = capped_project()
    _, payment, _ = contribute(
        project_id=project.id,
        supporter=make_user(),
        amount="10",
        provider_key="sandbox",
        idempotency_key="k1",
        return_url="/",
    )
    return payment


def event(payment, kind, event_id=None, **extra):
    body = {
        "id": event_id or f"evt_{kind}_{payment.id}",
        "type": kind,
        "ref": payment.provider_ref,
        "amount": payment.amount,
        "created": int(time.time()),
    }
    body.update(extra)
    return json.dumps(body).encode()


def deliver(client, body, header=None, secret=None):
    header = header if header is not None else sign(body, secret or webhook_secret())
    return client.post(
        URL, data=body, headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"}
    )


def nothing_written(rows, payment, state=PaymentState.PENDING):
    assert rows.count(PaymentEvent) == 0
    assert rows.count(LedgerTransaction) == 0
    assert rows.get(Payment, payment.id).state == state


def test_a_bad_signature_gets_400_and_changes_nothing(client, pending, rows):
    body = event(pending, "succeeded")
    response = deliver(client, body, secret="not-the-secret")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "The signature does not match the body."
    nothing_written(rows, pending)


def test_garbage_webhooks_get_400_with_a_reason_and_change_nothing(client, pending, rows):
    good = event(pending, "succeeded")
    secret = webhook_secret()
    old = int(time.time()) - 600
    cases = [
        (good, "", "Missing Tontine-Sandbox-Signature header."),
        (good, "v1=abc", "Malformed"),
        (good, "t=abc,v1=abc", "Malformed"),
        (good, sign(good, secret, old), "5-minute tolerance"),
        (good + b" ", sign(good, secret), "does not match"),
        (b"not json", None, "The body is not JSON."),
        (b"[1, 2]", None, "The body must be a JSON object."),
        (event(pending, "teleported"), None, "type: Must be one of"),
        (json.dumps({"id": "evt_x", "type": "succeeded"}).encode(), None, "ref: Missing data"),
        (event(pending, "refund", amount="12"), None, "amount: Not a valid integer."),
        (event(pending, "refund", amount=-5), None, "amount: Must be greater"),
        (b"{" + b" " * 70_000 + b"}", None, "too large"),
    ]
    for body, header, message in cases:
        if header is None:
            header = sign(body, secret)
        headers = {"Content-Type": "application/json"}
        if header:
            headers[SIGNATURE_HEADER] = header
        response = client.post(URL, data=body, headers=headers)
        assert response.status_code == 400, (body[:40], response.status_code)
        assert message in response.json["detail"], (message, response.json)
    nothing_written(rows, pending)


def test_an_unknown_provider_gets_400(client, pending, rows):
    body = event(pending, "succeeded")
    response = client.post(
        "/payments/webhook/stripe",
        data=body,
        headers={SIGNATURE_HEADER: sign(body, webhook_secret())},
    )
    assert response.status_code == 400
    assert response.json["title"] == "Unknown payment provider"
    nothing_written(rows, pending)


def test_an_event_for_an_unknown_payment_is_404_so_the_provider_retries(client, pending, rows):
    body = json.dumps({"id": "evt_ghost", "type": "succeeded", "ref": "sbx_ghost"}).encode()
    response = deliver(client, body)
    assert response.status_code == 404
    nothing_written(rows, pending)


def test_the_same_webhook_twice_posts_one_ledger_transaction(client, pending, rows):
    body = event(pending, "succeeded")
    first, second = deliver(client, body), deliver(client, body)
    assert first.status_code == second.status_code == 200
    assert first.json["outcomes"] == ["applied"]
    assert second.json["outcomes"] == ["duplicate"]
    assert rows.count(LedgerTransaction) == 1
    assert rows.count(PaymentEvent) == 1
    assert rows.get(Contribution, pending.contribution_id).state == PaymentState.SUCCEEDED
    assert trial_balance() == {"EUR": 0}


def test_succeeded_then_pending_ends_succeeded(client, pending, rows):
    assert deliver(client, event(pending, "succeeded")).json["outcomes"] == ["applied"]
    assert deliver(client, event(pending, "pending")).json["outcomes"] == ["ignored"]
    assert deliver(client, event(pending, "requires_action")).json["outcomes"] == ["ignored"]
    assert rows.get(Payment, pending.id).state == PaymentState.SUCCEEDED
    assert rows.count(LedgerTransaction) == 1


def test_a_late_success_after_expiry_is_ignored(client, pending, rows, wire_webhooks):
    """The contribution stays expired (the project may be full by now) and the money the
    provider took too late goes back to the supporter; the books never see it."""
    from datetime import timedelta

    from tontine.db import unit_of_work, utcnow
    from tontine.jobs.services import run_pending
    from tontine.payments.services import expire_stale_payments
    from tontine.projects.services import reserved

    with unit_of_work():
        rows.get(Payment, pending.id).expires_at = utcnow() - timedelta(minutes=1)
    assert expire_stale_payments() == 1
    payment = rows.get(Payment, pending.id)
    assert payment.state == PaymentState.EXPIRED
    response = deliver(client, event(pending, "succeeded"))
    assert response.status_code == 200
    assert response.json["outcomes"] == ["ignored: paid too late, refund requested"]
    assert rows.get(Payment, pending.id).state == PaymentState.EXPIRED
    assert rows.count(LedgerTransaction) == 0
    deliveries = wire_webhooks(client.application)
    run_pending()  # the sandbox confirms the refund by webhook
    assert any('"ignored"' in body for _, body in deliveries)
    assert rows.count(PaymentEvent, PaymentEvent.kind == "refund") == 1
    assert rows.get(Payment, pending.id).state == PaymentState.EXPIRED
    assert rows.count(LedgerTransaction) == 0
    assert deliver(client, event(pending, "succeeded")).json["outcomes"] == ["duplicate"]
    from tontine.projects.models import Project

    project = rows.get(Project, rows.get(Contribution, pending.contribution_id).project_id)
    assert reserved(project) == 0  # the expired checkout no longer holds a share of the goal


def test_the_webhook_secret_is_generated_once_into_var(site, tmp_path):
    from pathlib import Path

    secret = webhook_secret()
    stored = Path(site.config["VAR_PATH"]) / "sandbox_webhook_secret"
    assert stored.read_text().strip() == secret and len(secret) >= 32
    assert oct(stored.stat().st_mode & 0o777) == "0o600"


def test_a_configured_secret_wins(make_site):
    app = make_site(SANDBOX={"webhook_secret": "from-config"})
    with app.app_context():
        assert webhook_secret() == "from-config"


def test_refunds_from_the_provider_can_be_partial(client, pending, rows):
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance

    deliver(client, event(pending, "succeeded"))
    first = deliver(client, event(pending, "refund", event_id="evt_r1", amount=300))
    assert first.json["outcomes"] == ["applied"]
    contribution = rows.get(Contribution, pending.contribution_id)
    assert contribution.state == PaymentState.PARTIALLY_REFUNDED
    assert contribution.refunded_amount == 300
    project_id = contribution.project_id
    assert balance(AccountKind.PROJECT_ESCROW, project_id, "EUR").amount == 700
    rest = deliver(client, event(pending, "refund", event_id="evt_r2", amount=5000))  # capped
    assert rest.json["outcomes"] == ["applied"]
    assert rows.get(Payment, pending.id).state == PaymentState.REFUNDED
    assert rows.get(Payment, pending.id).refunded_amount == 1000
    assert balance(AccountKind.PROJECT_ESCROW, project_id, "EUR").amount == 0
    more = deliver(client, event(pending, "refund", event_id="evt_r3", amount=1))
    assert more.json["outcomes"] == ["ignored"]
    assert trial_balance() == {"EUR": 0}


def test_a_lost_dispute_takes_the_money_back_from_the_project(client, pending, rows):
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance

    deliver(client, event(pending, "succeeded"))
    assert deliver(client, event(pending, "disputed")).json["outcomes"] == ["applied"]
    contribution = rows.get(Contribution, pending.contribution_id)
    assert contribution.state == PaymentState.DISPUTED
    assert deliver(client, event(pending, "lost")).json["outcomes"] == ["applied"]
    assert deliver(client, event(pending, "won")).json["outcomes"] == ["ignored"]  # too late
    assert balance(AccountKind.PROJECT_ESCROW, contribution.project_id, "EUR").amount == 0
    assert balance(AccountKind.PROVIDER_CLEARING, "sandbox", "EUR").amount == 0
    assert trial_balance() == {"EUR": 0}
