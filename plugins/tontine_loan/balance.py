"""What a lender does with repaid money besides lending it again: give it to the platform.

(Withdrawing it to a bank account is a payout through a provider; the core's payouts belong
to projects for now, so it is not offered yet.)
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from tontine.accounts.models import User
from tontine.db import lock_row, unit_of_work
from tontine.errors import DomainError
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, credit, debit, post
from tontine.money import Money, MoneyError
from tontine.payments.services import PLATFORM


def donate(user: User, amount: Decimal | str, currency: str) -> LedgerTransaction:
    """Give ``amount`` of the lender's balance to the platform (its ``DONATIONS`` account)."""
    try:
        money = Money.from_decimal(str(amount).strip().replace(",", "."), currency)
    except (MoneyError, ValueError) as exc:
        raise DomainError(
            _("Enter an amount in %(currency)s.", currency=currency), field="amount"
        ) from exc
    if money.amount <= 0:
        raise DomainError(_("The amount must be more than zero."), field="amount")
    with unit_of_work():
        lock_row(User, user.id)  # two gifts at once cannot spend the same money
        held = balance(AccountKind.SUPPORTER_BALANCE, user.id, currency)
        if held.amount < money.amount:
            raise DomainError(_("Your balance is %(balance)s.", balance=str(held)), field="amount")
        txn = post(
            "balance_donation",
            [
                debit(AccountKind.SUPPORTER_BALANCE, user.id, money),
                credit(AccountKind.DONATIONS, PLATFORM, money),
            ],
            memo=f"donation from the balance of account {user.id}",
        )
        assert txn is not None
    return txn
