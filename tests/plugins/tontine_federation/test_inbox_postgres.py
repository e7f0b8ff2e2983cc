"""The inbox's transactional paths on PostgreSQL (replays end in a unique violation there)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tontine.db import db

from .test_inbox import BASE, INBOX, activity, counts, follow, followed, page, post, send

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        plugins=["gift", "sandbox", "federation"],
        BASE_URL=BASE,
        FEDERATION_ALLOW_LOOPBACK=True,
        database="postgres",
    )
    with app.app_context():
        yield app


@pytest.fixture
def web(site):  # type: ignore[no-untyped-def]
    return site.test_client()


@pytest.fixture
def peer(remote):  # type: ignore[no-untyped-def]
    return remote.add_actor("site")


def test_replay_on_postgres(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    assert post(web, body, headers).status_code == 202
    before = counts()
    assert post(web, body, headers).status_code == 202
    assert counts() == before


def test_listing_lifecycle_on_postgres(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation.models import RemoteListing

    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    late = page(peer, updated="2029-12-31T00:00:00Z", name="Stale")
    assert send(web, peer, activity(peer, "Update", late, 2)).status_code == 202
    assert send(web, peer, activity(peer, "Delete", page(peer)["id"])).status_code == 202
    db.session.expire_all()
    listing = db.session.scalars(select(RemoteListing)).one()
    assert listing.name == "Listing 1" and listing.deleted


def test_bad_money_on_postgres_stores_nothing(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    before = counts()
    bad = page(peer, goal={"type": "MonetaryAmount", "value": "9" * 16, "currency": "EUR"})
    body, headers = peer.signed(INBOX, activity(peer, "Create", bad))
    assert post(web, body, headers).status_code == 400
    assert counts() == before


def test_largest_allowed_amount_fits_on_postgres(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    big = page(
        peer,
        goal={"type": "MonetaryAmount", "value": "9" * 13 + ".9999", "currency": "CLF"},
        raised={"type": "MonetaryAmount", "value": "0", "currency": "CLF"},
    )
    assert send(web, peer, activity(peer, "Create", big)).status_code == 202
    too_big = page(peer, 2, goal={"type": "MonetaryAmount", "value": "9" * 14, "currency": "CLF"})
    assert send(web, peer, activity(peer, "Create", too_big, 2)).status_code == 400


def test_the_inbox_commits_durably(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from tontine_federation.models import RemoteListing

    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    db.session.expire_all()
    assert db.session.scalars(select(RemoteListing.name)).all() == ["Listing 1"]
    # a 202 is a promise: the inbox never trades durability for speed
    for _ in range(3):
        assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        db.session.rollback()
