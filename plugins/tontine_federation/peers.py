"""What an admin does with other instances: follow, unfollow, approve, block, unblock.

These write to the database only (the Follow, Undo, Accept or Reject goes out as a delivery
job), so the CLI acting on a running instance's database takes effect within seconds:
that instance's worker sends. Network work (WebFinger, the actor) happens before the
transaction, through the safe client.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from tontine.db import db, unit_of_work, utcnow
from tontine.errors import DomainError, NotFound
from tontine_federation import outbox, urls
from tontine_federation.inbox import accept_follower, forget_blocked, forget_keys
from tontine_federation.models import BlockedDomain, FollowState, Peer, RemoteListing
from tontine_federation.outbound import FetchError, client
from tontine_federation.remote import RemoteActor, RemoteRefused, fetch_actor, host_of, origin
from tontine_federation.settings import allow_loopback

HANDLE = re.compile(r"^@?([A-Za-z0-9_.~-]{1,64})@([A-Za-z0-9.-]{1,253}(?::\d{1,5})?)$")
DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*$")


def _scheme_for(host: str) -> str:
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    loopback = hostname in ("localhost", "127.0.0.1", "[::1]") or hostname.startswith("127.")
    return "http" if loopback and allow_loopback() else "https"


def resolve(target: str) -> RemoteActor:
    """An actor from its URL or ``@name@host``; a handle must resolve back to itself."""
    target = target.strip()
    if target.startswith(("https://", "http://")):
        if origin(target) is None:
            raise DomainError(_("This is not a valid address."))
        return _fetch(target)
    match = HANDLE.match(target)
    if match is None:
        raise DomainError(_("Give an address (https://…) or a handle (@name@host)."))
    name, host = match.group(1), match.group(2).lower()
    resource = quote(f"acct:{name}@{host}", safe=":@")
    finger = f"{_scheme_for(host)}://{host}/.well-known/webfinger?resource={resource}"
    try:
        response = client().get(
            finger, headers={"Accept": "application/jrd+json, application/json"}
        )
        document = response.json() if response.status == 200 else None
    except (FetchError, ValueError) as exc:
        raise DomainError(
            _("Could not look up %(handle)s: %(error)s", handle=target, error=str(exc))
        ) from exc
    links = document.get("links") if isinstance(document, dict) else None
    actor_url = next(
        (
            link.get("href")
            for link in links or []
            if isinstance(link, dict)
            and link.get("rel") == "self"
            and "json" in str(link.get("type", ""))
        ),
        None,
    )
    if not isinstance(actor_url, str):
        raise DomainError(_("%(handle)s has no ActivityPub actor.", handle=target))
    found = _fetch(actor_url)
    if (
        found.preferred_username.lower() != name.lower()
        or urlsplit(found.id).netloc.lower() != host
    ):
        raise DomainError(_("%(handle)s does not resolve back to itself.", handle=target))
    return found


def _fetch(actor_url: str) -> RemoteActor:
    if is_blocked_domain(host_of(actor_url)):
        raise DomainError(_("This domain is blocked."), status=403)
    try:
        return fetch_actor(actor_url)
    except RemoteRefused as exc:
        raise DomainError(
            _("Could not fetch %(url)s: %(error)s", url=actor_url, error=exc.message)
        ) from exc


def is_blocked_domain(host: str) -> bool:
    from tontine_federation.inbox import is_blocked

    return is_blocked(host)


def _upsert(found: RemoteActor) -> Peer:
    peer = db.session.scalars(select(Peer).where(Peer.actor_id == found.id)).first()
    if peer is None:
        peer = Peer(actor_id=found.id, domain=host_of(found.id), inbox=found.inbox)
        db.session.add(peer)
    peer.inbox, peer.shared_inbox = found.inbox, found.shared_inbox
    peer.key_id, peer.public_key_pem, peer.name = found.key_id, found.public_key_pem, found.name
    peer.fetched_at = utcnow()
    if found.preferred_username:
        peer.handle = f"{found.preferred_username}@{urlsplit(found.id).netloc}"[:300]
    db.session.flush()
    return peer


def follow(target: str) -> Peer:
    """Ask another instance to let us follow it (its Accept arrives in our inbox)."""
    found = resolve(target)
    if found.id == urls.actor_id():
        raise DomainError(_("An instance cannot follow itself."))
    with unit_of_work():
        peer = _upsert(found)
        if peer.following in (FollowState.ACCEPTED, FollowState.PENDING):
            return peer
        follow_id = f"{urls.actor_id()}#follows/{uuid.uuid4().hex}"
        peer.following, peer.our_follow_id = FollowState.PENDING, follow_id
        activity, _created = outbox.record(
            follow_id,
            "Follow",
            public=False,
            payload={
                "id": follow_id,
                "type": "Follow",
                "actor": urls.actor_id(),
                "object": peer.actor_id,
                "to": [peer.actor_id],
            },
        )
        outbox.deliver_to(activity, [peer.inbox])
    forget_keys()
    return peer


def find_peer(target: str) -> Peer:
    target = target.strip().lstrip("@")
    peer = db.session.scalars(
        select(Peer).where((Peer.actor_id == target) | (Peer.handle == target))
    ).first()
    if peer is None:
        raise NotFound(_("No such peer: %(target)s", target=target))
    return peer


def unfollow(target: str) -> Peer:
    with unit_of_work():
        peer = find_peer(target)
        if peer.our_follow_id and peer.following != FollowState.NONE:
            undo_id = f"{peer.our_follow_id}/undo"
            activity, _created = outbox.record(
                undo_id,
                "Undo",
                public=False,
                payload={
                    "id": undo_id,
                    "type": "Undo",
                    "actor": urls.actor_id(),
                    "to": [peer.actor_id],
                    "object": {
                        "id": peer.our_follow_id,
                        "type": "Follow",
                        "actor": urls.actor_id(),
                        "object": peer.actor_id,
                    },
                },
            )
            outbox.deliver_to(activity, [peer.inbox])
        peer.following, peer.our_follow_id = FollowState.NONE, None
    forget_keys()
    return peer


def approve(target: str) -> Peer:
    """Accept a pending follow (when follows are approved by hand)."""
    with unit_of_work():
        peer = find_peer(target)
        if peer.followed != FollowState.PENDING:
            raise DomainError(_("This instance has not asked to follow."))
        accept_follower(peer)
    forget_keys()
    return peer


def refuse(target: str) -> Peer:
    with unit_of_work():
        peer = find_peer(target)
        if peer.followed == FollowState.PENDING and peer.their_follow_id:
            reject_id = f"{urls.actor_id()}#rejects/{uuid.uuid4().hex}"
            activity, _created = outbox.record(
                reject_id,
                "Reject",
                public=False,
                payload={
                    "id": reject_id,
                    "type": "Reject",
                    "actor": urls.actor_id(),
                    "to": [peer.actor_id],
                    "object": {
                        "id": peer.their_follow_id,
                        "type": "Follow",
                        "actor": peer.actor_id,
                        "object": urls.actor_id(),
                    },
                },
            )
            outbox.deliver_to(activity, [peer.inbox])
        peer.followed = FollowState.REJECTED
    forget_keys()
    return peer


def normal_domain(domain: str) -> str:
    value = domain.strip().lower().rstrip(".")
    if value.startswith(("http://", "https://")):
        value = host_of(value)
    if not DOMAIN.match(value):
        raise DomainError(_("This is not a domain name."))
    return value


def block(domain: str, reason: str = "") -> BlockedDomain:
    """Block a domain and its subdomains: 403 for their requests, their listings hidden."""
    value = normal_domain(domain)
    with unit_of_work() as session:
        existing = session.scalars(
            select(BlockedDomain).where(BlockedDomain.domain == value)
        ).first()
        if existing is not None:
            return existing
        blocked = BlockedDomain(domain=value, reason=reason[:500])
        session.add(blocked)
    forget_blocked()
    return blocked


def unblock(domain: str) -> None:
    value = normal_domain(domain)
    with unit_of_work() as session:
        existing = session.scalars(
            select(BlockedDomain).where(BlockedDomain.domain == value)
        ).first()
        if existing is not None:
            session.delete(existing)
    forget_blocked()


def peer_rows() -> list[dict[str, Any]]:
    """What the admin page and ``federation peers`` show for each peer."""
    peers = db.session.scalars(select(Peer).order_by(Peer.domain, Peer.id)).all()
    return [
        {
            "actor": p.actor_id,
            "handle": p.handle,
            "following": p.following.value,
            "followed": p.followed.value,
            "last_delivery": p.last_delivery_at,
            "failing_since": p.failing_since,
            "unavailable": p.unavailable,
            "blocked": is_blocked_domain(p.domain),
        }
        for p in peers
    ]


def visible_listings(limit: int = 60, before: int | None = None) -> list[RemoteListing]:
    """Open remote listings to show: not deleted, from instances we follow and do not block."""
    query = (
        select(RemoteListing)
        .outerjoin(Peer, Peer.id == RemoteListing.peer_id)
        .where(
            RemoteListing.deleted.is_(False),
            RemoteListing.status == "open",
            # from an instance we still follow (announced listings have no peer)
            (RemoteListing.peer_id.is_(None)) | (Peer.following == FollowState.ACCEPTED),
        )
    )
    if before is not None:
        query = query.where(RemoteListing.id < before)
    rows = db.session.scalars(query.order_by(RemoteListing.id.desc()).limit(limit * 2)).all()
    return [row for row in rows if not is_blocked_domain(host_of(row.origin))][:limit]
