"""Posting to the ledger and reading balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tontine.db import db
from tontine.ledger.models import CREDIT_NORMAL, AccountKind, LedgerAccount, LedgerTransaction, Posting
from tontine.money import Money, check_currency


class UnbalancedTransaction(ValueError):
    """A transaction whose postings do not net to zero in some currency."""


@dataclass(frozen=True)
class Leg:
    """One side of a transaction: ``amount`` > 0 debits ``account``, < 0 credits it."""

    kind: AccountKind
    ref: str | int
    amount: Money


def debit(kind: AccountKind, ref: str | int, amount: Money) -> Leg:
    return Leg(kind, ref, amount)


def credit(kind: AccountKind, ref: str | int, amount: Money) -> Leg:
    return Leg(kind, ref, -amount)


def account(kind: AccountKind, ref: str | int, currency: str) -> LedgerAccount:
    """Get or create the ledger account ``(kind, ref, currency)``."""
    check_currency(currency)
    session = db.session
    ref = str(ref)
    found = session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.kind == kind, LedgerAccount.ref == ref, LedgerAccount.currency == currency
        )
    ).one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            found = LedgerAccount(kind=kind, ref=ref, currency=currency)
            session.add(found)
    except IntegrityError:  # created meanwhile by a concurrent transaction
        found = session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.kind == kind,
                LedgerAccount.ref == ref,
                LedgerAccount.currency == currency,
            )
        ).one()
    return found


def check_balanced(legs: Iterable[tuple[int, str]]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for amount, currency in legs:
        totals[currency] += amount
    unbalanced = {cur: total for cur, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"transaction does not net to zero: {unbalanced}")


def post(kind: str, legs: list[Leg], *, memo: str = "", cause: str | None = None) -> LedgerTransaction | None:
    """Write one balanced transaction; with ``cause``, at most once (returns None if done)."""
    session = db.session
    if cause is not None:
        existing = session.scalars(
            select(LedgerTransaction.id).where(LedgerTransaction.cause == cause)
        ).first()
        if existing is not None:
            return None
    legs = [leg for leg in legs if leg.amount.amount != 0]
    check_balanced((leg.amount.amount, leg.amount.currency) for leg in legs)
    if not legs:
        raise UnbalancedTransaction("a transaction needs postings")
    accounts = [account(leg.kind, leg.ref, leg.amount.currency) for leg in legs]
    txn = LedgerTransaction(kind=kind, memo=memo[:200], cause=cause)
    session.add(txn)
    for leg, acct in zip(legs, accounts, strict=True):
        session.add(
            Posting(
                transaction=txn,
                account_id=acct.id,
                amount=leg.amount.amount,
                currency=leg.amount.currency,
            )
        )
    session.flush()
    return txn


def balance(kind: AccountKind, ref: str | int, currency: str) -> Money:
    """The account's balance, positive in its natural direction (see module docstring)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(LedgerAccount, Posting.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.kind == kind,
            LedgerAccount.ref == str(ref),
            LedgerAccount.currency == currency,
        )
    )
    total = int(total or 0)
    return Money(-total if kind in CREDIT_NORMAL else total, currency)


def balances(kind: AccountKind, ref: str | int) -> list[Money]:
    """Every non-zero balance of ``(kind, ref)``, one per currency."""
    rows = db.session.execute(
        select(LedgerAccount.currency, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == kind, LedgerAccount.ref == str(ref))
        .group_by(LedgerAccount.currency)
    ).all()
    sign = -1 if kind in CREDIT_NORMAL else 1
    return [Money(sign * int(total), cur) for cur, total in rows if total]


def trial_balance() -> dict[str, int]:
    """Sum of every posting per currency; always all zeros on healthy books."""
    rows = db.session.execute(
        select(Posting.currency, func.sum(Posting.amount)).group_by(Posting.currency)
    ).all()
    return {cur: int(total) for cur, total in rows}


@event.listens_for(Session, "before_flush")
def _guard_postings(session: Session, _context: object, _instances: object) -> None:
    """Postings are append-only, and new ones must balance per transaction."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Posting | LedgerTransaction) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise UnbalancedTransaction("ledger rows are append-only; post a correction")
    new_by_txn: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for obj in session.new:
        if isinstance(obj, Posting):
            new_by_txn[id(obj.transaction)].append((obj.amount, obj.currency))
    for legs in new_by_txn.values():
        check_balanced(legs)
