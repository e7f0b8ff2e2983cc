"""The inbox: every rule of FEDERATION.md's security section, applied before the 202.

Order matters, cheapest refusal first: size (413, before reading the body), blocked domain
(403, before any key fetch), rate limit per connecting address (429), JSON shape (400),
signature (401; a known peer's key from memory or its row, else fetched through the safe
client), one origin (403), rate limit per sender host (429), idempotency (a replay is
accepted and changes nothing). Then a listing's ``Create``/``Update``/``Delete`` is
validated (400/403), kept with its id in one durable INSERT and applied by the worker
(``apply_received``); any other activity is applied at once, in one unit of work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
from flask import current_app
from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from psycopg.types.json import Json
from sqlalchemy import event, insert, null, select, update
from sqlalchemy.exc import IntegrityError

from tontine.db import after_commit, db, unit_of_work, utcnow
from tontine.jobs.services import enqueue
from tontine.projects import states
from tontine.projects.models import Project
from tontine_federation import outbox, remote_listings, urls
from tontine_federation.models import (
    BlockedDomain,
    FollowState,
    Peer,
    ReceivedActivity,
    RemoteListing,
)
from tontine_federation.remote import (
    RemoteActor,
    RemoteRefused,
    check_depth,
    fetch,
    fetch_actor,
    host_of,
    id_of,
    origin,
)
from tontine_federation.settings import setting
from tontine_federation.signatures import (
    MalformedSignature,
    Policy,
    PublicKey,
    SignatureMismatch,
    SignatureRejected,
    SignedRequest,
    load_public_key,
    parse_cavage,
    verify,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: int
    message: str = ""
    retry_after: int | None = None


class TooLarge(RemoteRefused):
    status = 413


class Blocked(RemoteRefused):
    status = 403


class RateLimited(RemoteRefused):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


# --- limits (rule 5) -------------------------------------------------------------------------


class _LocalWindow:
    """Per-host counters in this process, one fixed minute window (``memory://``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = 0
        self.counts: dict[str, int] = {}

    def hit(self, host: str, limit: int) -> int | None:
        """None when allowed; else the seconds until the window resets."""
        now = time.time()
        window = int(now // 60)
        with self.lock:
            if window != self.window:
                self.window, self.counts = window, {}
            count = self.counts.get(host, 0) + 1
            self.counts[host] = count
        return None if count <= limit else max(1, int((window + 1) * 60 - now) + 1)


def check_rate(host: str) -> None:
    """Rule 5: per remote host, per minute; in memory on one node, shared storage otherwise."""
    allowed = int(setting("inbox_rate_limit"))
    uri = current_app.config.get("RATELIMIT_STORAGE_URI", "memory://")
    state = current_app.extensions.setdefault("tontine_federation.limiter", {})
    if state.get("uri") != uri:
        state.clear()
        state["uri"] = uri
        if uri.startswith("memory://"):
            state["local"] = _LocalWindow()
        else:
            state["shared"] = FixedWindowRateLimiter(storage_from_string(uri))
    if "local" in state:
        retry = state["local"].hit(host, allowed)
        if retry is not None:
            raise RateLimited(f"too many requests from {host}", retry)
        return
    limiter, limit = state["shared"], parse_limit(f"{allowed}/minute")
    if not limiter.hit(limit, "federation-inbox", host):
        stats = limiter.get_window_stats(limit, "federation-inbox", host)
        raise RateLimited(
            f"too many requests from {host}", max(1, int(stats.reset_time - time.time()) + 1)
        )


BLOCKLIST_SECONDS = 2.0  #: how long another process's block may take to apply here


def blocked_domains() -> frozenset[str]:
    """The blocked domains, read at most every ``BLOCKLIST_SECONDS`` (the inbox asks often)."""
    cache = current_app.extensions.setdefault("tontine_federation.blocked", {})
    now = time.monotonic()
    if cache.get("until", 0.0) < now:
        cache["domains"] = frozenset(db.session.scalars(select(BlockedDomain.domain)).all())
        cache["until"] = now + BLOCKLIST_SECONDS
    return cache["domains"]


def forget_blocked() -> None:
    """After a block or unblock in this process: take effect at once."""
    current_app.extensions.pop("tontine_federation.blocked", None)


def is_blocked(host: str) -> bool:
    """Is ``host``, or a domain it is under, blocked?"""
    host = host.lower().rstrip(".")
    if not host:
        return False
    domains = blocked_domains()
    if not domains:
        return False
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))


