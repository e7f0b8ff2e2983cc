"""Contributions API: session + CSRF header, Idempotency-Key, problem bodies for bad input."""

from __future__ import annotations

import pytest

from tontine.payments.models import Contribution, Payment
from tontine.testing import csrf_token_from

API = "/api/v1/contributions/"


@pytest.fixture
def supporter(client, login, make_user):
    user = make_user()
    login(client, user)
    token = csrf_token_from(client.get("/my/contributions").get_data(as_text=True))
    return user, token


def post(client, token, body, key="key-1", **headers):
    if token:
        headers["X-CSRFToken"] = token
    if key:
        headers["Idempotency-Key"] = key
    return client.post(API, json=body, headers=headers)


def test_create_then_retry_returns_the_same_contribution(client, supporter, capped_project, rows):
    _, token = supporter
    project = capped_project()
    body = {
        "project_id": project.id,
        "amount": "12.50",
        "tip": "1",
        "provider": "sandbox",
        "details": {"note": "Courage"},
    }
    created = post(client, token, body)
    assert created.status_code == 201, created.json
    data = created.json
    assert (data["amount"], data["tip"], data["currency"], data["state"]) == (
        "12.50",
        "1.00",
        "EUR",
        "pending",
    )
    assert data["details"] == {"note": "Courage"}
    assert "/sandbox/checkout/sbx_" in data["next"]["redirect_url"]
    retried = post(client, token, body)
    assert retried.status_code == 200
    assert retried.json["id"] == data["id"]
    assert rows.count(Contribution) == 1 and rows.count(Payment) == 1
    assert post(client, token, body, key="key-2").status_code == 201
    assert rows.count(Contribution) == 2


def test_get_shows_only_my_own(client, login, make_user, supporter, capped_project):
    _, token = supporter
    project = capped_project()
    created = post(
        client, token, {"project_id": project.id, "amount": "5", "provider": "manual"}
    ).json
    mine = client.get(f"{API}{created['id']}")
    assert mine.status_code == 200 and mine.json["next"]["instructions"]["reference"].startswith(
        "TNT-"
    )
    login(client, make_user())
    other = client.get(f"{API}{created['id']}")
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert client.get(f"{API}9999").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"amount": "5", "provider": "sandbox"}, 422, "project_id"),
        ({"project_id": "one", "amount": "5", "provider": "sandbox"}, 422, "project_id"),
        ({"project_id": 1, "amount": "abc", "provider": "sandbox"}, 422, "amount"),
        ({"project_id": 1, "amount": "-3", "provider": "sandbox"}, 422, "amount"),
        ({"project_id": 1, "amount": "NaN", "provider": "sandbox"}, 422, "amount"),
        (
            {"project_id": 1, "amount": "5", "provider": "sandbox", "refund_to": "moon"},
            422,
            "refund_to",
        ),
        ({"project_id": 1, "amount": "5", "provider": "sandbox", "details": "x"}, 422, "details"),
        (
            {"project_id": 1, "amount": "5", "provider": "sandbox", "details": {"x": 1}},
            422,
            "Unknown field",
        ),
        ({"project_id": 1, "amount": "1e400", "provider": "sandbox"}, 422, "too large"),
        ({"project_id": 1, "amount": "500", "provider": "sandbox"}, 422, "can still be given"),
        ({"project_id": 1, "amount": "5", "provider": "paypal"}, 400, "Unknown payment method"),
        ({"project_id": 99, "amount": "5", "provider": "sandbox"}, 404, "No such project."),
        ("not an object", 422, "Invalid input type"),
    ],
)
def test_bad_bodies_get_a_problem_and_write_nothing(
    client, supporter, capped_project, rows, body, status, needle
):
    _, token = supporter
    capped_project()
    response = post(client, token, body)
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert needle in str(response.json)
    assert rows.count(Contribution) == 0


def test_headers_login_and_csrf_are_required(client, supporter, capped_project, login, rows):
    _, token = supporter
    project = capped_project()
    body = {"project_id": project.id, "amount": "5", "provider": "sandbox"}
    missing_key = post(client, token, body, key=None)
    assert missing_key.status_code == 422 and "Idempotency-Key" in str(missing_key.json)
    assert post(client, token, body, key="x" * 81).status_code == 422
    no_csrf = post(client, None, body)
    assert no_csrf.status_code == 400 and no_csrf.mimetype == "application/problem+json"
    with client.application.app_context():  # a fresh ``g``: another visitor
        anonymous = client.application.test_client()
        anonymous_token = csrf_token_from(anonymous.get("/").get_data(as_text=True))
        response = anonymous.post(
            API, json=body, headers={"Idempotency-Key": "k", "X-CSRFToken": anonymous_token}
        )
        assert response.status_code == 401, response.json
        assert "Log in first" in response.json["detail"]
        assert anonymous.get(f"{API}1").status_code == 401
    assert rows.count(Contribution) == 0


def test_the_openapi_document_describes_contributions(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    assert "/api/v1/contributions/" in paths and "/api/v1/contributions/{contribution_id}" in paths
    assert any(
        p["name"] == "Idempotency-Key"
        for p in paths["/api/v1/contributions/"]["post"]["parameters"]
    )
