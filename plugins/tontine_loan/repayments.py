"""Recording repayments, one or a whole month's batch, in one transaction.

A partner records one repayment from its page, or uploads a month's worth; both go through
``record_repayments``, which reads everything it needs with a few set-based queries, splits
each repayment exactly among its lenders, and writes the repayments, their parts and one
ledger transaction per repayment. Any refused entry refuses the whole batch (nothing is
written), with a message that names the loan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ARRAY, Integer, String, any_, bindparam, func, select
from sqlalchemy.orm import make_transient_to_detached

from tontine.accounts.models import Role, StaffAction, User
from tontine.db import db, insert_rows, unit_of_work, utcnow
from tontine.errors import Conflict, DomainError, Forbidden, NotFound
from tontine.ledger.models import AccountKind
from tontine.ledger.services import Entry, Leg, debit, post_many
from tontine.money import Money, allocate, percent_of
from tontine.projects import states
from tontine.projects.models import Project
from tontine_loan.funding import DEFAULTED
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
from tontine_loan.split import split_repayment

CHUNK = 1000


@dataclass(frozen=True)
class RepaymentEntry:
    """One repayment to record: ``amount`` in the lending currency, or ``local_amount``
    and the day's ``rate`` (local units per lending unit) for a loan repaid locally."""

    project_id: int
    paid_on: date
    idempotency_key: str
    amount: Decimal | str | None = None
    local_amount: Decimal | str | None = None
    rate: Decimal | str | None = None
    note: str = ""


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _chunks(values: list[Any]) -> list[list[Any]]:
    """The ids to read at once: all of them on PostgreSQL (one array parameter, see
    ``_among``), else ``CHUNK`` at a time (a bounded ``IN`` list)."""
    step = len(values) if _postgres() else CHUNK
    return [values[i : i + step] for i in range(0, len(values), step or 1)]


