"""Project owners as AS2 ``Person``s: found by WebFinger, named in listings' ``attributedTo``.

A ``Person`` has no keys, no inbox and sends nothing (only the instance actor does, per
FEDERATION.md). An owner is published while the account is active, has a handle (given with
its first project) and shows itself, with its consent to federate, on at least one public
project: an owner who declined to federate their name is not published under it either.
Once erased, the owner's URL answers 410 with a ``Tombstone``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from tontine.accounts.models import User
from tontine.db import db
from tontine.projects.models import Person, Project
from tontine.projects.states import PRIVATE_STATES, WITHDRAWN
from tontine_federation import urls
from tontine_federation.contexts import context

HANDLE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _public(query: Any) -> Any:
    return query.where(Project.state.not_in(PRIVATE_STATES))


def is_published(user: User | None) -> bool:
    """True when ``user`` resolves as a ``Person`` (see the module docstring)."""
    if user is None or not user.handle or not user.is_active:
        return False
    shown = _public(
        select(Project.id)
        .join(Person, Person.id == Project.person_id)
        .where(Project.owner_id == user.id)
        .where(Person.user_id == user.id, Person.consent_federate.is_(True))
    )
    return bool(db.session.scalar(select(exists(shown))))


def is_gone(user: User) -> bool:
    """An erased owner whose listings were published: their ``Person`` URL answers 410."""
    if user.erased_at is None:
        return False
    listed = select(Project.id).where(
        Project.owner_id == user.id, Project.state.not_in(PRIVATE_STATES - {WITHDRAWN})
    )
    return bool(db.session.scalar(select(exists(listed))))


def owner(user_id: int) -> User | None:
    return db.session.get(User, user_id) if 0 < user_id < 2**31 else None


def by_handle(handle: str) -> User | None:
    """The published owner with this handle (handles are lowercase), or None."""
    handle = handle.lower()
    if not handle or len(handle) > 30 or not set(handle) <= HANDLE_CHARS:
        return None
    user = db.session.scalars(select(User).where(User.handle == handle)).first()
    return user if is_published(user) else None


def by_url(resource: str) -> User | None:
    """The published owner whose ``Person`` id is ``resource``, or None."""
    prefix = urls.person(0)[:-1]
    ident = resource.rstrip("/").removeprefix(prefix) if resource.startswith(prefix) else ""
    user = owner(int(ident)) if ident.isdigit() and len(ident) < 11 else None
    return user if is_published(user) else None


def attributed_to(project: Project) -> str:
    """A listing's ``attributedTo``: its owner's ``Person`` when published, else the instance."""
    user = db.session.get(User, project.owner_id) if project.owner_id else None
    return urls.person(user.id) if user is not None and is_published(user) else urls.actor_id()


def public_projects(user: User, limit: int | None = None) -> list[Project]:
    """The owner's listed projects, newest first."""
    query = _public(select(Project).where(Project.owner_id == user.id))
    return list(db.session.scalars(query.order_by(Project.id.desc()).limit(limit)))


def to_ap(user: User) -> dict[str, Any]:
    """The owner's ``Person``: who they are, nothing to send to (no inbox, no key)."""
    person_id = urls.person(user.id)
    return {
        "@context": context(),
        "id": person_id,
        "type": "Person",
        "preferredUsername": user.handle,
        "name": user.display_name,
        "url": person_id,
    }


def tombstone(user: User) -> dict[str, Any]:
    from tontine_federation.listings import iso

    return {
        "@context": context(),
        "id": urls.person(user.id),
        "type": "Tombstone",
        "formerType": "Person",
        "deleted": iso(user.erased_at),
    }


def on_account_erased(user: User) -> None:
    """Hook body: send an ``Update`` of each public listing the erased account owns.

    The listings now name the instance actor, not the gone ``Person``, and no longer carry
    the owner's name; this is the same path as any saved project (coalesced per slot).
    """
    from tontine_federation.outbox import on_saved

    for project in public_projects(user):
        on_saved(project)
