"""Reading other servers: origins, fetching documents (rule 3), actors and their keys.

A fetched document is trusted only when it came back with an ActivityStreams content type
and its ``id`` is the URL we finally fetched (after redirects), on the origin we expected.
Embedded copies are never trusted: whatever did not arrive that way is fetched again here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from tontine.errors import DomainError
from tontine_federation import actor, urls
from tontine_federation.outbound import FetchError, client
from tontine_federation.signatures import PublicKey, load_public_key, sign_cavage

AS_TYPES = ("application/activity+json", "application/ld+json")
MAX_URL = 500


class RemoteRefused(DomainError):
    """A remote document or activity breaks the rules; ``status`` says how to answer."""

    status = 400


def origin(url: Any) -> str | None:
    """``scheme://host:port`` with the host lower-cased and the port explicit; None if not a URL."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        return None
    return _origin(url)


@lru_cache(maxsize=4096)
def _origin(url: str) -> str | None:
    """``origin`` of a string (an inbox asks for the same actors' and peers' origins often)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    hostname = parts.hostname
    if scheme not in ("http", "https") or not hostname or "@" in parts.netloc:
        return None
    host = ascii_host(hostname)
    if host is None:
        return None
    port = port or (443 if scheme == "https" else 80)
    return f"{scheme}://{host}:{port}"


def ascii_host(hostname: str) -> str | None:
    """A host name as IDNA writes it, lower-cased, without a final dot; None when invalid.

    An ASCII name (nearly every one) is checked here label by label, as the codec would;
    only an internationalized one goes through the (slower) codec.
    """
    if hostname.isascii():
        labels = hostname.split(".")
        if len(labels) > 1 and not labels[-1]:
            labels.pop()
        if not all(0 < len(label) < 64 for label in labels):
            return None
        return ".".join(labels).lower()
    try:
        return hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None


@lru_cache(maxsize=4096)
def host_of(url: str) -> str:
    """The host name of a URL (no port), lower-cased; empty when there is none (remembered:
    the inbox asks it of the same actors and keys on every POST)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def id_of(value: Any) -> str | None:
    """The id of a reference: a string, or an object with a string ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _sign(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
    return sign_cavage(actor.private_key(), urls.key_id(), method, url, headers, body)


def fetch(url: str, expected_origin: str | None = None) -> dict[str, Any]:
    """GET an AS2 document (signed, for servers in authorized-fetch mode) and vet it."""
    if origin(url) is None:
        raise RemoteRefused("not an http(s) URL")
    try:
        response = client().get(
            url,
            headers={
                "Accept": "application/activity+json, application/ld+json; "
                'profile="https://www.w3.org/ns/activitystreams"'
            },
            sign=_sign,
        )
    except FetchError as exc:
        raise RemoteRefused(f"cannot fetch {url}: {exc}", status=502) from exc
    if response.status != 200:
        raise RemoteRefused(f"{url} answered {response.status}", status=502)
    media_type = response.content_type.split(";", 1)[0].strip().lower()
    if media_type not in AS_TYPES:
        raise RemoteRefused(f"{url} is not an ActivityStreams document ({media_type or 'no type'})")
    try:
        document = json.loads(response.body)
    except (ValueError, RecursionError) as exc:
        raise RemoteRefused(f"{url} is not JSON") from exc
    if not isinstance(document, dict):
        raise RemoteRefused(f"{url} is not a JSON object")
    check_depth(document)
    if document.get("id") != response.url:
        raise RemoteRefused("the fetched document's id is not its URL", status=403)
    if expected_origin is not None and origin(response.url) != expected_origin:
        raise RemoteRefused("the fetched document is on another origin", status=403)
    return document


MAX_DEPTH = 16


def check_depth(document: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (without recursion; only containers are visited,
    a level at a time)."""
    containers = (dict, list)
    level = [document] if isinstance(document, containers) else []
    depth = 1
    while level:
        if depth >= limit:
            if any(level):  # a container at the limit may only be empty
                raise RemoteRefused("the JSON is nested too deeply")
            return
        deeper = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, containers):
                    deeper.append(child)
        level = deeper
        depth += 1


@dataclass(frozen=True)
class RemoteActor:
    id: str
    inbox: str
    shared_inbox: str | None
    key_id: str
    public_key_pem: str
    name: str
    preferred_username: str

    @property
    def public_key(self) -> PublicKey:
        return load_public_key(self.public_key_pem)


def fetch_actor(actor_url: str, key_id: str | None = None) -> RemoteActor:
    """Fetch an actor and its key (``key_id`` when given); the key must be its own (rule 2)."""
    document = fetch(actor_url, expected_origin=origin(actor_url))
    return actor_from(document, key_id)


def actor_from(document: dict[str, Any], want_key_id: str | None = None) -> RemoteActor:
    actor_id = document["id"]
    actor_origin = origin(actor_id)
    inbox = document.get("inbox")
    if origin(inbox) != actor_origin:
        raise RemoteRefused("the actor's inbox is not on its origin")
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    if shared is not None and origin(shared) != actor_origin:
        shared = None
    keys = document.get("publicKey")
    if isinstance(keys, dict):
        keys = [keys]
    if not isinstance(keys, list):
        raise RemoteRefused("the actor has no public key", status=401)
    for key in keys:
        if not isinstance(key, dict):
            continue
        pem, key_id, owner = key.get("publicKeyPem"), key.get("id"), key.get("owner")
        if want_key_id is not None and key_id != want_key_id:
            continue
        if (
            isinstance(pem, str)
            and isinstance(key_id, str)
            and owner == actor_id
            and len(pem) < 10_000
        ):
            if origin(key_id) != actor_origin:
                continue
            load_public_key(pem)  # refuses what we cannot read
            name = document.get("name") if isinstance(document.get("name"), str) else ""
            username = document.get("preferredUsername")
            return RemoteActor(
                id=actor_id,
                inbox=inbox,
                shared_inbox=shared,
                key_id=key_id,
                public_key_pem=pem,
                name=name[:200],
                preferred_username=username if isinstance(username, str) else "",
            )
    raise RemoteRefused("the actor has no public key of its own", status=401)
