"""Money: integer minor units, one currency at a time, splits that add up to the whole."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tontine.money import Money, MoneyError, allocate, exponent, percent_of

weights = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_allocate_parts_sum_to_the_whole_and_are_never_negative(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    assert all(part >= 0 for part in parts)


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_allocate_is_proportional_within_one_minor_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1
        if weight == 0:
            assert part == 0


@given(total=st.integers(min_value=-(10**9), max_value=-1), weights=weights)
def test_allocate_splits_a_negative_total_into_non_positive_parts(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert all(part <= 0 for part in parts)


def test_allocate_refuses_no_one_to_give_to_and_negative_weights() -> None:
    with pytest.raises(MoneyError):
        allocate(100, [0, 0])
    with pytest.raises(MoneyError):
        allocate(100, [3, -1])


def test_allocate_is_deterministic_on_ties() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]


@given(a=st.integers(-(10**12), 10**12), b=st.integers(-(10**12), 10**12))
def test_money_adds_and_subtracts_exactly(a: int, b: int) -> None:
    assert (Money(a, "EUR") + Money(b, "EUR")).amount == a + b
    assert (Money(a, "EUR") - Money(b, "EUR")).amount == a - b
    assert (-Money(a, "EUR")).amount == -a


def test_money_refuses_to_mix_currencies() -> None:
    euros, francs = Money(100, "EUR"), Money(100, "XOF")
    for operation in (
        lambda: euros + francs,
        lambda: euros - francs,
        lambda: euros < francs,
        lambda: euros >= francs,
    ):
        with pytest.raises(MoneyError, match="EUR.*XOF"):
            operation()


def test_money_refuses_floats_bools_and_unknown_currencies() -> None:
    with pytest.raises(MoneyError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="unknown currency"):
        Money(100, "XXQ")
    with pytest.raises(MoneyError, match="unknown currency"):
        Money(100, "eur")


@pytest.mark.parametrize(
    ("currency", "digits", "text", "minor"),
    [
        ("EUR", 2, "12.50", 1250),
        ("EUR", 2, "12", 1200),
        ("XOF", 0, "5000", 5000),
        ("JPY", 0, "300", 300),
    ],
)
def test_currencies_have_their_own_minor_unit(currency: str, digits: int, text: str, minor: int) -> None:
    assert exponent(currency) == digits
    money = Money.from_decimal(text, currency)
    assert money.amount == minor
    assert Money.from_decimal(money.decimal_string(), currency) == money


@pytest.mark.parametrize(
    ("text", "currency"),
    [("12.345", "EUR"), ("0.001", "EUR"), ("5000.5", "XOF"), ("1.1", "JPY")],
)
def test_from_decimal_refuses_too_many_decimals(text: str, currency: str) -> None:
    with pytest.raises(MoneyError, match="decimal places"):
        Money.from_decimal(text, currency)


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "1e", "12,50"])
def test_from_decimal_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.from_decimal(text, "EUR")


@given(minor=st.integers(-(10**15), 10**15), currency=st.sampled_from(["EUR", "XOF", "JPY", "USD"]))
def test_decimal_round_trip(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money
    assert Money.from_decimal(money.decimal_string(), currency) == money


def test_round_decimal_rounds_half_even_to_the_minor_unit() -> None:
    assert Money.round_decimal(Decimal("0.125"), "EUR").amount == 12
    assert Money.round_decimal(Decimal("0.135"), "EUR").amount == 14
    assert Money.round_decimal(Decimal("2.5"), "XOF").amount == 2


@given(amount=st.integers(0, 10**12), percent=st.decimals(0, 100, places=2))
def test_percent_of_stays_within_the_amount(amount: int, percent: Decimal) -> None:
    fee = percent_of(amount, percent)
    assert 0 <= fee <= amount
    assert abs(Decimal(fee) - Decimal(amount) * percent / 100) <= Decimal("0.5")
