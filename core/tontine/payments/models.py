"""Contribution, payment, provider event and payout rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tontine.db import Base, enum_column, utcnow
from tontine.money import Money
from tontine.payments.states import PaymentState, PayoutState


class Contribution(Base):
    """A supporter's gift, loan or investment in one project, validated by its funding model."""

    __tablename__ = "contributions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("tip_amount >= 0", name="tip_not_negative"),
        UniqueConstraint("supporter_id", "idempotency_key"),
        Index("ix_contributions_project_state", "project_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    supporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)  # to the project, minor units
    tip_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # to the platform
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # of ``amount``
    currency: Mapped[str] = mapped_column(String(3))
    # Mirrors the payment's state so that funding totals are one indexed query.
    state: Mapped[PaymentState] = mapped_column(
        enum_column(PaymentState, 24), default=PaymentState.CREATED
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_to: Mapped[str] = mapped_column(String(16), default="payment_method")  # or "balance"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the model's fields
    idempotency_key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payments: Mapped[list[Payment]] = relationship(
        back_populates="contribution", order_by="Payment.id"
    )

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def net_amount(self) -> int:
        """What still counts toward the project (after refunds)."""
        return self.amount - self.refunded_amount

    @property
    def total(self) -> Money:
        return Money(self.amount + self.tip_amount, self.currency)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[PaymentState] = mapped_column(
        enum_column(PaymentState, 24), default=PaymentState.CREATED
    )
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    contribution: Mapped[Contribution] = relationship(back_populates="payments")

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class PaymentEvent(Base):
    """Every provider event received, once: the unique key makes webhooks idempotent."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(120))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Payout(Base):
    """Money on its way out: what a project raised to its owner, or a supporter's balance.

    Exactly one of ``project_id`` and ``supporter_id`` is set: it says where the money
    came from, so a failed payout knows where to put it back.
    """

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "(project_id IS NULL) <> (supporter_id IS NULL)", name="one_source"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    supporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)  # sent to the owner, after the fee
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[PayoutState] = mapped_column(
        enum_column(PayoutState, 16), default=PayoutState.REQUESTED
    )
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
