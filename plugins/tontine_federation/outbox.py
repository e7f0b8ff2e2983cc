"""Publishing: what we send, to whom, and the delivery job that sends it.

Every outgoing activity is written in the caller's unit of work (the project hooks run
inside it) as an ``OutgoingActivity`` plus one delivery job per target inbox, shared
inboxes de-duplicated. Bursts of ``Update`` for one listing share a time slot: one activity
and one job per inbox per slot, sent at the slot's end with the listing's state *then*.
Each attempt is signed afresh; a failure is retried by the jobs table with backoff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from tontine.db import db, unit_of_work, utcnow
from tontine.jobs.services import enqueue
from tontine.projects import states
from tontine.projects.models import Project
from tontine_federation import actor, urls
from tontine_federation.contexts import PUBLIC, context
from tontine_federation.listings import to_ap
from tontine_federation.models import FollowState, ListingVersion, OutgoingActivity, Peer
from tontine_federation.outbound import FetchError, client
from tontine_federation.settings import setting
from tontine_federation.signatures import sign_cavage

log = logging.getLogger(__name__)

DELIVER = "federation_deliver"
DELIVERY_ATTEMPTS = 14  #: with the jobs' 30 s base: about three days of retries


class DeliveryFailed(RuntimeError):
    """The peer did not take the activity; the job is retried later."""


# --- what goes out ---------------------------------------------------------------------------


def follower_inboxes() -> list[str]:
    """Inboxes of every peer that follows us (blocked domains left out), shared ones once."""
    from tontine_federation.inbox import is_blocked

    peers = db.session.scalars(
        select(Peer).where(Peer.followed == FollowState.ACCEPTED).order_by(Peer.id)
    ).all()
    return list(dict.fromkeys(p.delivery_inbox for p in peers if not is_blocked(p.domain)))


def _slot(now: datetime) -> tuple[int, datetime]:
    seconds = max(1, int(setting("update_coalesce_seconds")))
    slot = int(now.timestamp()) // seconds
    return slot, datetime.fromtimestamp((slot + 1) * seconds)


def record(
    ap_id: str,
    kind: str,
    *,
    project_id: int | None = None,
    payload: dict[str, Any] | None = None,
    public: bool = True,
) -> tuple[OutgoingActivity, bool]:
    """The activity with this id, created if new; True when it was created now."""
    existing = db.session.scalars(
        select(OutgoingActivity).where(OutgoingActivity.ap_id == ap_id)
    ).first()
    if existing is not None:
        return existing, False
    activity = OutgoingActivity(
        ap_id=ap_id, type=kind, project_id=project_id, payload=payload or {}, public=public
    )
    db.session.add(activity)
    db.session.flush()
    return activity, True


def put_off(inboxes: list[str], now: datetime) -> dict[str, datetime]:
    """When to first try each inbox whose peers are all failing.

    A peer failing for a while gets new deliveries no sooner than it has been failing
    (at least ``failing_delay_min_seconds``, at most ``unavailable_retry_hours``; that long once unavailable), so a
    dead peer does not tie up the workers while the others wait; its first success clears it.
    """
    if not inboxes:
        return {}
    peers = db.session.scalars(
        select(Peer).where(Peer.inbox.in_(inboxes) | Peer.shared_inbox.in_(inboxes))
    ).all()
    longest = timedelta(hours=float(setting("unavailable_retry_hours")))
    delays: dict[str, timedelta | None] = {}
    for peer in peers:
        if peer.unavailable:
            delay: timedelta | None = longest
        elif peer.failing_since is not None:
            shortest = timedelta(seconds=float(setting("failing_delay_min_seconds")))
            delay = min(longest, max(shortest, now - peer.failing_since))
        else:
            delay = None
        for inbox in {peer.inbox, peer.delivery_inbox}:
            if inbox in inboxes:
                known = delays.get(inbox, delay)
                delays[inbox] = None if known is None or delay is None else min(known, delay)
    return {inbox: now + delay for inbox, delay in delays.items() if delay is not None}


def deliver_to(
    activity: OutgoingActivity,
    inboxes: list[str],
    run_at: datetime | None = None,
    occasion: str = "",
) -> None:
    """One job per inbox (a second call for the same pair adds nothing); see ``put_off``.

    ``occasion`` sends the same activity to the same inbox again for a new reason (a peer
    that follows again gets the open listings again).
    """
    targets = list(dict.fromkeys(inboxes))
    later = put_off(targets, utcnow())
    for inbox in targets:
        digest = hashlib.sha256(inbox.encode()).hexdigest()[:32]
        when = later.get(inbox)
        enqueue(
            DELIVER,
            {"activity": activity.id, "inbox": inbox},
            run_at=max(when, run_at) if when and run_at else when or run_at,
            dedupe_key=f"fed:{activity.id}:{digest}:{occasion}"[:160],
            max_attempts=DELIVERY_ATTEMPTS,
        )


def publish_create(project: Project) -> None:
    activity, created = record(
        f"{urls.listing(project.id)}#create", "Create", project_id=project.id
    )
    if created:
        deliver_to(activity, follower_inboxes())


def publish_update(project: Project, now: datetime | None = None) -> None:
    """An ``Update`` for this listing in the current slot (bursts coalesce into one).

    Only the first change of a slot writes the jobs; the others find the slot's activity
    and add nothing (a burst of contributions costs one lookup each, whatever the number
    of followers). The jobs run at the slot's end and send the listing as it is then.
    """
    slot, slot_end = _slot(now or utcnow())
    activity, created = record(
        f"{urls.listing(project.id)}#update-{slot}", "Update", project_id=project.id
    )
    if created:
        deliver_to(activity, follower_inboxes(), run_at=slot_end)


def publish_delete(project: Project) -> None:
    activity, created = record(
        f"{urls.listing(project.id)}#delete", "Delete", project_id=project.id
    )
    if created:
        deliver_to(activity, follower_inboxes())


def touch(project_id: int, now: datetime | None = None) -> None:
    """Record that the listing changed now (its ``updated`` for peers)."""
    now = now or utcnow()
    version = db.session.get(ListingVersion, project_id)
    if version is None:
        db.session.add(ListingVersion(project_id=project_id, changed_at=now))
    elif version.changed_at < now:
        version.changed_at = now


def on_state_changed(project: Project, old_state: str, new_state: str) -> None:
    """Hook body: opening creates the listing, closing states update it, withdrawal deletes it."""
    touch(project.id)
    if new_state == states.OPEN and not states.is_public(old_state):
        publish_create(project)
    elif new_state == states.WITHDRAWN and states.is_public(old_state):
        publish_delete(project)
    elif states.is_public(new_state):
        publish_update(project)


def on_saved(project: Project) -> None:
    touch(project.id)
    if states.is_public(project.state):
        publish_update(project)


def on_contribution(project_id: int) -> None:
    project = db.session.get(Project, project_id)
    touch(project_id)
    if project is not None and states.is_public(project.state):
        publish_update(project)


# --- rendering ---------------------------------------------------------------------------------


def render(activity: OutgoingActivity) -> dict[str, Any] | None:
    """The JSON sent (and shown in the outbox); None when there is nothing to say any more."""
    if activity.type in ("Create", "Update"):
        project = db.session.get(Project, activity.project_id)
        if project is None or not states.is_public(project.state):
            return None  # withdrawn since: the Delete says the rest
        page = to_ap(project, with_context=False)
        return {
            "@context": context(),
            "id": activity.ap_id,
            "type": activity.type,
            "actor": urls.actor_id(),
            "published": page["published"] if activity.type == "Create" else page["updated"],
            "to": [PUBLIC],
            "cc": [urls.followers()],
            "object": page,
        }
    if activity.type == "Delete" and activity.project_id is not None:
        return {
            "@context": context(),
            "id": activity.ap_id,
            "type": "Delete",
            "actor": urls.actor_id(),
            "to": [PUBLIC],
            "cc": [urls.followers()],
            "object": {"id": urls.listing(activity.project_id), "type": "Tombstone"},
        }
    return {"@context": context(), **activity.payload}


# --- delivery ------------------------------------------------------------------------------------


_RENDERED: dict[tuple[int, int], tuple[float, bytes | None]] = {}
_RENDERED_LOCK = threading.Lock()
RENDER_REUSE_SECONDS = 2.0  #: a fan-out to many inboxes renders its activity once


def _rendered(activity: OutgoingActivity) -> bytes | None:
    """The activity's JSON, rendered at most every ``RENDER_REUSE_SECONDS`` per process."""
    from flask import current_app

    key = (id(current_app._get_current_object()), activity.id)  # type: ignore[attr-defined]
    now = time.monotonic()
    with _RENDERED_LOCK:
        cached = _RENDERED.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    document = render(activity)
    body = None if document is None else json.dumps(document, ensure_ascii=False).encode()
    with _RENDERED_LOCK:
        if len(_RENDERED) > 1000:
            _RENDERED.clear()
        _RENDERED[key] = (now + RENDER_REUSE_SECONDS, body)
    return body


