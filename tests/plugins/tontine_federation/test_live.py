"""Two real instances over loopback HTTP, each with its own database and worker."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from tontine.db import db
from tontine.testing import wait_for
from tontine_federation.models import FollowState, Peer, RemoteListing

pytestmark = pytest.mark.slow


def _key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def pair(live_server):  # type: ignore[no-untyped-def]
    settings = {
        "plugins": ["gift", "sandbox", "federation"],
        "FEDERATION_ALLOW_LOOPBACK": True,
        "FEDERATION_UPDATE_COALESCE_SECONDS": 1,
        "FEDERATION_FAILING_DELAY_MIN_SECONDS": 1,
    }
    dreams = live_server(name="dreams", NAME="Dreams", FEDERATION_KEY=_key(), **settings)
    micro = live_server(name="micro", NAME="Microloans", FEDERATION_KEY=_key(), **settings)
    return dreams, micro


def in_app(server, fn) -> Any:  # type: ignore[no-untyped-def]
    with server.app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def listing_on(server, name: str) -> RemoteListing | None:  # type: ignore[no-untyped-def]
    return in_app(
        server,
        lambda: db.session.scalars(select(RemoteListing).where(RemoteListing.name == name)).first(),
    )


def test_two_instances_follow_each_other_and_exchange_listings(pair, make_project) -> None:  # type: ignore[no-untyped-def]
    from tontine.accounts.models import User
    from tontine.projects import services
    from tontine_federation import peers

    dreams, micro = pair
    existing = in_app(micro, lambda: make_project(title="Already open").id)
    micro_handle = f"@tontine@127.0.0.1:{micro.port}"
    in_app(dreams, lambda: peers.follow(micro_handle))

    def dreams_follows_micro() -> bool:
        peer = in_app(dreams, lambda: db.session.scalars(select(Peer)).first())
        return peer is not None and peer.following == FollowState.ACCEPTED

    wait_for(dreams_follows_micro, timeout=20)
    # on accepting, micro sent what was already open
    wait_for(lambda: listing_on(dreams, "Already open"), timeout=20)

    fresh = in_app(micro, lambda: make_project(title="Fresh bakery").id)
    remote = wait_for(lambda: listing_on(dreams, "Fresh bakery"), timeout=20)
    assert remote.ap_id == f"{micro.url}/projects/{fresh}"
    assert remote.contribute_url == f"{micro.url}/projects/{fresh}/give"
    page = dreams.app.test_client().get("/network").get_data(as_text=True)
    assert "Fresh bakery" in page and "Already open" in page

    def edit() -> None:
        project = services.get_project(fresh)
        services.update_project(
            project, db.session.get(User, project.owner_id), {"story": "Now with a second oven."}
        )

    in_app(micro, edit)
    wait_for(
        lambda: "second oven" in (listing_on(dreams, "Fresh bakery").content or ""), timeout=20
    )

    def withdraw() -> None:
        project = services.get_project(existing)
        services.withdraw(project, db.session.get(User, project.owner_id), "changed plans")

    in_app(micro, withdraw)
    wait_for(lambda: listing_on(dreams, "Already open").deleted, timeout=20)
    page = dreams.app.test_client().get("/network").get_data(as_text=True)
    assert "Already open" not in page and "Fresh bakery" in page


def test_a_peer_that_was_down_converges_when_it_comes_back(pair, make_project) -> None:  # type: ignore[no-untyped-def]
    from tontine.accounts.models import User
    from tontine.projects import services
    from tontine.testing import LiveServer
    from tontine_federation import peers
    from tontine_federation.models import ReceivedActivity

    dreams, micro = pair
    kept = in_app(micro, lambda: make_project(title="Kept").id)
    dropped = in_app(micro, lambda: make_project(title="Dropped").id)
    in_app(dreams, lambda: peers.follow(micro.url + "/actor"))
    wait_for(lambda: listing_on(dreams, "Kept") and listing_on(dreams, "Dropped"), timeout=20)

    dreams.stop()
    dreams._server.server_close()  # the port is free: deliveries to it fail

    def change() -> None:
        project = services.get_project(kept)
        owner = db.session.get(User, project.owner_id)
        services.update_project(project, owner, {"story": "Changed while you were away."})
        gone = services.get_project(dropped)
        services.withdraw(gone, db.session.get(User, gone.owner_id), "no longer needed")

    in_app(micro, change)
    created = in_app(micro, lambda: make_project(title="Born while away").id)

    def failed_once() -> bool:
        from tontine.jobs.models import Job

        return in_app(
            micro,
            lambda: any(
                j.attempts >= 1 and j.last_error
                for j in db.session.scalars(select(Job)).all()
                if j.kind == "federation_deliver"
            ),
        )

    wait_for(failed_once, timeout=20)
    back = LiveServer(dreams.app, dreams.port).start()
    try:
        wait_for(lambda: listing_on(dreams, "Born while away"), timeout=30)
        wait_for(lambda: listing_on(dreams, "Dropped").deleted, timeout=30)
        wait_for(lambda: "while you were away" in listing_on(dreams, "Kept").content, timeout=30)
        remote = listing_on(dreams, "Born while away")
        assert remote.ap_id == f"{micro.url}/projects/{created}"
        ids = in_app(
            dreams, lambda: [r.activity_id for r in db.session.scalars(select(ReceivedActivity))]
        )
        assert len(ids) == len(set(ids))  # nothing applied twice
    finally:
        back.stop()
