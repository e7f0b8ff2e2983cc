"""The manual provider: pay by bank transfer with a reference; staff mark it received.

Supporters get the account's IBAN, BIC and holder (``[manual]`` in config.toml), the
amount and a unique reference (``TNT-XXXX-XXXX``). The payment stays pending until a
moderator or admin marks the transfer received (``payments.mark_received``), which is
recorded with who, when and why. Refunds and payouts are transfers staff make by hand:
they are recorded as done at once.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from tontine.errors import DomainError
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult
from tontine.payments.states import PaymentState

if TYPE_CHECKING:
    from tontine.payments.models import Payment, Payout

#: No 0/O or 1/I: references are read aloud and typed by hand into bank forms.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

#: Shown outside production when ``[manual]`` is not configured (an obviously fake account).
DEMO_ACCOUNT = {
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPPXXX",
    "account_holder": "Tontine demo (no real account)",
}


def new_reference() -> str:
    """A reference such as ``TNT-7KQ2-M9XD`` (32**8 ≈ 10**12 possibilities)."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"TNT-{chars[:4]}-{chars[4:]}"


def bank_account() -> dict[str, str]:
    configured = {k: str(v) for k, v in (current_app.config.get("MANUAL") or {}).items()}
    if configured.get("iban"):
        return {
            **DEMO_ACCOUNT,
            "bic": "",
            "account_holder": current_app.config["NAME"],
            **configured,
        }
    if current_app.config["ENV"] == "production":
        raise DomainError("Bank transfers are not set up on this site yet.", status=503)
    return dict(DEMO_ACCOUNT)


class ManualProvider(PaymentProvider):
    """Bank transfer reconciled by staff."""

    key = "manual"
    label = _l("Bank transfer")
    expiry_minutes = 14 * 24 * 60  # a transfer takes days to arrive
    staff_confirms = True

    def instructions(self, payment: Payment, reference: str | None = None) -> dict[str, Any]:
        account = bank_account()
        return {
            "iban": account["iban"],
            "bic": account.get("bic", ""),
            "account_holder": account.get("account_holder", ""),
            "reference": reference or payment.provider_ref,
            "amount": payment.money.decimal_string(),
            "currency": payment.currency,
        }

    def start(self, payment: Payment, return_url: str) -> StartResult:
        reference = new_reference()  # unique with (provider, provider_ref)
        return StartResult(
            provider_ref=reference,
            instructions=self.instructions(payment, reference),
            state=PaymentState.PENDING,
        )

    def resume(self, payment: Payment) -> StartResult | None:
        return StartResult(
            provider_ref=payment.provider_ref,
            instructions=self.instructions(payment),
            state=payment.state,
        )

    def refund(self, payment: Payment, amount: int, event_id: str) -> list[ProviderEvent]:
        return [
            ProviderEvent(
                event_id=f"manual-{event_id}",
                provider_ref=payment.provider_ref,
                kind="refund",
                amount=amount,
            )
        ]

    def payout(self, payout: Payout) -> list[ProviderEvent]:
        return [
            ProviderEvent(
                event_id=f"manual-payout-{payout.id}",
                provider_ref=payout.provider_ref,
                kind="payout_paid",
                amount=payout.amount,
            )
        ]


@hookimpl
def register_payment_providers() -> list[Any]:
    return [ManualProvider()]


@hookimpl
def register_nav_links(user: Any) -> list[tuple[str, str]]:
    from flask import url_for

    if user is not None and getattr(user, "is_authenticated", False) and user.is_moderator:
        return [(str(_l("Bank transfers")), url_for("payments.transfers"))]
    return []
