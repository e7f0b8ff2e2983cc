"""Reward tiers a dreamer offers, and the claims supporters make on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tontine.db import Base, utcnow
from tontine.money import Money


class RewardTier(Base):
    """A thank-you offered for a gift of at least ``min_amount``; ``quantity`` None = unlimited."""

    __tablename__ = "gift_reward_tiers"
    __table_args__ = (
        CheckConstraint("min_amount > 0", name="min_amount_positive"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    min_amount: Mapped[int] = mapped_column(BigInteger)  # minor units, project currency
    quantity: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def minimum(self, currency: str) -> Money:
        return Money(self.min_amount, currency)


class RewardClaim(Base):
    """One contribution's claim on a tier; it counts while the contribution reserves funds."""

    __tablename__ = "gift_reward_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id"), unique=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("gift_reward_tiers.id"), index=True)
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime)
    fulfilled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tier: Mapped[RewardTier] = relationship(lazy="joined")
