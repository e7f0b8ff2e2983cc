"""People who log in: accounts, their roles, linked identities."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tontine.db import Base, enum_column, utcnow


class Role(enum.StrEnum):
    SUPPORTER = "supporter"
    PROJECT_OWNER = "project_owner"
    PARTNER_STAFF = "partner_staff"
    MODERATOR = "moderator"
    ADMIN = "admin"


class KycStatus(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # None once erased
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    # Public name once the user owns a project (``acct:<handle>@host``); None once erased.
    handle: Mapped[str | None] = mapped_column(String(30), unique=True, index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    kyc_status: Mapped[KycStatus] = mapped_column(
        enum_column(KycStatus, 16), default=KycStatus.NONE
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on password change and erasure: invalidates sessions and reset links.
    security_stamp: Mapped[str] = mapped_column(String(32), default="")
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    identities: Mapped[list[ExternalIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active and self.erased_at is None

    def get_id(self) -> str:  # flask-login: the stamp logs out other sessions on change
        return f"{self.id}:{self.security_stamp}"

    def has_role(self, role: Role, organization_id: int | None = None) -> bool:
        for assignment in self.roles:
            if assignment.role == Role.ADMIN and role != Role.PARTNER_STAFF:
                return True
            if assignment.role == role and (
                organization_id is None or assignment.organization_id == organization_id
            ):
                return True
        return False

    @property
    def is_moderator(self) -> bool:
        return self.has_role(Role.MODERATOR)

    @property
    def is_admin(self) -> bool:
        return any(a.role == Role.ADMIN for a in self.roles)


class Organization(Base):
    """A partner organization or team that roles can be scoped to."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "partner", "team", …
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, 32))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    user: Mapped[User] = relationship(back_populates="roles")


class ExternalIdentity(Base):
    """An OpenID Connect identity linked to an account."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user: Mapped[User] = relationship(back_populates="identities")


class StaffAction(Base):
    """Who did what to money, when and why (marking a transfer received, a refund…)."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))  # "payment:12", "payout:3"
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
