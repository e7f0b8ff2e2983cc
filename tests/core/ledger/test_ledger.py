"""The double-entry ledger: nothing unbalanced is ever written, nothing written ever changes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tontine.db import db, unit_of_work
from tontine.ledger.models import CREDIT_NORMAL, AccountKind, LedgerTransaction, Posting
from tontine.ledger.services import (
    Entry,
    Leg,
    UnbalancedTransaction,
    balance,
    balances,
    credit,
    debit,
    post,
    post_many,
    trial_balance,
)
from tontine.money import Money

DB_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

kinds = st.sampled_from(list(AccountKind))
refs = st.sampled_from(["1", "2", "platform", "sandbox"])
currencies = st.sampled_from(["EUR", "XOF"])
leg_tuples = st.lists(
    st.tuples(kinds, refs, st.integers(-(10**9), 10**9), currencies), min_size=1, max_size=6
)


def nets_to_zero(legs: list[tuple[Any, str, int, str]]) -> bool:
    totals: dict[str, int] = {}
    for _, _, amount, currency in legs:
        totals[currency] = totals.get(currency, 0) + amount
    return all(total == 0 for total in totals.values())


unbalanced_legs = leg_tuples.filter(lambda legs: not nets_to_zero(legs))


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0,
        db.session.scalar(select(func.count()).select_from(Posting)) or 0,
    )


@DB_SETTINGS
@given(legs=unbalanced_legs)
def test_post_refuses_any_transaction_that_does_not_net_to_zero(db_app: Any, legs: list) -> None:
    before = counts()
    with pytest.raises(UnbalancedTransaction), unit_of_work():
        post("test", [Leg(kind, ref, Money(amount, cur)) for kind, ref, amount, cur in legs])
    assert counts() == before
    assert all(total == 0 for total in trial_balance().values())


@DB_SETTINGS
@given(legs=unbalanced_legs)
def test_a_flush_that_bypasses_post_is_refused_too(db_app: Any, legs: list) -> None:
    from tontine.ledger.services import account

    before = counts()
    with pytest.raises(UnbalancedTransaction), unit_of_work() as session:
        txn = LedgerTransaction(kind="sneaky", memo="bypasses post()")
        session.add(txn)
        for kind, ref, amount, cur in legs:
            acct = account(kind, ref, cur)
            session.add(Posting(transaction=txn, account_id=acct.id, amount=amount, currency=cur))
        session.flush()
    assert counts() == before


@DB_SETTINGS
@given(legs=leg_tuples)
def test_balanced_transactions_are_written_and_balances_are_sums(db_app: Any, legs: list) -> None:
    # Close every transaction with a balancing leg per currency on the clearing account.
    totals: dict[str, int] = {}
    for _, _, amount, cur in legs:
        totals[cur] = totals.get(cur, 0) + amount
    closing = [(AccountKind.PROVIDER_CLEARING, "balancer", -total, cur) for cur, total in totals.items()]
    all_legs = legs + closing
    expected: dict[tuple[AccountKind, str, str], int] = {}
    for kind, ref, amount, cur in all_legs:
        expected[(kind, ref, cur)] = expected.get((kind, ref, cur), 0) + amount
    before = {key: balance(*key).amount for key in expected}
    nonzero = [leg for leg in all_legs if leg[2] != 0]
    with unit_of_work():
        if not nonzero:
            with pytest.raises(UnbalancedTransaction, match="needs postings"):
                post("test", [Leg(k, r, Money(a, c)) for k, r, a, c in all_legs])
            return
        txn = post("test", [Leg(k, r, Money(a, c)) for k, r, a, c in all_legs])
    assert txn is not None
    for (kind, ref, cur), amount in expected.items():
        sign = -1 if kind in CREDIT_NORMAL else 1
        assert balance(kind, ref, cur).amount - before[(kind, ref, cur)] == sign * amount
    assert all(total == 0 for total in trial_balance().values())


def test_credit_normal_accounts_read_positive_when_credited(db_app: Any) -> None:
    with unit_of_work():
        post(
            "contribution",
            [
                debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(1050, "EUR")),
                credit(AccountKind.PROJECT_ESCROW, 7, Money(1000, "EUR")),
                credit(AccountKind.DONATIONS, "platform", Money(50, "EUR")),
            ],
        )
        post(
            "contribution",
            [
                debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(5000, "XOF")),
                credit(AccountKind.PROJECT_ESCROW, 7, Money(5000, "XOF")),
            ],
        )
    assert balance(AccountKind.PROVIDER_CLEARING, "sandbox", "EUR") == Money(1050, "EUR")
    assert balance(AccountKind.PROJECT_ESCROW, 7, "EUR") == Money(1000, "EUR")
    assert balance(AccountKind.DONATIONS, "platform", "EUR") == Money(50, "EUR")
    assert sorted(balances(AccountKind.PROJECT_ESCROW, 7), key=lambda m: m.currency) == [
        Money(1000, "EUR"),
        Money(5000, "XOF"),
    ]
    assert trial_balance() == {"EUR": 0, "XOF": 0}


def test_a_cause_is_posted_at_most_once(db_app: Any) -> None:
    legs = [
        debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(500, "EUR")),
        credit(AccountKind.PROJECT_ESCROW, 1, Money(500, "EUR")),
    ]
    with unit_of_work():
        first = post("contribution", legs, cause="payment:1:succeeded")
    with unit_of_work():
        second = post("contribution", legs, cause="payment:1:succeeded")
    assert first is not None and second is None
    assert balance(AccountKind.PROJECT_ESCROW, 1, "EUR") == Money(500, "EUR")


def test_many_transactions_are_posted_together_each_cause_once(db_app: Any) -> None:
    def gift(n: int, cents: int) -> Entry:
        return Entry(
            "contribution",
            [
                debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(cents, "EUR")),
                credit(AccountKind.PROJECT_ESCROW, n, Money(cents, "EUR")),
            ],
            cause=f"payment:{n}:succeeded",
        )

    with unit_of_work():
        post("contribution", gift(1, 100).legs, cause="payment:1:succeeded")
    with unit_of_work():
        written = post_many([gift(1, 100), gift(2, 200), gift(3, 300), gift(2, 200)])
    assert [txn is not None for txn in written] == [False, True, True, False]
    assert [balance(AccountKind.PROJECT_ESCROW, n, "EUR").amount for n in (1, 2, 3)] == [100, 200, 300]
    assert trial_balance() == {"EUR": 0}


def test_one_unbalanced_entry_writes_none_of_the_batch(db_app: Any) -> None:
    good = Entry("contribution", [
        debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(100, "EUR")),
        credit(AccountKind.PROJECT_ESCROW, 1, Money(100, "EUR")),
    ])
    bad = Entry("contribution", [
        debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(100, "EUR")),
        credit(AccountKind.PROJECT_ESCROW, 2, Money(99, "EUR")),
    ])
    with pytest.raises(UnbalancedTransaction), unit_of_work():
        post_many([good, bad])
    assert db.session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_a_transaction_without_postings_is_refused(db_app: Any) -> None:
    with pytest.raises(UnbalancedTransaction), unit_of_work():
        post("empty", [])
    assert counts() == (0, 0)


@pytest.fixture
def posted(db_app: Any) -> LedgerTransaction:
    with unit_of_work():
        txn = post(
            "contribution",
            [
                debit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(700, "EUR")),
                credit(AccountKind.PROJECT_ESCROW, 3, Money(700, "EUR")),
            ],
        )
    assert txn is not None
    return txn


def test_postings_cannot_be_updated(posted: LedgerTransaction) -> None:
    with pytest.raises(UnbalancedTransaction, match="append-only"), unit_of_work() as session:
        posting = session.scalars(select(Posting).where(Posting.transaction_id == posted.id)).first()
        posting.amount = 1
        session.flush()
    with pytest.raises(UnbalancedTransaction, match="append-only"), unit_of_work() as session:
        txn = session.get(LedgerTransaction, posted.id)
        txn.memo = "rewritten history"
        session.flush()
    assert balance(AccountKind.PROJECT_ESCROW, 3, "EUR") == Money(700, "EUR")


def test_postings_cannot_be_deleted(posted: LedgerTransaction) -> None:
    with pytest.raises(UnbalancedTransaction, match="append-only"), unit_of_work() as session:
        posting = session.scalars(select(Posting).where(Posting.transaction_id == posted.id)).first()
        session.delete(posting)
        session.flush()
    with pytest.raises(UnbalancedTransaction, match="append-only"), unit_of_work() as session:
        session.delete(session.get(LedgerTransaction, posted.id))
        session.flush()
    assert balance(AccountKind.PROJECT_ESCROW, 3, "EUR") == Money(700, "EUR")
    assert trial_balance() == {"EUR": 0}


def test_a_correction_is_a_new_transaction(posted: LedgerTransaction) -> None:
    with unit_of_work():
        post(
            "correction",
            [
                debit(AccountKind.PROJECT_ESCROW, 3, Money(200, "EUR")),
                credit(AccountKind.PROVIDER_CLEARING, "sandbox", Money(200, "EUR")),
            ],
            memo=f"corrects transaction {posted.id}",
        )
    assert balance(AccountKind.PROJECT_ESCROW, 3, "EUR") == Money(500, "EUR")
    assert counts() == (2, 4)
