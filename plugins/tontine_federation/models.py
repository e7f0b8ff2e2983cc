"""Federation rows: peers, remote listings, what we received, what we block, what we send.

Remote listings are kept apart from local projects (``federation_remote_listings``): they
are another site's data, shown with their origin, never mixed into ``projects``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tontine.db import Base, enum_column, utcnow

URL = 500  #: longest URL we store; longer ones are refused on the way in


class FollowState(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"  #: asked, no answer yet (or waiting for an admin's approval)
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Peer(Base):
    """Another instance's actor: whom we follow, who follows us, and how deliveries go."""

    __tablename__ = "federation_peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(URL), unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    handle: Mapped[str] = mapped_column(String(300), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    inbox: Mapped[str] = mapped_column(String(URL), index=True)
    shared_inbox: Mapped[str | None] = mapped_column(String(URL), index=True)
    key_id: Mapped[str] = mapped_column(String(URL), default="", index=True)
    public_key_pem: Mapped[str] = mapped_column(Text, default="")
    #: We follow them (our Follow's id is kept to Undo it).
    following: Mapped[FollowState] = mapped_column(
        enum_column(FollowState, 16), default=FollowState.NONE
    )
    our_follow_id: Mapped[str | None] = mapped_column(String(URL))
    #: They follow us (their Follow's id is kept to match Undo and to Accept).
    followed: Mapped[FollowState] = mapped_column(
        enum_column(FollowState, 16), default=FollowState.NONE
    )
    their_follow_id: Mapped[str | None] = mapped_column(String(URL))
    last_delivery_at: Mapped[datetime | None] = mapped_column(DateTime)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime)
    unavailable: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox


class RemoteListing(Base):
    """A listing from another instance, as last applied from its origin."""

    __tablename__ = "federation_remote_listings"
    __table_args__ = (
        CheckConstraint("goal_amount > 0", name="goal_positive"),
        CheckConstraint("raised_amount >= 0", name="raised_not_negative"),
        CheckConstraint("backer_count >= 0", name="backers_not_negative"),
        Index("ix_federation_remote_listings_visible", "deleted", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(URL), unique=True)
    origin: Mapped[str] = mapped_column(String(300), index=True)  #: scheme://host[:port]
    peer_id: Mapped[int | None] = mapped_column(
        ForeignKey("federation_peers.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    content: Mapped[str] = mapped_column(Text, default="")  #: sanitized HTML
    url: Mapped[str] = mapped_column(String(URL))
    image_url: Mapped[str | None] = mapped_column(String(URL))
    contribute_url: Mapped[str | None] = mapped_column(String(URL))
    place: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    funding_model: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    goal_amount: Mapped[int] = mapped_column(BigInteger)
    raised_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    backer_count: Mapped[int] = mapped_column(Integer, default=0)
    end_time: Mapped[datetime | None] = mapped_column(DateTime)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published: Mapped[datetime | None] = mapped_column(DateTime)
    #: The origin's ``updated`` of the version stored here; older Updates are ignored.
    updated: Mapped[datetime] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReceivedActivity(Base):
    """An activity we accepted: a replay finds its id here and changes nothing.

    A listing's ``Create``/``Update``/``Delete`` is verified and validated before the 202,
    then kept here as ``pending`` (the change to store, committed durably with the id) until
    the worker applies it; ``pending`` is NULL once applied, and for activities applied at once.
    """

    __tablename__ = "federation_received_activities"
    __table_args__ = (
        Index(
            "ix_federation_received_activities_pending",
            "id",
            postgresql_where=text("pending IS NOT NULL"),
            sqlite_where=text("pending IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(URL), unique=True)
    actor_id: Mapped[str] = mapped_column(String(URL))
    type: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class BlockedDomain(Base):
    """A blocked domain (and all its subdomains): 403 before any key fetch, listings hidden."""

    __tablename__ = "federation_blocked_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutgoingActivity(Base):
    """An activity we publish; its deliveries are jobs (one per target inbox).

    Listing activities (``Create``/``Update``) keep only the project id and are rendered
    from the project's current state when sent, so a retried delivery carries the latest
    state and every peer converges. Others keep their JSON in ``payload``.
    """

    __tablename__ = "federation_outgoing_activities"
    __table_args__ = (Index("ix_federation_outgoing_public", "public", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(URL), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  #: listed in the outbox
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ListingVersion(Base):
    """When a local listing last changed in a way peers must see (progress included).

    A contribution changes what a listing says without touching the project row; this
    time, bumped by the hooks in the same transaction, is the listing's ``updated`` so that
    receivers can tell a newer state from an older one arriving late.
    """

    __tablename__ = "federation_listing_versions"

    project_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RemoteTombstone(Base):
    """A remote listing deleted before we ever stored it: a late Create must not revive it."""

    __tablename__ = "federation_remote_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(URL), unique=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
