"""Password reset by e-mail: the mail is queued as a job, delivered by SMTP, the link works once."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tontine.accounts.models import User
from tontine.db import db
from tontine.jobs.models import Job, JobState
from tontine.jobs.services import run_pending
from tontine.testing import csrf_token_from, free_port

LINK_RE = re.compile(r"(http://[^\s]+/account/reset/[^\s]+)")


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(site, smtp):
    app = site(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_FROM="dreams@example.net",
        BASE_URL="https://dreams.example.net",
    )
    with app.app_context():
        yield app


def body(message: Message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def reset_link(message: Message) -> str:
    match = LINK_RE.search(body(message).replace("https://", "http://"))
    assert match, body(message)
    return match.group(1).replace("http://dreams.example.net", "")


def request_reset(client, form_post, email: str, **kw: Any):
    return form_post(client, "/account/reset", data={"email": email}, **kw)


def test_reset_mail_is_queued_delivered_by_smtp_and_link_works_once(
    mail_app, smtp, make_user, form_post
):
    user = make_user(email="ida@example.org", password="old password 123", name="Ida")
    victim_session = mail_app.test_client()
    form_post(
        victim_session,
        "/account/login",
        data={"email": "ida@example.org", "password": "old password 123"},
    )
    assert victim_session.get("/account/").status_code == 200

    client = mail_app.test_client()
    evil = {"Host": "evil.example"}
    page = client.get("/account/reset", headers=evil).get_data(as_text=True)
    token = csrf_token_from(page)
    response = client.post(
        "/account/reset", data={"csrf_token": token, "email": "ida@example.org"}, headers=evil
    )
    assert response.status_code == 302
    jobs = db.session.scalars(select(Job).where(Job.kind == "deliver_email")).all()
    assert len(jobs) == 1 and jobs[0].payload["to"] == "ida@example.org"
    assert smtp.messages == []  # queued, not sent inside the request

    assert run_pending() >= 1
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "ida@example.org"
    assert message["From"] == "dreams@example.net"
    assert message["Subject"] == "Reset your password"
    assert "Hello Ida," in body(message)
    assert "https://dreams.example.net/account/reset/" in body(message)  # from BASE_URL
    assert "evil.example" not in body(message)  # never from the Host header

    path = reset_link(message)
    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    done = form_post(
        client, path, data={"password": "new password 456", "confirm": "new password 456"}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/account/login"

    # the new password works, the old one does not, and other sessions are logged out
    assert victim_session.get("/account/").status_code == 302
    bad = form_post(
        client, "/account/login", data={"email": "ida@example.org", "password": "old password 123"}
    )
    assert bad.status_code == 400
    good = form_post(
        client, "/account/login", data={"email": "ida@example.org", "password": "new password 456"}
    )
    assert good.status_code == 302

    # a second use of the link is refused
    again = mail_app.test_client()
    second = again.get(path)
    assert second.status_code == 400
    assert "invalid, expired or already used" in second.get_data(as_text=True)
    stamp = db.session.get(User, user.id).security_stamp
    replay = again.post(
        path, data={"password": "third password 789", "confirm": "third password 789"}
    )
    assert replay.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).security_stamp == stamp


def test_unknown_email_gets_the_same_answer_and_no_mail(mail_app, smtp, make_user, form_post):
    make_user(email="ida@example.org")
    client = mail_app.test_client()
    known = request_reset(client, form_post, "ida@example.org", follow_redirects=True)
    unknown = request_reset(client, form_post, "nobody@example.org", follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    message = "If an account uses this address, we have sent it a link"
    assert message in known.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    run_pending()
    assert [m["To"] for m in smtp.messages] == ["ida@example.org"]


def test_bad_email_in_reset_request_is_refused(mail_app, form_post):
    client = mail_app.test_client()
    response = request_reset(client, form_post, "not an address")
    assert response.status_code == 400
    assert "This is not a valid e-mail address." in response.get_data(as_text=True)
    assert db.session.scalars(select(Job).where(Job.kind == "deliver_email")).all() == []


def test_tampered_or_forged_token_is_refused(mail_app, smtp, make_user, form_post):
    make_user(email="ida@example.org", password="old password 123")
    client = mail_app.test_client()
    request_reset(client, form_post, "ida@example.org")
    run_pending()
    path = reset_link(smtp.messages[0])
    token = path.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "garbage", "a" * 300):
        response = client.get(f"/account/reset/{bad}")
        assert response.status_code == 400
        assert "invalid, expired or already used" in response.get_data(as_text=True)
    # a token signed with another key (another site) is refused too
    from itsdangerous import URLSafeTimedSerializer

    from tontine.accounts.services import RESET_SALT

    forged = URLSafeTimedSerializer("another-secret", salt=RESET_SALT).dumps(
        {"uid": 1, "stamp": "x"}
    )
    assert client.get(f"/account/reset/{forged}").status_code == 400
    # the genuine link still works
    assert client.get(path).status_code == 200


def test_expired_link_is_refused(site, smtp, make_user, form_post):
    app = site(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, PASSWORD_RESET_MAX_AGE=-1)
    with app.app_context():
        make_user(email="ida@example.org")
        client = app.test_client()
        request_reset(client, form_post, "ida@example.org")
        run_pending()
        response = client.get(reset_link(smtp.messages[0]))
        assert response.status_code == 400


def test_reset_form_bad_input(mail_app, smtp, make_user, form_post):
    user = make_user(email="ida@example.org", password="old password 123")
    client = mail_app.test_client()
    request_reset(client, form_post, "ida@example.org")
    run_pending()
    path = reset_link(smtp.messages[0])
    for data, message in [
        ({"password": "short", "confirm": "short"}, "The password needs at least 10 characters."),
        (
            {"password": "new password 456", "confirm": "other password"},
            "The two passwords do not match.",
        ),
    ]:
        response = form_post(client, path, data=data)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).security_stamp == user.security_stamp
    assert client.get(path).status_code == 200  # still usable after refused attempts


def test_mail_is_written_in_the_recipients_locale(mail_app, smtp, make_user, form_post):
    from tontine.accounts.services import update_profile

    user = make_user(email="jean@example.org", name="Jean")
    update_profile(user, display_name="Jean", locale="fr")
    client = mail_app.test_client()
    request_reset(client, form_post, "jean@example.org")
    run_pending()
    assert smtp.messages[0]["Content-Language"] == "fr"


def test_smtp_outage_retries_the_job(site, make_user, form_post):
    app = site(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), JOB_RETRY_BASE_SECONDS=0)
    with app.app_context():
        make_user(email="ida@example.org")
        client = app.test_client()
        request_reset(client, form_post, "ida@example.org")
        assert run_pending(limit=1) == 0  # nothing listens on that port
        job = db.session.scalars(select(Job).where(Job.kind == "deliver_email")).one()
        db.session.refresh(job)
        assert job.state == JobState.QUEUED and job.attempts == 1 and job.last_error


def test_without_mail_server_the_mail_goes_to_the_console(site, make_user, form_post, capsys):
    app = site(MAIL_SERVER="", BASE_URL="http://127.0.0.1:5000")
    with app.app_context():
        make_user(email="ida@example.org")
        client = app.test_client()
        request_reset(client, form_post, "ida@example.org")
        capsys.readouterr()
        assert run_pending() >= 1
        out = capsys.readouterr().out
        assert "To: ida@example.org" in out and "Subject: Reset your password" in out
        # the link is printed whole, ready to be opened in the demo
        link = LINK_RE.search(out).group(1)
        assert link.startswith("http://127.0.0.1:5000/account/reset/")
        path = link.removeprefix("http://127.0.0.1:5000")
        done = form_post(
            client, path, data={"password": "new password 456", "confirm": "new password 456"}
        )
        assert done.status_code == 302
