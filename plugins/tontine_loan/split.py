"""Splitting a repayment among a loan's lenders, exactly to the minor unit.

A repayment is shared pro rata to each lender's share of the loan with the largest-remainder
method (``tontine.money.allocate``), so the parts always add up to the amount repaid. A
lender whose part would exceed what they are still owed (rounding on earlier repayments,
or a lender already repaid) gets exactly what they are owed and the excess is shared among
the others the same way, so nobody is ever paid more than their outstanding share.
"""

from __future__ import annotations

from collections.abc import Sequence

from tontine.money import MoneyError, allocate


class SplitError(MoneyError):
    """A repayment that cannot be split (more than what the lenders are owed, bad input)."""


def split_repayment(amount: int, shares: Sequence[int], outstanding: Sequence[int]) -> list[int]:
    """Parts of ``amount`` minor units, one per lender, pro rata to ``shares``.

    ``outstanding[i]`` is what lender *i* is still owed; no part exceeds it. ``amount`` may
    not exceed the sum of ``outstanding``. Deterministic: ties go to the earliest lender.
    """
    if len(shares) != len(outstanding):
        raise SplitError("one share and one outstanding amount per lender")
    if amount < 0 or any(s < 0 for s in shares) or any(o < 0 for o in outstanding):
        raise SplitError("amounts, shares and outstanding amounts cannot be negative")
    if amount > sum(outstanding):
        raise SplitError("the repayment is more than the lenders are owed")
    parts = [0] * len(shares)
    left = amount
    room = list(outstanding)
    while left:
        open_ = [i for i, r in enumerate(room) if r > 0]
        weights = [shares[i] for i in open_]
        if not any(weights):  # only zero-share lenders are still owed: go by what they are owed
            weights = [room[i] for i in open_]
        given = allocate(left, weights)
        left = 0
        for i, part in zip(open_, given, strict=True):
            paid = min(part, room[i])
            parts[i] += paid
            room[i] -= paid
            left += part - paid
    return parts
