"""The balance provider: pay from your Tontine balance (refunds, repayments land there).

``start`` locks the supporter's account row and checks that the balance covers the whole
payment before it succeeds at once, so two payments made at the same moment can never
spend the same money twice. Refunds go straight back to the balance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tontine.accounts.models import User
from tontine.db import lock_row
from tontine.errors import DomainError
from tontine.funding import ContributionRefused
from tontine.hookspecs import hookimpl
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance
from tontine.money import Money
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult
from tontine.payments.states import PaymentState

if TYPE_CHECKING:
    from tontine.payments.models import Payment, Payout


def _t(message: str, **values: Any) -> str:
    """Translated when a request is being served, plain English in jobs and the CLI."""
    from flask import has_request_context

    return _(message, **values) if has_request_context() else message % values


class BalanceProvider(PaymentProvider):
    """Pays from the ledger account ``SUPPORTER_BALANCE`` of the supporter."""

    key = "balance"
    label = _l("My Tontine balance")
    pays_out = False

    def start(self, payment: Payment, return_url: str) -> StartResult:
        supporter_id = payment.contribution.supporter_id
        if supporter_id is None or lock_row(User, supporter_id) is None:
            raise ContributionRefused(_t("Paying from a balance needs an account."))
        available = balance(AccountKind.SUPPORTER_BALANCE, supporter_id, payment.currency)
        if available.amount < payment.amount:
            raise ContributionRefused(
                _t(
                    "Your balance (%(balance)s) does not cover this payment (%(total)s).",
                    balance=str(available),
                    total=str(Money(payment.amount, payment.currency)),
                ),
                field="provider",
            )
        ref = f"bal-{payment.id}"
        return StartResult(
            provider_ref=ref,
            state=PaymentState.PENDING,
            events=[ProviderEvent(event_id=f"{ref}-succeeded", provider_ref=ref, kind="succeeded")],
        )

    def refund(self, payment: Payment, amount: int, event_id: str) -> list[ProviderEvent]:
        return [
            ProviderEvent(
                event_id=f"balance-{event_id}",
                provider_ref=payment.provider_ref,
                kind="refund",
                amount=amount,
            )
        ]

    def payout(self, payout: Payout) -> list[ProviderEvent]:
        raise DomainError("Money cannot be paid out through a Tontine balance.")


@hookimpl
def register_payment_providers() -> list[Any]:
    return [BalanceProvider()]
