"""The sandbox provider, its webhook signatures and their delivery.

Signature scheme (like Stripe's): the header ``Tontine-Sandbox-Signature: t=<unix>,v1=<hex>``
carries HMAC-SHA256 over ``"<t>." + body`` with the webhook secret. A receiver accepts it
within five minutes of ``t`` and compares in constant time. The secret comes from
``[sandbox] webhook_secret`` in config.toml, or is generated once into
``var/sandbox_webhook_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from tontine.db import utcnow
from tontine.errors import first_error
from tontine.jobs.models import Job
from tontine.jobs.services import enqueue
from tontine.payments.provider import InvalidWebhook, PaymentProvider, ProviderEvent, StartResult
from tontine.payments.states import PaymentState

if TYPE_CHECKING:
    from flask import Request

    from tontine.payments.models import Payment, Payout

SIGNATURE_HEADER = "Tontine-Sandbox-Signature"
TOLERANCE_SECONDS = 300
MAX_BODY = 64 * 1024
WEBHOOK_PATH = "/payments/webhook/sandbox"
#: Events that end a checkout: once one is sent, the sandbox takes no other decision.
FINAL_KINDS = ("succeeded", "failed", "cancelled")
EVENT_KINDS = (
    "pending",
    "requires_action",
    "succeeded",
    "failed",
    "cancelled",
    "expired",
    "disputed",
    "won",
    "lost",
    "refund",
    "payout_paid",
    "payout_failed",
)


# --- Settings and secret ----------------------------------------------------------------


def settings() -> dict[str, Any]:
    """The ``[sandbox]`` table of config.toml."""
    return dict(current_app.config.get("SANDBOX") or {})


def webhook_secret() -> str:
    """The configured secret, else one generated once into ``var/`` (shared by processes)."""
    configured = settings().get("webhook_secret")
    if configured:
        return str(configured)
    cache = current_app.extensions.setdefault("tontine_sandbox", {})
    if "secret" not in cache:
        path = Path(current_app.config["VAR_PATH"]) / "sandbox_webhook_secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
        for _attempt in range(50):  # another process may be writing it right now
            value = path.read_text().strip()
            if value:
                break
            time.sleep(0.01)
        cache["secret"] = value
    return cache["secret"]


# --- Signatures ---------------------------------------------------------------------------


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header value for ``body``: ``t=<unix>,v1=<hex>``."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={_mac(body, secret, timestamp)}"


def verify(body: bytes, header: str | None, secret: str, now: float | None = None) -> None:
    """Raise ``InvalidWebhook`` unless ``header`` signs ``body`` with ``secret``, recently."""
    if not header:
        raise InvalidWebhook(f"Missing {SIGNATURE_HEADER} header.")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) < 16:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidWebhook(f"Malformed {SIGNATURE_HEADER} header: expected t=<unix>,v1=<hex>.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise InvalidWebhook("The signature's timestamp is outside the 5-minute tolerance.")
    expected = _mac(body, secret, timestamp)
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise InvalidWebhook("The signature does not match the body.")


class EventSchema(Schema):
    """A sandbox webhook body: one event."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    ref = fields.String(required=True, validate=validate.Length(min=1, max=120))
    amount = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=10**13)
    )
    reason = fields.String(load_default="", validate=validate.Length(max=200))
    created = fields.Integer(load_default=None, allow_none=True, strict=True)


def parse_event(body: bytes) -> ProviderEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidWebhook("The body must be a JSON object.")
    try:
        event = EventSchema().load(data)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise InvalidWebhook(f"{field}: {message}") from exc
    return ProviderEvent(
        event_id=event["id"],
        provider_ref=event["ref"],
        kind=event["type"],
        amount=event["amount"],
        reason=event["reason"],
    )


# --- Sending webhooks ---------------------------------------------------------------------


def event_body(
    event_id: str, kind: str, ref: str, amount: int | None = None, reason: str = ""
) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "ref": ref,
            "amount": amount,
            "reason": reason,
            "created": int(time.time()),
        },
        separators=(",", ":"),
    )


