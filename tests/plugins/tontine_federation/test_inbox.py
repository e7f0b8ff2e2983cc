"""The inbox, rule by rule: each attack gets its status code and stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tontine.db import db, unit_of_work, utcnow
from tontine.jobs.models import Job
from tontine_federation.models import (
    BlockedDomain,
    FollowState,
    Peer,
    ReceivedActivity,
    RemoteListing,
)
from tontine_federation.signatures import digest_header, sign_cavage

BASE = "https://dreams.example"
INBOX = f"{BASE}/inbox"
ACTOR = f"{BASE}/actor"


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        plugins=["gift", "sandbox", "federation"], BASE_URL=BASE, FEDERATION_ALLOW_LOOPBACK=True
    )
    with app.app_context():
        yield app


@pytest.fixture
def web(site):  # type: ignore[no-untyped-def]
    return site.test_client()


@pytest.fixture
def peer(remote):  # type: ignore[no-untyped-def]
    return remote.add_actor("site")


def counts() -> dict[str, int]:
    def n(model: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model)) or 0

    db.session.expire_all()
    return {
        "peers": n(Peer),
        "listings": n(RemoteListing),
        "received": n(ReceivedActivity),
        "jobs": n(Job),
    }


def post(web, body: bytes, headers: dict[str, str], path: str = "/inbox"):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    return web.post(path, data=body, headers=headers, base_url=BASE)


def send(web, actor, activity: dict[str, Any], path: str = "/inbox", scheme: str = "cavage"):  # type: ignore[no-untyped-def]
    body, headers = actor.signed(BASE + path, activity, scheme=scheme)
    return post(web, body, headers, path)


def follow(actor, n: int = 1) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.id}/follows/{n}",
        "type": "Follow",
        "actor": actor.id,
        "object": ACTOR,
    }


def page(actor, n: int = 1, updated: str = "2030-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    origin = actor.stub.base
    doc = {
        "id": f"{origin}/projects/{n}",
        "type": "Page",
        "name": f"Listing {n}",
        "summary": "A bakery in Lyon",
        "content": "<p>Bread for all</p>",
        "url": f"{origin}/projects/{n}",
        "attributedTo": actor.id,
        "published": "2030-01-01T00:00:00Z",
        "updated": updated,
        "fundingModel": "gift",
        "status": "open",
        "goal": {"type": "MonetaryAmount", "value": "1000.00", "currency": "EUR"},
        "raised": {"type": "MonetaryAmount", "value": "250.50", "currency": "EUR"},
        "backerCount": 3,
    }
    doc.update(extra)
    return doc


def activity(actor, kind: str, obj: Any, n: int | str = 1) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "id": f"{actor.id}/activities/{kind.lower()}-{n}",
        "type": kind,
        "actor": actor.id,
        "object": obj,
    }


def followed(actor) -> None:  # type: ignore[no-untyped-def]
    """We follow ``actor`` (its Accept came back)."""
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id=actor.id,
                domain="127.0.0.1",
                inbox=f"{actor.id}/inbox",
                following=FollowState.ACCEPTED,
                our_follow_id=f"{ACTOR}#follows/1",
            )
        )


# --- what works -----------------------------------------------------------------------------------


def test_follow_is_accepted_and_open_listings_are_sent(site, web, peer, make_project) -> None:  # type: ignore[no-untyped-def]
    make_project()
    response = send(web, peer, follow(peer))
    assert response.status_code == 202
    (stored,) = db.session.scalars(select(Peer)).all()
    assert stored.followed == FollowState.ACCEPTED
    assert stored.shared_inbox == f"{peer.stub.base}/inbox"
    assert stored.handle == f"site@{peer.stub.base.split('//')[1]}"
    kinds = sorted(
        j.payload["inbox"]
        for j in db.session.scalars(select(Job)).all()
        if j.kind == "federation_deliver"
    )
    assert kinds == [f"{peer.stub.base}/inbox", f"{peer.id}/inbox"]  # the Create, the Accept


def test_follow_waits_for_approval_when_configured(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    site.config["FEDERATION_AUTO_ACCEPT_FOLLOWS"] = False
    assert send(web, peer, follow(peer)).status_code == 202
    assert db.session.scalars(select(Peer)).one().followed == FollowState.PENDING


def test_replayed_activity_changes_nothing(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    assert post(web, body, headers).status_code == 202
    before = counts()
    assert post(web, body, headers).status_code == 202
    assert counts() == before


def test_undo_follow(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    send(web, peer, follow(peer))
    assert send(web, peer, activity(peer, "Undo", follow(peer))).status_code == 202
    assert db.session.scalars(select(Peer)).one().followed == FollowState.NONE


def test_accept_of_our_follow(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id=peer.id,
                domain="127.0.0.1",
                inbox=f"{peer.id}/inbox",
                following=FollowState.PENDING,
                our_follow_id=f"{ACTOR}#follows/9",
            )
        )
    accept = activity(peer, "Accept", {"id": f"{ACTOR}#follows/9", "type": "Follow"})
    assert send(web, peer, accept).status_code == 202
    assert db.session.scalars(select(Peer)).one().following == FollowState.ACCEPTED


def test_create_update_delete_of_a_listing(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    assert counts()["received"] == 1  # kept before the 202, stored by the worker
    worker()
    listing = db.session.scalars(select(RemoteListing)).one()
    assert listing.name == "Listing 1" and listing.raised_amount == 25050
    assert listing.origin == peer.stub.base.replace("127.0.0.1", "127.0.0.1")
    newer = page(
        peer,
        updated="2030-01-02T00:00:00Z",
        name="Renamed",
        raised={"type": "MonetaryAmount", "value": "900.00", "currency": "EUR"},
    )
    assert send(web, peer, activity(peer, "Update", newer, 2)).status_code == 202
    older = page(peer, updated="2030-01-01T12:00:00Z", name="Stale")
    assert send(web, peer, activity(peer, "Update", older, 3)).status_code == 202
    worker()
    db.session.expire_all()
    listing = db.session.scalars(select(RemoteListing)).one()
    assert listing.name == "Renamed" and listing.raised_amount == 90000  # the late one was ignored
    assert send(web, peer, activity(peer, "Delete", page(peer)["id"])).status_code == 202
    worker()
    db.session.expire_all()
    assert db.session.scalars(select(RemoteListing)).one().deleted


def test_a_listing_is_kept_before_the_202_and_applied_once(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    body, headers = peer.signed(INBOX, activity(peer, "Create", page(peer)))
    assert post(web, body, headers).status_code == 202
    kept = db.session.scalars(select(ReceivedActivity)).one()
    assert kept.pending is not None and counts()["listings"] == 0
    assert post(web, body, headers).status_code == 202  # a replay before the worker ran
    assert worker() >= 1
    listing = db.session.scalars(select(RemoteListing)).one()
    assert listing.name == "Listing 1"
    db.session.expire_all()
    assert db.session.scalars(select(ReceivedActivity)).one().pending is None
    with unit_of_work():
        listing.name = "Edited here"
    assert post(web, body, headers).status_code == 202  # a replay after it ran
    worker()
    db.session.expire_all()
    assert db.session.scalars(select(RemoteListing)).one().name == "Edited here"
    assert counts()["received"] == 1


def test_a_burst_of_listings_takes_a_few_jobs(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation.inbox import APPLY

    followed(peer)
    for n in range(1, 21):
        assert send(web, peer, activity(peer, "Create", page(peer, n), n)).status_code == 202
    jobs = db.session.scalars(select(Job).where(Job.kind == APPLY)).all()
    assert 1 <= len(jobs) <= 4 and jobs[0].run_at <= utcnow()  # the first at once
    worker()
    assert counts()["listings"] == 20


def test_a_kept_change_that_cannot_be_applied_does_not_hold_up_the_others(
    site, web, peer, worker
) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer, 1), 1)).status_code == 202
    with unit_of_work() as session:  # a change this version cannot apply (a bug, or an old row)
        session.add(
            ReceivedActivity(
                activity_id=f"{peer.id}/activities/odd",
                actor_id=peer.id,
                type="Create",
                pending={"listing": {"name": "no other field"}},
            )
        )
    assert send(web, peer, activity(peer, "Create", page(peer, 2), 2)).status_code == 202
    worker()
    assert sorted(db.session.scalars(select(RemoteListing.name))) == ["Listing 1", "Listing 2"]
    pending = select(func.count()).where(ReceivedActivity.pending.is_not(None))
    assert db.session.scalar(pending) == 0


def test_listings_kept_before_their_domain_was_blocked_are_not_stored(
    site, web, peer, worker
) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation import peers

    followed(peer)
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    peers.block("127.0.0.1")
    worker()
    assert counts()["listings"] == 0


def test_rfc9421_signed_requests_are_accepted(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    assert send(web, peer, follow(peer), scheme="rfc9421").status_code == 202
    assert counts()["peers"] == 1


def test_actor_inbox_works_like_the_shared_one(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    assert send(web, peer, follow(peer), path="/actor/inbox").status_code == 202


def test_listings_from_instances_we_do_not_follow_are_not_kept(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    assert worker() >= 1
    assert counts()["listings"] == 0


def test_remote_html_is_sanitized(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    hostile = page(
        peer,
        content='<p onclick="x()">Hi<script>alert(1)</script><iframe src="x"></iframe>'
        '<a href="javascript:alert(1)">a</a><img src="data:x"><svg></svg>'
        "<style>*{}</style></p>",
        name="<b>Bold</b> name",
        summary="<script>x</script>ok",
    )
    assert send(web, peer, activity(peer, "Create", hostile)).status_code == 202
    worker()
    listing = db.session.scalars(select(RemoteListing)).one()
    for bad in ("script", "iframe", "onclick", "javascript:", "data:", "svg", "style", "<img"):
        assert bad not in listing.content
    assert listing.name == "Bold name" and "<" not in listing.summary


def test_announce_stores_the_copy_fetched_from_the_origin(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    third = make_remote().add_actor("third")
    real = page(third, 7, name="The real one")
    third.stub.serve("/projects/7", real)
    embedded = dict(real, name="Forged by the announcer")
    assert send(web, peer, activity(peer, "Announce", embedded)).status_code == 202
    listing = db.session.scalars(select(RemoteListing)).one()
    assert listing.name == "The real one" and listing.origin.endswith(
        third.stub.base.rsplit(":", 1)[1]
    )


# --- each attack: its status, and nothing stored ----------------------------------------------------


def refused(web, body: bytes, headers: dict[str, str], status: int, path: str = "/inbox"):  # type: ignore[no-untyped-def]
    before = counts()
    response = post(web, body, headers, path)
    assert response.status_code == status, response.get_data(as_text=True)
    assert counts() == before
    return response


def test_unsigned_post(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    refused(
        web, json.dumps(follow(peer)).encode(), {"Content-Type": "application/activity+json"}, 401
    )


def test_tampered_body(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    refused(web, body.replace(b"Follow", b"Folloq"), headers, 401)


def test_tampered_body_with_fresh_digest(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    other = body.replace(b"Follow", b"Folloq")
    refused(web, other, dict(headers, Digest=digest_header(other)), 401)


def test_digest_not_covered(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(follow(peer)).encode()
    headers = sign_cavage(peer.key, peer.key_id, "GET", INBOX, {}, None)  # no digest signed
    headers["Digest"] = digest_header(body)
    refused(web, body, headers, 401)


def test_stale_date(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(follow(peer)).encode()
    headers = sign_cavage(
        peer.key, peer.key_id, "POST", INBOX, {}, body, now=datetime.now(UTC) - timedelta(hours=3)
    )
    refused(web, body, headers, 401)


def test_future_date(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(follow(peer)).encode()
    headers = sign_cavage(
        peer.key, peer.key_id, "POST", INBOX, {}, body, now=datetime.now(UTC) + timedelta(hours=3)
    )
    refused(web, body, headers, 401)


def test_signed_for_another_host(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed("https://elsewhere.example/inbox", follow(peer))
    refused(web, body, headers, 401)


def test_signed_for_another_path(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(f"{BASE}/actor/inbox", follow(peer))
    refused(web, body, headers, 401, path="/inbox")


def test_malformed_signature_header(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    refused(web, body, dict(headers, Signature='keyId="x" garbage'), 400)


def test_key_owner_is_not_the_actor(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    victim = remote.add_actor("victim")
    forged = dict(follow(victim), id=f"{victim.id}/follows/forged")
    body, headers = peer.signed(INBOX, forged)
    refused(web, body, headers, 403)


def test_key_published_by_another_actor(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    liar = remote.add_actor("liar")
    liar.document["publicKey"]["owner"] = peer.id  # claims a key it does not own
    remote.serve("/users/liar", liar.document)
    body, headers = liar.signed(INBOX, follow(liar))
    refused(web, body, headers, 401)


def test_activity_id_on_another_origin(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    refused(web, *peer.signed(INBOX, dict(follow(peer), id="https://elsewhere.example/f/1")), 403)


def test_object_on_another_origin(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    other = make_remote().add_actor("other")
    refused(web, *peer.signed(INBOX, activity(peer, "Create", page(other))), 403)


def test_attributed_to_another_origin(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    refused(
        web,
        *peer.signed(
            INBOX,
            activity(peer, "Create", page(peer, attributedTo="https://elsewhere.example/users/x")),
        ),
        403,
    )


def test_update_of_someone_elses_listing(site, web, peer, make_remote, worker) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    owner = make_remote().add_actor("owner")
    followed(owner)
    assert send(web, owner, activity(owner, "Create", page(owner))).status_code == 202
    hijack = page(owner, updated="2031-01-01T00:00:00Z", name="Hijacked")
    refused(web, *peer.signed(INBOX, activity(peer, "Update", hijack)), 403)
    worker()
    assert db.session.scalars(select(RemoteListing)).one().name == "Listing 1"


def test_delete_of_someone_elses_listing(site, web, peer, make_remote, worker) -> None:  # type: ignore[no-untyped-def]
    owner = make_remote().add_actor("owner")
    followed(owner)
    send(web, owner, activity(owner, "Create", page(owner)))
    refused(web, *peer.signed(INBOX, activity(peer, "Delete", page(owner)["id"])), 403)
    worker()
    assert not db.session.scalars(select(RemoteListing)).one().deleted


def test_undo_of_someone_elses_follow(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    send(web, peer, follow(peer))
    other = remote.add_actor("other")
    before = counts()
    undo = activity(other, "Undo", dict(follow(peer)))
    response = post(web, *other.signed(INBOX, undo))
    assert response.status_code in (202, 403)
    db.session.expire_all()
    assert (
        db.session.scalars(select(Peer).where(Peer.actor_id == peer.id)).one().followed
        == FollowState.ACCEPTED
    )
    assert counts()["peers"] == before["peers"]


def test_announce_fetch_with_a_different_id(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    third = make_remote().add_actor("third")
    third.stub.serve("/projects/7", page(third, 8))  # the document says it is /projects/8
    refused(
        web, *peer.signed(INBOX, activity(peer, "Announce", f"{third.stub.base}/projects/7")), 403
    )


def test_announce_fetch_with_a_wrong_content_type(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    third = make_remote().add_actor("third")
    third.stub.serve("/projects/7", page(third, 7), content_type="text/html")
    refused(
        web, *peer.signed(INBOX, activity(peer, "Announce", f"{third.stub.base}/projects/7")), 400
    )


def test_announce_redirected_to_another_origin(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    third, fourth = make_remote().add_actor("third"), make_remote().add_actor("fourth")
    fourth.stub.serve("/projects/7", page(fourth, 7))
    third.stub.redirect("/projects/7", f"{fourth.stub.base}/projects/7")
    refused(
        web, *peer.signed(INBOX, activity(peer, "Announce", f"{third.stub.base}/projects/7")), 403
    )


def test_announce_redirected_to_a_private_address(site, web, peer, make_remote) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    third = make_remote().add_actor("third")
    third.stub.redirect("/projects/7", "http://10.0.0.1/projects/7")
    refused(
        web, *peer.signed(INBOX, activity(peer, "Announce", f"{third.stub.base}/projects/7")), 502
    )


def test_oversize_body(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    big = dict(follow(peer), padding="x" * (257 * 1024))
    refused(web, *peer.signed(INBOX, big), 413)
    assert peer.stub.hits == []  # refused before any key fetch


def test_deep_json(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    refused(web, *peer.signed(INBOX, dict(follow(peer), extra=deep)), 400)


def test_json_depth_limit_is_exact() -> None:
    from tontine_federation.remote import MAX_DEPTH, RemoteRefused, check_depth

    def nested(levels: int, leaf: Any) -> Any:
        document = leaf
        for n in range(levels):
            document = {"a": document} if n % 2 else [document]
        return document

    check_depth(nested(MAX_DEPTH - 1, "x"))  # a value at depth MAX_DEPTH
    check_depth(nested(MAX_DEPTH - 1, {}))  # an empty object at depth MAX_DEPTH
    for too_deep in (
        nested(MAX_DEPTH, "x"),
        nested(MAX_DEPTH - 1, {"b": 1}),
        nested(MAX_DEPTH, []),
    ):
        with pytest.raises(RemoteRefused):
            check_depth(too_deep)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=2),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
        max_leaves=40,
    ),
    st.integers(min_value=1, max_value=6),
)
def test_json_depth_is_measured_as_the_nesting_of_values(document: Any, limit: int) -> None:
    """The level-by-level walk refuses exactly the documents that nest a value deeper than
    ``limit`` (read here recursively)."""
    from tontine_federation.remote import RemoteRefused, check_depth

    def fits(node: Any, depth: int) -> bool:
        if not isinstance(node, dict | list):
            return True
        children = list(node.values()) if isinstance(node, dict) else node
        if depth >= limit and children:
            return False
        return all(fits(child, depth + 1) for child in children)

    if fits(document, 1):
        check_depth(document, limit)
    else:
        with pytest.raises(RemoteRefused):
            check_depth(document, limit)


def test_very_deep_json(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    refused(web, *peer.signed(INBOX, None, body=body), 400)


def test_not_json(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    refused(web, *peer.signed(INBOX, None, body=b"<html>hi</html>"), 400)


def test_flood_from_one_host(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    site.config["FEDERATION_INBOX_RATE_LIMIT"] = 3
    for n in range(3):
        assert send(web, peer, follow(peer, n)).status_code == 202
    response = refused(web, *peer.signed(INBOX, follow(peer, 99)), 429)
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("blocked", ["127.0.0.1"])
def test_blocked_domain(site, web, peer, blocked: str) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(BlockedDomain(domain=blocked))
    refused(web, *peer.signed(INBOX, follow(peer)), 403)
    assert peer.stub.hits == []  # no key fetch


def test_blocked_parent_domain_covers_subdomains(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation.inbox import is_blocked

    with unit_of_work() as session:
        session.add(BlockedDomain(domain="bad.example"))
    assert is_blocked("bad.example") and is_blocked("a.b.bad.example")
    assert not is_blocked("notbad.example") and not is_blocked("example")
    body = json.dumps(follow(peer)).encode()
    headers = sign_cavage(
        peer.key, "https://sub.bad.example/users/x#main-key", "POST", INBOX, {}, body
    )
    refused(web, body, headers, 403)
    assert peer.stub.hits == []


@pytest.mark.parametrize(
    "money",
    [
        {"goal": {"type": "MonetaryAmount", "value": 1000.5, "currency": "EUR"}},
        {"goal": {"type": "MonetaryAmount", "value": "1e5", "currency": "EUR"}},
        {"goal": {"type": "MonetaryAmount", "value": "-10.00", "currency": "EUR"}},
        {"goal": {"type": "MonetaryAmount", "value": "0", "currency": "EUR"}},
        {"goal": {"type": "MonetaryAmount", "value": "10.00", "currency": "ZZZ"}},
        {"goal": {"type": "MonetaryAmount", "value": "10.001", "currency": "EUR"}},
        {"goal": {"type": "MonetaryAmount", "value": "10.00"}},
        {"raised": {"type": "MonetaryAmount", "value": "5.00", "currency": "USD"}},
        {"backerCount": -1},
        {"backerCount": "3"},
        {"updated": "yesterday"},
        {"fundingModel": "<script>"},
    ],
)
def test_bad_listing_fields(site, web, peer, money: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    refused(web, *peer.signed(INBOX, activity(peer, "Create", page(peer, **money))), 400)


def test_follow_of_someone_else(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    refused(web, *peer.signed(INBOX, dict(follow(peer), object=f"{BASE}/users/nobody")), 422)


def test_missing_actor(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    bad = follow(peer)
    del bad["actor"]
    refused(web, *peer.signed(INBOX, bad), 400)


def test_unreachable_key(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(follow(peer)).encode()
    headers = sign_cavage(peer.key, f"{remote.base}/users/ghost#main-key", "POST", INBOX, {}, body)
    refused(web, body, headers, 401)


def test_key_document_with_wrong_content_type(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    remote.serve("/users/site", peer.document, content_type="text/html")
    refused(web, *peer.signed(INBOX, follow(peer)), 401)


def test_a_delete_that_overtakes_its_create_wins(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    assert send(web, peer, activity(peer, "Delete", page(peer)["id"])).status_code == 202
    worker()
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    worker()
    assert counts()["listings"] == 0


def test_old_received_ids_are_pruned_but_recent_ones_kept(site) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation.inbox import prune_received

    with unit_of_work() as session:
        session.add(
            ReceivedActivity(
                activity_id="https://a.example/old",
                actor_id="https://a.example/a",
                type="Create",
                received_at=datetime(2000, 1, 1),
            )
        )
        session.add(
            ReceivedActivity(
                activity_id="https://a.example/new", actor_id="https://a.example/a", type="Create"
            )
        )
        session.add(  # old, but not applied yet (the worker was down): kept
            ReceivedActivity(
                activity_id="https://a.example/waiting",
                actor_id="https://a.example/a",
                type="Delete",
                received_at=datetime(2000, 1, 1),
                pending={"delete": "https://a.example/projects/1"},
            )
        )
    assert prune_received() == 1
    assert sorted(r.activity_id for r in db.session.scalars(select(ReceivedActivity))) == [
        "https://a.example/new",
        "https://a.example/waiting",
    ]


def test_actor_with_several_keys(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys

    from tontine_federation.signatures import public_key_pem

    other = rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    doc = dict(peer.document)
    doc["publicKey"] = [
        {"id": f"{peer.id}#other-key", "owner": peer.id, "publicKeyPem": public_key_pem(other)},
        peer.document["publicKey"],
    ]
    remote.serve("/users/site", doc)
    assert send(web, peer, follow(peer)).status_code == 202


def test_rotated_key_is_fetched_again(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys

    from tontine_federation.signatures import public_key_pem

    assert send(web, peer, follow(peer)).status_code == 202  # the key is now known
    peer.key = rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    peer.document["publicKey"]["publicKeyPem"] = public_key_pem(peer.key)
    remote.serve("/users/site", peer.document)
    fetched = len(remote.hits)
    assert send(web, peer, activity(peer, "Create", page(peer, 1), 1)).status_code == 202
    assert len(remote.hits) == fetched + 1
    assert send(web, peer, activity(peer, "Create", page(peer, 2), 2)).status_code == 202
    assert len(remote.hits) == fetched + 1  # the new key was kept: no fetch this time


def test_policy_failures_with_a_known_key_fetch_nothing(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    assert send(web, peer, follow(peer)).status_code == 202
    fetched = len(remote.hits)
    body = json.dumps(follow(peer, 3)).encode()
    stale = sign_cavage(
        peer.key, peer.key_id, "POST", INBOX, {}, body, now=datetime.now(UTC) - timedelta(hours=3)
    )
    refused(web, body, stale, 401)
    assert len(remote.hits) == fetched


def test_a_peer_following_again_gets_the_open_listings_again(site, web, peer, make_project) -> None:  # type: ignore[no-untyped-def]
    make_project()

    def creates() -> int:
        db.session.expire_all()
        return sum(
            1
            for job in db.session.scalars(select(Job)).all()
            if job.kind == "federation_deliver"
            and job.payload["inbox"] == f"{peer.stub.base}/inbox"
        )

    send(web, peer, follow(peer, 1))
    assert creates() == 1
    send(web, peer, activity(peer, "Undo", follow(peer, 1)))
    send(web, peer, follow(peer, 2))
    assert creates() == 2


def test_update_of_the_actor_refreshes_it_from_its_origin(site, web, peer, remote) -> None:  # type: ignore[no-untyped-def]
    assert send(web, peer, follow(peer)).status_code == 202
    peer.document["name"] = "Renamed site"
    remote.serve("/users/site", peer.document)
    forged = dict(peer.document, name="Forged in the activity")
    assert send(web, peer, activity(peer, "Update", forged)).status_code == 202
    db.session.expire_all()
    assert db.session.scalars(select(Peer)).one().name == "Renamed site"


def test_follow_state_is_read_again_after_it_changes(site, web, peer, worker) -> None:  # type: ignore[no-untyped-def]
    from tontine_federation import peers

    assert send(web, peer, follow(peer)).status_code == 202  # the peer (and its key) is known
    assert send(web, peer, activity(peer, "Create", page(peer, 1))).status_code == 202
    worker()
    assert counts()["listings"] == 0  # we do not follow it (yet): nothing kept
    with unit_of_work() as session:  # its Accept of our Follow, as another process would store it
        known = session.scalars(select(Peer)).one()
        known.following, known.our_follow_id = FollowState.ACCEPTED, f"{ACTOR}#follows/1"
    assert send(web, peer, activity(peer, "Create", page(peer, 2), 2)).status_code == 202
    worker()
    assert counts()["listings"] == 1  # the worker reads whom we follow from the database
    peers.unfollow(peer.id)
    assert send(web, peer, activity(peer, "Create", page(peer, 3), 3)).status_code == 202
    worker()
    assert counts()["listings"] == 1


def test_a_peer_that_was_down_and_follows_again_is_answered_at_once(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    from tontine.db import utcnow

    send(web, peer, follow(peer, 1))
    with unit_of_work() as session:
        known = session.scalars(select(Peer)).one()
        known.failing_since, known.unavailable = utcnow() - timedelta(days=5), True
    assert send(web, peer, follow(peer, 2)).status_code == 202
    db.session.expire_all()
    known = db.session.scalars(select(Peer)).one()
    assert known.failing_since is None and not known.unavailable
    accept_jobs = [
        j
        for j in db.session.scalars(select(Job)).all()
        if j.kind == "federation_deliver" and j.payload["inbox"] == f"{peer.id}/inbox"
    ]
    assert len(accept_jobs) == 2 and accept_jobs[-1].run_at <= utcnow()


def test_a_stranger_claiming_a_peers_key_does_not_use_up_its_allowance(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    site.config["FEDERATION_INBOX_RATE_LIMIT"] = 3
    body = json.dumps(follow(peer)).encode()
    forged = sign_cavage(peer.key, peer.key_id, "POST", INBOX, {}, body)
    for _ in range(3):  # from another address, with the peer's keyId and a broken body
        web.post(
            "/inbox",
            data=body + b" ",
            headers=forged,
            base_url=BASE,
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
    assert (
        web.post(
            "/inbox",
            data=body,
            headers=forged,
            base_url=BASE,
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        ).status_code
        == 429
    )
    assert send(web, peer, follow(peer, 7)).status_code == 202  # the real peer, its own address


def test_an_actor_deleting_itself_is_unfollowed_and_its_listings_hidden(
    site, web, peer, worker
) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    send(web, peer, follow(peer))
    assert send(web, peer, activity(peer, "Create", page(peer))).status_code == 202
    assert send(web, peer, activity(peer, "Delete", peer.id)).status_code == 202
    worker()
    db.session.expire_all()
    gone = db.session.scalars(select(Peer)).one()
    assert gone.following == FollowState.NONE and gone.followed == FollowState.NONE
    assert db.session.scalars(select(RemoteListing)).one().deleted


@pytest.mark.parametrize(
    "change",
    [
        {"id": "javascript:alert(1)"},
        {"id": "file:///etc/passwd"},
        {"actor": "data:text/plain,x"},
        {"type": ["Create", "Update"]},
        {"id": "https://" + "a" * 600 + ".example/x"},
    ],
)
def test_activities_with_bad_ids_or_types(site, web, peer, change: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    refused(web, *peer.signed(INBOX, {**follow(peer), **change}), 400)


def test_two_signature_headers(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(INBOX, follow(peer))
    before = counts()
    response = web.post(
        "/inbox",
        data=body,
        base_url=BASE,
        headers=[*headers.items(), ("Signature", headers["Signature"])],
    )
    assert response.status_code in (400, 401)
    assert counts() == before


def test_listing_with_a_javascript_url(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    hostile = page(peer, url="javascript:alert(1)")
    refused(web, *peer.signed(INBOX, activity(peer, "Create", hostile)), 400)


def test_listing_image_on_another_origin(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    followed(peer)
    tracker = page(peer, image={"type": "Image", "url": "https://tracker.example/pixel.gif"})
    refused(web, *peer.signed(INBOX, activity(peer, "Create", tracker)), 400)


def test_a_body_that_never_comes_is_refused(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    """The sender announced a body and went away before sending it, on a server that leaves
    bounding the body to the application: 400 (not an error of ours), nothing stored."""
    followed(peer)
    before = counts()
    import io

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    _body, headers = peer.signed(INBOX, activity(peer, "Create", page(peer)))
    headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    environ = EnvironBuilder("/inbox", BASE, method="POST", headers=headers).get_environ()
    environ.pop("wsgi.input_terminated", None)
    environ.update({"CONTENT_LENGTH": "100", "wsgi.input": io.BytesIO(b"")})
    body, status, _headers = run_wsgi_app(site.wsgi_app, environ, buffered=True)
    assert status == "400 BAD REQUEST"
    assert "Content-Length" in json.loads(b"".join(body))["title"]
    assert counts() == before


def test_the_signed_target_includes_the_query(site, web, peer) -> None:  # type: ignore[no-untyped-def]
    """The request target a sender signed is the path with its query, as sent."""
    followed(peer)
    body, headers = peer.signed(f"{INBOX}?via=relay", activity(peer, "Create", page(peer)))
    headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    assert web.post("/inbox?via=relay", data=body, headers=headers, base_url=BASE).status_code == 202
    body, headers = peer.signed(f"{INBOX}?via=relay", activity(peer, "Create", page(peer, 2), 2))
    headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    refused_here = web.post("/inbox?via=other", data=body, headers=headers, base_url=BASE)
    assert refused_here.status_code == 401
