"""Sign up, log in, log out: what a visitor sees, and what bad input gets."""

from __future__ import annotations

import pytest

from tontine.accounts.models import User
from tontine.accounts.services import authenticate
from tontine.db import db

GOOD = {
    "display_name": "Aminata Diallo",
    "email": "aminata@example.org",
    "password": "a long enough secret",
    "confirm": "a long enough secret",
}


def users() -> int:
    return db.session.query(User).count()


def test_signup_creates_account_logs_in_and_hashes_with_argon2(app, client, form_post):
    response = form_post(client, "/account/signup", data=GOOD)
    assert response.status_code == 302
    user = db.session.query(User).filter_by(email="aminata@example.org").one()
    assert user.display_name == "Aminata Diallo"
    assert user.password_hash.startswith("$argon2")
    assert "a long enough secret" not in user.password_hash
    assert [str(a.role) for a in user.roles] == ["supporter"]
    page = client.get("/account/").get_data(as_text=True)
    assert "Aminata Diallo" in page and "aminata@example.org" in page


def test_signup_email_is_case_insensitive_and_trimmed(app, client, form_post):
    form_post(client, "/account/signup", data={**GOOD, "email": "  Aminata@Example.ORG "})
    assert db.session.query(User).filter_by(email="aminata@example.org").count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "short", "confirm": "short"}, "The password needs at least 10 characters."),
        ({"confirm": "something else entirely"}, "The two passwords do not match."),
        ({"email": "not-an-address"}, "This is not a valid e-mail address."),
        ({"email": ""}, "Please enter your e-mail address."),
        ({"display_name": "   "}, "Please enter a display name."),
        ({"display_name": "x" * 81}, "A display name has at most 80 characters."),
    ],
)
def test_signup_bad_input_gets_form_message_and_writes_nothing(
    app, client, form_post, change, message
):
    response = form_post(client, "/account/signup", data={**GOOD, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert users() == 0


def test_signup_duplicate_email_is_refused(app, client, form_post, make_user):
    make_user(email="aminata@example.org")
    response = form_post(client, "/account/signup", data={**GOOD, "email": "AMINATA@example.org"})
    assert response.status_code == 400
    assert "An account already uses this e-mail address." in response.get_data(as_text=True)
    assert users() == 1


def test_signup_without_csrf_token_is_refused(app, client):
    response = client.post("/account/signup", data=GOOD)
    assert response.status_code == 400
    assert users() == 0


def test_login_and_logout(app, client, form_post, make_user):
    make_user(email="ben@example.org", password="correct horse battery", name="Ben")
    response = form_post(
        client,
        "/account/login",
        data={"email": "ben@example.org", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Ben" in client.get("/account/").get_data(as_text=True)

    assert client.get("/account/logout").status_code == 405  # logging out is a POST
    response = form_post(client, "/", "/account/logout")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302  # back to the log-in page


def test_logout_needs_csrf(app, client, login, make_user):
    user = make_user()
    login(client, user)
    assert client.post("/account/logout").status_code == 400
    assert client.get("/account/").status_code == 200  # still logged in


def test_login_wrong_password_or_unknown_email_same_message(app, client, form_post, make_user):
    make_user(email="ben@example.org")
    wrong = form_post(
        client, "/account/login", data={"email": "ben@example.org", "password": "nope nope nope"}
    )
    unknown = form_post(
        client, "/account/login", data={"email": "who@example.org", "password": "nope nope nope"}
    )
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "The e-mail address or the password is not right." in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_login_bad_input(app, client, form_post):
    response = form_post(client, "/account/login", data={"email": "garbage", "password": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This is not a valid e-mail address." in text
    assert "Please enter your password." in text


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/projects/?q=bread", "/projects/?q=bread"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_next_only_redirects_to_local_paths(
    app, client, form_post, make_user, next_url, expected
):
    make_user(email="ben@example.org", password="correct horse battery")
    response = form_post(
        client,
        "/account/login",
        data={"email": "ben@example.org", "password": "correct horse battery", "next": next_url},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_required_pages_send_to_login_with_next(app, client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_login_applies_the_preferred_locale(app, client, form_post, make_user):
    from tontine.accounts.services import update_profile

    user = make_user(email="camille@example.org", password="correct horse battery")
    update_profile(user, display_name="Camille", locale="fr")
    form_post(
        client,
        "/account/login",
        data={"email": "camille@example.org", "password": "correct horse battery"},
    )
    page = client.get("/account/").get_data(as_text=True)
    assert '<html lang="fr">' in page


def test_authenticate_refuses_inactive_accounts(app, make_user):
    user = make_user(email="dan@example.org")
    with db.session.begin_nested():
        user.active = False
    db.session.commit()
    assert authenticate("dan@example.org", "correct horse battery") is None


def test_login_upgrades_an_old_argon2_hash(app, make_user):
    from argon2 import PasswordHasher

    user = make_user(email="old@example.org", password="correct horse battery")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    with db.session.begin_nested():
        user.password_hash = weak
    db.session.commit()
    assert authenticate("old@example.org", "correct horse battery") is not None
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash != weak
    assert authenticate("old@example.org", "correct horse battery") is not None
