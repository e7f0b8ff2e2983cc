"""Federation settings, read from the ``[federation]`` table of ``config.toml``.

A flat ``FEDERATION_<KEY>`` override (tests) wins over the table; the environment variable
``TONTINE_FEDERATION_ALLOW_LOOPBACK=1`` turns on loopback and plain-http peers for local
demos and tests. Production never allows them, whatever is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import current_app

DEFAULTS: dict[str, Any] = {
    "allow_loopback": False,
    "fetch_timeout_seconds": 10.0,
    "max_fetch_bytes": 1024 * 1024,
    "max_redirects": 3,
    "max_inbox_bytes": 256 * 1024,
    "signature_window_seconds": 3600,
    "inbox_rate_limit": 300,  # requests per remote host per minute
    "auto_accept_follows": True,
    "username": "tontine",
    "update_coalesce_seconds": 30,
    "unavailable_after_days": 3,
    "unavailable_retry_hours": 6,
    "failing_delay_min_seconds": 60,
    "received_ids_days": 7,
}


def setting(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """One federation setting for ``config`` (default: the current app's)."""
    config = current_app.config if config is None else config
    flat = f"FEDERATION_{name.upper()}"
    if flat in config:
        value = config[flat]
    else:
        table = config.get("FEDERATION") or {}
        value = table.get(name, DEFAULTS[name])
    return value


def allow_loopback(config: Mapping[str, Any] | None = None) -> bool:
    """Loopback and plain-http peers: only when asked for, and never in production."""
    config = current_app.config if config is None else config
    if config.get("ENV") == "production":
        return False
    if os.environ.get("TONTINE_FEDERATION_ALLOW_LOOPBACK") == "1":
        return True
    return bool(setting("allow_loopback", config))
