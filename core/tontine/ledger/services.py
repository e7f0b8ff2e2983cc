"""Posting to the ledger and reading balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ARRAY, String, any_, bindparam, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tontine.db import db, insert_rows, utcnow
from tontine.ledger.models import (
    CREDIT_NORMAL,
    AccountKind,
    LedgerAccount,
    LedgerTransaction,
    Posting,
)
from tontine.money import Money, check_currency

_ACCOUNT_IDS = "tontine.ledger.account_ids"  # session.info cache: (kind, ref, currency) → id


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


def account_ids(keys: Iterable[tuple[AccountKind, str, str]]) -> dict[tuple[AccountKind, str, str], int]:
    """Ids of the accounts ``(kind, ref, currency)``, created if missing, in a few queries.

    Used by ``post`` so that a transaction with thousands of legs (a repayment split among
    every lender of a loan) costs a handful of statements rather than one per leg.
    """
    session = db.session
    known: dict[tuple[AccountKind, str, str], int] = session.info.setdefault(_ACCOUNT_IDS, {})
    wanted = {(kind, str(ref), currency) for kind, ref, currency in keys}
    found = {key: known[key] for key in wanted if key in known}
    groups: dict[tuple[AccountKind, str], list[str]] = defaultdict(list)
    for kind, ref, currency in wanted - found.keys():
        check_currency(currency)
        groups[(kind, currency)].append(ref)

    postgres = session.get_bind().dialect.name == "postgresql"

    def lookup() -> None:
        for (kind, currency), refs in groups.items():
            # PostgreSQL takes every ref as one array parameter (no 500-placeholder queries).
            step = len(refs) if postgres else 500
            for start in range(0, len(refs), step):
                chosen = refs[start : start + step]
                rows = session.execute(
                    select(LedgerAccount.ref, LedgerAccount.id).where(
                        LedgerAccount.kind == kind,
                        LedgerAccount.currency == currency,
                        LedgerAccount.ref == any_(bindparam("refs", chosen, type_=ARRAY(String)))
                        if postgres
                        else LedgerAccount.ref.in_(chosen),
                    )
                )
                found.update({(kind, ref, currency): ident for ref, ident in rows})

    lookup()
    missing = wanted - found.keys()
    if missing:
        try:
            with session.begin_nested():
                session.execute(
                    insert(LedgerAccount),
                    [{"kind": k, "ref": r, "currency": c, "created_at": utcnow()} for k, r, c in sorted(missing)],
                )
        except IntegrityError:  # some were created meanwhile: create the rest one by one
            for kind, ref, currency in missing:
                account(kind, ref, currency)
        lookup()
    known.update(found)
    return found


@event.listens_for(Session, "after_soft_rollback")
def _forget_account_ids(session: Session, _previous: object) -> None:
    """Ids cached by ``account_ids`` may name accounts a rollback just undid."""
    session.info.pop(_ACCOUNT_IDS, None)


@dataclass(frozen=True)
class Entry:
    """One transaction to write: its kind, legs, memo, and the ``cause`` posted at most once."""

    kind: str
    legs: list[Leg]
    memo: str = ""
    cause: str | None = None


def post(kind: str, legs: list[Leg], *, memo: str = "", cause: str | None = None) -> LedgerTransaction | None:
    """Write one balanced transaction; with ``cause``, at most once (returns None if done)."""
    (ident,) = post_many([Entry(kind, legs, memo, cause)])
    return None if ident is None else db.session.get(LedgerTransaction, ident)


def post_many(entries: list[Entry]) -> list[int | None]:
    """Write balanced transactions in a few statements, whatever their number.

    Returns one item per entry: the new transaction's id, or None when its ``cause`` was
    already posted (before, or earlier in ``entries``). Ids rather than ORM objects: a
    month's repayments of thousands of loans is one call, and its rows go by ``COPY``
    (``insert_rows``). Nothing is written if any entry does not net to zero.
    """
    session = db.session
    causes = [entry.cause for entry in entries if entry.cause is not None]
    posted: set[str] = set()
    for start in range(0, len(causes), 500):
        posted.update(
            session.scalars(
                select(LedgerTransaction.cause).where(
                    LedgerTransaction.cause.in_(causes[start : start + 500])
                )
            )
        )
    todo: list[tuple[int, Entry, list[Leg]]] = []
    for index, entry in enumerate(entries):
        if entry.cause is not None:
            if entry.cause in posted:
                continue
            posted.add(entry.cause)
        legs = [leg for leg in entry.legs if leg.amount.amount != 0]
        if not legs:
            raise UnbalancedTransaction("a transaction needs postings")
        check_balanced((leg.amount.amount, leg.amount.currency) for leg in legs)
        todo.append((index, entry, legs))
    results: list[int | None] = [None] * len(entries)
    if not todo:
        return results
    ids = account_ids(
        (leg.kind, str(leg.ref), leg.amount.currency) for _, _, legs in todo for leg in legs
    )
    now = utcnow()
    transactions = insert_rows(
        LedgerTransaction.__table__,
        [{"kind": e.kind, "memo": e.memo[:200], "cause": e.cause, "created_at": now} for _, e, _ in todo],
        returning_ids=True,
    )
    rows = [
        {
            "transaction_id": txn,
            "account_id": ids[(leg.kind, str(leg.ref), leg.amount.currency)],
            "amount": leg.amount.amount,
            "currency": leg.amount.currency,
        }
        for (_, _, legs), txn in zip(todo, transactions, strict=True)
        for leg in legs
    ]
    insert_rows(Posting.__table__, rows)  # every entry was checked to balance above
    for (index, _, _), txn in zip(todo, transactions, strict=True):
        results[index] = txn
    return results


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