def send_events(bodies: list[tuple[str, str]]) -> None:
    """Queue the webhook deliveries of ``(event id, body)`` in the current transaction.

    ``out_of_order`` sends them in reverse order, ``duplicate_webhooks`` twice each;
    ``webhook_delay_seconds`` holds them back as a real provider would.
    """
    config = settings()
    if config.get("out_of_order"):
        bodies = list(reversed(bodies))
    copies = 2 if config.get("duplicate_webhooks") else 1
    run_at = utcnow() + timedelta(seconds=float(config.get("webhook_delay_seconds", 0) or 0))
    for index, (event_id, body) in enumerate(bodies):
        for copy in range(1, copies + 1):
            enqueue(
                "sandbox_deliver_webhook",
                {"body": body, "event_id": event_id},
                run_at=run_at + timedelta(microseconds=index),
                dedupe_key=f"sandbox-webhook:{event_id}:{copy}",
            )


class WebhookDeliveryFailed(RuntimeError):
    """The site did not accept a webhook; the job retries it with backoff."""


def deliver_webhook(payload: dict[str, Any]) -> None:
    """Job: POST one signed event to the site over real HTTP, as the provider would."""
    body = str(payload["body"]).encode()
    url = current_app.config["BASE_URL"] + WEBHOOK_PATH
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, webhook_secret())}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise WebhookDeliveryFailed(f"{url}: {exc}") from exc
    if response.status_code >= 300:
        raise WebhookDeliveryFailed(f"{url} answered {response.status_code}: {response.text[:200]}")


def sent_event_ids(event_ids: list[str]) -> set[str]:
    """Which of these events the sandbox already queued (its memory of decisions)."""
    from tontine.db import db

    keys = [f"sandbox-webhook:{event_id}:1" for event_id in event_ids]
    found = db.session.scalars(select(Job.dedupe_key).where(Job.dedupe_key.in_(keys))).all()
    return {key.split(":")[1] for key in found if key}


def payment_event_id(ref: str, kind: str) -> str:
    return f"evt_{ref}_{kind}"


# --- The provider -------------------------------------------------------------------------


class SandboxProvider(PaymentProvider):
    """A card checkout without real money; behaves like an asynchronous provider."""

    key = "sandbox"
    label = _l("Card (sandbox: no real money moves)")

    def checkout_url(self, ref: str, return_url: str | None = None) -> str:
        url = f"{current_app.config['BASE_URL']}/sandbox/checkout/{quote(ref)}"
        return f"{url}?return_to={quote(return_url, safe='')}" if return_url else url

    def start(self, payment: Payment, return_url: str) -> StartResult:
        ref = "sbx_" + secrets.token_urlsafe(18)
        return StartResult(
            provider_ref=ref,
            redirect_url=self.checkout_url(ref, return_url),
            state=PaymentState.PENDING,
        )

    def resume(self, payment: Payment) -> StartResult | None:
        return StartResult(
            provider_ref=payment.provider_ref,
            redirect_url=self.checkout_url(payment.provider_ref),
            state=payment.state,
        )

    def parse_webhook(self, request: Request) -> list[ProviderEvent]:
        if (request.content_length or 0) > MAX_BODY:
            raise InvalidWebhook("The body is too large.")
        body = request.get_data(cache=True)
        verify(body, request.headers.get(SIGNATURE_HEADER), webhook_secret())
        return [parse_event(body)]

    def refund(self, payment: Payment, amount: int, event_id: str) -> list[ProviderEvent]:
        sandbox_id = f"evt_{event_id}"
        send_events([(sandbox_id, event_body(sandbox_id, "refund", payment.provider_ref, amount))])
        return []

    def payout(self, payout: Payout) -> list[ProviderEvent]:
        sandbox_id = f"evt_{payout.provider_ref}_paid"
        send_events(
            [
                (
                    sandbox_id,
                    event_body(sandbox_id, "payout_paid", payout.provider_ref, payout.amount),
                )
            ]
        )
        return []
