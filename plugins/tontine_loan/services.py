"""Loan services: open a funded loan, disburse it, record repayments, mark arrears, write off.

Ledger design (amounts in the lending currency):

- lenders' contributions are in ``PROJECT_ESCROW(project)`` (the core posts them);
- **disbursal** moves the principal from the escrow to the borrower's account —
  ``PARTNER(partner id)``, the partner's account with the platform (credited: what the
  platform owes the partner, settled by a payout; debited: what the partner owes). A loan
  without a partner uses ``OWNER_PAYABLE("loan:<project id>")``;
- a **repayment** debits that account with what reaches the lenders and credits each
  lender's ``SUPPORTER_BALANCE``, split exactly, in one transaction;
- a **write-off borne by the partner** is the same movement for everything still owed; a
  write-off borne by the lenders moves no money — the amounts the lenders will not get are
  recorded per lender (``WriteOffPart``) and shown in their portfolio.

What each lender is still owed is derived from append-only rows: their share of the stored
schedule (largest remainder) less the parts of every repayment and write-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from tontine.accounts.models import Role, User
from tontine.db import db, lock_row, unit_of_work, utcnow
from tontine.errors import Conflict, DomainError, Forbidden, NotFound
from tontine.ledger.models import AccountKind
from tontine.ledger.services import credit, debit, post
from tontine.money import Money, MoneyError, allocate
from tontine.payments.models import Contribution
from tontine.payments.services import record_staff_action
from tontine.payments.states import HOLDS_FUNDS
from tontine.projects import states
from tontine.projects.models import Project
from tontine_loan.funding import DEFAULTED, DELINQUENT, lender_rate
from tontine_loan.models import (
    FieldPartner,
    Instalment,
    LenderShare,
    LendingTeam,
    Loan,
    Repayment,
    RepaymentPart,
    WriteOff,
    WriteOffPart,
)
from tontine_loan.schedule import ScheduleError, add_months, build_schedule

REPAYING_STATES = frozenset({states.RUNNING, DELINQUENT})
DEFAULT_AFTER_MONTHS = 6


# --- Reading a loan ---------------------------------------------------------------------


def get_loan(project_id: int) -> Loan:
    loan = db.session.get(Loan, project_id)
    if loan is None:
        raise NotFound(_("This project has no loan yet."))
    return loan


def borrower_account(loan: Loan) -> tuple[AccountKind, str]:
    """The ledger account the loan is disbursed to and repaid from."""
    if loan.partner_id is not None:
        return AccountKind.PARTNER, str(loan.partner_id)
    return AccountKind.OWNER_PAYABLE, f"loan:{loan.project_id}"


def shares_of(project_id: int) -> list[LenderShare]:
    return list(
        db.session.scalars(
            select(LenderShare).where(LenderShare.project_id == project_id).order_by(LenderShare.id)
        )
    )


def total_due(loan: Loan) -> int:
    """What the loan owes its lenders in all: the stored schedule (principal + interest)."""
    return sum(i.total for i in loan.instalments)


def due_by(loan: Loan, day: date) -> int:
    """What should have been repaid by ``day`` according to the stored schedule."""
    return sum(i.total for i in loan.instalments if i.due <= day)


def settled_total(project_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Repayment.settled), 0)).where(
                Repayment.project_id == project_id
            )
        )
        or 0
    )


@dataclass(frozen=True)
class LenderPosition:
    share: LenderShare
    entitled: int  # the lender's part of principal + interest
    settled: int  # paid off by repayments (credited, or lost to currency)
    written_off: int

    @property
    def outstanding(self) -> int:
        return self.entitled - self.settled - self.written_off


def positions(loan: Loan, shares: list[LenderShare] | None = None) -> list[LenderPosition]:
    """Every lender's entitlement and what has been settled or written off, in share order."""
    shares = shares if shares is not None else shares_of(loan.project_id)
    if not shares:
        return []
    due = total_due(loan) or loan.principal
    entitled = allocate(due, [s.amount for s in shares])
    settled = dict(
        db.session.execute(
            select(RepaymentPart.share_id, func.sum(RepaymentPart.settled))
            .join(Repayment, Repayment.id == RepaymentPart.repayment_id)
            .where(Repayment.project_id == loan.project_id)
            .group_by(RepaymentPart.share_id)
        ).all()
    )
    lost = dict(
        db.session.execute(
            select(WriteOffPart.share_id, func.sum(WriteOffPart.amount))
            .join(WriteOff, WriteOff.id == WriteOffPart.write_off_id)
            .where(WriteOff.project_id == loan.project_id)
            .group_by(WriteOffPart.share_id)
        ).all()
    )
    return [
        LenderPosition(s, e, int(settled.get(s.id, 0)), int(lost.get(s.id, 0)))
        for s, e in zip(shares, entitled, strict=True)
    ]


