"""Weekly reminders to partner staff: the repayments due in the coming week, and arrears.

The daily loan batch queues one ``loan_repayment_reminders`` job per ISO week (a dedupe
key), so staff get one mail a week however often the batch runs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tontine.accounts.models import Role, RoleAssignment, User
from tontine.db import db, unit_of_work, utcnow
from tontine.jobs.services import enqueue
from tontine.mail import external_url, send_mail
from tontine.money import Money
from tontine.projects.models import Project
from tontine_loan.models import FieldPartner, Loan
from tontine_loan.services import REPAYING_STATES, due_by, settled_total


def queue_weekly(today: date) -> None:
    year, week, _day = today.isocalendar()
    with unit_of_work():
        enqueue(
            "loan_repayment_reminders",
            {"today": today.isoformat()},
            dedupe_key=f"loan-reminders:{year}-W{week:02d}",
        )


def send_reminders(payload: dict[str, Any] | None = None) -> int:
    """Job: mail each partner's staff what falls due in the next 7 days; returns mails queued."""
    today = date.fromisoformat((payload or {}).get("today") or utcnow().date().isoformat())
    horizon = today + timedelta(days=7)
    sent = 0
    with unit_of_work():
        for partner in db.session.scalars(
            select(FieldPartner).where(FieldPartner.active.is_(True))
        ):
            rows = db.session.execute(
                select(Project, Loan)
                .join(Loan, Loan.project_id == Project.id)
                .where(Loan.partner_id == partner.id, Project.state.in_(tuple(REPAYING_STATES)))
                .order_by(Project.id)
            ).all()
            due_soon, behind = [], []
            for project, loan in rows:
                paid = settled_total(project.id)
                late = due_by(loan, today) - paid
                upcoming = due_by(loan, horizon) - max(paid, due_by(loan, today))
                if late > 0:
                    behind.append((project, Money(late, loan.currency)))
                if upcoming > 0:
                    due_soon.append((project, Money(upcoming, loan.currency)))
            if not due_soon and not behind:
                continue
            staff = db.session.scalars(
                select(User)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(
                    RoleAssignment.role == Role.PARTNER_STAFF,
                    RoleAssignment.organization_id == partner.organization_id,
                    User.email.is_not(None),
                    User.active.is_(True),
                )
            ).all()
            for user in staff:
                send_mail(
                    user.email,
                    _l("Repayments due this week"),
                    "loan_reminders",
                    locale=user.locale,
                    name=user.display_name,
                    partner=partner.name,
                    due_soon=due_soon,
                    behind=behind,
                    dashboard=external_url("loan.dashboard", partner_id=partner.id),
                )
                sent += 1
    return sent