def claimed_key_host(headers: dict[str, str]) -> str:
    """The host of the keyId a request claims, read without parsing the body or fetching."""
    value = headers.get("signature") or ""
    if not value and headers.get("authorization", "")[:10].lower() == "signature ":
        value = headers["authorization"][10:]
    if value:
        try:
            return host_of(parse_cavage(value).get("keyId", ""))
        except MalformedSignature:
            return ""
    sig_input = headers.get("signature-input", "")
    marker = 'keyid="'
    start = sig_input.find(marker)
    if start >= 0:
        end = sig_input.find('"', start + len(marker))
        return host_of(sig_input[start + len(marker) : end])
    return ""


# --- keys (rule 1, via rule 4's client) --------------------------------------------------------


KEYS_SECONDS = 30.0  #: how long a known peer's key and follow state are reused in memory


@dataclass
class _KnownKey:
    expires: float
    actor: RemoteActor
    peer_id: int
    following: bool
    key: PublicKey  #: parsed once: reading a PEM costs more than checking a signature with it


def _key_cache() -> dict[str, _KnownKey]:
    return current_app.extensions.setdefault("tontine_federation.keys", {})


def forget_keys() -> None:
    """After a peer changes (follow state, key, inbox) in this process: read it afresh."""
    _key_cache().clear()


def _actor_of(peer: Peer) -> RemoteActor:
    return RemoteActor(
        id=peer.actor_id,
        inbox=peer.inbox,
        shared_inbox=peer.shared_inbox,
        key_id=peer.key_id,
        public_key_pem=peer.public_key_pem,
        name=peer.name,
        preferred_username=peer.handle.split("@", 1)[0],
    )


class KeyDirectory:
    """Finds the key a request names; remembers whom it belongs to for the origin checks.

    A key we already hold for a peer is used first (from memory for ``KEYS_SECONDS``, else
    from the peer's row); when the signature does not verify with it the caller asks again
    with ``use_cache=False`` (the peer may have rotated its key).
    """

    def __init__(self, use_cache: bool = True) -> None:
        self.owner: RemoteActor | None = None
        self.use_cache = use_cache
        self.from_cache = False

    def __call__(self, key_id: str) -> PublicKey:
        if is_blocked(host_of(key_id)):
            raise Blocked("this domain is blocked")
        if self.use_cache:
            known = _key_cache().get(key_id)
            if known is None or known.expires < time.monotonic():
                peer = db.session.scalars(
                    select(Peer).where(Peer.key_id == key_id, Peer.public_key_pem != "")
                ).first()
                known = None
                if peer is not None:
                    known = _KnownKey(
                        expires=time.monotonic() + KEYS_SECONDS,
                        actor=_actor_of(peer),
                        peer_id=peer.id,
                        following=peer.following == FollowState.ACCEPTED,
                        key=load_public_key(peer.public_key_pem),
                    )
                    _key_cache()[key_id] = known
            if known is not None:
                self.from_cache = True
                self.owner = known.actor
                return known.key
        actor_url = key_id.split("#", 1)[0]
        if origin(actor_url) is None:
            raise SignatureRejected("the keyId is not an http(s) URL")
        try:
            found = fetch_actor(actor_url, key_id)
        except RemoteRefused as exc:
            raise SignatureRejected(f"cannot get the signer's key: {exc.message}") from exc
        if found.key_id != key_id:
            raise SignatureRejected("the signer's actor does not publish this key")
        self.owner = found
        return load_public_key(found.public_key_pem)


# --- the pipeline ----------------------------------------------------------------------------------


def receive(
    method: str,
    path: str,
    headers: dict[str, str],
    read_body: Any,
    content_length: int | None,
    remote_addr: str,
) -> Outcome:
    """Run one inbox POST through every rule; returns the status to answer.

    ``headers`` are lower-cased, repeated fields joined (``joined_headers``).
    """
    try:
        return _receive(method, path, headers, read_body, content_length, remote_addr)
    except RateLimited as exc:
        return Outcome(429, exc.message, exc.retry_after)
    except (RemoteRefused, SignatureRejected) as exc:
        db.session.rollback()
        return Outcome(exc.status, exc.message)
    except IntegrityError:
        db.session.rollback()  # the same activity, applied by a concurrent request
        return Outcome(202, "already received")
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        db.session.rollback()
        log.warning("inbox: activity refused as malformed", exc_info=True)
        return Outcome(400, "the activity could not be understood")


