"""The interface a payment provider plugin implements.

A provider is an object returned by ``register_payment_providers()``. The core creates the
``Payment`` row, calls ``start`` and later applies the ``ProviderEvent``s the provider
reports (from ``parse_webhook``, or returned at once by synchronous providers) along the
payment state table. Providers never commit and never post to the ledger themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tontine.errors import DomainError
from tontine.payments.states import PaymentState

if TYPE_CHECKING:
    from flask import Request

    from tontine.payments.models import Payment, Payout


class InvalidWebhook(DomainError):
    """A webhook whose signature or body is not acceptable (answered with 400)."""


@dataclass(frozen=True)
class ProviderEvent:
    """Something the provider says happened to a payment or payout.

    ``kind`` is a target ``PaymentState`` value, or ``"refund"`` (with ``amount``), or
    ``"payout_paid"`` / ``"payout_failed"``. ``event_id`` is unique per provider.
    """

    event_id: str
    provider_ref: str
    kind: str
    amount: int | None = None
    occurred_at: datetime | None = None
    reason: str = ""


@dataclass
class StartResult:
    """Where the supporter goes next: a redirect, instructions, or done already."""

    provider_ref: str
    redirect_url: str | None = None
    instructions: dict[str, Any] = field(default_factory=dict)
    events: list[ProviderEvent] = field(default_factory=list)
    state: PaymentState = PaymentState.PENDING


class PaymentProvider:
    """Base class with the documented attributes; subclasses override what they support."""

    key: str = ""
    label: str = ""
    #: How long an unfinished payment reserves its share of the goal (None: the site's
    #: ``CHECKOUT_EXPIRY_MINUTES``); a bank transfer takes days, a card checkout minutes.
    expiry_minutes: int | None = None
    #: Whether money raised can be paid out through it (a Tontine balance cannot).
    pays_out: bool = True
    #: Whether staff confirm by hand that the money arrived (``mark_received``).
    staff_confirms: bool = False

    def start(self, payment: Payment, return_url: str) -> StartResult:
        """Begin collecting ``payment``; return a redirect or instructions."""
        raise NotImplementedError

    def resume(self, payment: Payment) -> StartResult | None:
        """Where a supporter returning to an unfinished payment goes (a retried form)."""
        return None

    def parse_webhook(self, request: Request) -> list[ProviderEvent]:
        """Verify the request's signature and map it to events; raise ``InvalidWebhook``."""
        raise InvalidWebhook(f"{self.key} does not receive webhooks")

    def refund(self, payment: Payment, amount: int, event_id: str) -> list[ProviderEvent]:
        """Return ``amount`` of ``payment`` to the payer; events now or later by webhook."""
        raise NotImplementedError

    def payout(self, payout: Payout) -> list[ProviderEvent]:
        """Send ``payout`` to the owner; events now or later by webhook."""
        raise NotImplementedError
