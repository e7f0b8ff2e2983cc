"""Admin actions (follow, unfollow, approve, block) through the CLI, collections and /network."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tontine.db import db, unit_of_work
from tontine.jobs.models import Job
from tontine_federation.models import FollowState, OutgoingActivity, Peer, RemoteListing

BASE = "https://dreams.example"


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        plugins=["gift", "sandbox", "federation"], BASE_URL=BASE, FEDERATION_ALLOW_LOOPBACK=True
    )
    with app.app_context():
        yield app


def cli(site, *args: str) -> Any:  # type: ignore[no-untyped-def]
    from tontine_federation.commands import federation

    return site.test_cli_runner().invoke(federation, list(args))


def serve_webfinger(stub, actor, name: str = "site") -> str:  # type: ignore[no-untyped-def]
    host = stub.base.split("//")[1]
    resource = quote(f"acct:{name}@{host}", safe=":@")
    stub.serve(
        f"/.well-known/webfinger?resource={resource}",
        {
            "subject": f"acct:{name}@{host}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": actor.id}],
        },
        content_type="application/jrd+json",
    )
    return f"@{name}@{host}"


def delivery_jobs() -> list[Job]:
    db.session.expire_all()
    return [j for j in db.session.scalars(select(Job)).all() if j.kind == "federation_deliver"]


def test_follow_by_handle_sends_a_follow(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    handle = serve_webfinger(remote, actor)
    result = cli(site, "follow", handle)
    assert result.exit_code == 0, result.output
    peer = db.session.scalars(select(Peer)).one()
    assert peer.following == FollowState.PENDING and peer.our_follow_id
    (job,) = delivery_jobs()
    assert job.payload["inbox"] == f"{actor.id}/inbox"
    follow = db.session.get(OutgoingActivity, job.payload["activity"])
    assert follow.type == "Follow" and follow.payload["object"] == actor.id and not follow.public


def test_follow_by_url(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    assert cli(site, "follow", actor.id).exit_code == 0
    assert db.session.scalars(select(Peer)).one().actor_id == actor.id


def test_handle_must_resolve_back_to_itself(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("someone-else")
    handle = serve_webfinger(remote, actor, name="site")  # WebFinger says site → someone-else
    result = cli(site, "follow", handle)
    assert result.exit_code != 0 and "resolve back" in result.output
    assert db.session.scalars(select(Peer)).all() == [] and delivery_jobs() == []


@pytest.mark.parametrize(
    "target", ["not a handle", "@a@", "ftp://x.example/actor", "https://10.0.0.1/actor"]
)
def test_follow_refuses_bad_targets(site, target: str) -> None:  # type: ignore[no-untyped-def]
    site.config["FEDERATION_ALLOW_LOOPBACK"] = False
    result = cli(site, "follow", target)
    assert result.exit_code != 0
    assert db.session.scalars(select(Peer)).all() == []


def test_unfollow_sends_undo(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    cli(site, "follow", actor.id)
    assert cli(site, "unfollow", actor.id).exit_code == 0
    peer = db.session.scalars(select(Peer)).one()
    assert peer.following == FollowState.NONE
    kinds = [db.session.get(OutgoingActivity, j.payload["activity"]).type for j in delivery_jobs()]
    assert kinds == ["Follow", "Undo"]


def test_approve_a_pending_follower(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id=actor.id,
                domain="127.0.0.1",
                inbox=f"{actor.id}/inbox",
                handle="site@x",
                followed=FollowState.PENDING,
                their_follow_id=f"{actor.id}/follows/1",
            )
        )
    assert cli(site, "approve", actor.id).exit_code == 0
    assert db.session.scalars(select(Peer)).one().followed == FollowState.ACCEPTED
    assert cli(site, "approve", actor.id).exit_code != 0  # nothing pending any more


def test_block_hides_listings_and_unblock_shows_them(site) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            RemoteListing(
                ap_id="https://bad.example/projects/1",
                origin="https://bad.example:443",
                name="Hidden soon",
                url="https://bad.example/projects/1",
                funding_model="gift",
                status="open",
                currency="EUR",
                goal_amount=1000,
                updated=datetime(2030, 1, 1),
            )
        )
    web = site.test_client()
    assert "Hidden soon" in web.get("/network").get_data(as_text=True)
    assert cli(site, "block", "bad.example", "--reason", "spam").exit_code == 0
    assert "Hidden soon" not in web.get("/network").get_data(as_text=True)
    assert cli(site, "block", "not a domain!").exit_code != 0
    assert cli(site, "unblock", "bad.example").exit_code == 0
    assert "Hidden soon" in web.get("/network").get_data(as_text=True)


def test_peers_lists_states(site) -> None:  # type: ignore[no-untyped-def]
    assert "no peers" in cli(site, "peers").output
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/inbox",
                handle="tontine@a.example",
                following=FollowState.ACCEPTED,
                unavailable=True,
            )
        )
    output = cli(site, "peers").output
    assert "tontine@a.example" in output and "following=accepted" in output
    assert "UNAVAILABLE" in output


def test_network_page_links_back_to_the_origin(site) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            RemoteListing(
                ap_id="https://micro.example/projects/4",
                origin="https://micro.example:443",
                name="Sewing machine",
                url="https://micro.example/projects/4",
                contribute_url="https://micro.example/projects/4/give",
                image_url="https://micro.example/media/x.jpg",
                funding_model="loan",
                status="open",
                currency="EUR",
                goal_amount=50000,
                raised_amount=12500,
                updated=datetime(2030, 1, 1),
            )
        )
    response = site.test_client().get("/network")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sewing machine" in html and "https://micro.example/projects/4/give" in html
    assert "25%" in html
    assert (
        "img-src 'self' data: https://micro.example" in response.headers["Content-Security-Policy"]
    )


def test_outbox_pages_by_cursor(site, make_project) -> None:  # type: ignore[no-untyped-def]
    for n in range(25):
        make_project(title=f"Project {n}")
    web = site.test_client()
    accept = {"Accept": "application/activity+json"}
    root = json.loads(web.get("/actor/outbox", headers=accept).data)
    assert root["type"] == "OrderedCollection" and root["totalItems"] == 25
    first = json.loads(web.get(root["first"].replace(BASE, ""), headers=accept).data)
    assert first["type"] == "OrderedCollectionPage" and len(first["orderedItems"]) == 20
    assert first["orderedItems"][0]["object"]["name"] == "Project 24"
    second = json.loads(web.get(first["next"].replace(BASE, ""), headers=accept).data)
    assert [i["object"]["name"] for i in second["orderedItems"]] == [
        f"Project {n}" for n in range(4, -1, -1)
    ]
    assert "next" not in second


def test_followers_and_following_collections(site) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/i",
                followed=FollowState.ACCEPTED,
            )
        )
        session.add(
            Peer(
                actor_id="https://b.example/actor",
                domain="b.example",
                inbox="https://b.example/i",
                following=FollowState.ACCEPTED,
            )
        )
    web = site.test_client()
    followers = json.loads(web.get("/actor/followers?page=true").data)
    assert followers["orderedItems"] == ["https://a.example/actor"]
    following = json.loads(web.get("/actor/following").data)
    assert following["totalItems"] == 1


def test_follow_waits_for_an_instance_that_is_starting(site, remote) -> None:  # type: ignore[no-untyped-def]
    import threading

    actor_doc: dict[str, Any] = {}

    def come_up() -> None:
        actor = remote.add_actor("late")
        actor_doc["id"] = actor.id

    remote.documents.clear()
    timer = threading.Timer(1.0, come_up)
    timer.start()
    result = cli(site, "follow", f"{remote.base}/users/late", "--wait", "10")
    timer.join()
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(Peer)).one().actor_id == actor_doc["id"]
    assert cli(site, "follow", f"{remote.base}/users/nobody", "--wait", "0").exit_code != 0


def test_network_shows_open_listings_only(site) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work() as session:
        for n, status in enumerate(("open", "funded", "failed")):
            session.add(
                RemoteListing(
                    ap_id=f"https://m.example/projects/{n}",
                    origin="https://m.example:443",
                    name=f"Listing {status}",
                    url=f"https://m.example/projects/{n}",
                    funding_model="gift",
                    status=status,
                    currency="EUR",
                    goal_amount=1000,
                    updated=datetime(2030, 1, 1),
                )
            )
    html = site.test_client().get("/network").get_data(as_text=True)
    assert "Listing open" in html
    assert "Listing funded" not in html and "Listing failed" not in html


def test_browsers_asking_for_a_collection_get_the_actor_page(site) -> None:  # type: ignore[no-untyped-def]
    web = site.test_client()
    for path in ("/actor/outbox", "/actor/followers", "/actor/following"):
        page = web.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 302 and page.headers["Location"].endswith("/actor")
        assert web.get(path, headers={"Accept": "application/activity+json"}).status_code == 200
        assert web.get(path).status_code == 200  # no preference: the document


def test_listings_of_an_unfollowed_instance_leave_the_network_page(site, remote) -> None:  # type: ignore[no-untyped-def]
    actor = remote.add_actor("site")
    with unit_of_work() as session:
        peer = Peer(
            actor_id=actor.id,
            domain="127.0.0.1",
            inbox=f"{actor.id}/inbox",
            following=FollowState.ACCEPTED,
            our_follow_id="https://dreams.example/actor#f",
        )
        session.add(peer)
        session.flush()
        session.add(
            RemoteListing(
                ap_id=f"{remote.base}/projects/1",
                origin=remote.base,
                peer_id=peer.id,
                name="From a followed site",
                url=f"{remote.base}/projects/1",
                funding_model="gift",
                status="open",
                currency="EUR",
                goal_amount=1000,
                updated=datetime(2030, 1, 1),
            )
        )
    web = site.test_client()
    assert "From a followed site" in web.get("/network").get_data(as_text=True)
    assert cli(site, "unfollow", actor.id).exit_code == 0
    assert "From a followed site" not in web.get("/network").get_data(as_text=True)