def _receive(
    method: str,
    path: str,
    headers: dict[str, str],
    read_body: Any,
    content_length: int | None,
    remote_addr: str,
) -> Outcome:
    limit = int(setting("max_inbox_bytes"))
    if content_length is not None and content_length > limit:
        raise TooLarge("the activity is too large")
    key_host = claimed_key_host(headers)
    if key_host and is_blocked(key_host):
        raise Blocked("this domain is blocked")
    # Before verifying, only the connecting address is known for sure: a claimed keyId must
    # not let a stranger use up a real peer's allowance.
    check_rate(f"addr:{remote_addr}")
    body = read_body(limit + 1)
    if len(body) > limit:
        raise TooLarge("the activity is too large")
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RemoteRefused("the body is not JSON") from exc
    if not isinstance(activity, dict):
        raise RemoteRefused("the body is not a JSON object")
    check_depth(activity)
    activity_id, actor_id, kind = (
        activity.get("id"),
        id_of(activity.get("actor")),
        activity.get("type"),
    )
    if not isinstance(kind, str) or origin(activity_id) is None or origin(actor_id) is None:
        raise RemoteRefused("an activity needs an id, a type and an actor")
    if is_blocked(host_of(actor_id)):
        raise Blocked("this domain is blocked")

    request = SignedRequest(method.upper(), urls.base() + path, headers, body)
    policy = _policy()
    keys = KeyDirectory()
    try:
        verify(request, keys, policy)
    except SignatureMismatch:
        if not keys.from_cache:
            raise
        keys = KeyDirectory(use_cache=False)  # the peer may have rotated its key
        verify(request, keys, policy)
    signer = keys.owner
    assert signer is not None
    # rule 2: the key's owner is the actor; the activity is on the actor's origin
    if signer.id != actor_id:
        raise RemoteRefused("the key's owner is not the activity's actor", status=403)
    sender_origin = origin(actor_id)
    if origin(activity_id) != sender_origin:
        raise RemoteRefused("the activity id is on another origin", status=403)
    check_rate(f"host:{host_of(actor_id)}")

    fetch = needs_fetch(activity, signer)
    if kind in KEPT and not fetch:
        change = validated_change(activity, signer, sender_origin)
        keep(activity_id, actor_id, kind, change, None if keys.from_cache else signer)
        return Outcome(202)
    fetched = None
    if fetch:
        if _already_received(activity_id):
            return Outcome(202, "already received")
        fetched = prefetch(activity, signer)
    with unit_of_work() as session:
        # Recorded first: a replay fails here (IntegrityError → "already received").
        session.execute(
            _RECORD_RECEIVED,
            {"activity_id": activity_id, "actor_id": actor_id, "type": kind[:32], "pending": None},
        )
        if not keys.from_cache:
            _remember_key(signer)
        if kind in HANDLERS:
            HANDLERS[kind](activity, signer, sender_origin, fetched)
    return Outcome(202)


def _policy() -> Policy:
    """This instance's signature policy, made once per app (every POST asks for it)."""
    policy = current_app.extensions.get("tontine_federation.policy")
    if policy is None:
        window = timedelta(seconds=int(setting("signature_window_seconds")))
        policy = Policy(authority=urls.host(), window=window)
        current_app.extensions["tontine_federation.policy"] = policy
    return policy


#: The received id, as one plain INSERT (no ORM flush). It commits durably: a 202 promises
#: the sender that the activity is kept, whatever crashes next.
_RECORD_RECEIVED = insert(ReceivedActivity.__table__)


# --- accepted now, applied by the worker ---------------------------------------------------------

