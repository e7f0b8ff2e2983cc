"""Repayment schedules: a pure function other tools can call (see docs/loan-schedules.md).

``build_schedule`` turns a loan's terms into one instalment per month. Every amount is
rounded to the currency's minor unit with ``tontine.money`` and the last instalment absorbs
what rounding left over, so the principal parts add up exactly to the principal and the
instalments add up exactly to principal + interest. Nothing here touches the database or
the clock (except ``start`` defaulting to today).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from tontine.money import Money, MoneyError, exponent

METHODS = ("annuity", "equal_principal", "zero_interest")
DAY_COUNTS = ("30/360", "actual/365")
MAX_MONTHS = 600


class ScheduleError(ValueError):
    """Terms a schedule cannot be built from; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Instalment:
    """One month's due amounts, in the loan's currency (``Decimal`` at its minor unit)."""

    number: int  # 1-based
    due: date
    principal: Decimal
    interest: Decimal
    remaining: Decimal  # principal still owed once this instalment is paid

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month (31 Jan → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def annuity_payment(principal: Decimal, monthly_rate: Decimal, periods: int) -> Decimal:
    """The standard annuity formula ``P·r / (1 − (1 + r)^−n)`` (``P / n`` when r = 0), unrounded."""
    if monthly_rate == 0:
        return principal / periods
    with localcontext() as ctx:
        ctx.prec = 50
        return principal * monthly_rate / (1 - (1 + monthly_rate) ** -periods)


def build_schedule(
    principal: Decimal,
    annual_rate: Decimal,
    months: int,
    method: str,
    grace_months: int = 0,
    start: date | None = None,
    currency: str = "EUR",
    *,
    day_count: str = "30/360",
) -> list[Instalment]:
    """One instalment per month for a loan of ``principal`` disbursed on ``start``.

    ``annual_rate`` is a fraction (``Decimal("0.05")`` for 5 %); ``months`` is the whole term,
    grace included: during the first ``grace_months`` only interest is due. ``method`` is
    ``"annuity"`` (equal payments), ``"equal_principal"`` (equal principal, falling
    interest) or ``"zero_interest"`` (equal principal at 0 %, the solidarity loan).
    Instalment *k* is due *k* months after ``start`` (today by default). Interest accrues on
    the principal still owed: a twelfth of the annual rate per month with ``day_count``
    ``"30/360"``, or the actual days between due dates over 365 with ``"actual/365"``.
    Each amount is rounded half-even to the currency's minor unit; the last instalment
    takes whatever principal is left, so the parts sum exactly to the principal.
    """
    if method not in METHODS:
        raise ScheduleError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if day_count not in DAY_COUNTS:
        raise ScheduleError(
            f"unknown day count {day_count!r}; choose one of {', '.join(DAY_COUNTS)}"
        )
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise ScheduleError(f"the term must be a whole number of months from 1 to {MAX_MONTHS}")
    if (
        isinstance(grace_months, bool)
        or not isinstance(grace_months, int)
        or not 0 <= grace_months < months
    ):
        raise ScheduleError(
            "the grace period must be a whole number of months shorter than the term"
        )
    try:
        rate = Decimal(str(annual_rate))
        lent = Money.from_decimal(principal, currency)
    except (ArithmeticError, MoneyError) as exc:
        raise ScheduleError(str(exc)) from exc
    if lent.amount <= 0:
        raise ScheduleError("the principal must be positive")
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise ScheduleError("the annual rate is a fraction between 0 and 1 (0.05 for 5 %)")
    if method == "zero_interest" and rate != 0:
        raise ScheduleError("a zero-interest loan has an annual rate of 0")
    start = start or date.today()
    places = exponent(currency)
    unit = Decimal(1).scaleb(-places)

    def rounded(value: Decimal) -> Decimal:
        return Money.round_decimal(value, currency).to_decimal().quantize(unit)

    def interest_on(balance: Decimal, number: int) -> Decimal:
        if rate == 0:
            return Decimal(0).quantize(unit)
        if day_count == "30/360":
            return rounded(balance * rate / 12)
        days = (add_months(start, number) - add_months(start, number - 1)).days
        return rounded(balance * rate * days / 365)

    amortizing = months - grace_months
    owed = lent.to_decimal().quantize(unit)
    if method == "annuity":
        payment = rounded(annuity_payment(owed, rate / 12, amortizing))
    else:
        # Rounded down, so the last instalment (which absorbs the rest) is never negative.
        payment = Money(lent.amount // amortizing, currency).to_decimal().quantize(unit)
    schedule: list[Instalment] = []
    for number in range(1, months + 1):
        interest = interest_on(owed, number)
        if number <= grace_months:
            part = Decimal(0).quantize(unit)
        elif number == months:
            part = owed
        elif method == "annuity":
            part = min(max(payment - interest, Decimal(0)), owed).quantize(unit)
        else:
            part = min(payment, owed)
        owed -= part
        schedule.append(Instalment(number, add_months(start, number), part, interest, owed))
    return schedule


def totals(schedule: list[Instalment]) -> tuple[Decimal, Decimal]:
    """``(principal, interest)`` summed over a schedule."""
    return (
        sum((i.principal for i in schedule), Decimal(0)),
        sum((i.interest for i in schedule), Decimal(0)),
    )
