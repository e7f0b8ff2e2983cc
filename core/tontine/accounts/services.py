"""Account services: sign-up, authentication, roles; no request objects here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from tontine.accounts.models import Role, RoleAssignment, StaffAction, User
from tontine.db import db, unit_of_work, utcnow
from tontine.errors import DomainError, Forbidden
from tontine.money import Money

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
        raise AccountError(
            _("The password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    taken = AccountError(_("An account already uses this e-mail address."), field="email")
    try:
        with unit_of_work() as session:
            if find_by_email(email) is not None:
                raise taken
            user = User(
                email=normalize_email(email),
                password_hash=hash_password(password),
                display_name=display_name.strip()[:80],
                security_stamp=new_stamp(),
            )
            user.roles = [RoleAssignment(role=role) for role in roles]
            session.add(user)
    except IntegrityError as exc:  # the same address signed up concurrently
        raise taken from exc
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None:
        _hasher.hash(password)  # same cost whether or not the account exists
        return None
    if not user.is_active or not check_password(user, password):
        return None
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        with unit_of_work():  # stronger argon2 parameters since this hash was made
            user.password_hash = hash_password(password)
    return user


def load_user(user_id: str) -> User | None:
    """flask-login loader: ``"<id>:<stamp>"``; a changed stamp ends old sessions."""
    ident, _, stamp = user_id.partition(":")
    if not ident.isdigit():
        return None
    # The user and its roles in one query (``User.roles`` alone is a second, selectin, one):
    # every signed-in request runs this.
    user = db.session.get(User, int(ident), options=[joinedload(User.roles)])
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
            email=email,
            password=password,
            display_name=display_name,
            roles=(Role.SUPPORTER, Role.ADMIN),
        )
    else:
        grant_role(user, Role.ADMIN)
    return user


# --- Profile ---------------------------------------------------------------------------


def update_profile(user: User, *, display_name: str, locale: str | None) -> User:
    """Change what the user may change about themselves: their name and preferred language."""
    name = display_name.strip()
    if not name:
        raise AccountError(_("Please enter a display name."), field="display_name")
    if len(name) > 80:
        raise AccountError(_("A display name has at most 80 characters."), field="display_name")
    if locale and locale not in current_app.config["LOCALES"]:
        raise AccountError(_("This language is not available here."), field="locale")
    with unit_of_work():
        user.display_name = name
        user.locale = locale or None
    return user


# --- Public handle -----------------------------------------------------------------------

HANDLE_MAX = 30
#: Names an owner never gets: the site's own accounts and paths (``acct:tontine@host`` is the
#: federation's instance actor).
RESERVED_HANDLES = frozenset(
    {"admin", "administrator", "root", "tontine", "actor", "instance", "moderator", "staff",
     "support", "system", "inbox", "outbox", "webmaster", "postmaster", "abuse", "security"}
)


def handle_base(display_name: str) -> str:
    """A lowercase ascii slug of a name (``[a-z0-9_]``, at most 30): "Zoë Ång" → ``zoe_ang``."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:HANDLE_MAX].rstrip("_")


def _free_handle(base: str) -> str:
    """``base``, or ``base2``, ``base3``… (cut to fit 30): the first no account holds."""
    taken = set(
        db.session.scalars(select(User.handle).where(User.handle.like(f"{base[:20]}%"))).all()
    ) | RESERVED_HANDLES
    number = 1
    while True:
        suffix = "" if number == 1 else str(number)
        candidate = base[: HANDLE_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def ensure_handle(user: User) -> str:
    """Give ``user`` a public handle if they have none; it never changes afterwards.

    Called when the user first owns a project: federation publishes owners under it. Two
    accounts racing for the same name: the loser's savepoint fails and it takes the next one.
    """
    if user.handle:
        return user.handle
    with unit_of_work() as session:
        for _attempt in range(5):
            candidate = _free_handle(handle_base(user.display_name) or f"owner{user.id}")
            try:
                with session.begin_nested():
                    user.handle = candidate
                    session.flush()
            except IntegrityError:  # taken meanwhile by a concurrent transaction
                continue
            return candidate
    raise AccountError(_("Please try again in a moment."))


# --- Password reset --------------------------------------------------------------------

RESET_SALT = "tontine.accounts.password-reset"


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _stamp_digest(user: User) -> str:
    """Ties a link to the account's current stamp without showing the stamp itself."""
    return hashlib.sha256(f"reset:{user.security_stamp}".encode()).hexdigest()[:20]


def password_reset_token(user: User) -> str:
    """A signed link token, valid until it expires or the account's stamp changes."""
    return _reset_serializer().dumps({"uid": user.id, "stamp": _stamp_digest(user)})


def reset_max_age() -> int:
    return int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))