def _among(column: Any, values: list[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter however many
    values (a thousand placeholders cost more to send and parse than the query itself)."""
    if not _postgres():
        return column.in_(values)
    kind = String() if values and isinstance(values[0], str) else Integer()
    return column == any_(bindparam(None, values, type_=ARRAY(kind)))


def _managed_partner_ids(actor: User) -> set[int] | None:
    """Partners whose loans ``actor`` may manage; None means all (an admin)."""
    if actor.is_admin:
        return None
    orgs = [
        a.organization_id for a in actor.roles if a.role == Role.PARTNER_STAFF and a.organization_id
    ]
    if not orgs:
        return set()
    return set(
        db.session.scalars(select(FieldPartner.id).where(FieldPartner.organization_id.in_(orgs)))
    )


def record_repayments(
    actor: User, entries: list[RepaymentEntry], today: date | None = None
) -> list[Repayment]:
    """Record ``entries`` and credit the lenders; returns one ``Repayment`` per entry.

    Retried entries (same loan and idempotency key) return the first repayment. ``today``
    (default: each entry's ``paid_on``) decides whether a delinquent loan has caught up.
    """
    from tontine_loan.services import _amount, _converted, _parse_rate, borrower_account

    for entry in entries:
        if not entry.idempotency_key or len(entry.idempotency_key) > 80:
            raise DomainError(_("A repayment needs an idempotency key of at most 80 characters."))
    if not entries:
        return []
    ids = sorted({e.project_id for e in entries})
    with unit_of_work() as session:
        projects: dict[int, Project] = {}
        loans: dict[int, Loan] = {}
        for chunk in _chunks(ids):
            projects.update(
                {
                    p.id: p
                    for p in session.scalars(
                        select(Project)
                        .where(_among(Project.id, chunk))
                        .order_by(Project.id)
                        .with_for_update(of=Project)
                    )
                }
            )
            loans.update(
                {
                    loan.project_id: loan
                    for loan in session.scalars(select(Loan).where(_among(Loan.project_id, chunk)))
                }
            )
        allowed = _managed_partner_ids(actor)
        for entry in entries:
            project = projects.get(entry.project_id)
            if project is None or project.funding_model != "loan":
                raise NotFound(_("No such loan."))
            loan = loans.get(project.id)
            if loan is None:
                raise Conflict(_("Repayments are recorded once the loan is disbursed."))
            if allowed is not None and (loan.partner_id is None or loan.partner_id not in allowed):
                raise Forbidden(_("Only the partner's staff can record repayments."))
        existing: dict[tuple[int, str], Repayment] = {}
        wanted = {(e.project_id, e.idempotency_key) for e in entries}
        idempotency_keys = sorted({key for _pid, key in wanted})
        for chunk in _chunks(ids):
            # Every repayment of these loans under any of these keys; the pairs sorted here.
            for repayment in session.scalars(
                select(Repayment).where(
                    _among(Repayment.project_id, chunk),
                    _among(Repayment.idempotency_key, idempotency_keys),
                )
            ):
                if (repayment.project_id, repayment.idempotency_key) in wanted:
                    existing[(repayment.project_id, repayment.idempotency_key)] = repayment
        fresh = [e for e in entries if (e.project_id, e.idempotency_key) not in existing]
        fresh_ids = sorted({e.project_id for e in fresh})
        write_offs: dict[int, str] = {}
        due_total: dict[int, int] = {}
        shares: dict[int, list[tuple[int, int | None, int]]] = defaultdict(list)
        settled: dict[int, int] = {}
        lost: dict[int, int] = {}
        for chunk in _chunks(fresh_ids):
            write_offs.update(
                dict(
                    session.execute(
                        select(WriteOff.project_id, WriteOff.borne_by).where(
                            _among(WriteOff.project_id, chunk)
                        )
                    ).all()
                )
            )
            due_total.update(
                {
                    pid: int(total)
                    for pid, total in session.execute(
                        select(
                            Instalment.project_id,
                            func.sum(Instalment.principal + Instalment.interest),
                        )
                        .where(_among(Instalment.project_id, chunk))
                        .group_by(Instalment.project_id)
                    )
                }
            )
            for share_id, project_id, lender_id, amount in session.execute(
                select(
                    LenderShare.id,
                    LenderShare.project_id,
                    LenderShare.lender_id,
                    LenderShare.amount,
                )
                .where(_among(LenderShare.project_id, chunk))
                .order_by(LenderShare.id)
            ):
                shares[project_id].append((share_id, lender_id, amount))
            settled.update(
                {
                    sid: int(total)
                    for sid, total in session.execute(
                        select(RepaymentPart.share_id, func.sum(RepaymentPart.settled))
                        .join(Repayment, Repayment.id == RepaymentPart.repayment_id)
                        .where(_among(Repayment.project_id, chunk))
                        .group_by(RepaymentPart.share_id)
                    )
                }
            )
            lost.update(
                {
                    sid: int(total)
                    for sid, total in session.execute(
                        select(WriteOffPart.share_id, func.sum(WriteOffPart.amount))
                        .join(WriteOff, WriteOff.id == WriteOffPart.write_off_id)
                        .where(_among(WriteOff.project_id, chunk))
                        .group_by(WriteOffPart.share_id)
                    )
                }
            )

        rows: list[dict[str, object]] = []
        splits: list[tuple[list[int], list[int], list[int]]] = []
        for entry in fresh:
            project = projects[entry.project_id]
            loan = loans[entry.project_id]
            if (
                project.state not in (states.RUNNING, "delinquent", DEFAULTED)
                or loan.disbursed_on is None
            ):
                raise Conflict(_("Repayments are recorded once the loan is disbursed."))
            if write_offs.get(project.id) == "partner":
                raise Conflict(_("The partner already repaid the lenders for this loan."))
            currency_loss = 0
            local = day_rate = None
            if loan.local_currency:
                local = _amount(entry.local_amount, loan.local_currency, "local_amount")
                day_rate = _parse_rate(entry.rate, "rate")
                assert loan.disbursal_rate is not None
                settle = _converted(local, loan.disbursal_rate, loan.currency).amount
                currency_loss = settle - _converted(local, day_rate, loan.currency).amount
                credited = settle
                if loan.currency_risk == "shared_beyond_10pct" and currency_loss > 0:
                    credited -= max(0, currency_loss - percent_of(settle, Decimal(10)))
            else:
                if entry.local_amount not in (None, "") or entry.rate not in (None, ""):
                    raise DomainError(
                        _("This loan is repaid in its own currency: give the amount only.")
                    )
                settle = _amount(entry.amount, loan.currency, "amount").amount
                credited = settle
            if settle <= 0:
                raise DomainError(
                    _(
                        "%(title)s: this amount is worth less than one cent of the loan.",
                        title=project.title,
                    ),
                    field="local_amount",
                )
            lenders = shares[project.id]
            weights = [amount for _sid, _lender, amount in lenders]
            entitled = allocate(due_total.get(project.id) or loan.principal, weights)
            recovering = project.id in write_offs
            outstanding = [
                e - settled.get(sid, 0) - (0 if recovering else lost.get(sid, 0))
                for (sid, _lender, _share), e in zip(lenders, entitled, strict=True)
            ]
            if settle > sum(outstanding):
                raise DomainError(
                    _(
                        "%(title)s: this is more than the %(left)s still owed.",
                        title=project.title,
                        left=str(Money(sum(outstanding), loan.currency)),
                    ),
                    field="amount",
                )
            parts = split_repayment(settle, weights, outstanding)
            losses = allocate(settle - credited, parts) if settle > credited else [0] * len(parts)
            for (sid, _lender, _share), part in zip(lenders, parts, strict=True):
                settled[sid] = settled.get(sid, 0) + part
            rows.append(
                {
                    "project_id": project.id,
                    "paid_on": entry.paid_on,
                    "settled": settle,
                    "credited": credited,
                    "currency": loan.currency,
                    "local_amount": local.amount if local else None,
                    "local_currency": loan.local_currency,
                    "rate": day_rate,
                    "currency_loss": currency_loss,
                    "recorded_by": actor.id,
                    "idempotency_key": entry.idempotency_key,
                    "note": entry.note[:500],
                }
            )
            splits.append(([sid for sid, _lender, _share in lenders], parts, losses))

        created: list[Repayment] = []
        if rows:
            now = utcnow()
            for row in rows:
                row["created_at"] = now
            new_ids = insert_rows(Repayment.__table__, rows, returning_ids=True)
            for ident, row in zip(new_ids, rows, strict=True):
                repayment = Repayment(id=ident, **row)
                make_transient_to_detached(repayment)  # written above: known, not pending
                session.add(repayment)
                created.append(repayment)
            part_rows = [
                {
                    "repayment_id": repayment.id,
                    "share_id": sid,
                    "settled": part,
                    "credited": part - loss,
                }
                for repayment, (sids, parts, losses) in zip(created, splits, strict=True)
                for sid, part, loss in zip(sids, parts, losses, strict=True)
                if part
            ]
            insert_rows(RepaymentPart.__table__, part_rows)
            ledger_entries: list[Entry] = []
            # Lenders' parts repeat (equal shares, equal instalments): one Money per amount.
            amounts: dict[tuple[int, str], Money] = {}

            def money(minor: int, currency: str) -> Money:
                found = amounts.get((minor, currency))
                if found is None:
                    found = amounts[(minor, currency)] = Money(minor, currency)
                return found

            for repayment, (sids, parts, losses) in zip(created, splits, strict=True):
                if not repayment.credited:
                    continue
                loan = loans[repayment.project_id]
                currency = loan.currency
                lender_of = {sid: lender for sid, lender, _share in shares[loan.project_id]}
                kind, ref = borrower_account(loan)
                legs = [debit(kind, ref, money(repayment.credited, currency))]
                legs += [
                    Leg(AccountKind.SUPPORTER_BALANCE, lender_of[sid] or 0, money(loss - part, currency))
                    for sid, part, loss in zip(sids, parts, losses, strict=True)
                    if part - loss
                ]
                ledger_entries.append(
                    Entry(
                        "loan_repayment",
                        legs,
                        memo=f"repayment {repayment.id} of loan {loan.project_id}",
                        cause=f"loan-repayment:{repayment.id}",
                    )
                )
            post_many(ledger_entries)
            insert_rows(
                StaffAction.__table__,
                [
                    {
                        "actor_id": actor.id,
                        "action": "loan_repayment",
                        "subject": f"project:{r.project_id}",
                        "reason": (r.note or f"repayment {r.id}")[:500],
                        "created_at": now,
                    }
                    for r in created
                ],
            )
            _update_standings(
                projects, loans, created, due_total, shares, settled, lost, write_offs, today, actor
            )
        by_key = {(r.project_id, r.idempotency_key): r for r in created}
        by_key.update(existing)
        return [by_key[(e.project_id, e.idempotency_key)] for e in entries]


def _update_standings(
    projects,
    loans,
    created,
    due_total,
    shares,
    settled,
    lost,
    write_offs,  # type: ignore[no-untyped-def]
    today,
    actor,
) -> None:
    """Completed when nothing is owed; back to running once a delinquent loan caught up."""
    from tontine.projects.services import transition

    last_paid: dict[int, date] = {}
    for repayment in created:
        last_paid[repayment.project_id] = max(
            repayment.paid_on, last_paid.get(repayment.project_id, repayment.paid_on)
        )
    for project_id, paid_on in last_paid.items():
        project = projects[project_id]
        if project.state not in (states.RUNNING, "delinquent"):
            continue
        loan = loans[project_id]
        total = due_total.get(project_id) or loan.principal
        left = total - sum(
            settled.get(sid, 0) + lost.get(sid, 0) for sid, _lender, _share in shares[project_id]
        )
        if left <= 0:
            transition(project, states.COMPLETED, actor, "repaid in full")
            continue
        if project.state == "delinquent":
            day = today or paid_on
            due = sum(i.total for i in loan.instalments if i.due <= day)
            paid = sum(settled.get(sid, 0) for sid, _lender, _share in shares[project_id])
            if paid >= due:
                loan.delinquent_since = None
                transition(project, states.RUNNING, actor, "caught up")