#: Listing activities, the bulk of the traffic: verified and validated before the 202, then
#: kept (one durable INSERT) and applied by the worker in batches (accept-then-process, as
#: Mastodon's and GoToSocial's inboxes do). Follows, answers, and what needs a fetch are
#: applied before the 202.
KEPT = ("Create", "Update", "Delete")
APPLY = "federation_apply_received"
#: How long a kept change may wait for the job that applies it, during a burst (the web
#: processes then share one job a slot: enqueueing costs more than keeping an activity).
APPLY_DELAY = 1.0
#: A commit this much later than its INSERT might miss the job it counted on; a schedule
#: (every 5 minutes) applies what such a rare straggler kept.
APPLY_MARGIN = 0.25
APPLY_BATCH = 200


def validated_change(
    activity: dict[str, Any], signer: RemoteActor, sender_origin: str
) -> dict[str, Any] | None:
    """What a listing activity will change, checked now (rules 2 and 7: 400/403 before the 202).

    None when there is nothing of ours to store (a ``Create`` of something not a listing).
    """
    if activity["type"] == "Delete":
        object_id = id_of(activity.get("object"))
        if object_id is None:
            raise RemoteRefused("Delete needs an object")
        if origin(object_id) != sender_origin:
            raise RemoteRefused("one can only delete one's own objects", status=403)
        return {"delete": object_id}
    page = activity.get("object")
    if not isinstance(page, dict):
        raise RemoteRefused("Create and Update carry the object")
    if page.get("type") != "Page":
        return None
    return {"listing": remote_listings.dump(remote_listings.by_ap(page, sender_origin))}


def keep(
    activity_id: str,
    actor_id: str,
    kind: str,
    change: dict[str, Any] | None,
    fetched_signer: RemoteActor | None,
) -> None:
    """Record the activity with its change, durably, and see that a job will apply it.

    Usually one statement on its own (on PostgreSQL: ``_keep_alone``). A job is enqueued
    with it when none is due late enough in this process: at once after a quiet spell,
    at the end of an ``APPLY_DELAY`` slot during a burst, shared by every process, so that a
    burst costs one job a slot.
    """
    run_at = _apply_job_needed() if change is not None else None
    if run_at is None and fetched_signer is None and db.engine.dialect.name == "postgresql":
        _keep_alone(activity_id, actor_id, kind, change)
        return
    with unit_of_work() as session:
        session.execute(
            _RECORD_RECEIVED,
            {"activity_id": activity_id, "actor_id": actor_id, "type": kind, "pending": change},
        )
        if fetched_signer is not None:
            _remember_key(fetched_signer)
        if run_at is not None:
            when = utcnow() + timedelta(seconds=max(0.0, run_at - time.time()))
            enqueue(APPLY, run_at=when, dedupe_key=f"{APPLY}:{round(run_at * 1000)}")
            after_commit(lambda: _apply_job_enqueued(run_at))


#: ``_RECORD_RECEIVED`` as the driver runs it on PostgreSQL; a replay inserts nothing.
_KEEP_SQL = (
    "INSERT INTO federation_received_activities"
    " (activity_id, actor_id, type, received_at, pending) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (activity_id) DO NOTHING"
)


def _keep_alone(activity_id: str, actor_id: str, kind: str, change: dict[str, Any] | None) -> None:
    """One INSERT in autocommit, straight through the driver, on this thread's own connection.

    One round trip where ``BEGIN``, ``INSERT``, ``COMMIT`` take three, with a commit as
    durable (``synchronous_commit`` as configured: a 202 promises the activity is kept).
    """
    keepers = current_app.extensions.get("tontine_federation.keepers")
    if keepers is None:
        keepers = current_app.extensions.setdefault(
            "tontine_federation.keepers", KeeperConnections(db.engine)
        )
    params = (activity_id, actor_id, kind, utcnow(), None if change is None else Json(change))
    keepers.execute(_KEEP_SQL, params)


