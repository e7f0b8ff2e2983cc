"""Publishing listings: activities and delivery jobs written with the change, then delivered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from tontine.db import db, unit_of_work, utcnow
from tontine.jobs.models import Job, JobState
from tontine.jobs.services import run_pending
from tontine_federation import outbox
from tontine_federation.models import FollowState, OutgoingActivity, Peer
from tontine_federation.signatures import Policy, SignedRequest, verify

BASE = "https://dreams.example"


class Sink(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []
    status = 202

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.received.append((self.path, dict(self.headers.items()), body))
        self.send_response(Sink.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def sink() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    Sink.received, Sink.status = [], 202
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        plugins=["gift", "sandbox", "federation"], BASE_URL=BASE, FEDERATION_ALLOW_LOOPBACK=True
    )
    with app.app_context():
        yield app


def add_peer(
    actor: str, inbox: str, shared: str | None = None, followed: FollowState = FollowState.ACCEPTED
) -> Peer:
    with unit_of_work() as session:
        peer = Peer(
            actor_id=actor,
            domain=actor.split("/")[2],
            inbox=inbox,
            shared_inbox=shared,
            followed=followed,
        )
        session.add(peer)
    return peer


def jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.kind == outbox.DELIVER).order_by(Job.id)))


def activities(kind: str | None = None) -> list[OutgoingActivity]:
    query = select(OutgoingActivity).order_by(OutgoingActivity.id)
    if kind:
        query = query.where(OutgoingActivity.type == kind)
    return list(db.session.scalars(query))


def test_opening_a_listing_writes_a_create_and_one_job_per_inbox(site, make_project) -> None:  # type: ignore[no-untyped-def]
    add_peer("https://a.example/actor", "https://a.example/actor/inbox", "https://a.example/inbox")
    add_peer("https://a.example/other", "https://a.example/other/inbox", "https://a.example/inbox")
    add_peer("https://b.example/actor", "https://b.example/actor/inbox")
    add_peer("https://c.example/actor", "https://c.example/inbox", followed=FollowState.PENDING)
    project = make_project()
    creates = activities("Create")
    assert [a.ap_id for a in creates] == [f"{BASE}/projects/{project.id}#create"]
    assert sorted(j.payload["inbox"] for j in jobs()) == [
        "https://a.example/inbox",
        "https://b.example/actor/inbox",
    ]


def test_nothing_is_sent_for_drafts(site, make_project) -> None:  # type: ignore[no-untyped-def]
    add_peer("https://a.example/actor", "https://a.example/inbox")
    make_project(state="draft")
    assert activities() == [] and jobs() == []


def test_bursts_of_updates_coalesce(site, make_project) -> None:  # type: ignore[no-untyped-def]
    add_peer("https://a.example/actor", "https://a.example/inbox")
    project = make_project()
    moment = datetime(2030, 1, 1, 12, 0, 5)
    with unit_of_work():
        for second in range(10):
            outbox.publish_update(project, now=moment + timedelta(seconds=second))
    updates = activities("Update")
    assert len(updates) == 1
    update_jobs = [j for j in jobs() if j.payload["activity"] == updates[0].id]
    assert len(update_jobs) == 1
    assert update_jobs[0].run_at >= moment + timedelta(seconds=10)


def test_a_saved_listing_goes_out_as_update(site, make_project) -> None:  # type: ignore[no-untyped-def]
    from tontine.projects import services

    add_peer("https://a.example/actor", "https://a.example/inbox")
    from tontine.accounts.models import User

    project = make_project()
    services.update_project(
        project, db.session.get(User, project.owner_id), {"story": "Now with a second oven."}
    )
    assert len(activities("Update")) == 1


def test_withdrawal_goes_out_as_delete(site, make_project) -> None:  # type: ignore[no-untyped-def]
    from tontine.projects import services

    add_peer("https://a.example/actor", "https://a.example/inbox")
    project = make_project()
    with unit_of_work():
        services.transition(db.session.merge(project), "withdrawn", reason="test")
    delete = activities("Delete")
    assert len(delete) == 1
    assert outbox.render(delete[0])["object"] == {
        "id": f"{BASE}/projects/{project.id}",
        "type": "Tombstone",
    }
    assert outbox.render(activities("Create")[0]) is None  # a withdrawn listing is never re-sent


def test_delivery_is_signed_and_verifiable(site, make_project, sink: str) -> None:  # type: ignore[no-untyped-def]
    peer = add_peer("http://127.0.0.1/actor", f"{sink}/inbox")
    project = make_project()
    assert run_pending(now=utcnow() + timedelta(minutes=1)) >= 1
    assert len(Sink.received) == 1
    path, headers, body = Sink.received[0]
    doc = json.loads(body)
    assert path == "/inbox"
    assert doc["type"] == "Create" and doc["object"]["id"] == f"{BASE}/projects/{project.id}"
    assert headers["Content-Type"] == "application/activity+json"
    private = serialization.load_pem_private_key(site.config["FEDERATION_KEY"].encode(), None)
    seen_key: list[str] = []

    def lookup(key_id: str):  # type: ignore[no-untyped-def]
        seen_key.append(key_id)
        return private.public_key()

    request = SignedRequest.build("POST", f"{sink}/inbox", headers, body)
    verify(request, lookup, Policy(authority=sink.split("//")[1]))
    assert seen_key == [f"{BASE}/actor#main-key"]
    db.session.expire_all()
    peer = db.session.get(Peer, peer.id)
    assert peer.last_delivery_at is not None and peer.failing_since is None


def test_failed_delivery_is_retried_and_marks_the_peer(site, make_project, sink: str) -> None:  # type: ignore[no-untyped-def]
    Sink.status = 503
    peer = add_peer("http://127.0.0.1/actor", f"{sink}/inbox")
    make_project()
    run_pending(now=utcnow())
    db.session.expire_all()
    (job,) = jobs()
    assert job.state == JobState.QUEUED and job.attempts == 1 and "503" in job.last_error
    assert db.session.get(Peer, peer.id).failing_since is not None
    Sink.status = 202
    run_pending(now=utcnow() + timedelta(days=1))
    db.session.expire_all()
    assert jobs()[0].state == JobState.DONE
    peer = db.session.get(Peer, peer.id)
    assert peer.failing_since is None and peer.last_delivery_at is not None
    assert len(Sink.received) == 2
    first, second = (h["Date"] for _p, h, _b in Sink.received)
    assert first and second  # each attempt carries its own, fresh signature


def test_delivery_to_a_private_address_is_refused(site, make_project) -> None:  # type: ignore[no-untyped-def]
    site.config["FEDERATION_ALLOW_LOOPBACK"] = False
    add_peer("https://evil.example/actor", "https://10.0.0.1/inbox")
    make_project()
    run_pending(now=utcnow() + timedelta(minutes=1))
    db.session.expire_all()
    (job,) = jobs()
    assert job.state == JobState.QUEUED and "refused address" in job.last_error


def test_migration_branch_is_installed(site) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from tontine.migrate import alembic_config, current_heads

    (head,) = ScriptDirectory.from_config(alembic_config(site)).get_revisions("federation@head")
    assert head is not None and head.revision in current_heads(site)
    assert db.session.scalar(select(func.count()).select_from(Peer)) == 0


@pytest.mark.postgres
def test_publishing_on_postgres(make_app, make_project) -> None:  # type: ignore[no-untyped-def]
    app = make_app(plugins=["gift", "sandbox", "federation"], BASE_URL=BASE, database="postgres")
    with app.app_context():
        add_peer("https://a.example/actor", "https://a.example/inbox")
        make_project()
        assert [a.type for a in activities()] == ["Create"]
        assert len(jobs()) == 1


def test_a_peer_failing_for_days_becomes_unavailable_and_is_tried_rarely(
    site, make_project, sink: str
) -> None:  # type: ignore[no-untyped-def]
    Sink.status = 500
    dead = add_peer("http://127.0.0.1/dead", f"{sink}/dead-inbox")
    alive = add_peer("https://alive.example/actor", "https://alive.example/inbox")
    with unit_of_work() as session:
        session.get(Peer, dead.id).failing_since = utcnow() - timedelta(days=4)
    first = make_project()
    run_pending(now=utcnow() + timedelta(hours=7))  # a failing peer's delivery was put off
    db.session.expire_all()
    assert db.session.get(Peer, dead.id).unavailable
    with unit_of_work() as session:  # alive.example does not resolve here: it never answered
        session.get(Peer, alive.id).failing_since = None
    make_project(title="Second")
    db.session.expire_all()
    second_jobs = [j for j in jobs() if j.payload["activity"] != outbox_activity_id(first.id)]
    by_inbox = {j.payload["inbox"]: j for j in second_jobs}
    assert by_inbox[f"{sink}/dead-inbox"].run_at > utcnow() + timedelta(hours=5)
    assert by_inbox["https://alive.example/inbox"].run_at <= utcnow()
    assert alive.id


def outbox_activity_id(project_id: int) -> int:
    return db.session.scalars(
        select(OutgoingActivity.id).where(
            OutgoingActivity.ap_id == f"{BASE}/projects/{project_id}#create"
        )
    ).one()


def test_a_failing_peer_gets_new_deliveries_later_the_others_at_once(site, make_project) -> None:  # type: ignore[no-untyped-def]
    failing = add_peer("https://down.example/actor", "https://down.example/inbox")
    add_peer("https://up.example/actor", "https://up.example/inbox")
    with unit_of_work() as session:
        session.get(Peer, failing.id).failing_since = utcnow() - timedelta(minutes=20)
    make_project()
    db.session.expire_all()
    by_inbox = {j.payload["inbox"]: j.run_at for j in jobs()}
    assert by_inbox["https://up.example/inbox"] <= utcnow()
    assert by_inbox["https://down.example/inbox"] >= utcnow() + timedelta(minutes=19)