def deliver(payload: dict[str, Any]) -> None:
    """Job handler: sign and POST one activity to one inbox; raise to be retried."""
    activity = db.session.get(OutgoingActivity, int(payload["activity"]))
    inbox = str(payload["inbox"])
    if activity is None:
        return
    body = _rendered(activity)
    if body is None:
        return
    headers = {"Content-Type": "application/activity+json", "Accept": "application/activity+json"}
    key = actor.private_key()

    def sign(method: str, url: str, sent: dict[str, str], data: bytes | None) -> dict[str, str]:
        return sign_cavage(key, urls.key_id(), method, url, sent, data)

    try:
        response = client().post(inbox, body, headers=headers, sign=sign)
    except FetchError as exc:
        _record_outcome(inbox, ok=False)
        raise DeliveryFailed(f"{inbox}: {exc}") from exc
    if 200 <= response.status < 300:
        _record_outcome(inbox, ok=True)
        return
    if response.status in (408, 429) or response.status >= 500:
        _record_outcome(inbox, ok=False)
        raise DeliveryFailed(f"{inbox} answered {response.status}")
    # Any other 4xx is the peer refusing this activity for good: retrying will not help.
    log.warning("delivery of %s to %s refused with %s", activity.ap_id, inbox, response.status)
    _record_outcome(inbox, ok=True)


def _record_outcome(inbox: str, ok: bool) -> None:
    """Note the peer's health: one UPDATE on success (skipped when nothing would change)."""
    now = utcnow()
    at_inbox = or_(Peer.inbox == inbox, Peer.shared_inbox == inbox)
    with unit_of_work() as session:
        if ok:
            session.execute(
                update(Peer)
                .where(at_inbox)
                .where(
                    or_(
                        Peer.last_delivery_at.is_(None),
                        Peer.last_delivery_at < now - timedelta(seconds=30),
                        Peer.failing_since.is_not(None),
                        Peer.unavailable.is_(True),
                    )
                )
                .values(last_delivery_at=now, failing_since=None, unavailable=False)
            )
            return
        limit = timedelta(days=float(setting("unavailable_after_days")))
        for peer in session.scalars(select(Peer).where(at_inbox)).all():
            if peer.failing_since is None:
                peer.failing_since = now
            elif now - peer.failing_since > limit:
                peer.unavailable = True