class KeeperConnections:
    """An autocommit driver connection per thread, outside SQLAlchemy's pool, for ``_keep_alone``.

    Checking a connection out of the pool, switching it to autocommit and back, and the
    pool's reset on return cost the inbox's hottest path more than its statement did. Each
    thread that keeps an activity holds one more connection (a gunicorn worker: one per
    thread), with one cursor and the statement prepared once; they close with the engine
    (``dispose``). A connection the server dropped while idle is replaced and the statement
    run again: it inserts nothing twice.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.local = threading.local()
        self.lock = threading.Lock()
        self.open: set[psycopg.Connection] = set()  # every thread's, to close on dispose
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        cursor = getattr(self.local, "cursor", None)
        if cursor is not None:
            try:
                cursor.execute(sql, params, prepare=True)
                return
            except psycopg.OperationalError:
                self.drop(cursor.connection)  # closed while idle (a restart, a proxy): afresh
        cursor = self.connect()
        try:
            cursor.execute(sql, params, prepare=True)
        except psycopg.OperationalError:
            self.drop(cursor.connection)
            raise

    def connect(self) -> psycopg.Cursor[Any]:
        fairy = self.engine.raw_connection()
        connection = fairy.driver_connection
        assert isinstance(connection, psycopg.Connection)
        fairy.detach()  # ours from now on: the pool neither counts it nor resets it
        connection.autocommit = True
        with self.lock:
            self.open.add(connection)
        self.local.cursor = connection.cursor()
        return self.local.cursor

    def drop(self, connection: psycopg.Connection) -> None:
        with self.lock:
            self.open.discard(connection)
        cursor = getattr(self.local, "cursor", None)
        if cursor is not None and cursor.connection is connection:
            del self.local.cursor
        connection.close()

    def close(self) -> None:
        with self.lock:
            connections, self.open = self.open, set()
        for connection in connections:
            connection.close()
        self.local = threading.local()


def _apply_state() -> dict[str, float]:
    return current_app.extensions.setdefault(
        "tontine_federation.apply", {"enqueued": 0.0, "until": 0.0}
    )


def forget_apply_jobs() -> None:
    """Count on no enqueued apply job (tests that run jobs before they are due)."""
    current_app.extensions.pop("tontine_federation.apply", None)


def _apply_job_needed() -> float | None:
    """When a new apply job should run (epoch seconds), or None when this process has one."""
    state, now = _apply_state(), time.time()
    if now + APPLY_MARGIN <= state["until"]:
        return None  # a job runs late enough to see this activity
    if now - state["enqueued"] > APPLY_DELAY:
        return now  # quiet until now: apply at once
    # A burst: one job for what comes in the next moments, due at the end of a time slot that
    # every web process computes alike, so that they share it (one job, not one each).
    return (math.floor((now + APPLY_MARGIN) / APPLY_DELAY) + 1) * APPLY_DELAY


def _apply_job_enqueued(run_at: float) -> None:
    state = _apply_state()
    state["enqueued"] = time.time()
    state["until"] = max(state["until"], run_at)


def apply_received(payload: dict[str, Any] | None = None) -> int:
    """Job: apply the kept changes, oldest first, ``APPLY_BATCH`` per transaction.

    Workers share the queue with ``SKIP LOCKED``. A change is applied once: it is cleared in
    the transaction that applies it. A batch that fails is applied again one change at a
    time; a change that fails alone is logged and dropped (it was validated before the 202,
    so this is a bug, not the sender's fault).
    """
    done = 0
    while True:
        count = _apply_batch()
        done += count
        if count < APPLY_BATCH:
            return done


def _apply_batch() -> int:
    table = ReceivedActivity.__table__
    with unit_of_work() as session:
        rows = session.execute(
            select(table.c.id, table.c.actor_id, table.c.pending)
            .where(table.c.pending.is_not(None))
            .order_by(table.c.id)
            .limit(APPLY_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        try:
            with session.begin_nested():
                _apply_changes([(row.actor_id, row.pending) for row in rows])
        except Exception:
            log.exception("inbox: a batch of kept changes failed; applying them one by one")
            for row in rows:
                try:
                    with session.begin_nested():
                        _apply_changes([(row.actor_id, row.pending)])
                except Exception:
                    log.exception("inbox: kept change %s dropped", row.id)
        session.execute(
            update(table).where(table.c.id.in_([row.id for row in rows])).values(pending=null())
        )
    return len(rows)


def _apply_changes(changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Apply changes in order: consecutive listings go together, a Delete on its own.

    Changes from a domain blocked since they were accepted are dropped.
    """
    followed: dict[str, int | None] = {}
    listings: list[tuple[dict[str, Any], int | None]] = []
    for actor_id, change in changes:
        if is_blocked(host_of(actor_id)):
            continue
        if "listing" in change:
            if actor_id not in followed:
                followed[actor_id] = _following(actor_id)
            if followed[actor_id] is not None:  # we only keep listings of instances we follow
                listings.append((remote_listings.load(change["listing"]), followed[actor_id]))
            continue
        remote_listings.apply_all(listings)
        listings = []
        object_id = change["delete"]
        if object_id == actor_id:
            _actor_gone(actor_id)
        else:
            sender_origin = origin(actor_id)
            assert sender_origin is not None
            remote_listings.delete(object_id, sender_origin)
    remote_listings.apply_all(listings)


def _remember_key(signer: RemoteActor) -> None:
    """A key fetched just now (new or rotated) replaces the one a known peer had."""
    session = db.session
    session.execute(
        update(Peer)
        .where(Peer.actor_id == signer.id, Peer.key_id != signer.key_id)
        .values(key_id=signer.key_id, public_key_pem=signer.public_key_pem)
    )
    session.execute(
        update(Peer)
        .where(Peer.actor_id == signer.id, Peer.public_key_pem != signer.public_key_pem)
        .values(public_key_pem=signer.public_key_pem)
    )
    after_commit(forget_keys)


def _already_received(activity_id: str) -> bool:
    return (
        db.session.scalars(
            select(ReceivedActivity.id).where(ReceivedActivity.activity_id == activity_id)
        ).first()
        is not None
    )


def needs_fetch(activity: dict[str, Any], signer: RemoteActor) -> bool:
    """An Announce (of anything), or an Update of the sender's own actor."""
    kind = activity.get("type")
    return kind == "Announce" or (kind == "Update" and id_of(activity.get("object")) == signer.id)


def prefetch(activity: dict[str, Any], signer: RemoteActor) -> dict[str, Any] | None:
    """Network work before the transaction, from the object's own origin (rule 3).

    An Announce's object; or, for an Update of the actor itself, the actor as its server
    serves it now (its name, inboxes or key may have changed).
    """
    if activity.get("type") == "Update":
        fresh = fetch_actor(signer.id)
        return {"actor": fresh}
    object_id = id_of(activity.get("object"))
    object_origin = origin(object_id)
    if object_id is None or object_origin is None:
        raise RemoteRefused("Announce needs an object id")
    if is_blocked(host_of(object_id)):
        raise Blocked("the announced object's domain is blocked")
    if _followed_peer(signer) is None:
        return None  # we do not take Announces from instances we do not follow
    return fetch(object_id, expected_origin=object_origin)


def prune_received(payload: dict[str, Any] | None = None) -> int:
    """Job: forget activity ids older than ``received_ids_days`` (once applied).

    A replay of something that old carries a signature far outside the window and is
    refused before the id is looked at; the origin stops retrying after about three days.
    """
    cutoff = utcnow() - timedelta(days=float(setting("received_ids_days")))
    with unit_of_work() as session:
        result = session.execute(
            ReceivedActivity.__table__.delete().where(
                ReceivedActivity.received_at < cutoff, ReceivedActivity.pending.is_(None)
            )
        )
    return int(result.rowcount or 0)


# --- activities ------------------------------------------------------------------------------------


def _peer(signer: RemoteActor) -> Peer:
    after_commit(forget_keys)
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == signer.id)).first()
    if peer is None:
        peer = Peer(actor_id=signer.id, domain=host_of(signer.id), inbox=signer.inbox)
        db.session.add(peer)
    peer.inbox, peer.shared_inbox = signer.inbox, signer.shared_inbox
    peer.key_id, peer.public_key_pem = signer.key_id, signer.public_key_pem
    peer.failing_since, peer.unavailable = None, False  # it just spoke to us: it is up
    peer.fetched_at = utcnow()
    peer.name = signer.name
    if signer.preferred_username:
        peer.handle = f"{signer.preferred_username}@{urlsplit(signer.id).netloc}"[:300]
    db.session.flush()
    return peer


