"""Auto-lending: a lender's idle balance is lent for them, fairly, to loans they would choose.

Lenders are never auto-lent twice to the same loan. Money is *idle* when it has sat in the balance for the lender's ``idle_days`` (90 by
default): the balance less everything credited to it more recently. The job lends it in
minimum tickets, one ticket per loan per run, each time to the eligible loan that is the
least funded (then the closest to its deadline), so no loan is favoured and a lender's
money is spread over several borrowers. Each ticket is an ordinary contribution paid with
the ``balance`` provider, with an idempotency key per lender, loan and day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import func, select

from tontine.accounts.models import User
from tontine.db import db, unit_of_work, utcnow
from tontine.errors import DomainError, first_error
from tontine.funding import ContributionRefused
from tontine.ledger.models import AccountKind, LedgerAccount, LedgerTransaction, Posting
from tontine.ledger.services import balance
from tontine.payments.models import Contribution
from tontine.payments.states import RESERVES
from tontine.projects.models import Project
from tontine.projects.schemas import CATEGORIES
from tontine.projects.states import OPEN
from tontine_loan.funding import ticket_rules
from tontine_loan.models import AutoLending, FieldPartner

DEFAULT_IDLE_DAYS = 90


def _codes(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


class AutoLendingSchema(Schema):
    """The auto-lending form: comma-separated countries, chosen sectors, limits."""

    class Meta:
        unknown = EXCLUDE

    enabled = fields.Boolean(load_default=False)
    countries = fields.List(
        fields.String(
            validate=validate.Regexp(
                r"^[A-Z]{2}$", error=_l("Countries are two-letter codes, e.g. SN, ML.")
            )
        ),
        load_default=list,
    )
    categories = fields.List(
        fields.String(
            validate=validate.OneOf(CATEGORIES, error=_l("Choose sectors from the list."))
        ),
        load_default=list,
    )
    max_risk_rating = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=1, max=5, error=_l("The risk rating is from 1 to 5.")),
    )
    max_term_months = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=1, max=360, error=_l("The term is 1 to 360 months.")),
    )
    idle_days = fields.Integer(
        load_default=DEFAULT_IDLE_DAYS,
        strict=False,
        validate=validate.Range(min=1, max=3650, error=_l("Wait between 1 and 3650 days.")),
    )

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        if "countries" in data:
            data["countries"] = [c.upper() for c in _codes(data["countries"])]
        if "categories" in data:
            data["categories"] = _codes(data["categories"])
        if data.get("enabled") in ("y", "on", "1", "true"):
            data["enabled"] = True
        return data


def settings_of(user_id: int) -> AutoLending | None:
    return db.session.get(AutoLending, user_id)


def save_settings(user: User, data: dict[str, Any]) -> AutoLending:
    try:
        clean = AutoLendingSchema().load(data)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise DomainError(message, field=field) from exc
    with unit_of_work() as session:
        setting = session.get(AutoLending, user.id) or AutoLending(user_id=user.id)
        setting.enabled = clean["enabled"]
        setting.countries = ",".join(sorted(set(clean["countries"])))
        setting.categories = ",".join(sorted(set(clean["categories"])))
        setting.max_risk_rating = clean["max_risk_rating"]
        setting.max_term_months = clean["max_term_months"]
        setting.idle_days = clean["idle_days"]
        session.add(setting)
    return setting


def idle_amount(user_id: int, currency: str, idle_days: int, now: datetime) -> int:
    """The balance less what was credited to it within the last ``idle_days``."""
    held = balance(AccountKind.SUPPORTER_BALANCE, user_id, currency).amount
    recent = db.session.scalar(
        select(func.coalesce(func.sum(-Posting.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.transaction_id)
        .where(
            LedgerAccount.kind == AccountKind.SUPPORTER_BALANCE,
            LedgerAccount.ref == str(user_id),
            LedgerAccount.currency == currency,
            Posting.amount < 0,
            LedgerTransaction.created_at >= now - timedelta(days=idle_days),
        )
    )
    return max(0, held - int(recent or 0))


def eligible_loans(setting: AutoLending, currency: str, now: datetime) -> list[Project]:
    query = select(Project).where(
        Project.funding_model == "loan",
        Project.state == OPEN,
        Project.currency == currency,
        Project.deadline > now,
    )
    if setting.countries:
        query = query.where(Project.country.in_(setting.countries.split(",")))
    if setting.categories:
        query = query.where(Project.category.in_(setting.categories.split(",")))
    projects = list(db.session.scalars(query.order_by(Project.id)))
    if setting.max_term_months:
        projects = [
            p
            for p in projects
            if int((p.terms or {}).get("term_months") or 0) <= setting.max_term_months
        ]
    if setting.max_risk_rating:
        ratings = dict(db.session.execute(select(FieldPartner.id, FieldPartner.risk_rating)).all())
        projects = [
            p
            for p in projects
            if (p.terms or {}).get("partner_id") is not None
            and (ratings.get(p.terms["partner_id"]) or 99) <= setting.max_risk_rating
        ]
    return projects


def auto_lend(today: date | None = None, now: datetime | None = None) -> int:
    """Job: lend every opted-in lender's idle balance; returns the number of loans made."""
    from tontine.payments.services import contribute
    from tontine.projects.services import reserved

    if "balance" not in current_app.config["PAYMENT_PROVIDERS"]:
        return 0
    now = now or utcnow()
    today = today or now.date()
    currency = current_app.config["CURRENCY"]
    minimum, _step = ticket_rules(currency)
    settings = list(
        db.session.scalars(
            select(AutoLending).where(AutoLending.enabled.is_(True)).order_by(AutoLending.user_id)
        )
    )
    made = 0
    for setting in settings:
        idle = idle_amount(setting.user_id, currency, setting.idle_days, now)
        if idle < minimum.amount:
            continue
        lender = db.session.get(User, setting.user_id)
        if lender is None or not lender.is_active:
            continue
        already = set(
            db.session.scalars(
                select(Contribution.project_id).where(
                    Contribution.supporter_id == lender.id, Contribution.state.in_(RESERVES)
                )
            )
        )
        candidates = [p for p in eligible_loans(setting, currency, now) if p.id not in already]
        need = {p.id: p.goal_amount - reserved(p) for p in candidates}
        db.session.rollback()
        while idle >= minimum.amount and candidates:
            candidates.sort(
                key=lambda p: ((p.goal_amount - need[p.id]) / p.goal_amount, p.deadline, p.id)
            )
            project = candidates.pop(0)
            ticket = min(minimum.amount, need[project.id])
            if ticket <= 0:
                continue
            try:
                contribute(
                    project_id=project.id,
                    supporter=lender,
                    amount=_decimal(ticket, currency),
                    provider_key="balance",
                    idempotency_key=f"auto:{lender.id}:{project.id}:{today.isoformat()}",
                    return_url="/",
                    details={},
                )
            except (ContributionRefused, DomainError):
                continue
            idle -= ticket
            need[project.id] -= ticket
            made += 1
    return made


def _decimal(minor: int, currency: str) -> str:
    from tontine.money import Money

    return Money(minor, currency).decimal_string()


def run_batch(payload: dict[str, Any] | None = None) -> dict[str, int]:
    """The loan batch (daily; covers the monthly work): the week's reminders to partners,
    arrears and defaults, then auto-lending."""
    from tontine_loan.reminders import queue_weekly
    from tontine_loan.services import review_all

    queue_weekly(utcnow().date())
    return {"reviewed": review_all(), "auto_loans": auto_lend()}
