"""Loan rows: field partners, loans, lenders' shares, stored schedules and repayments.

Money columns are integer minor units. What a loan owes its lenders is derived from these
append-only rows (the stored schedule, the shares, the parts of each repayment and
write-off), never kept as a mutable running total.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tontine.accounts.models import Organization
from tontine.db import Base, utcnow


class FieldPartner(Base):
    """A microfinance institution or association that vets, disburses and collects loans.

    Its staff are accounts with the ``partner_staff`` role scoped to ``organization_id``.
    The risk rating is set by admins; every other figure on its page is computed.
    """

    __tablename__ = "loan_partners"
    __table_args__ = (
        CheckConstraint(
            "risk_rating IS NULL OR (risk_rating BETWEEN 1 AND 5)", name="risk_rating_range"
        ),
        CheckConstraint("borrower_rate >= 0", name="borrower_rate_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    risk_rating: Mapped[int | None] = mapped_column(Integer)
    #: Typical yearly interest rate the partner charges borrowers, in percent (shown to lenders).
    borrower_rate: Mapped[Decimal] = mapped_column(Numeric(7, 3), default=Decimal(0))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.organization.name


class Loan(Base):
    """A funded loan: its principal, terms frozen at funding, and its disbursal."""

    __tablename__ = "loans"
    __table_args__ = (CheckConstraint("principal > 0", name="principal_positive"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("loan_partners.id"), index=True)
    principal: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))  # fraction: 0.05 for 5 %
    term_months: Mapped[int] = mapped_column(Integer)
    grace_months: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str] = mapped_column(String(16), default="monthly")
    day_count: Mapped[str] = mapped_column(String(12), default="30/360")
    loss_liability: Mapped[str] = mapped_column(String(16), default="lenders")
    currency_risk: Mapped[str] = mapped_column(String(24), default="partner_covers")
    funded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    disbursed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Borrower's currency and the rate at disbursal: local units per unit of ``currency``.
    local_currency: Mapped[str | None] = mapped_column(String(3))
    disbursal_rate: Mapped[Decimal | None] = mapped_column(Numeric(20, 8))
    delinquent_since: Mapped[date | None] = mapped_column(Date)
    written_off_at: Mapped[datetime | None] = mapped_column(DateTime)
    partner: Mapped[FieldPartner | None] = relationship()
    instalments: Mapped[list[Instalment]] = relationship(order_by="Instalment.number")


class LenderShare(Base):
    """What one lender lent to one loan (the sum of their confirmed contributions)."""

    __tablename__ = "loan_shares"
    __table_args__ = (
        UniqueConstraint("project_id", "lender_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("loans.project_id"), index=True)
    lender_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))


class Instalment(Base):
    """One due instalment of a loan's schedule, computed once at disbursal."""

    __tablename__ = "loan_instalments"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("loans.project_id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due: Mapped[date] = mapped_column(Date, index=True)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)

    @property
    def total(self) -> int:
        return self.principal + self.interest


class Repayment(Base):
    """A repayment recorded by the partner (partial, late or early), with its rate.

    ``settled`` is what it pays off of the loan in the lending currency (at the disbursal
    rate); ``credited`` what reached the lenders' balances. They differ only when lenders
    bear part of a currency loss.
    """

    __tablename__ = "loan_repayments"
    __table_args__ = (
        UniqueConstraint("project_id", "idempotency_key"),
        CheckConstraint("settled > 0", name="settled_positive"),
        CheckConstraint("credited >= 0 AND credited <= settled", name="credited_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("loans.project_id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    settled: Mapped[int] = mapped_column(BigInteger)
    credited: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    local_amount: Mapped[int | None] = mapped_column(BigInteger)
    local_currency: Mapped[str | None] = mapped_column(String(3))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(20, 8))  # local units per lending unit
    #: Value at the disbursal rate minus value at this rate (negative: a gain), lending currency.
    currency_loss: Mapped[int] = mapped_column(BigInteger, default=0)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RepaymentPart(Base):
    """One lender's part of a repayment: what it settles and what was credited."""

    __tablename__ = "loan_repayment_parts"

    repayment_id: Mapped[int] = mapped_column(ForeignKey("loan_repayments.id"), primary_key=True)
    share_id: Mapped[int] = mapped_column(
        ForeignKey("loan_shares.id"), primary_key=True, index=True
    )
    settled: Mapped[int] = mapped_column(BigInteger)
    credited: Mapped[int] = mapped_column(BigInteger)


class WriteOff(Base):
    """A defaulted loan's outstanding amount written off, borne by the lenders or the partner."""

    __tablename__ = "loan_write_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("loans.project_id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    borne_by: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WriteOffPart(Base):
    """One lender's part of a write-off (what they will not be repaid, or what the partner paid)."""

    __tablename__ = "loan_write_off_parts"

    write_off_id: Mapped[int] = mapped_column(ForeignKey("loan_write_offs.id"), primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("loan_shares.id"), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class LendingTeam(Base):
    """People who gather to lend together (the seed article's communities)."""

    __tablename__ = "loan_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.organization.name


class TeamMember(Base):
    __tablename__ = "loan_team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("loan_teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    captain: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AutoLending(Base):
    """A lender's standing order: lend idle balance to loans matching these filters."""

    __tablename__ = "loan_auto_lending"
    __table_args__ = (CheckConstraint("idle_days >= 1", name="idle_days_positive"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    countries: Mapped[str] = mapped_column(String(200), default="")  # "SN,ML" or "" for any
    categories: Mapped[str] = mapped_column(String(400), default="")
    max_risk_rating: Mapped[int | None] = mapped_column(
        Integer
    )  # partners rated 1 (lowest risk) … this
    max_term_months: Mapped[int | None] = mapped_column(Integer)
    idle_days: Mapped[int] = mapped_column(Integer, default=90)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