def can_manage(user: User | None, loan_or_project: Loan | Project) -> bool:
    """Partner staff of the loan's partner, or an admin."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    project = (
        loan_or_project
        if isinstance(loan_or_project, Project)
        else db.session.get(Project, loan_or_project.project_id)
    )
    partner_id = (project.terms or {}).get("partner_id") if project else None
    if partner_id is None:
        return False
    partner = db.session.get(FieldPartner, partner_id)
    return partner is not None and user.has_role(Role.PARTNER_STAFF, partner.organization_id)


# --- Funding ----------------------------------------------------------------------------


def open_loan(project: Project) -> Loan:
    """Freeze a funded project into a ``Loan`` with one share per lender (inside a unit of work).

    With flexible funding the principal is what was raised. Idempotent.
    """
    existing = db.session.get(Loan, project.id)
    if existing is not None:
        return existing
    rows = db.session.execute(
        select(
            Contribution.supporter_id,
            Contribution.amount - Contribution.refunded_amount,
            Contribution.details,
        )
        .where(Contribution.project_id == project.id, Contribution.state.in_(HOLDS_FUNDS))
        .order_by(Contribution.id)
    ).all()
    lent: dict[int | None, int] = {}
    teams: dict[int | None, int | None] = {}
    for supporter_id, amount, details in rows:
        lent[supporter_id] = lent.get(supporter_id, 0) + int(amount)
        team = (details or {}).get("team_id")
        if team is not None:
            found = db.session.get(LendingTeam, int(team))
            if found is not None:
                teams[supporter_id] = found.organization_id
    principal = sum(lent.values())
    if principal <= 0:
        raise DomainError(_("A loan needs lenders before it can be funded."))
    terms = project.terms or {}
    loan = Loan(
        project_id=project.id,
        partner_id=terms.get("partner_id"),
        principal=principal,
        currency=project.currency,
        method=terms.get("method") or "zero_interest",
        annual_rate=lender_rate(terms),
        term_months=int(terms["term_months"]),
        grace_months=int(terms.get("grace_months") or 0),
        frequency=terms.get("repayment_frequency", "monthly"),
        day_count=terms.get("day_count", "30/360"),
        loss_liability=terms.get("loss_liability", "lenders"),
        currency_risk=terms.get("currency_risk", "partner_covers"),
        local_currency=terms.get("local_currency"),
        funded_at=utcnow(),
    )
    db.session.add(loan)
    db.session.flush()
    for lender_id, amount in lent.items():
        if amount > 0:
            db.session.add(
                LenderShare(
                    project_id=project.id,
                    lender_id=lender_id,
                    amount=amount,
                    team_id=teams.get(lender_id),
                )
            )
    db.session.flush()
    return loan


def close_if_fully_funded(project_id: int) -> bool:
    """A loan closes as soon as it is fully funded (inside the confirming unit of work)."""
    from tontine.projects.services import funding_model, raised, transition

    project = lock_row(Project, project_id)
    if project is None or project.funding_model != "loan" or project.state != states.OPEN:
        return False
    if raised(project).amount < project.goal_amount:
        return False
    transition(project, states.FUNDED, None, "fully funded")
    funding_model(project).after_funding(project)
    return True


# --- Disbursal --------------------------------------------------------------------------


def _parse_rate(value: Decimal | str | None, field: str) -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Enter the exchange rate, e.g. 655.957."), field=field) from exc
    if not rate.is_finite() or rate <= 0 or rate >= Decimal("1e9"):
        raise DomainError(_("The exchange rate must be a positive number."), field=field)
    return rate


def schedule_rows(loan: Loan, start: date) -> list[tuple[date, int, int]]:
    """``(due, principal, interest)`` in minor units, months grouped by the repayment frequency.

    An irregular loan follows the partner's schedule, its amounts scaled to what was lent
    (largest remainder, so they add up to the principal exactly).
    """
    if loan.frequency == "irregular":
        project = db.session.get(Project, loan.project_id)
        planned = (project.terms or {}).get("irregular_schedule") or [] if project else []
        if not planned:
            raise DomainError(
                _("An irregular loan needs its schedule, and only an irregular loan has one.")
            )
        dates = [date.fromisoformat(due) for due, _part in planned]
        if dates[0] <= start:
            raise DomainError(
                _("The schedule's first date must come after the disbursal."), field="disbursed_on"
            )
        weights = [
            Money.round_decimal(Decimal(part), loan.currency).amount for _due, part in planned
        ]
        return [
            (due, part, 0)
            for due, part in zip(dates, allocate(loan.principal, weights), strict=True)
        ]
    try:
        months = build_schedule(
            Money(loan.principal, loan.currency).to_decimal(),
            loan.annual_rate,
            loan.term_months,
            loan.method,
            loan.grace_months,
            start,
            loan.currency,
            day_count=loan.day_count,
        )
    except ScheduleError as exc:
        raise DomainError(str(exc)) from exc
    group = {"monthly": 1, "quarterly": 3, "at_end": len(months)}[loan.frequency]
    rows = []
    for first in range(0, len(months), group):
        chunk = months[first : first + group]
        rows.append(
            (
                chunk[-1].due,
                sum(Money.from_decimal(i.principal, loan.currency).amount for i in chunk),
                sum(Money.from_decimal(i.interest, loan.currency).amount for i in chunk),
            )
        )
    return rows


def disburse(
    project_id: int,
    actor: User,
    *,
    disbursed_on: date,
    rate: Decimal | str | None = None,
    note: str = "",
) -> Loan:
    """Partner staff confirm the borrower received the loan: store the schedule, move the money."""
    from tontine.projects.services import transition

    with unit_of_work():
        project = lock_row(Project, project_id)
        if project is None or project.funding_model != "loan":
            raise NotFound(_("No such loan."))
        loan = get_loan(project.id)
        if not can_manage(actor, project):
            raise Forbidden(_("Only the partner's staff can confirm a disbursal."))
        if project.state != states.FUNDED or loan.disbursed_on is not None:
            raise Conflict(_("Only a funded loan that has not been disbursed can be disbursed."))
        if not date(2000, 1, 1) <= disbursed_on <= utcnow().date() + timedelta(days=366):
            raise DomainError(
                _("The disbursal date must be a real one, at most a year ahead."),
                field="disbursed_on",
            )
        if loan.local_currency:
            loan.disbursal_rate = _parse_rate(rate, "rate")
        elif rate not in (None, ""):
            raise DomainError(
                _("This loan is disbursed in its own currency: no exchange rate."), field="rate"
            )
        loan.instalments = [
            Instalment(number=number, due=due, principal=principal, interest=interest)
            for number, (due, principal, interest) in enumerate(
                schedule_rows(loan, disbursed_on), 1
            )
        ]
        loan.disbursed_on = disbursed_on
        loan.disbursed_by = actor.id
        kind, ref = borrower_account(loan)
        principal = Money(loan.principal, loan.currency)
        post(
            "loan_disbursal",
            [
                debit(AccountKind.PROJECT_ESCROW, project.id, principal),
                credit(kind, ref, principal),
            ],
            memo=f"loan {project.id} disbursed",
            cause=f"loan:{project.id}:disbursed",
        )
        record_staff_action(
            actor, "loan_disbursed", f"project:{project.id}", note or "disbursal confirmed"
        )
        transition(project, states.RUNNING, actor, "disbursed")
    return loan


# --- Repayments -------------------------------------------------------------------------


def _amount(value: Decimal | str | None, currency: str, field: str) -> Money:
    try:
        money = Money.from_decimal(str(value).strip().replace(",", "."), currency)
    except (MoneyError, ValueError) as exc:
        raise DomainError(
            _("Enter an amount in %(currency)s.", currency=currency), field=field
        ) from exc
    if money.amount <= 0:
        raise DomainError(_("The amount must be more than zero."), field=field)
    return money


def _converted(local: Money, rate: Decimal, currency: str) -> Money:
    """``local`` (local units) at ``rate`` local units per lending unit, in the lending currency."""
    return Money.round_decimal(local.to_decimal() / rate, currency)


def record_repayment(
    project_id: int,
    actor: User,
    *,
    paid_on: date,
    idempotency_key: str,
    amount: Decimal | str | None = None,
    local_amount: Decimal | str | None = None,
    rate: Decimal | str | None = None,
    note: str = "",
    today: date | None = None,
) -> Repayment:
    """Record what the borrower repaid and credit the lenders' balances, in one transaction.

    Partial, late and early repayments are all just amounts: lenders are paid pro rata to
    their shares (exactly, never beyond what each is owed). A loan repaid in the borrower's
    currency gives ``local_amount`` and the day's ``rate``: it settles the loan at the
    disbursal rate, and the currency loss is borne by the loan's rule. Retrying with the
    same ``idempotency_key`` returns the first repayment. (One entry of
    ``tontine_loan.repayments.record_repayments``.)
    """
    from tontine_loan.repayments import RepaymentEntry, record_repayments

    entry = RepaymentEntry(
        project_id=project_id,
        paid_on=paid_on,
        idempotency_key=idempotency_key,
        amount=amount,
        local_amount=local_amount,
        rate=rate,
        note=note,
    )
    return record_repayments(actor, [entry], today)[0]


# --- Arrears, default and write-off -----------------------------------------------------


def default_date(loan: Loan) -> date | None:
    """Six months after the last instalment is due."""
    if not loan.instalments:
        return None
    return add_months(loan.instalments[-1].due, DEFAULT_AFTER_MONTHS)


def review_standing(project_id: int, today: date) -> str | None:
    """Mark one loan delinquent (a payment missed), defaulted (6 months past term) or caught up.

    Returns the new state when it changed. Idempotent: the monthly job calls it for every
    running and delinquent loan.
    """
    from tontine.projects.services import transition

    with unit_of_work():
        project = lock_row(Project, project_id)
        if project is None or project.state not in REPAYING_STATES:
            return None
        loan = get_loan(project.id)
        behind = due_by(loan, today) - settled_total(project.id)
        limit = default_date(loan)
        if behind > 0 and limit is not None and today >= limit:
            transition(project, DEFAULTED, None, "not repaid six months after the end of the term")
            _write_off(project, loan, None, "defaulted")
            return DEFAULTED
        if behind > 0 and project.state == states.RUNNING:
            unpaid = _first_unpaid_due(loan)
            loan.delinquent_since = unpaid
            transition(project, DELINQUENT, None, "a payment was missed")
            return DELINQUENT
        if behind <= 0 and project.state == DELINQUENT:
            loan.delinquent_since = None
            transition(project, states.RUNNING, None, "caught up")
            return states.RUNNING
    return None


def _first_unpaid_due(loan: Loan) -> date | None:
    paid = settled_total(loan.project_id)
    running = 0
    for instalment in loan.instalments:
        running += instalment.total
        if running > paid:
            return instalment.due
    return None


def declare_default(project_id: int, actor: User, reason: str) -> WriteOff:
    """An admin declares a loan defaulted before the six months (fraud, a partner's collapse)."""
    from tontine.projects.services import transition

    if not actor.is_admin:
        raise Forbidden(_("Only an admin can declare a default."))
    if not reason.strip():
        raise DomainError(_("Say why the loan is in default."), field="reason")
    with unit_of_work():
        project = lock_row(Project, project_id)
        if project is None or project.funding_model != "loan":
            raise NotFound(_("No such loan."))
        if project.state not in REPAYING_STATES:
            raise Conflict(_("Only a running or delinquent loan can default."))
        loan = get_loan(project.id)
        transition(project, DEFAULTED, actor, reason.strip())
        return _write_off(project, loan, actor, reason.strip())


def _write_off(project: Project, loan: Loan, actor: User | None, reason: str) -> WriteOff:
    """Write off everything still owed, to the lenders or the partner (inside a unit of work)."""
    shares = shares_of(project.id)
    owed = positions(loan, shares)
    amount = sum(p.outstanding for p in owed)
    borne_by = loan.loss_liability if loan.partner_id is not None else "lenders"
    write_off = WriteOff(
        project_id=project.id,
        amount=amount,
        borne_by=borne_by,
        actor_id=actor.id if actor else None,
        reason=reason[:500],
    )
    db.session.add(write_off)
    db.session.flush()
    parts = [
        {"write_off_id": write_off.id, "share_id": p.share.id, "amount": p.outstanding}
        for p in owed
        if p.outstanding
    ]
    if parts:
        db.session.execute(insert(WriteOffPart), parts)
    if borne_by == "partner" and amount:
        kind, ref = borrower_account(loan)
        legs = [debit(kind, ref, Money(amount, loan.currency))]
        legs += [
            credit(
                AccountKind.SUPPORTER_BALANCE,
                p.share.lender_id or 0,
                Money(p.outstanding, loan.currency),
            )
            for p in owed
            if p.outstanding
        ]
        post(
            "loan_write_off",
            legs,
            memo=f"loan {project.id} written off, borne by the partner",
            cause=f"loan:{project.id}:write-off",
        )
    loan.written_off_at = utcnow()
    if actor is not None:
        record_staff_action(actor, "loan_write_off", f"project:{project.id}", reason)
    return write_off


def review_all(today: date | None = None, payload: dict[str, Any] | None = None) -> int:
    """Job: review every running and delinquent loan; returns how many changed state."""
    today = today or utcnow().date()
    ids = db.session.scalars(
        select(Project.id).where(
            Project.funding_model == "loan", Project.state.in_(tuple(REPAYING_STATES))
        )
    ).all()
    db.session.rollback()
    return sum(1 for project_id in ids if review_standing(project_id, today))
