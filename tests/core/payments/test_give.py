"""The give form: one contribution per rendered form, and garbage never writes anything."""

from __future__ import annotations

import re

from tontine.payments.models import Contribution, Payment
from tontine.payments.states import PaymentState


def all_rows(rows):
    return rows.count(Contribution), rows.count(Payment)


def test_give_page_needs_login(client, capped_project):
    project = capped_project()
    response = client.get(f"/projects/{project.id}/give")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_give_page_shows_the_form_with_model_fields_and_a_fresh_key(
    client, login, make_user, capped_project
):
    project = capped_project()
    login(client, make_user())
    first = client.get(f"/projects/{project.id}/give").get_data(as_text=True)
    second = client.get(f"/projects/{project.id}/give").get_data(as_text=True)
    assert 'name="details.note"' in first  # the funding model's own field
    assert 'value="sandbox"' in first and 'value="manual"' in first and 'value="balance"' in first
    assert "my Tontine balance" in first and 'name="anonymous"' in first
    keys = [
        re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
        for page in (first, second)
    ]
    assert keys[0] != keys[1]  # each rendered form is one intended gift


def test_give_with_the_sandbox_redirects_to_its_checkout(
    client, login, make_user, capped_project, give_form, rows
):
    project = capped_project()
    user = make_user()
    login(client, user)
    response, _ = give_form(
        client,
        project.id,
        amount="12.50",
        tip="1",
        anonymous="y",
        refund_to="balance",
        details__note="Bon courage !",
    )
    assert response.status_code == 303
    assert "/sandbox/checkout/sbx_" in response.headers["Location"]
    contribution = rows.get(Contribution, 1)
    assert (contribution.amount, contribution.tip_amount, contribution.currency) == (
        1250,
        100,
        "EUR",
    )
    assert contribution.anonymous and contribution.refund_to == "balance"
    assert contribution.details == {"note": "Bon courage !"}
    assert contribution.state == PaymentState.PENDING
    assert contribution.payments[0].amount == 1350  # gift + tip in one payment


def test_a_double_submitted_form_creates_one_contribution(
    client, login, make_user, capped_project, give_form, rows
):
    project = capped_project()
    login(client, make_user())
    first, data = give_form(client, project.id, amount="20")
    again = client.post(f"/projects/{project.id}/give", data=data)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"].split("?")[0] == first.headers["Location"].split("?")[0]
    assert all_rows(rows) == (1, 1)
    # A new form (new key) is a new gift.
    third, _ = give_form(client, project.id, amount="20")
    assert third.status_code == 303
    assert rows.count(Contribution) == 2


GARBAGE = [
    ({"amount": "abc"}, "Enter an amount such as 25 or 12.50."),
    ({"amount": ""}, "Say how much you give."),
    ({"amount": "-5"}, "The amount must be positive."),
    ({"amount": "0"}, "The amount must be positive."),
    ({"amount": "NaN"}, "Enter an amount such as 25 or 12.50."),
    ({"amount": "Infinity"}, "Enter an amount such as 25 or 12.50."),
    ({"amount": "1e400"}, "This amount is too large."),
    ({"amount": "10.005"}, "EUR amounts have at most 2 decimal places"),
    ({"amount": "101"}, "can still be given to this project"),
    ({"tip": "-1"}, "The tip cannot be negative."),
    ({"tip": "lots"}, "Enter an amount such as 25 or 12.50."),
    ({"provider": "bitcoin"}, "Not a valid choice"),
    ({"provider": None}, "Choose a payment method."),
    ({"refund_to": "my-uncle"}, "Not a valid choice"),
    ({"idempotency_key": None}, "This form has expired"),
    ({"idempotency_key": "x" * 200}, "Please correct the form."),
    ({"details__note": "x" * 500}, "note: Longer than maximum length 200."),
    ({"details__colour": "red"}, "colour: Unknown field."),
    ({"provider": "balance"}, "does not cover this payment"),
]


def test_garbage_is_refused_with_a_message_and_writes_nothing(
    client, login, make_user, capped_project, give_form, rows
):
    project = capped_project()
    login(client, make_user())
    for fields, message in GARBAGE:
        response, _ = give_form(client, project.id, **fields)
        assert response.status_code == 422, fields
        html = response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
        assert message in html, (fields, message)
        assert all_rows(rows) == (0, 0), fields


