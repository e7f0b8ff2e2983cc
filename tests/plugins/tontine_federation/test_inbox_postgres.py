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


def test_replayed_listing_on_postgres(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    """A kept activity's replay (its one autocommit INSERT) changes nothing, before or after
    the worker applied it."""
    followed(peer)
    body, headers = peer.signed(INBOX, activity(peer, "Create", page(peer)))
    assert post(web, body, headers).status_code == 202
    before = counts()
    assert post(web, body, headers).status_code == 202
    assert counts() == before
    worker()
    applied = counts()
    assert applied["listings"] == 1
    assert post(web, body, headers).status_code == 202
    worker()
    assert counts() == applied


def test_listing_lifecycle_on_postgres(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation.models import RemoteListing

    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    late = page(peer, updated="2029-12-31T00:00:00Z", name="Stale")
    assert send(web, peer, activity(peer, "Update", late, 2)).status_code == 202
    assert send(web, peer, activity(peer, "Delete", page(peer)["id"])).status_code == 202
    worker()
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


def test_the_inbox_commits_durably(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from tontine_federation.models import ReceivedActivity, RemoteListing

    followed(peer)
    for n in (1, 2):  # the first after a quiet spell (with its job), the second alone
        assert send(web, peer, activity(peer, "Create", page(peer, n), n)).status_code == 202
    # a 202 is a promise: the kept activities are committed, seen from another connection
    with db.engine.connect() as other:
        kept = other.execute(
            select(ReceivedActivity.activity_id).where(ReceivedActivity.pending.is_not(None))
        ).scalars()
        assert sorted(kept) == [f"{peer.id}/activities/create-1", f"{peer.id}/activities/create-2"]
        assert other.execute(text("SHOW synchronous_commit")).scalar() == "on"
    worker()
    db.session.expire_all()
    assert sorted(db.session.scalars(select(RemoteListing.name))) == ["Listing 1", "Listing 2"]
    # the inbox never trades durability for speed
    for _ in range(3):
        assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        db.session.rollback()


def test_the_inbox_autocommit_ends_with_its_statement(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    """A kept activity goes as one statement in autocommit; the next transaction is whole."""
    from tontine.db import unit_of_work
    from tontine_federation.models import BlockedDomain

    followed(peer)
    for n in range(1, 4):
        assert send(web, peer, activity(peer, "Create", page(peer, n), n)).status_code == 202
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.add(BlockedDomain(domain="half.example"))
        session.flush()
        raise RuntimeError("a failure after the first write")
    assert db.session.scalars(select(BlockedDomain)).all() == []


def test_workers_side_by_side_apply_every_change_once(site, web, peer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two workers drain the kept changes together (SKIP LOCKED): each change once."""
    import threading

    from sqlalchemy import func, update

    from tontine_federation import inbox
    from tontine_federation.inbox import apply_received
    from tontine_federation.models import ReceivedActivity, RemoteListing

    monkeypatch.setattr(inbox, "APPLY_BATCH", 4)
    followed(peer)
    for n in range(1, 31):
        assert send(web, peer, activity(peer, "Create", page(peer, n), n)).status_code == 202
    applied: list[int] = []

    def drain() -> None:
        with site.app_context():
            applied.append(apply_received())
            db.session.remove()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(applied) == 30
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RemoteListing)) == 30
    pending = select(func.count()).where(ReceivedActivity.pending.is_not(None))
    assert db.session.scalar(pending) == 0
    db.session.execute(update(RemoteListing).values(name="Edited here"))
    db.session.commit()
    assert apply_received() == 0  # nothing is applied twice
    assert set(db.session.scalars(select(RemoteListing.name))) == {"Edited here"}


def test_an_inbox_connection_the_server_dropped_loses_nothing(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    """The server ends the inbox's idle connection (a restart, a proxy): the next activity is
    still kept before its 202, on a new connection, and its replay inserts nothing."""
    from sqlalchemy import func, text

    from tontine_federation.models import ReceivedActivity

    followed(peer)
    for n in (1, 2, 3):  # the first ones come with their apply job, then alone
        assert send(web, peer, activity(peer, "Create", page(peer, n), n)).status_code == 202
    keepers = site.extensions["tontine_federation.keepers"]
    dropped = keepers.local.cursor.connection
    with db.engine.connect() as other:
        assert other.execute(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped.info.backend_pid}
        ).scalar()
    body, headers = peer.signed(INBOX, activity(peer, "Create", page(peer, 4), 4))
    assert post(web, body, headers).status_code == 202
    assert post(web, body, headers).status_code == 202
    assert dropped.closed and keepers.local.cursor.connection is not dropped
    kept = db.session.scalars(select(ReceivedActivity.activity_id).order_by(ReceivedActivity.id))
    assert list(kept) == [f"{peer.id}/activities/create-{n}" for n in (1, 2, 3, 4)]
    db.session.rollback()
    # closed with the engine: nothing left connected once the app lets go of its database
    db.engine.dispose()
    assert keepers.local.__dict__ == {} and keepers.open == set()
    with db.engine.connect() as other:
        mine = other.execute(
            select(func.count()).select_from(text("pg_stat_activity")).where(
                text("datname = current_database() AND pid <> pg_backend_pid()")
            )
        ).scalar()
    assert mine == 0
