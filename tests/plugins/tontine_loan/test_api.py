"""The loans API: schedules, and a partner's batch of repayments (all or none, JSON problems)."""

from __future__ import annotations

from datetime import date

import pytest

from tontine.testing import csrf_token_from


@pytest.fixture
def disbursed(make_loan, lend, make_user, staff):
    from tontine_loan.services import disburse

    def factory():
        project = make_loan(goal=600)
        lenders = [make_user() for _ in range(3)]
        for lender, amount in zip(lenders, ("300", "200", "100"), strict=True):
            lend(project, amount, lender)
        disburse(project.id, staff, disbursed_on=date(2026, 1, 10))
        return project, lenders

    return factory


def api_client(app, user, login):
    client = app.test_client()
    if user is not None:
        login(client, user)
    token = csrf_token_from(client.get("/partners/").get_data(as_text=True))
    return client, {"X-CSRFToken": token}


def test_the_schedule_is_public_json(loan_app, disbursed) -> None:
    project, _ = disbursed()
    response = loan_app.test_client().get(f"/api/v1/loans/{project.id}/schedule")
    assert response.status_code == 200
    body = response.get_json()
    assert (
        body["stored"] is True
        and body["currency"] == "EUR"
        and body["disbursed_on"] == "2026-01-10"
    )
    assert body["instalments"][0] == {
        "number": 1,
        "due": "2026-02-10",
        "principal": "50.00",
        "interest": "0.00",
    }
    assert loan_app.test_client().get("/api/v1/loans/999/schedule").status_code == 404


def test_a_partner_posts_a_months_batch(loan_app, disbursed, staff, login) -> None:
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance, trial_balance

    (first, lenders), (second, _) = disbursed(), disbursed()
    client, headers = api_client(loan_app, staff, login)
    batch = {
        "repayments": [
            {
                "project_id": first.id,
                "paid_on": "2026-02-10",
                "idempotency_key": "feb",
                "amount": "50",
            },
            {
                "project_id": second.id,
                "paid_on": "2026-02-11",
                "idempotency_key": "feb",
                "amount": "50.00",
            },
        ]
    }
    response = client.post("/api/v1/loans/repayments", json=batch, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert [r["credited"] for r in response.get_json()["repayments"]] == ["50.00", "50.00"]
    again = client.post("/api/v1/loans/repayments", json=batch, headers=headers)
    assert [r["id"] for r in again.get_json()["repayments"]] == [
        r["id"] for r in response.get_json()["repayments"]
    ]
    assert [balance(AccountKind.SUPPORTER_BALANCE, u.id, "EUR").amount for u in lenders] == [
        2500,
        1667,
        833,
    ]
    assert trial_balance() == {"EUR": 0}


@pytest.mark.parametrize(
    ("entry", "status", "text"),
    [
        ({"paid_on": "yesterday"}, 422, "date"),
        ({"amount": "600.01"}, 400, "more than"),
        ({"amount": "abc"}, 422, "Not a valid number"),
        ({"project_id": 99999}, 404, "No such loan"),
    ],
)
def test_bad_batches_get_a_problem_and_write_nothing(
    loan_app, disbursed, staff, login, entry, status, text
) -> None:
    from sqlalchemy import func, select

    from tontine.db import db
    from tontine_loan.models import Repayment

    project, _ = disbursed()
    client, headers = api_client(loan_app, staff, login)
    good = {
        "project_id": project.id,
        "paid_on": "2026-02-10",
        "idempotency_key": "a",
        "amount": "10",
    }
    bad = {**good, "idempotency_key": "b", **entry}
    response = client.post(
        "/api/v1/loans/repayments", json={"repayments": [good, bad]}, headers=headers
    )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert text in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Repayment)) == 0


def test_only_partner_staff_post_repayments(loan_app, disbursed, make_user, login) -> None:
    project, lenders = disbursed()
    batch = {
        "repayments": [
            {
                "project_id": project.id,
                "paid_on": "2026-02-10",
                "idempotency_key": "x",
                "amount": "10",
            }
        ]
    }
    client, headers = api_client(loan_app, None, login)
    assert client.post("/api/v1/loans/repayments", json=batch, headers=headers).status_code == 401
    client, headers = api_client(loan_app, lenders[0], login)
    assert client.post("/api/v1/loans/repayments", json=batch, headers=headers).status_code == 403


def test_the_loans_api_is_in_the_openapi_document(loan_app) -> None:
    spec = loan_app.test_client().get("/api/openapi.json").get_json()
    assert "/api/v1/loans/repayments" in spec["paths"]
    assert "/api/v1/loans/{project_id}/schedule" in spec["paths"]
