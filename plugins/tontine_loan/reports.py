"""What pages show about loans, partners and lenders — computed from the rows, never typed in.

Partner figures follow the usual micro-lending definitions: the delinquency rate is the
amount past due over what active loans still owe; the default rate is what was written off
over what was disbursed; the currency-loss rate is the net currency loss over what was
repaid in local currencies.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from tontine.db import db, utcnow
from tontine.money import Money, allocate
from tontine.projects.models import Project
from tontine.projects.states import PUBLIC_STATES
from tontine_loan.funding import DEFAULTED, DELINQUENT
from tontine_loan.models import (
    FieldPartner,
    Instalment,
    LenderShare,
    Loan,
    Repayment,
    RepaymentPart,
    WriteOff,
    WriteOffPart,
)
from tontine_loan.services import REPAYING_STATES

#: States in which a loan listing is public on a partner's page.
LISTED_STATES = PUBLIC_STATES | {DELINQUENT, DEFAULTED}


def _sums(query) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {key: int(value or 0) for key, value in db.session.execute(query)}


def _rate(part: int, whole: int) -> Decimal | None:
    return None if whole <= 0 else (Decimal(part) * 100 / whole).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PartnerFigures:
    loans: int
    amount: Money
    delinquency_rate: Decimal | None  # percent
    default_rate: Decimal | None
    currency_loss_rate: Decimal | None
    average_borrower_rate: Decimal | None
    days_on_site: int


def partner_projects(partner: FieldPartner) -> list[Project]:
    return list(
        db.session.scalars(
            select(Project)
            .where(
                Project.funding_model == "loan",
                Project.terms["partner_id"].as_integer() == partner.id,
                Project.state.in_(tuple(LISTED_STATES)),
            )
            .order_by(Project.id.desc())
        )
    )


def partner_figures(
    partner: FieldPartner, currency: str, today: date | None = None
) -> PartnerFigures:
    today = today or utcnow().date()
    projects = partner_projects(partner)
    loans = {
        loan.project_id: loan
        for loan in db.session.scalars(select(Loan).where(Loan.partner_id == partner.id))
    }
    states = {p.id: p.state for p in projects}
    disbursed = [
        loan
        for loan in loans.values()
        if loan.disbursed_on is not None and loan.currency == currency
    ]
    active = [
        loan.project_id for loan in disbursed if states.get(loan.project_id) in REPAYING_STATES
    ]
    past_due = owed = 0
    if active:
        total = _sums(
            select(Instalment.project_id, func.sum(Instalment.principal + Instalment.interest))
            .where(Instalment.project_id.in_(active))
            .group_by(Instalment.project_id)
        )
        due = _sums(
            select(Instalment.project_id, func.sum(Instalment.principal + Instalment.interest))
            .where(Instalment.project_id.in_(active), Instalment.due <= today)
            .group_by(Instalment.project_id)
        )
        paid = _sums(
            select(Repayment.project_id, func.sum(Repayment.settled))
            .where(Repayment.project_id.in_(active))
            .group_by(Repayment.project_id)
        )
        for project_id in active:
            owed += total.get(project_id, 0) - paid.get(project_id, 0)
            past_due += max(0, due.get(project_id, 0) - paid.get(project_id, 0))
    written_off = int(
        db.session.scalar(
            select(func.coalesce(func.sum(WriteOff.amount), 0))
            .join(Loan, Loan.project_id == WriteOff.project_id)
            .where(Loan.partner_id == partner.id, Loan.currency == currency)
        )
        or 0
    )
    local = db.session.execute(
        select(
            func.coalesce(func.sum(Repayment.currency_loss), 0),
            func.coalesce(func.sum(Repayment.settled), 0),
        )
        .join(Loan, Loan.project_id == Repayment.project_id)
        .where(Loan.partner_id == partner.id, Repayment.local_currency.is_not(None))
    ).one()
    weighted = [
        (Decimal(str(p.terms["borrower_rate"])), p.goal_amount)
        for p in projects
        if (p.terms or {}).get("borrower_rate") is not None
    ]
    average = None
    if weighted:
        total = sum(w for _, w in weighted)
        average = (sum(r * w for r, w in weighted) / total).quantize(Decimal("0.1"))
    elif partner.borrower_rate:
        average = Decimal(partner.borrower_rate).quantize(Decimal("0.1"))
    lent = sum(loan.principal for loan in disbursed)
    return PartnerFigures(
        loans=len(projects),
        amount=Money(
            sum(
                p.goal_amount if p.id not in loans else loans[p.id].principal
                for p in projects
                if p.currency == currency
            ),
            currency,
        ),
        delinquency_rate=_rate(past_due, owed),
        default_rate=_rate(written_off, lent),
        currency_loss_rate=_rate(int(local[0]), int(local[1])),
        average_borrower_rate=average,
        days_on_site=max(0, (utcnow() - partner.created_at).days),
    )


# --- The lender's portfolio -------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    project: Project
    lent: Money
    repaid: Money  # credited to the lender's balance
    outstanding: Money
    lost: Money  # written off (net of recoveries) or lost to currency


def portfolio(lender_id: int, project_id: int | None = None) -> list[Holding]:
    """Every loan the lender has a share in (or just ``project_id``), newest first.

    A handful of set-based queries whatever the number of loans (auto-lenders hold many).
    """
    query = (
        select(LenderShare, Project, Loan)
        .join(Project, Project.id == LenderShare.project_id)
        .join(Loan, Loan.project_id == LenderShare.project_id)
        .where(LenderShare.lender_id == lender_id)
        .order_by(LenderShare.project_id.desc())
    )
    if project_id is not None:
        query = query.where(LenderShare.project_id == project_id)
    rows = db.session.execute(query).all()
    if not rows:
        return []
    project_ids = [share.project_id for share, _p, _l in rows]
    share_ids = [share.id for share, _p, _l in rows]
    all_shares: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sid, pid, amount in db.session.execute(
        select(LenderShare.id, LenderShare.project_id, LenderShare.amount)
        .where(LenderShare.project_id.in_(project_ids))
        .order_by(LenderShare.id)
    ):
        all_shares[pid].append((sid, amount))
    due = dict(
        db.session.execute(
            select(Instalment.project_id, func.sum(Instalment.principal + Instalment.interest))
            .where(Instalment.project_id.in_(project_ids))
            .group_by(Instalment.project_id)
        ).all()
    )
    parts = {
        sid: (int(settled), int(credited))
        for sid, settled, credited in db.session.execute(
            select(
                RepaymentPart.share_id,
                func.sum(RepaymentPart.settled),
                func.sum(RepaymentPart.credited),
            )
            .where(RepaymentPart.share_id.in_(share_ids))
            .group_by(RepaymentPart.share_id)
        )
    }
    written = dict(
        db.session.execute(
            select(WriteOffPart.share_id, func.sum(WriteOffPart.amount))
            .join(WriteOff, WriteOff.id == WriteOffPart.write_off_id)
            .where(WriteOffPart.share_id.in_(share_ids))
            .group_by(WriteOffPart.share_id)
        ).all()
    )
    borne = dict(
        db.session.execute(
            select(WriteOff.project_id, WriteOff.borne_by).where(
                WriteOff.project_id.in_(project_ids)
            )
        ).all()
    )
    holdings = []
    for share, project, loan in rows:
        lenders = all_shares[share.project_id]
        entitled = dict(
            zip(
                [sid for sid, _a in lenders],
                allocate(
                    int(due.get(share.project_id) or loan.principal), [a for _s, a in lenders]
                ),
                strict=True,
            )
        )[share.id]
        settled, credited = parts.get(share.id, (0, 0))
        lost_to_currency = settled - credited
        write_off = int(written.get(share.id, 0))
        if write_off and borne.get(share.project_id) == "lenders":
            recovered = max(0, settled + write_off - entitled)
            lost = write_off - recovered + lost_to_currency
            outstanding = 0
        else:
            lost = lost_to_currency
            outstanding = entitled - settled - write_off
        currency = loan.currency
        holdings.append(
            Holding(
                project,
                Money(share.amount, currency),
                Money(
                    credited + (write_off if borne.get(share.project_id) == "partner" else 0),
                    currency,
                ),
                Money(max(0, outstanding), currency),
                Money(max(0, lost), currency),
            )
        )
    return holdings


def repayments_by_month(lender_id: int) -> list[tuple[str, Money]]:
    """``[("2026-02", amount credited that month), …]`` for the portfolio chart."""
    rows = db.session.execute(
        select(Repayment.paid_on, Repayment.currency, RepaymentPart.credited)
        .join(RepaymentPart, RepaymentPart.repayment_id == Repayment.id)
        .join(LenderShare, LenderShare.id == RepaymentPart.share_id)
        .where(LenderShare.lender_id == lender_id)
    ).all()
    months: dict[tuple[str, str], int] = defaultdict(int)
    for paid_on, currency, credited in rows:
        months[(paid_on.strftime("%Y-%m"), currency)] += int(credited)
    return [
        (month, Money(amount, currency)) for (month, currency), amount in sorted(months.items())
    ]


def portfolio_csv(lender_id: int) -> str:
    """The portfolio as CSV (one row per loan), amounts as plain decimals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["loan", "title", "state", "currency", "lent", "repaid", "outstanding", "lost"])
    for h in portfolio(lender_id):
        writer.writerow(
            [
                h.project.id,
                _cell(h.project.title),
                h.project.state,
                h.lent.currency,
                h.lent.decimal_string(),
                h.repaid.decimal_string(),
                h.outstanding.decimal_string(),
                h.lost.decimal_string(),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Keep spreadsheets from running a title as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_of(value: datetime | date | None) -> str:
    return value.isoformat() if value else ""


# --- Browsing loans ---------------------------------------------------------------------

SORTS = ("ending", "newest", "least_funded")
PAGE_SIZE = 60


def browse_loans(
    *,
    country: str = "",
    category: str = "",
    partner_id: int | None = None,
    gender: str = "",
    sort: str = "ending",
    limit: int = PAGE_SIZE,
) -> list[Project]:
    """Loans open to lenders, filtered by country, sector and partner; ending soonest first
    (or newest, or least funded)."""
    from tontine.projects.services import raised_by_project
    from tontine.projects.states import OPEN

    query = select(Project).where(Project.funding_model == "loan", Project.state == OPEN)
    if country:
        query = query.where(Project.country == country)
    if category:
        query = query.where(Project.category == category)
    if partner_id is not None:
        query = query.where(Project.terms["partner_id"].as_integer() == partner_id)
    if gender:
        query = query.where(Project.terms["borrower_gender"].as_string() == gender)
    query = query.order_by(
        Project.id.desc() if sort == "newest" else Project.deadline.asc(), Project.id
    )
    projects = list(db.session.scalars(query.limit(limit if sort != "least_funded" else 1000)))
    if sort == "least_funded":
        raised = raised_by_project([p.id for p in projects])
        projects.sort(key=lambda p: (raised[p.id][0] / p.goal_amount, p.deadline or utcnow(), p.id))
        projects = projects[:limit]
    return projects


def loan_countries() -> list[str]:
    from tontine.projects.states import OPEN

    return list(
        db.session.scalars(
            select(Project.country)
            .where(Project.funding_model == "loan", Project.state == OPEN, Project.country != "")
            .distinct()
            .order_by(Project.country)
        )
    )
