"""Field partners: creating them, their staff and their risk rating (admins only)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from tontine.accounts.models import Organization, Role, User
from tontine.accounts.services import grant_role
from tontine.db import db, lock_row, unit_of_work
from tontine.errors import DomainError, Forbidden, NotFound
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, credit, debit, post
from tontine.money import Money, MoneyError
from tontine.payments.services import record_staff_action
from tontine.projects.models import Project
from tontine_loan.models import FieldPartner


def partner_exists(partner_id: int) -> bool:
    """Whether ``partner_id`` names an active field partner (terms validation)."""
    return (
        db.session.scalar(
            select(FieldPartner.id).where(
                FieldPartner.id == partner_id, FieldPartner.active.is_(True)
            )
        )
        is not None
    )


def get_partner(partner_id: int) -> FieldPartner:
    partner = db.session.get(FieldPartner, partner_id)
    if partner is None:
        raise NotFound(_("No such field partner."))
    return partner


def _rating(value: int | str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        rating = int(str(value))
    except ValueError as exc:
        raise DomainError(
            _("The risk rating is a whole number from 1 to 5."), field="risk_rating"
        ) from exc
    if not 1 <= rating <= 5:
        raise DomainError(_("The risk rating is a whole number from 1 to 5."), field="risk_rating")
    return rating


def _borrower_rate(value: Decimal | str) -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", ".").rstrip("%"))
    except InvalidOperation as exc:
        raise DomainError(_("Enter a percentage, e.g. 24."), field="borrower_rate") from exc
    if not rate.is_finite() or not 0 <= rate <= 200:
        raise DomainError(
            _("The borrowers' interest rate is between 0 and 200 %."), field="borrower_rate"
        )
    return rate


def create_partner(
    admin: User,
    *,
    name: str,
    country: str,
    borrower_rate: Decimal | str = "0",
    risk_rating: int | str | None = None,
    description: str = "",
    website: str = "",
) -> FieldPartner:
    """Register a partner organization; only admins vet partners."""
    if not admin.is_admin:
        raise Forbidden(_("Only an admin can add a field partner."))
    name = name.strip()
    country = country.strip().upper()
    if not 1 <= len(name) <= 120:
        raise DomainError(_("A partner's name has 1 to 120 characters."), field="name")
    if len(country) != 2 or not country.isalpha():
        raise DomainError(_("The country is a two-letter code, e.g. SN."), field="country")
    rate = _borrower_rate(borrower_rate)
    rating = _rating(risk_rating)
    website = website.strip()
    if website and not website.startswith(("https://", "http://")):
        raise DomainError(_("A website address starts with https:// or http://."), field="website")
    with unit_of_work() as session:
        organization = Organization(kind="partner", name=name)
        partner = FieldPartner(
            organization=organization,
            country=country,
            borrower_rate=rate,
            risk_rating=rating,
            description=description.strip()[:5000],
            website=website[:200],
        )
        session.add(partner)
        session.flush()
        record_staff_action(admin, "partner_created", f"partner:{partner.id}", name)
    return partner


def set_risk_rating(admin: User, partner_id: int, rating: int | str, reason: str) -> FieldPartner:
    if not admin.is_admin:
        raise Forbidden(_("Only an admin can rate a field partner."))
    value = _rating(rating)
    if value is None:
        raise DomainError(_("The risk rating is a whole number from 1 to 5."), field="risk_rating")
    with unit_of_work():
        partner = get_partner(partner_id)
        partner.risk_rating = value
        record_staff_action(admin, "partner_rated", f"partner:{partner.id}", reason or str(value))
    return partner


def add_staff(admin: User, partner_id: int, user: User) -> None:
    """Give ``user`` the partner-staff role for this partner (idempotent)."""
    if not admin.is_admin:
        raise Forbidden(_("Only an admin can add partner staff."))
    with unit_of_work():
        partner = get_partner(partner_id)
        grant_role(user, Role.PARTNER_STAFF, partner.organization_id)
        record_staff_action(
            admin, "partner_staff_added", f"partner:{partner.id}", f"user:{user.id}"
        )


def staff_partners(user: User) -> list[FieldPartner]:
    """The partners ``user`` works for."""
    org_ids = [
        a.organization_id for a in user.roles if a.role == Role.PARTNER_STAFF and a.organization_id
    ]
    if not org_ids:
        return []
    return list(
        db.session.scalars(select(FieldPartner).where(FieldPartner.organization_id.in_(org_ids)))
    )


def check_listing(project: Project) -> None:
    """A loan through a partner is listed by that partner's staff (or an admin); it belongs
    to the partner's organization so that all its staff can edit it and post its journal."""
    partner_id = (project.terms or {}).get("partner_id")
    if project.funding_model != "loan" or partner_id is None:
        return
    partner = get_partner(int(partner_id))
    owner = db.session.get(User, project.owner_id) if project.owner_id else None
    if owner is None or not (
        owner.is_admin or owner.has_role(Role.PARTNER_STAFF, partner.organization_id)
    ):
        raise DomainError(
            _("Only the staff of %(partner)s can list loans through it.", partner=partner.name),
            field="terms.partner_id",
            status=403,
        )
    project.organization_id = partner.organization_id


def partner_position(partner: FieldPartner, currency: str) -> Money:
    """The partner's account with the platform: positive, the platform owes the partner
    (disbursed loans not yet paid out); negative, the partner owes the platform (repayments
    collected, not yet transferred)."""
    return balance(AccountKind.PARTNER, partner.id, currency)


def settle(
    admin: User,
    partner_id: int,
    *,
    amount: Decimal | str,
    direction: str,
    currency: str,
    reason: str,
) -> None:
    """Record a bank transfer between the platform and a partner (staff, with a reason).

    ``direction`` is ``"to_partner"`` (the platform paid out disbursed loans) or
    ``"from_partner"`` (the partner transferred the repayments it collected). Neither may
    exceed what is owed that way.
    """
    if not admin.is_admin:
        raise Forbidden(_("Only an admin records transfers with partners."))
    if direction not in ("to_partner", "from_partner"):
        raise DomainError(_("Say which way the money went."), field="direction")
    if not reason.strip():
        raise DomainError(_("Say how the transfer was checked."), field="reason")
    try:
        money = Money.from_decimal(str(amount).strip().replace(",", "."), currency)
    except (MoneyError, ValueError) as exc:
        raise DomainError(
            _("Enter an amount in %(currency)s.", currency=currency), field="amount"
        ) from exc
    if money.amount <= 0:
        raise DomainError(_("The amount must be more than zero."), field="amount")
    with unit_of_work():
        partner = get_partner(partner_id)
        lock_row(FieldPartner, partner.id)
        position = partner_position(partner, currency)
        owed = position.amount if direction == "to_partner" else -position.amount
        if money.amount > owed:
            raise DomainError(
                _("Only %(owed)s is owed that way.", owed=str(Money(max(owed, 0), currency))),
                field="amount",
            )
        legs = (
            [
                debit(AccountKind.PARTNER, partner.id, money),
                credit(AccountKind.PROVIDER_CLEARING, "manual", money),
            ]
            if direction == "to_partner"
            else [
                debit(AccountKind.PROVIDER_CLEARING, "manual", money),
                credit(AccountKind.PARTNER, partner.id, money),
            ]
        )
        txn = post(
            "partner_settlement", legs, memo=f"transfer {direction.replace('_', ' ')} {partner.id}"
        )
        assert txn is not None
        record_staff_action(admin, f"partner_transfer_{direction}", f"partner:{partner.id}", reason)
