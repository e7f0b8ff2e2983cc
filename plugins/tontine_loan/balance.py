"""What a lender does with repaid money besides lending it again: give it, or withdraw it.

A withdrawal is a core payout from the lender's balance
(``tontine.payments.services.request_balance_payout``): the money leaves the balance at
once, the site's payment provider sends it, and a failed payout puts it back.
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
from tontine.payments.models import Payout
from tontine.payments.services import PLATFORM, request_balance_payout


def _amount_of(amount: Decimal | str, currency: str) -> Money:
    try:
        money = Money.from_decimal(str(amount).strip().replace(",", "."), currency)
    except (MoneyError, ValueError) as exc:
        raise DomainError(
            _("Enter an amount in %(currency)s.", currency=currency), field="amount"
        ) from exc
    if money.amount <= 0:
        raise DomainError(_("The amount must be more than zero."), field="amount")
    return money


def request_withdrawal(user: User, amount: Decimal | str, currency: str) -> Payout:
    """Pay ``amount`` of the lender's balance out to them, through the site's provider."""
    return request_balance_payout(user, _amount_of(amount, currency), currency)


def donate(user: User, amount: Decimal | str, currency: str) -> LedgerTransaction:
    """Give ``amount`` of the lender's balance to the platform (its ``DONATIONS`` account)."""
    money = _amount_of(amount, currency)
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
