"""Whatever JSON a signed peer sends, the inbox answers 2xx or 4xx, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tontine.db import db, unit_of_work
from tontine_federation.models import FollowState, Peer

BASE = "https://dreams.example"

KEYS = [
    "type",
    "id",
    "name",
    "goal",
    "raised",
    "value",
    "currency",
    "updated",
    "published",
    "url",
    "attributedTo",
    "backerCount",
    "location",
    "terms",
    "content",
    "summary",
    "object",
    "image",
    "fundingModel",
    "status",
    "endTime",
    "contribute",
]

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "Page",
            "2030-01-01T00:00:00Z",
            "EUR",
            "10.00",
            "99999-01-01T00:00:00+23:59",
            "9999-12-31T23:59:59-23:00",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=8)
    ),
    max_leaves=25,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(make_app, request):  # type: ignore[no-untyped-def]
    app = make_app(
        database=request.param,
        plugins=["gift", "sandbox", "federation"],
        BASE_URL=BASE,
        FEDERATION_ALLOW_LOOPBACK=True,
        FEDERATION_INBOX_RATE_LIMIT=100_000,
    )
    with app.app_context():
        yield app


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(["Create", "Update", "Delete", "Announce", "Undo", "Accept", "Follow"]),
    obj=values,
)
def test_signed_garbage_never_breaks_the_inbox(site, remote, kind: str, obj: Any) -> None:  # type: ignore[no-untyped-def]
    peer = getattr(remote, "_fuzz_peer", None)
    if peer is None:
        peer = remote._fuzz_peer = remote.add_actor("fuzz")
        with unit_of_work() as session:
            session.add(
                Peer(
                    actor_id=peer.id,
                    domain="127.0.0.1",
                    inbox=f"{peer.id}/inbox",
                    following=FollowState.ACCEPTED,
                    key_id=peer.key_id,
                    public_key_pem=peer.document["publicKey"]["publicKeyPem"],
                )
            )
    remote._fuzz_n = getattr(remote, "_fuzz_n", 0) + 1
    activity = {
        "id": f"{peer.id}/a/{remote._fuzz_n}",
        "type": kind,
        "actor": peer.id,
        "object": obj,
    }
    body, headers = peer.signed(f"{BASE}/inbox", activity)
    response = site.test_client().post("/inbox", data=body, headers=headers, base_url=BASE)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert db.session.scalars(select(Peer)).first() is not None


def _valid_page(base: str, n: int) -> dict[str, Any]:
    return {
        "id": f"{base}/projects/{n}",
        "type": "Page",
        "name": "Listing",
        "url": f"{base}/projects/{n}",
        "attributedTo": f"{base}/users/fuzz",
        "updated": "2030-01-01T00:00:00Z",
        "fundingModel": "gift",
        "status": "open",
        "goal": {"type": "MonetaryAmount", "value": "1000.00", "currency": "EUR"},
        "raised": {"type": "MonetaryAmount", "value": "10.00", "currency": "EUR"},
        "backerCount": 1,
    }


odd_values = (
    st.text(max_size=2000)
    | st.integers(-(2**80), 2**80)
    | st.sampled_from(
        [
            "9999-12-31T23:59:59+00:00",
            "0001-01-01T00:00:00-23:59",
            "x" * 600,
            "9" * 40,
            "http://127.0.0.1:1/" + "a" * 600,
            "EUR",
            "ZZZ",
            "1e9",
            "",
        ]
    )
    | st.dictionaries(
        st.sampled_from(["value", "currency", "name", "href", "addressCountry"]),
        st.text(max_size=50) | st.integers(),
        max_size=3,
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.dictionaries(st.sampled_from(KEYS), odd_values, min_size=1, max_size=3))
def test_nearly_valid_listings_never_break_the_inbox(site, remote, changes: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    peer = getattr(remote, "_fuzz_peer", None)
    if peer is None:
        peer = remote._fuzz_peer = remote.add_actor("fuzz")
        with unit_of_work() as session:
            session.add(
                Peer(
                    actor_id=peer.id,
                    domain="127.0.0.1",
                    inbox=f"{peer.id}/inbox",
                    following=FollowState.ACCEPTED,
                    key_id=peer.key_id,
                    public_key_pem=peer.document["publicKey"]["publicKeyPem"],
                )
            )
    remote._fuzz_n = getattr(remote, "_fuzz_n", 0) + 1
    page = {**_valid_page(remote.base, remote._fuzz_n), **changes}
    activity = {
        "id": f"{peer.id}/c/{remote._fuzz_n}",
        "type": "Create",
        "actor": peer.id,
        "object": page,
    }
    body, headers = peer.signed(f"{BASE}/inbox", activity)
    response = site.test_client().post("/inbox", data=body, headers=headers, base_url=BASE)
    assert response.status_code < 500, response.get_data(as_text=True)
