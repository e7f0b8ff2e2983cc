"""Money: integer minor units with an ISO-4217 code; never a float.

``Money`` refuses to mix currencies. ``allocate`` splits an amount by weights with the
largest-remainder method, so the parts always add up exactly to the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies


class MoneyError(ValueError):
    """An amount or currency that is not valid money."""


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    if not isinstance(code, str) or code not in known_currencies():
        raise MoneyError(f"unknown currency {code!r}")
    return code


@cache
def exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (EUR 2, XOF 0, JPY 0)."""
    return get_currency_precision(check_currency(currency))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("money amounts are integers in minor units")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """Parse a decimal amount; refuse more digits than the currency has."""
        try:
            dec = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise MoneyError(f"{value!r} is not an amount") from exc
        if not dec.is_finite():
            raise MoneyError(f"{value!r} is not an amount")
        places = exponent(currency)
        minor = dec.scaleb(places)
        if minor != minor.to_integral_value():
            raise MoneyError(f"{currency} amounts have at most {places} decimal places")
        return cls(int(minor), currency)

    @classmethod
    def round_decimal(cls, value: Decimal, currency: str) -> Money:
        """Round a computed amount to the currency's minor unit (half-even)."""
        minor = value.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def decimal_string(self) -> str:
        """Plain decimal string with exactly the currency's digits ("12.50", "5000")."""
        places = exponent(self.currency)
        return f"{self.to_decimal():.{places}f}"

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.decimal_string()} {self.currency}"


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights`` (largest remainder).

    The parts sum exactly to ``total``; ties go to the earliest weight, so the result is
    deterministic. All weights zero is an error: there is nobody to give the money to.
    """
    if any(w < 0 for w in weights):
        raise MoneyError("weights cannot be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("cannot allocate over zero weights")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = []
    remainders = []
    for index, weight in enumerate(weights):
        quotient, remainder = divmod(magnitude * weight, weight_sum)
        parts.append(quotient)
        remainders.append((-remainder, index))
    leftover = magnitude - sum(parts)
    for _, index in sorted(remainders)[:leftover]:
        parts[index] += 1
    return [sign * part for part in parts]


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount`` minor units, rounded half-even to a minor unit."""
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