def test_a_project_that_is_not_open_takes_nothing(client, login, make_user, capped_project, rows):
    from tontine.testing import csrf_token_from

    project = capped_project(state="funded")
    login(client, make_user())
    page = client.get(f"/projects/{project.id}/give")
    assert "This project is not taking contributions." in page.get_data(as_text=True)
    response = client.post(
        f"/projects/{project.id}/give",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "idempotency_key": "abc",
            "amount": "5",
            "provider": "sandbox",
            "refund_to": "payment_method",
        },
    )
    assert response.status_code == 422
    assert rows.count(Contribution) == 0


def test_without_csrf_token_the_post_is_refused(client, login, make_user, capped_project, rows):
    project = capped_project()
    login(client, make_user())
    response = client.post(
        f"/projects/{project.id}/give",
        data={
            "idempotency_key": "abc",
            "amount": "5",
            "provider": "sandbox",
            "refund_to": "payment_method",
        },
    )
    assert response.status_code == 400
    assert rows.count(Contribution) == 0


def test_unknown_or_draft_project_is_404(client, login, make_user, capped_project):
    login(client, make_user())
    assert client.get("/projects/999/give").status_code == 404
    draft = capped_project(state="draft")
    assert client.get(f"/projects/{draft.id}/give").status_code == 404


def test_my_gifts_lists_project_amount_tip_state_and_refunds(
    client, login, make_user, capped_project, give_form
):
    project = capped_project(title="A bakery in Lyon")
    user = make_user()
    login(client, user)
    give_form(client, project.id, amount="15", tip="2")
    page = client.get("/my/contributions").get_data(as_text=True)
    assert "A bakery in Lyon" in page and "€15.00" in page and "€2.00" in page
    assert "waiting for payment" in page
    other = make_user()
    login(client, other)
    assert "A bakery in Lyon" not in client.get("/my/contributions").get_data(as_text=True)


def test_checkout_done_shows_only_my_own_contribution(
    client, login, make_user, capped_project, give_form
):
    project = capped_project()
    login(client, make_user())
    give_form(client, project.id)
    page = client.get("/my/contributions/1")
    assert page.status_code == 200
    assert 'data-state="pending"' in page.get_data(as_text=True)
    login(client, make_user())
    assert client.get("/my/contributions/1").status_code == 404
    assert client.get("/my/contributions/77").status_code == 404


def test_giving_to_a_gift_project_with_a_reward(
    make_app, make_user, make_project, login, give_form, rows
):
    """The real gift plugin's fields (``details.reward_tier_id``) reach its funding model."""
    app = make_app()  # the dreams plugins: gift, sandbox, manual, balance
    with app.app_context():
        client = app.test_client()
        project = make_project(funding_model="gift", goal=500)
        login(client, make_user())
        page = client.get(f"/projects/{project.id}/give").get_data(as_text=True)
        assert 'name="details.reward_tier_id"' in page
        response, _ = give_form(client, project.id, amount="20", details__reward_tier_id="")
        assert response.status_code == 303, response.get_data(as_text=True)[-500:]
        assert rows.count(Contribution) == 1
        refused, _ = give_form(client, project.id, amount="20", details__reward_tier_id="12345")
        assert refused.status_code == 422
        assert rows.count(Contribution) == 1


def test_the_give_page_speaks_french(client, login, make_user, capped_project):
    project = capped_project()
    login(client, make_user())
    with client.application.app_context():  # a fresh ``g``: the locale is chosen again
        html = client.get(
            f"/projects/{project.id}/give", headers={"Accept-Language": "fr"}
        ).get_data(as_text=True)
    assert "Continuer vers le paiement" in html and "mon solde Tontine" in html
    assert "0,00" in html  # amounts formatted for the locale


def test_the_amount_can_be_prefilled_from_a_link(client, login, make_user, capped_project):
    project = capped_project()
    login(client, make_user())
    html = client.get(f"/projects/{project.id}/give?amount=20").get_data(as_text=True)
    assert 'name="amount" inputmode="decimal" required value="20"' in html
    junk = client.get(f"/projects/{project.id}/give?amount=%3Cscript%3E").get_data(as_text=True)
    assert "<script>" not in junk and 'required value=""' in junk