def on_follow(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    if id_of(activity.get("object")) != urls.actor_id():
        raise RemoteRefused("only the instance actor can be followed", status=422)
    peer = _peer(signer)
    peer.their_follow_id = activity["id"]
    if bool(setting("auto_accept_follows")):
        accept_follower(peer)
    else:
        peer.followed = FollowState.PENDING


def accept_follower(peer: Peer) -> None:
    """Accept a peer's Follow and send it the open listings it has not seen yet."""
    peer.followed = FollowState.ACCEPTED
    follow_id = peer.their_follow_id or ""
    accept_id = f"{urls.actor_id()}#accepts/{hashlib.sha256(follow_id.encode()).hexdigest()[:24]}"
    accept, _ = outbox.record(
        accept_id,
        "Accept",
        payload={
            "id": accept_id,
            "type": "Accept",
            "actor": urls.actor_id(),
            "to": [peer.actor_id],
            "object": {
                "id": follow_id,
                "type": "Follow",
                "actor": peer.actor_id,
                "object": urls.actor_id(),
            },
        },
        public=False,
    )
    outbox.deliver_to(accept, [peer.inbox])
    open_projects = db.session.scalars(
        select(Project).where(Project.state == states.OPEN).order_by(Project.id)
    ).all()
    for project in open_projects:
        create, _ = outbox.record(
            f"{urls.listing(project.id)}#create", "Create", project_id=project.id
        )
        outbox.deliver_to(create, [peer.delivery_inbox], occasion=accept_id[-24:])


def on_accept(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    _answer(activity, signer, FollowState.ACCEPTED)


def on_reject(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    _answer(activity, signer, FollowState.REJECTED)


def _answer(activity: dict[str, Any], signer: RemoteActor, state: FollowState) -> None:
    after_commit(forget_keys)
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == signer.id)).first()
    follow_id = id_of(activity.get("object"))
    if peer is None or peer.our_follow_id is None or follow_id != peer.our_follow_id:
        return  # not an answer to a Follow of ours: nothing to do
    peer.following = state


def on_undo(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    inner = activity.get("object")
    inner_id = id_of(inner)
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == signer.id)).first()
    if peer is None or inner_id is None or origin(inner_id) != sender_origin:
        return
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if inner_id == peer.their_follow_id or inner_type == "Follow":
        if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, signer.id):
            raise RemoteRefused("one cannot undo someone else's Follow", status=403)
        peer.followed = FollowState.NONE
        peer.their_follow_id = None


