"""Repayment schedules: exact sums, the annuity formula, golden tables, grace, currencies."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tontine_loan.schedule import ScheduleError, add_months, build_schedule, totals

START = date(2026, 1, 15)


def cents(value: Fraction) -> Decimal:
    """Round an exact fraction half-even to the cent (independent of the module's rounding)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )


def reference_annuity(principal: int, percent: int, months: int) -> list[tuple[Decimal, Decimal]]:
    """Textbook amortization table with exact fractions: (principal, interest) per month."""
    r = Fraction(percent, 1200)
    payment = cents(Fraction(principal) * r / (1 - (1 + r) ** -months))
    owed = Decimal(principal).quantize(Decimal("0.01"))
    rows = []
    for month in range(1, months + 1):
        interest = cents(Fraction(owed) * r)
        part = owed if month == months else payment - interest
        owed -= part
        rows.append((part, interest))
    return rows


def test_zero_interest_twelve_months_golden_table() -> None:
    schedule = build_schedule(Decimal(1000), Decimal(0), 12, "zero_interest", start=START)
    assert [(i.number, i.due, i.principal, i.interest) for i in schedule] == [
        (n, add_months(START, n), Decimal("83.33"), Decimal("0.00")) for n in range(1, 12)
    ] + [(12, date(2027, 1, 15), Decimal("83.37"), Decimal("0.00"))]
    # 11 × 83.33 = 916.63; the last instalment absorbs the rest: 1000 − 916.63 = 83.37.
    assert totals(schedule) == (Decimal("1000.00"), Decimal("0.00"))
    assert schedule[-1].remaining == Decimal("0.00")


def test_five_percent_thirty_six_months_golden_table() -> None:
    schedule = build_schedule(Decimal(10000), Decimal("0.05"), 36, "annuity", start=START)
    assert [(i.principal, i.interest) for i in schedule] == reference_annuity(10000, 5, 36)
    # A few rows checked by hand: 10 000 × 5 %/12 = 41.67 of interest; payment 299.71.
    assert (schedule[0].principal, schedule[0].interest, schedule[0].remaining) == (
        Decimal("258.04"),
        Decimal("41.67"),
        Decimal("9741.96"),
    )
    # 9 741.96 × 0.05/12 = 40.5915 → 40.59; 299.71 − 40.59 = 259.12.
    assert (schedule[1].principal, schedule[1].interest) == (Decimal("259.12"), Decimal("40.59"))
    # The last instalment pays off what is left: 298.45 + 298.45 × 0.05/12 = 1.24.
    assert (schedule[-1].principal, schedule[-1].interest) == (Decimal("298.45"), Decimal("1.24"))
    assert schedule[-1].due == date(2029, 1, 15)
    assert totals(schedule) == (Decimal("10000.00"), Decimal("789.54"))


@pytest.mark.parametrize(
    ("principal", "percent", "months"),
    [(1000, 5, 12), (10000, 5, 36), (2500, 12, 24), (750, 3, 7), (123456, 7, 120)],
)
def test_annuity_payment_is_the_standard_formula_to_the_cent(
    principal: int, percent: int, months: int
) -> None:
    schedule = build_schedule(
        Decimal(principal), Decimal(percent) / 100, months, "annuity", start=START
    )
    r = Fraction(percent, 1200)
    expected = cents(Fraction(principal) * r / (1 - (1 + r) ** -months))
    assert {i.total for i in schedule[:-1]} == {expected}
    assert abs(schedule[-1].total - expected) <= Decimal("0.01") * months


def test_grace_months_are_interest_only() -> None:
    schedule = build_schedule(
        Decimal(10000), Decimal("0.05"), 36, "equal_principal", grace_months=3, start=START
    )
    assert len(schedule) == 36
    assert [(i.principal, i.interest) for i in schedule[:3]] == [
        (Decimal("0.00"), Decimal("41.67"))
    ] * 3
    # 10 000 / 33 amortizing months = 303.03; the last takes 303.04.
    assert {i.principal for i in schedule[3:-1]} == {Decimal("303.03")}
    assert schedule[-1].principal == Decimal("303.04")
    assert schedule[4].interest == Decimal("40.40")  # 9 696.97 × 0.05/12
    assert totals(schedule)[0] == Decimal("10000.00")


def test_annuity_after_grace_amortizes_over_the_remaining_months() -> None:
    schedule = build_schedule(
        Decimal(1000), Decimal("0.12"), 12, "annuity", grace_months=2, start=START
    )
    assert all(i.principal == 0 and i.interest == Decimal("10.00") for i in schedule[:2])
    r = Fraction(1, 100)
    payment = cents(1000 * r / (1 - (1 + r) ** -10))
    assert {i.total for i in schedule[2:-1]} == {payment}


def test_xof_has_no_minor_unit() -> None:
    schedule = build_schedule(
        Decimal(500000), Decimal("0.05"), 12, "annuity", currency="XOF", start=START
    )
    assert all(i.principal == i.principal.to_integral_value() for i in schedule)
    assert str(schedule[0].interest) == "2083"  # 500 000 × 0.05/12 = 2 083.33
    assert totals(schedule)[0] == Decimal(500000)
    with pytest.raises(ScheduleError):
        build_schedule(Decimal("1000.50"), Decimal(0), 12, "zero_interest", currency="XOF")


def test_actual_365_counts_the_days_of_each_month() -> None:
    schedule = build_schedule(
        Decimal(36500),
        Decimal("0.10"),
        3,
        "equal_principal",
        start=date(2026, 1, 1),
        day_count="actual/365",
    )
    # January has 31 days, February 28: 36 500 × 10 % × 31/365 = 310; × 28/365 on 24 333.34.
    assert schedule[0].interest == Decimal("310.00")
    assert schedule[1].interest == (Decimal("24333.34") * Decimal("0.10") * 28 / 365).quantize(
        Decimal("0.01")
    )
    thirty = build_schedule(
        Decimal(36500), Decimal("0.10"), 3, "equal_principal", start=date(2026, 1, 1)
    )
    assert thirty[0].interest == Decimal("304.17")


def test_due_dates_keep_the_day_and_clamp_to_month_end() -> None:
    schedule = build_schedule(Decimal(120), Decimal(0), 3, "zero_interest", start=date(2026, 1, 31))
    assert [i.due for i in schedule] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "balloon"}, "unknown method"),
        ({"months": 0}, "term"),
        ({"grace_months": 12}, "grace"),
        ({"principal": Decimal(0)}, "positive"),
        ({"principal": Decimal("10.001")}, "decimal places"),
        ({"annual_rate": Decimal("-0.01")}, "fraction"),
        ({"method": "zero_interest", "annual_rate": Decimal("0.05")}, "zero-interest"),
        ({"currency": "XYZ"}, "currency"),
        ({"day_count": "actual/360"}, "day count"),
    ],
)
def test_bad_terms_are_refused_with_a_clear_message(kwargs: dict, message: str) -> None:
    args = {
        "principal": Decimal(1000),
        "annual_rate": Decimal(0),
        "months": 12,
        "method": "annuity",
    }
    args.update(kwargs)
    with pytest.raises(ScheduleError, match=message):
        build_schedule(**args)


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(min_value=1, max_value=10**9),
    rate_bp=st.integers(min_value=0, max_value=5000),
    months=st.integers(min_value=1, max_value=120),
    grace=st.integers(min_value=0, max_value=12),
    method=st.sampled_from(["annuity", "equal_principal", "zero_interest"]),
    currency=st.sampled_from(["EUR", "XOF", "JPY", "BHD"]),
    day_count=st.sampled_from(["30/360", "actual/365"]),
    day=st.integers(min_value=1, max_value=31),
)
def test_instalments_always_add_up_exactly(
    principal: int,
    rate_bp: int,
    months: int,
    grace: int,
    method: str,
    currency: str,
    day_count: str,
    day: int,
) -> None:
    from tontine.money import Money

    grace = min(grace, months - 1)
    rate = Decimal(0) if method == "zero_interest" else Decimal(rate_bp) / 10000
    lent = Money(principal, currency).to_decimal()
    start = date(2026, 1, day)
    schedule = build_schedule(
        lent, rate, months, method, grace, start, currency, day_count=day_count
    )
    assert len(schedule) == months
    principal_sum, interest_sum = totals(schedule)
    assert principal_sum == lent
    assert sum(i.total for i in schedule) == principal_sum + interest_sum
    assert all(i.principal >= 0 and i.interest >= 0 for i in schedule)
    assert all(i.principal == 0 for i in schedule[:grace])
    assert schedule[-1].remaining == 0
    assert [i.due for i in schedule] == sorted(i.due for i in schedule)
    for i in schedule:  # rounded to the currency's minor unit
        Money.from_decimal(i.principal, currency)
        Money.from_decimal(i.interest, currency)
