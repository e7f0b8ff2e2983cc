"""Every id we publish, built from ``BASE_URL`` (never from the request's Host header)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from tontine_federation.settings import setting


def base() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def host() -> str:
    """Our authority as peers sign it: ``host`` or ``host:port``."""
    return urlsplit(base()).netloc


def domain() -> str:
    return urlsplit(base()).hostname or ""


def username() -> str:
    return str(setting("username"))


def handle() -> str:
    return f"{username()}@{host()}"


def actor_id() -> str:
    return f"{base()}/actor"


def key_id() -> str:
    return f"{actor_id()}#main-key"


def actor_inbox() -> str:
    return f"{actor_id()}/inbox"


def shared_inbox() -> str:
    return f"{base()}/inbox"


def outbox() -> str:
    return f"{actor_id()}/outbox"


def followers() -> str:
    return f"{actor_id()}/followers"


def following() -> str:
    return f"{actor_id()}/following"


def person(user_id: int) -> str:
    """A project owner's ``Person`` (by id: it outlives a change of handle)."""
    return f"{base()}/people/{user_id}"


def listing(project_id: int) -> str:
    return f"{base()}/projects/{project_id}"


def contribute(project_id: int) -> str:
    return f"{base()}/projects/{project_id}/give"


def media(key: str) -> str:
    return f"{base()}/media/{key}"
