"""Log-in attempts are rate limited per client address and e-mail."""

from __future__ import annotations


def attempt(client, form_post, email: str, password: str = "wrong password!", **kw):
    return form_post(client, "/account/login", data={"email": email, "password": password}, **kw)


def test_eleventh_attempt_gets_429_with_retry_after(app, client, form_post, make_user):
    make_user(email="fay@example.org", password="correct horse battery")
    for _ in range(10):
        assert attempt(client, form_post, "fay@example.org").status_code == 400
    blocked = attempt(client, form_post, "fay@example.org", password="correct horse battery")
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0
    assert client.get("/account/").status_code == 302  # the right password did not get in


def test_limit_is_per_email_and_per_address(app, client, form_post, make_user):
    make_user(email="gus@example.org", password="correct horse battery")
    for _ in range(10):
        attempt(client, form_post, "fay@example.org")
    assert attempt(client, form_post, "fay@example.org").status_code == 429
    # another e-mail from the same address, and the same e-mail from another address, pass
    ok = attempt(client, form_post, "gus@example.org", password="correct horse battery")
    assert ok.status_code == 302
    other = app.test_client()
    response = attempt(
        other, form_post, "fay@example.org", environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert response.status_code == 400


def test_limit_comes_from_config(site, form_post):
    app = site(LOGIN_RATE_LIMIT="2 per minute")
    with app.app_context():
        client = app.test_client()
        assert attempt(client, form_post, "h@example.org").status_code == 400
        assert attempt(client, form_post, "h@example.org").status_code == 400
        assert attempt(client, form_post, "h@example.org").status_code == 429


def test_page_views_are_not_limited(app, client):
    for _ in range(15):
        assert client.get("/account/login").status_code == 200
