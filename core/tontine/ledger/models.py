"""Ledger rows: accounts, transactions and their postings (append-only)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tontine.db import Base, enum_column, utcnow


class AccountKind(enum.StrEnum):
    PROVIDER_CLEARING = "provider_clearing"  # money held at a payment provider (asset)
    SUPPORTER_BALANCE = "supporter_balance"  # what the platform owes a supporter
    PROJECT_ESCROW = "project_escrow"  # raised for a project, not yet paid out
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"  # requested payouts not yet confirmed
    PARTNER = "partner"  # a field partner's account
    PLATFORM_FEES = "platform_fees"  # the platform's fee income
    DONATIONS = "donations"  # tips and donations to the platform
    WRITE_OFFS = "write_offs"  # losses borne on defaults
    CURRENCY_RESULT = "currency_result"  # currency gains and losses
    OWNER_PAYABLE = "owner_payable"  # paid out to a project owner or partner (sink)


#: Kinds whose natural balance is a credit (shown positive when credited).
CREDIT_NORMAL = {
    AccountKind.SUPPORTER_BALANCE,
    AccountKind.PROJECT_ESCROW,
    AccountKind.PAYOUTS_IN_TRANSIT,
    AccountKind.PARTNER,
    AccountKind.PLATFORM_FEES,
    AccountKind.DONATIONS,
    AccountKind.CURRENCY_RESULT,
    AccountKind.OWNER_PAYABLE,
}


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "ref", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, 32))
    ref: Mapped[str] = mapped_column(String(64), default="")  # owner id or provider key
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "contribution", "refund", "payout"
    memo: Mapped[str] = mapped_column(String(200), default="")
    # What caused it, for idempotency ("payment:42:succeeded"): posted at most once.
    cause: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    postings: Mapped[list[Posting]] = relationship(back_populates="transaction")


class Posting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(BigInteger)  # debit > 0, credit < 0
    currency: Mapped[str] = mapped_column(String(3))
    transaction: Mapped[LedgerTransaction] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship()
