"""Personal data: export as JSON, erasure that keeps the books whole, and who may do either."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tontine.accounts.models import ExternalIdentity, StaffAction, User
from tontine.accounts.services import erase_account, export_personal_data
from tontine.db import db
from tontine.errors import Forbidden
from tontine.ledger.services import trial_balance
from tontine.projects.models import Comment, Person, Project
from tontine.projects.services import add_comment, post_update, raised

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgres"])
def books_app(request: pytest.FixtureRequest, site: Any) -> Any:
    """The accounts test site on SQLite, then on PostgreSQL (erasure must not touch money)."""
    app = site(database=request.param)
    with app.app_context():
        yield app


@pytest.fixture
def story(make_user, make_project, give) -> dict[str, Any]:
    """Olga owns a project and supports Pablo's; Pablo supports Olga's."""
    olga = make_user(email="olga@example.org", name="Olga", roles=("supporter", "project_owner"))
    pablo = make_user(email="pablo@example.org", name="Pablo", roles=("supporter", "project_owner"))
    bakery = make_project(owner=olga, funding_model="plain", title="Olga's bakery", goal=100_000)
    garden = make_project(owner=pablo, funding_model="plain", title="Pablo's garden", goal=50_000)
    give(garden, "25.50", olga)
    give(bakery, "40", pablo)
    add_comment(garden, olga, "Good luck with the garden, Pablo!")
    post_update(bakery, olga, "The oven is here", "It came from Italy on Tuesday.")
    return {"olga": olga, "pablo": pablo, "bakery": bakery, "garden": garden}


def test_export_is_a_json_download_of_everything_about_me(app, client, login, story):
    login(client, story["olga"])
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "olga@example.org"
    assert data["account"]["display_name"] == "Olga"
    assert sorted(r["role"] for r in data["roles"]) == ["project_owner", "supporter"]
    [gift] = data["contributions"]
    assert (gift["amount"], gift["currency"], gift["project_title"]) == (
        "25.50",
        "EUR",
        "Pablo's garden",
    )
    assert [p["title"] for p in data["projects"]] == ["Olga's bakery"]
    assert [c["body"] for c in data["comments"]] == ["Good luck with the garden, Pablo!"]
    assert [u["title"] for u in data["updates"]] == ["The oven is here"]
    assert [p["name"] for p in data["people"]] == ["Olga"]


def test_export_holds_only_my_own_data(app, client, login, story):
    login(client, story["pablo"])
    for path in ("/account/export", f"/account/export?user_id={story['olga'].id}"):
        text = client.get(path).get_data(as_text=True)
        data = json.loads(text)
        assert data["account"]["email"] == "pablo@example.org"
        assert "olga@example.org" not in text
        assert [c["amount"] for c in data["contributions"]] == ["40.00"]
        assert [p["title"] for p in data["projects"]] == ["Pablo's garden"]
        assert data["comments"] == [] and data["updates"] == []


def erase_via_page(client, form_post, password: str = PASSWORD, confirm: str | None = "y"):
    data = {"password": password}
    if confirm:
        data["confirm"] = confirm
    return form_post(client, "/account/erase", data=data)


def test_erase_needs_the_password_and_the_tick(app, client, login, form_post, story):
    olga = story["olga"]
    login(client, olga)
    wrong = erase_via_page(client, form_post, password="not my password")
    assert wrong.status_code == 400
    assert "This password is not right." in wrong.get_data(as_text=True)
    unticked = erase_via_page(client, form_post, confirm=None)
    assert unticked.status_code == 400
    assert "Please tick the box to confirm." in unticked.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, olga.id)
    assert user.erased_at is None and user.email == "olga@example.org"
    assert client.get("/account/").status_code == 200


def test_erasure_anonymizes_and_keeps_the_books(
    books_app, make_user, make_project, give, login, form_post
):
    olga = make_user(
        email="olga@example.org",
        name="Olga",
        password=PASSWORD,
        roles=("supporter", "project_owner"),
    )
    pablo = make_user(email="pablo@example.org", name="Pablo")
    bakery = make_project(owner=olga, funding_model="plain", goal=100_000)
    garden = make_project(owner=pablo, funding_model="plain", goal=50_000)
    give(garden, "25.50", olga)
    give(bakery, "40", pablo)
    add_comment(garden, olga, "Good luck with the garden!")
    add_comment(garden, pablo, "Thank you!")
    with db.session.begin_nested():
        db.session.add(
            ExternalIdentity(user_id=olga.id, issuer="https://id.example", subject="olga-1")
        )
    db.session.commit()
    old_stamp = olga.security_stamp
    books_before = trial_balance()
    raised_before = (raised(garden), raised(bakery))
    assert books_before == {"EUR": 0}

    client = books_app.test_client()
    login(client, olga)
    response = erase_via_page(client, form_post)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/account/").status_code == 302  # logged out

    db.session.expire_all()
    user = db.session.get(User, olga.id)
    assert user.email is None and user.password_hash is None
    assert user.display_name == "Erased account" and user.erased_at is not None
    assert user.security_stamp != old_stamp
    assert (
        db.session.scalars(
            select(ExternalIdentity).where(ExternalIdentity.user_id == olga.id)
        ).all()
        == []
    )
    person = db.session.scalars(select(Person).where(Person.user_id == olga.id)).one()
    assert (person.name, person.photo, person.consent_publish, person.consent_federate) == (
        "Anonymous",
        None,
        False,
        False,
    )
    bodies = {c.author_id: c.body for c in db.session.scalars(select(Comment))}
    assert bodies == {olga.id: "", pablo.id: "Thank you!"}
    # the books and the projects' totals do not move
    assert trial_balance() == books_before == {"EUR": 0}
    assert (
        raised(db.session.get(Project, garden.id)),
        raised(db.session.get(Project, bakery.id)),
    ) == raised_before
    # no StaffAction when people erase themselves
    assert db.session.scalars(select(StaffAction)).all() == []

    # and the account cannot log in any more, with the old e-mail or anything else
    response = form_post(
        client, "/account/login", data={"email": "olga@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    old_session = books_app.test_client()
    with old_session.session_transaction() as cookie:  # a session from before the erasure
        cookie["_user_id"] = f"{olga.id}:{old_stamp}"
    assert old_session.get("/account/").status_code == 302

    # the freed address can be used for a new account
    assert make_user(email="olga@example.org").id != olga.id


def test_admin_erasure_is_recorded_as_a_staff_action(app, make_user, story):
    admin = make_user(roles=("supporter", "admin"), email="admin@example.org")
    erase_account(story["olga"], admin, reason="request by letter of 3 May")
    action = db.session.scalars(select(StaffAction)).one()
    assert (action.actor_id, action.action, action.subject) == (
        admin.id,
        "erase_account",
        f"user:{story['olga'].id}",
    )
    assert action.reason == "request by letter of 3 May"
    assert db.session.get(User, story["olga"].id).erased_at is not None


def test_nobody_else_can_erase_an_account(app, story):
    with pytest.raises(Forbidden):
        erase_account(story["olga"], story["pablo"])
    db.session.expire_all()
    assert db.session.get(User, story["olga"].id).erased_at is None


def test_erasure_twice_changes_nothing_more(app, story):
    olga = story["olga"]
    erase_account(olga, olga)
    first = export_personal_data(db.session.get(User, olga.id))
    erase_account(db.session.get(User, olga.id), olga)
    assert export_personal_data(db.session.get(User, olga.id)) == first
    assert first["account"]["email"] is None
    assert first["comments"][0]["body"] == ""


def test_erasure_removes_the_persons_photo_from_the_project(app, story):
    bakery = db.session.get(Project, story["bakery"].id)
    with db.session.begin_nested():
        bakery.photo = "olga-face.jpg"
        bakery.person.photo = "olga-face.jpg"
    db.session.commit()
    erase_account(story["olga"], story["olga"])
    db.session.expire_all()
    bakery = db.session.get(Project, story["bakery"].id)
    assert bakery.photo is None and bakery.person.photo is None
    assert bakery.person.name == "Anonymous"
    assert db.session.get(Project, story["garden"].id).person.name == "Pablo"
