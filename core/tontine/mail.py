"""E-mail: queued as jobs, delivered by the worker through SMTP (or to the console)."""

from __future__ import annotations

from typing import Any


def deliver_email(payload: dict[str, Any]) -> None:
    raise NotImplementedError
