"""Payment and payout state tables.

Providers report events; the core applies an event only along an edge of this table, so a
webhook delivered twice, late or out of order changes nothing the second time.
"""

from __future__ import annotations

import enum


class PaymentState(enum.StrEnum):
    CREATED = "created"
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    WON = "won"
    LOST = "lost"


S = PaymentState

PAYMENT_TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    S.CREATED: frozenset({S.PENDING, S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.PENDING: frozenset({S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.REQUIRES_ACTION: frozenset({S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.WON, S.LOST}),
    S.WON: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REFUNDED: frozenset(),
    S.LOST: frozenset(),
}

#: States in which the money is (still) counted toward the project.
HOLDS_FUNDS = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.DISPUTED, S.WON})
#: States in which the contribution still reserves its share of the goal.
RESERVES = frozenset({S.CREATED, S.PENDING, S.REQUIRES_ACTION}) | HOLDS_FUNDS


def can_move(source: PaymentState, target: PaymentState) -> bool:
    return target in PAYMENT_TRANSITIONS[source]


class PayoutState(enum.StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    FAILED = "failed"


PAYOUT_TRANSITIONS = {
    PayoutState.REQUESTED: frozenset({PayoutState.PAID, PayoutState.FAILED}),
    PayoutState.PAID: frozenset(),
    PayoutState.FAILED: frozenset(),
}
