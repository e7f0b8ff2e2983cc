"""The instance actor: the one ``Application`` that holds keys, follows, and sends.

Only the instance actor signs and has an inbox (FEDERATION.md, listing object); its key is
the app's ``FEDERATION_KEY`` (RSA-2048, PEM), generated into ``var/`` outside production.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app

from tontine_federation import urls
from tontine_federation.contexts import context
from tontine_federation.settings import setting
from tontine_federation.signatures import PrivateKey, load_private_key, public_key_pem


@cache
def _key(pem: str) -> PrivateKey:
    return load_private_key(pem)


def private_key() -> PrivateKey:
    return _key(current_app.config["FEDERATION_KEY"])


def public_pem() -> str:
    return public_key_pem(private_key())


def to_ap() -> dict[str, Any]:
    """The actor document (what WebFinger's ``self`` link points to)."""
    name = current_app.config["NAME"]
    tagline = (current_app.config.get("THEME") or {}).get("tagline", "")
    return {
        "@context": context(),
        "id": urls.actor_id(),
        "type": "Application",
        "preferredUsername": urls.username(),
        "name": name,
        "summary": tagline,
        "url": urls.base() + "/",
        "inbox": urls.actor_inbox(),
        "outbox": urls.outbox(),
        "followers": urls.followers(),
        "following": urls.following(),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": not setting("auto_accept_follows"),
        "publicKey": {
            "id": urls.key_id(),
            "owner": urls.actor_id(),
            "publicKeyPem": public_pem(),
        },
    }
