"""Repayment split: exact to the cent, pro rata, never more than a lender is owed."""

from __future__ import annotations

import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tontine.money import allocate
from tontine_loan.split import SplitError, split_repayment


def test_three_lenders_share_a_repayment_pro_rata() -> None:
    # 50 + 30 + 20 = 100 € lent; 10 € repaid → 5, 3, 2.
    assert split_repayment(1000, [5000, 3000, 2000], [5000, 3000, 2000]) == [500, 300, 200]


def test_cents_left_by_rounding_go_to_the_largest_remainders() -> None:
    # 1 € over three equal lenders: 33.33…; one cent left, given to the first (earliest tie).
    assert split_repayment(100, [2000, 2000, 2000], [2000, 2000, 2000]) == [34, 33, 33]
    # The first lender is owed only 33 cents more: the extra cent goes to the next one.
    assert split_repayment(100, [2000, 2000, 2000], [33, 1967, 1967]) == [33, 34, 33]


def test_a_lender_already_repaid_gets_nothing_more() -> None:
    # The first lender is owed nothing; the others share the whole repayment.
    assert split_repayment(900, [1000, 1000, 2000], [0, 1000, 2000]) == [0, 300, 600]


def test_a_capped_lender_passes_the_excess_to_the_others() -> None:
    assert split_repayment(1000, [5000, 5000], [100, 5000]) == [100, 900]


def test_paying_everything_repays_everyone_exactly() -> None:
    owed = [1234, 1, 999_999, 50]
    assert split_repayment(sum(owed), [2000, 2000, 3000, 5000], owed) == owed


def test_more_than_what_is_owed_is_refused() -> None:
    with pytest.raises(SplitError, match="more than the lenders are owed"):
        split_repayment(301, [100, 200], [100, 200])
    with pytest.raises(SplitError):
        split_repayment(-1, [100], [100])
    with pytest.raises(SplitError):
        split_repayment(1, [100, 100], [100])


lenders = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**7)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(lenders=lenders, fraction=st.fractions(min_value=0, max_value=1))
def test_parts_sum_to_the_whole_and_never_exceed_what_is_owed(lenders, fraction) -> None:
    shares = [s for s, _ in lenders]
    owed = [min(o, s) if s else o for s, o in lenders]
    total_owed = sum(owed)
    amount = int(total_owed * fraction)
    parts = split_repayment(amount, shares, owed)
    assert sum(parts) == amount
    assert all(0 <= p <= o for p, o in zip(parts, owed, strict=True))


@settings(max_examples=300, deadline=None)
@given(
    shares=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=50),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_lenders_owed_their_full_share_are_paid_pro_rata(shares, fraction) -> None:
    amount = int(sum(shares) * fraction)
    parts = split_repayment(amount, shares, shares)
    assert parts == allocate(amount, shares)
    total = sum(shares)
    for part, share in zip(parts, shares, strict=True):
        assert abs(part * total - amount * share) < total  # within one minor unit of exact


@settings(max_examples=200, deadline=None)
@given(
    shares=st.lists(st.integers(min_value=1, max_value=10**5), min_size=1, max_size=30),
    cuts=st.lists(st.fractions(min_value=0, max_value=1), min_size=1, max_size=12),
)
def test_successive_repayments_repay_each_lender_exactly_their_share(shares, cuts) -> None:
    """Whatever the instalments, paying the whole loan back repays every lender in full."""
    assume(sum(shares) > 0)
    owed = list(shares)
    left = sum(shares)
    for cut in cuts:
        amount = int(left * cut)
        parts = split_repayment(amount, shares, owed)
        owed = [o - p for o, p in zip(owed, parts, strict=True)]
        left -= amount
    final = split_repayment(left, shares, owed)
    assert [o - p for o, p in zip(owed, final, strict=True)] == [0] * len(shares)


def test_ten_thousand_lenders_on_one_loan_is_fast() -> None:
    shares = [2000 + 500 * (i % 7) for i in range(10_000)]  # 20 € to 50 € tickets
    owed = list(shares)
    owed[::13] = [s - 1 for s in shares[::13]]  # a few lenders short by a rounding cent
    amount = sum(owed) // 12 + 7
    began = time.perf_counter()
    parts = split_repayment(amount, shares, owed)
    elapsed = time.perf_counter() - began
    assert sum(parts) == amount
    assert all(p <= o for p, o in zip(parts, owed, strict=True))
    assert elapsed < 1.0
