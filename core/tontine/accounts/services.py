"""Account services: sign-up, authentication, roles; no request objects here."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from tontine.accounts.models import Role, RoleAssignment, User
from tontine.db import db, unit_of_work
from tontine.errors import DomainError

_hasher = PasswordHasher()
MIN_PASSWORD = 10


class AccountError(DomainError):
    """A sign-up or log-in the user must correct."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_stamp() -> str:
    return secrets.token_hex(8)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalars(
        select(User).where(func.lower(User.email) == normalize_email(email))
    ).first()


def create_user(
    *, email: str, password: str, display_name: str, roles: tuple[Role, ...] = (Role.SUPPORTER,)
) -> User:
    """Create an account; the e-mail must be free and the password long enough."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password needs at least {MIN_PASSWORD} characters.", field="password")
    with unit_of_work() as session:
        if find_by_email(email) is not None:
            raise AccountError("An account already uses this e-mail address.", field="email")
        user = User(
            email=normalize_email(email),
            password_hash=hash_password(password),
            display_name=display_name.strip()[:80],
            security_stamp=new_stamp(),
        )
        user.roles = [RoleAssignment(role=role) for role in roles]
        session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None:
        _hasher.hash(password)  # same cost whether or not the account exists
        return None
    if not user.is_active or not check_password(user, password):
        return None
    return user


def load_user(user_id: str) -> User | None:
    """flask-login loader: ``"<id>:<stamp>"``; a changed stamp ends old sessions."""
    ident, _, stamp = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or user.security_stamp != stamp or not user.is_active:
        return None
    return user


def grant_role(user: User, role: Role, organization_id: int | None = None) -> None:
    with unit_of_work():
        if not any(a.role == role and a.organization_id == organization_id for a in user.roles):
            user.roles.append(RoleAssignment(role=role, organization_id=organization_id))


def ensure_admin(*, email: str, display_name: str, password: str) -> User:
    user = find_by_email(email)
    if user is None:
        user = create_user(
            email=email, password=password, display_name=display_name,
            roles=(Role.SUPPORTER, Role.ADMIN),
        )
    else:
        grant_role(user, Role.ADMIN)
    return user
