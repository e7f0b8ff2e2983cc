"""End to end over real HTTP: give, pay on the sandbox checkout, and the worker thread
delivers the signed webhook to the running site."""

from __future__ import annotations

import re

import pytest
import requests

from tontine.testing import csrf_token_from, wait_for


@pytest.mark.parametrize(
    "knobs",
    [{}, {"duplicate_webhooks": True, "out_of_order": True}],
    ids=["in-order", "duplicated-and-reversed"],
)
def test_give_pay_and_the_webhook_arrives_over_http(
    knobs, live_server, site_options, make_user, capped_project
):
    server = live_server(**site_options, SANDBOX={"webhook_delay_seconds": 0.2, **knobs})
    app = server.app
    with app.app_context():
        make_user(email="ada@example.org", password="correct horse battery")
        project = capped_project(title="Une ruche en ville")

    http = requests.Session()
    login_page = http.get(f"{server.url}/account/login")
    logged_in = http.post(
        f"{server.url}/account/login",
        allow_redirects=False,
        data={
            "csrf_token": csrf_token_from(login_page.text),
            "email": "ada@example.org",
            "password": "correct horse battery",
        },
    )
    assert logged_in.status_code in (302, 303)

    give_page = http.get(f"{server.url}/projects/{project.id}/give")
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', give_page.text).group(
        1
    )
    gave = http.post(
        f"{server.url}/projects/{project.id}/give",
        allow_redirects=False,
        data={
            "csrf_token": csrf_token_from(give_page.text),
            "idempotency_key": key,
            "amount": "30",
            "tip": "1.50",
            "provider": "sandbox",
            "refund_to": "payment_method",
        },
    )
    assert gave.status_code == 303
    checkout_url = gave.headers["Location"]
    assert checkout_url.startswith(f"{server.url}/sandbox/checkout/")

    checkout = http.get(checkout_url)
    assert "Une ruche en ville" in checkout.text and "€31.50" in checkout.text
    paid = http.post(
        checkout_url,
        allow_redirects=False,
        # A card is confirmed by one event; a bank debit by two, which the knobs reverse.
        data={"csrf_token": csrf_token_from(checkout.text), "action": "pay_debit" if knobs else "pay"},
    )
    assert paid.status_code == 303

    with app.app_context():
        from tontine.db import db
        from tontine.ledger.services import trial_balance
        from tontine.payments.models import Contribution

        def succeeded():
            db.session.rollback()
            contribution = db.session.get(Contribution, 1)
            db.session.refresh(contribution)
            return contribution.state == "succeeded"

        wait_for(succeeded, timeout=20)
        if knobs:  # the late "pending" and the copies arrive too, and change nothing
            from tontine.jobs.models import Job, JobState

            def all_delivered():
                db.session.rollback()
                jobs = db.session.scalars(
                    db.select(Job).where(Job.kind == "sandbox_deliver_webhook")
                ).all()
                return len(jobs) == 4 and all(j.state == JobState.DONE for j in jobs)

            wait_for(all_delivered, timeout=20)
        db.session.rollback()
        contribution = db.session.get(Contribution, 1)
        assert contribution.state == "succeeded"
        from tontine.ledger.models import LedgerTransaction

        assert db.session.query(LedgerTransaction).count() == 1
        assert trial_balance() == {"EUR": 0}
    done = http.get(
        paid.headers["Location"]
        if paid.headers["Location"].startswith("http")
        else server.url + paid.headers["Location"]
    )
    assert "Thank you" in done.text
    mine = http.get(f"{server.url}/my/contributions")
    assert "Une ruche en ville" in mine.text and "paid" in mine.text