def user_for_reset_token(token: str) -> User | None:
    """The account a reset link is for, or None when forged, expired, used or stale."""
    try:
        data = _reset_serializer().loads(token, max_age=reset_max_age())
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = db.session.get(User, data["uid"])
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(str(data.get("stamp", "")), _stamp_digest(user)):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if an active account uses ``email``; silent otherwise (no probing)."""
    from tontine.mail import external_url, send_mail

    with unit_of_work():
        user = find_by_email(email) if email and email.strip() else None
        if user is None or not user.is_active or not user.email:
            return
        link = external_url("accounts.reset_password", token=password_reset_token(user))
        send_mail(
            user.email,
            lazy_gettext("Reset your password"),
            "password_reset",
            locale=user.locale,
            user_name=user.display_name,
            link=link,
            minutes=reset_max_age() // 60,
        )


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; the new stamp ends every other session."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            _("The password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    with unit_of_work():
        user = user_for_reset_token(token)
        if user is None:
            raise AccountError(
                _("This reset link is invalid, expired or already used. Please ask for a new one.")
            )
        user.password_hash = hash_password(password)
        user.security_stamp = new_stamp()
    return user


# --- Personal data: export and erasure ---------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def export_personal_data(user: User) -> dict[str, Any]:
    """Everything the site holds about ``user``, as JSON-ready data (GDPR art. 15 and 20)."""
    from tontine.payments.models import Contribution
    from tontine.projects.models import Comment, Person, Project, ProjectUpdate

    session = db.session
    contributions = session.execute(
        select(Contribution, Project.title)
        .join(Project, Project.id == Contribution.project_id)
        .where(Contribution.supporter_id == user.id)
        .order_by(Contribution.id)
    ).all()
    projects = session.scalars(
        select(Project).where(Project.owner_id == user.id).order_by(Project.id)
    ).all()
    comments = session.scalars(
        select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)
    ).all()
    updates = session.scalars(
        select(ProjectUpdate).where(ProjectUpdate.author_id == user.id).order_by(ProjectUpdate.id)
    ).all()
    people = session.scalars(
        select(Person).where(Person.user_id == user.id).order_by(Person.id)
    ).all()
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "handle": user.handle,
            "locale": user.locale,
            "kyc_status": str(user.kyc_status),
            "created_at": _when(user.created_at),
            "erased_at": _when(user.erased_at),
        },
        "roles": [
            {"role": str(a.role), "organization_id": a.organization_id}
            for a in sorted(user.roles, key=lambda a: a.id)
        ],
        "identities": [{"issuer": i.issuer, "subject": i.subject} for i in user.identities],
        "people": [
            {
                "id": p.id,
                "name": p.name,
                "photo": p.photo,
                "town": p.town,
                "country": p.country,
                "consent_publish": p.consent_publish,
                "consent_federate": p.consent_federate,
                "consent_recorded_at": _when(p.consent_recorded_at),
            }
            for p in people
        ],
        "contributions": [
            {
                "id": c.id,
                "project_id": c.project_id,
                "project_title": title,
                "amount": Money(c.amount, c.currency).decimal_string(),
                "tip": Money(c.tip_amount, c.currency).decimal_string(),
                "refunded": Money(c.refunded_amount, c.currency).decimal_string(),
                "currency": c.currency,
                "state": str(c.state),
                "anonymous": c.anonymous,
                "refund_to": c.refund_to,
                "details": c.details or {},
                "created_at": _when(c.created_at),
            }
            for c, title in contributions
        ],
        "projects": [
            {
                "id": p.id,
                "title": p.title,
                "summary": p.summary,
                "story": p.story,
                "place": p.place,
                "country": p.country,
                "category": p.category,
                "goal": Money(p.goal_amount, p.currency).decimal_string(),
                "currency": p.currency,
                "funding_model": p.funding_model,
                "state": p.state,
                "created_at": _when(p.created_at),
            }
            for p in projects
        ],
        "comments": [
            {
                "id": c.id,
                "project_id": c.project_id,
                "body": c.body,
                "hidden": c.hidden,
                "created_at": _when(c.created_at),
            }
            for c in comments
        ],
        "updates": [
            {
                "id": u.id,
                "project_id": u.project_id,
                "title": u.title,
                "body": u.body,
                "created_at": _when(u.created_at),
            }
            for u in updates
        ],
    }


ERASED_NAME = "Erased account"
ANONYMOUS_PERSON = "Anonymous"


def can_manage_account(actor: User | None, user: User) -> bool:
    """Only the account's holder, or an admin, may export or erase it."""
    return actor is not None and (actor.id == user.id or actor.is_admin)


def erase_account(user: User, actor: User, reason: str = "") -> User:
    """Anonymize an account and the people it appears as; the books stay as they are.

    Contributions and ledger rows are kept (the ledger only knows account ids), so totals,
    balances and the trial balance do not move. Projects showing an erased person are saved
    again, and ``account_erased`` runs, so that plugins (federation) update what they
    published under the person's name or handle.
    """
    from tontine.extensions import hook
    from tontine.projects.models import Comment, Person, Project

    if not can_manage_account(actor, user):
        raise Forbidden(_("You can only erase your own account."))
    with unit_of_work() as session:
        if user.erased_at is not None:
            return user
        people = session.scalars(select(Person).where(Person.user_id == user.id)).all()
        person_ids = [p.id for p in people]
        for person in people:
            old_photo = person.photo
            person.name = ANONYMOUS_PERSON
            person.photo = None
            person.consent_publish = False
            person.consent_federate = False
            person.consent_recorded_at = utcnow()
            person.consent_recorded_by = actor.id
            if old_photo:
                session.execute(
                    update(Project)
                    .where(Project.person_id == person.id, Project.photo == old_photo)
                    .values(photo=None)
                )
        session.execute(update(Comment).where(Comment.author_id == user.id).values(body=""))
        user.email = None
        user.password_hash = None
        user.display_name = ERASED_NAME
        user.handle = None
        user.locale = None
        user.erased_at = utcnow()
        user.security_stamp = new_stamp()
        user.identities = []
        if actor.id != user.id:
            session.add(
                StaffAction(
                    actor_id=actor.id,
                    action="erase_account",
                    subject=f"user:{user.id}",
                    reason=(reason or "erasure requested")[:500],
                )
            )
        session.flush()
        if person_ids:
            projects = session.scalars(
                select(Project).where(Project.person_id.in_(person_ids))
            ).all()
            for project in projects:
                session.refresh(project)
                hook().project_saved(project=project)
        hook().account_erased(user=user)
    return user
