"""An independent implementation as a peer: bovine signs requests to us and verifies ours."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from tontine.db import db
from tontine.testing import wait_for
from tontine_federation.models import FollowState, Peer
from tontine_federation.signatures import load_private_key

bovine = pytest.importorskip("bovine")
aiohttp = pytest.importorskip("aiohttp")

pytestmark = pytest.mark.slow


def test_bovine_follows_us_and_verifies_our_accept(live_server, remote) -> None:  # type: ignore[no-untyped-def]
    from bovine.clients.signed_http import legacy_digest_method
    from bovine.clients.signed_http_methods import signed_post
    from bovine.crypto import build_validate_http_signature_raw
    from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret

    server = live_server(plugins=["gift", "sandbox", "federation"], FEDERATION_ALLOW_LOOPBACK=True)
    peer = remote.add_actor("bovine")
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.id}/follow/1",
        "type": "Follow",
        "actor": peer.id,
        "object": f"{server.url}/actor",
    }
    secret = CryptographicSecret(key_id=peer.key_id, private_key=peer.key)

    async def send() -> int:
        async with aiohttp.ClientSession() as session:
            response = await signed_post(
                session,
                secret,
                f"{server.url}/inbox",
                json.dumps(follow),
                digest_method=legacy_digest_method,
            )
            return response.status

    assert asyncio.run(send()) == 202

    with server.app.app_context():
        stored = db.session.scalars(select(Peer)).one()
        assert stored.actor_id == peer.id and stored.followed == FollowState.ACCEPTED
        ours = load_private_key(server.app.config["FEDERATION_KEY"]).public_key()
        db.session.remove()

    accept = wait_for(
        lambda: [p for p in remote.posts if p[0] == "/users/bovine/inbox"], timeout=15
    )
    path, headers, body = accept[0]
    assert json.loads(body)["type"] == "Accept"

    async def retrieve(key_id: str):  # type: ignore[no-untyped-def]
        assert key_id == f"{server.url}/actor#main-key"
        return CryptographicIdentifier(controller=f"{server.url}/actor", public_key=ours)

    validate = build_validate_http_signature_raw(retrieve)

    async def body_bytes() -> bytes:
        return body

    owner = asyncio.run(validate("post", f"{remote.base}{path}", headers, body_bytes))
    assert owner == f"{server.url}/actor"

    tampered_owner = asyncio.run(
        validate("post", f"{remote.base}{path}", headers, lambda: asyncio.sleep(0, body + b" "))
    )
    assert tampered_owner is None


def test_bovine_signature_with_a_bad_digest_is_refused(live_server, remote) -> None:  # type: ignore[no-untyped-def]
    from bovine.clients.signed_http_methods import signed_post
    from bovine.crypto.types import CryptographicSecret

    server = live_server(plugins=["gift", "sandbox", "federation"], FEDERATION_ALLOW_LOOPBACK=True)
    peer = remote.add_actor("bovine")
    follow = {
        "id": f"{peer.id}/follow/1",
        "type": "Follow",
        "actor": peer.id,
        "object": f"{server.url}/actor",
    }
    secret = CryptographicSecret(key_id=peer.key_id, private_key=peer.key)

    def wrong_digest(body: bytes) -> tuple[str, str]:
        return "digest", "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # of b""

    async def send() -> int:
        async with aiohttp.ClientSession() as session:
            response = await signed_post(
                session,
                secret,
                f"{server.url}/inbox",
                json.dumps(follow),
                digest_method=wrong_digest,
            )
            return response.status

    assert asyncio.run(send()) == 401
    with server.app.app_context():
        assert db.session.scalars(select(Peer)).all() == []
        db.session.remove()


def test_we_follow_a_bovine_peer_and_it_verifies_our_follow(live_server, remote) -> None:  # type: ignore[no-untyped-def]
    from bovine.crypto import build_validate_http_signature_raw
    from bovine.crypto.types import CryptographicIdentifier

    from tontine_federation import peers

    server = live_server(plugins=["gift", "sandbox", "federation"], FEDERATION_ALLOW_LOOPBACK=True)
    peer = remote.add_actor("bovine")
    with server.app.app_context():
        peers.follow(peer.id)
        ours = load_private_key(server.app.config["FEDERATION_KEY"]).public_key()
        db.session.remove()
    posts = wait_for(lambda: [p for p in remote.posts if p[0] == "/users/bovine/inbox"], timeout=15)
    path, headers, body = posts[0]
    follow = json.loads(body)
    assert follow["type"] == "Follow" and follow["object"] == peer.id

    async def retrieve(key_id: str):  # type: ignore[no-untyped-def]
        return CryptographicIdentifier(controller=f"{server.url}/actor", public_key=ours)

    async def body_bytes() -> bytes:
        return body

    validate = build_validate_http_signature_raw(retrieve)
    owner = asyncio.run(validate("post", f"{remote.base}{path}", headers, body_bytes))
    assert owner == f"{server.url}/actor"