def _followed_peer(signer: RemoteActor) -> int | None:
    """The id of the signer's peer row when we follow it.

    A remembered "we follow it" is trusted for ``KEYS_SECONDS`` (an unfollow applies that
    late); "we do not" is always checked in the database, so that listings sent right after
    an Accept are never dropped.
    """
    known = _key_cache().get(signer.key_id)
    if known is not None and known.following and known.expires >= time.monotonic():
        return known.peer_id
    return _following(signer.id)


def _following(actor_id: str) -> int | None:
    """The id of the actor's peer row when we follow it, read from the database."""
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == actor_id)).first()
    return peer.id if peer is not None and peer.following == FollowState.ACCEPTED else None


def on_actor_update(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    """An ``Update`` of the sender's actor: refresh its row from the copy fetched at its origin."""
    if fetched is not None and isinstance(fetched.get("actor"), RemoteActor):
        known = db.session.scalars(select(Peer).where(Peer.actor_id == signer.id)).first()
        if known is not None:
            _peer(fetched["actor"])


def _actor_gone(actor_id: str) -> None:
    """The sender deleted itself: no more following either way, its listings hidden."""
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == actor_id)).first()
    if peer is None:
        return
    peer.following = peer.followed = FollowState.NONE
    peer.our_follow_id = peer.their_follow_id = None
    db.session.execute(
        update(RemoteListing).where(RemoteListing.peer_id == peer.id).values(deleted=True)
    )
    after_commit(forget_keys)


def on_announce(
    activity: dict[str, Any],
    signer: RemoteActor,
    sender_origin: str,
    fetched: dict[str, Any] | None = None,
) -> None:
    """Store the announced listing as fetched from its own origin (never the embedded copy)."""
    if fetched is None or fetched.get("type") != "Page" or _followed_peer(signer) is None:
        return
    object_origin = origin(fetched["id"])
    assert object_origin is not None
    remote_listings.apply(remote_listings.by_ap(fetched, object_origin), None)


HANDLERS = {
    "Follow": on_follow,
    "Accept": on_accept,
    "Reject": on_reject,
    "Undo": on_undo,
    "Update": on_actor_update,  # a listing's Update is kept and applied by the worker
    "Announce": on_announce,
}
