"""What a lender does with repaid money besides lending it again: give it, or withdraw it.

A withdrawal leaves the balance at once (``PAYOUTS_IN_TRANSIT``) and is paid by bank
transfer (the ``manual`` provider's clearing account) when staff mark it paid; cancelling
it puts the money back. Provider-driven payouts to supporters need the core's payouts to
stop belonging to a project; until then staff confirm each transfer, with a reason.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from tontine.accounts.models import User
from tontine.db import lock_row, unit_of_work, utcnow
from tontine.errors import Conflict, DomainError, Forbidden, NotFound
from tontine.ledger.models import AccountKind, LedgerTransaction
from tontine.ledger.services import balance, credit, debit, post
from tontine.money import Money, MoneyError
from tontine.payments.services import PLATFORM, record_staff_action
from tontine_loan.models import Withdrawal


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


def request_withdrawal(user: User, amount: Decimal | str, currency: str) -> Withdrawal:
    """Take ``amount`` out of the lender's balance, to be transferred to their bank."""
    money = _amount_of(amount, currency)
    with unit_of_work() as session:
        lock_row(User, user.id)
        held = balance(AccountKind.SUPPORTER_BALANCE, user.id, currency)
        if held.amount < money.amount:
            raise DomainError(_("Your balance is %(balance)s.", balance=str(held)), field="amount")
        withdrawal = Withdrawal(user_id=user.id, amount=money.amount, currency=currency)
        session.add(withdrawal)
        session.flush()
        post(
            "withdrawal_requested",
            [
                debit(AccountKind.SUPPORTER_BALANCE, user.id, money),
                credit(AccountKind.PAYOUTS_IN_TRANSIT, f"withdrawal:{withdrawal.id}", money),
            ],
            memo=f"withdrawal {withdrawal.id}",
            cause=f"withdrawal:{withdrawal.id}:requested",
        )
    return withdrawal


def decide_withdrawal(staff: User, withdrawal_id: int, *, paid: bool, reason: str) -> Withdrawal:
    """Staff mark a withdrawal paid (the transfer left) or cancel it (back to the balance)."""
    if not staff.is_admin:
        raise Forbidden(_("Only an admin pays withdrawals."))
    if not reason.strip():
        raise DomainError(
            _("Say how the transfer was made, or why it is cancelled."), field="reason"
        )
    with unit_of_work():
        withdrawal = lock_row(Withdrawal, withdrawal_id)
        if withdrawal is None:
            raise NotFound(_("No such withdrawal."))
        if withdrawal.state != "requested":
            raise Conflict(_("This withdrawal was already decided."))
        money = Money(withdrawal.amount, withdrawal.currency)
        in_transit = debit(AccountKind.PAYOUTS_IN_TRANSIT, f"withdrawal:{withdrawal.id}", money)
        if paid:
            legs = [in_transit, credit(AccountKind.PROVIDER_CLEARING, "manual", money)]
        else:
            legs = [
                in_transit,
                credit(AccountKind.SUPPORTER_BALANCE, withdrawal.user_id or 0, money),
            ]
        state = "paid" if paid else "cancelled"
        post(
            f"withdrawal_{state}",
            legs,
            memo=f"withdrawal {withdrawal.id} {state}",
            cause=f"withdrawal:{withdrawal.id}:{state}",
        )
        withdrawal.state = state
        withdrawal.decided_by = staff.id
        withdrawal.decided_at = utcnow()
        withdrawal.reason = reason.strip()[:500]
        record_staff_action(staff, f"withdrawal_{state}", f"withdrawal:{withdrawal.id}", reason)
    return withdrawal


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
