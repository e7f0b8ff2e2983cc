"""The admin's federation page: only admins, every form CSRF-protected, errors shown on the page."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tontine.db import db, unit_of_work
from tontine_federation.models import BlockedDomain, FollowState, Peer, RemoteListing

BASE = "https://dreams.example"
PAGE = "/admin/federation/"


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        plugins=["gift", "sandbox", "federation"], BASE_URL=BASE, FEDERATION_ALLOW_LOOPBACK=True
    )
    with app.app_context():
        yield app


@pytest.fixture
def admin_web(site, make_user, login):  # type: ignore[no-untyped-def]
    web = site.test_client()
    login(web, make_user(roles=("admin",)))
    return web


def test_only_admins(site, make_user, login) -> None:  # type: ignore[no-untyped-def]
    web = site.test_client()
    assert web.get(PAGE).status_code in (302, 401)
    login(web, make_user(roles=("supporter", "moderator")))
    assert web.get(PAGE).status_code == 403


def test_page_shows_handle_and_peers(admin_web) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/i",
                handle="tontine@a.example",
                followed=FollowState.PENDING,
                their_follow_id="https://a.example/f/1",
                failing_since=datetime(2030, 1, 1),
            )
        )
    html = admin_web.get(PAGE).get_data(as_text=True)
    assert "@tontine@dreams.example" in html and "tontine@a.example" in html
    assert "Approve" in html


def test_follow_through_the_form(admin_web, form_post, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    response = form_post(admin_web, PAGE, "/admin/federation/follow", data={"target": actor.id})
    assert response.status_code == 302
    assert db.session.scalars(select(Peer)).one().following == FollowState.PENDING


def test_follow_error_is_shown_on_the_page(admin_web, form_post) -> None:  # type: ignore[no-untyped-def]
    response = form_post(admin_web, PAGE, "/admin/federation/follow", data={"target": "nonsense"})
    assert response.status_code == 400
    assert "handle" in response.get_data(as_text=True)
    assert db.session.scalars(select(Peer)).all() == []


def test_forms_need_the_csrf_token(admin_web) -> None:  # type: ignore[no-untyped-def]
    response = admin_web.post("/admin/federation/block", data={"domain": "bad.example"})
    assert response.status_code == 400
    assert db.session.scalars(select(BlockedDomain)).all() == []


def test_block_and_unblock(admin_web, form_post) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            RemoteListing(
                ap_id="https://bad.example/projects/1",
                origin="https://bad.example:443",
                name="Spam listing",
                url="https://bad.example/projects/1",
                funding_model="gift",
                status="open",
                currency="EUR",
                goal_amount=1000,
                updated=datetime(2030, 1, 1),
            )
        )
    assert (
        form_post(
            admin_web,
            PAGE,
            "/admin/federation/block",
            data={"domain": "bad.example", "reason": "spam"},
        ).status_code
        == 302
    )
    assert "Spam listing" not in admin_web.get("/network").get_data(as_text=True)
    assert (
        form_post(
            admin_web, PAGE, "/admin/federation/unblock", data={"target": "bad.example"}
        ).status_code
        == 302
    )
    assert "Spam listing" in admin_web.get("/network").get_data(as_text=True)


def test_approve_through_the_form(admin_web, form_post) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/i",
                followed=FollowState.PENDING,
                their_follow_id="https://a.example/f/1",
            )
        )
    response = form_post(
        admin_web, PAGE, "/admin/federation/approve", data={"target": "https://a.example/actor"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(Peer)).one().followed == FollowState.ACCEPTED


def test_unknown_action_is_404(admin_web, form_post) -> None:  # type: ignore[no-untyped-def]
    assert (
        form_post(admin_web, PAGE, "/admin/federation/explode", data={"target": "x"}).status_code
        == 404
    )
