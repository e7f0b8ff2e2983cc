"""Loans API (``/api/v1/loans``): a loan's schedule, and a partner's batch of repayments.

Session authentication with Flask-WTF's CSRF header (``X-CSRFToken``), like the pages. A
partner's information system posts a month's repayments in one request: all are recorded
or none (a problem body names the refused loan).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from tontine.db import db
from tontine.money import Money
from tontine.projects.services import can_view, get_project
from tontine_loan.models import Loan
from tontine_loan.repayments import RepaymentEntry, record_repayments

blp = Blueprint("loans_api", __name__, url_prefix="/loans", description="Loans")

MAX_BATCH = 10_000


class InstalmentSchema(Schema):
    number = fields.Integer()
    due = fields.Date()
    principal = fields.String(metadata={"description": "Decimal, in the loan's currency"})
    interest = fields.String()


class ScheduleSchema(Schema):
    project_id = fields.Integer()
    currency = fields.String()
    disbursed_on = fields.Date(allow_none=True)
    stored = fields.Boolean(
        metadata={"description": "False: the expected schedule before disbursal"}
    )
    instalments = fields.List(fields.Nested(InstalmentSchema))


class RepaymentInput(Schema):
    project_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    paid_on = fields.Date(required=True)
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=80))
    amount = fields.Decimal(as_string=True, allow_nan=False, load_default=None)
    local_amount = fields.Decimal(as_string=True, allow_nan=False, load_default=None)
    rate = fields.Decimal(as_string=True, allow_nan=False, load_default=None)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class RepaymentBatchInput(Schema):
    repayments = fields.List(
        fields.Nested(RepaymentInput), required=True, validate=validate.Length(min=1, max=MAX_BATCH)
    )


class RepaymentSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    paid_on = fields.Date()
    settled = fields.String(metadata={"description": "What it pays off, in the loan's currency"})
    credited = fields.String(metadata={"description": "What reached the lenders' balances"})
    currency = fields.String()
    idempotency_key = fields.String()


class RepaymentBatchSchema(Schema):
    repayments = fields.List(fields.Nested(RepaymentSchema))


@blp.get("/<int(max=2147483647):project_id>/schedule")
@blp.response(200, ScheduleSchema)
def schedule(project_id: int):  # type: ignore[no-untyped-def]
    """The loan's repayment schedule: stored at disbursal, or the expected one before."""
    from tontine_loan.views import loan_section

    project = get_project(project_id)
    if project.funding_model != "loan" or not can_view(current_user, project):
        abort(404)
    section = loan_section(project)
    loan = db.session.get(Loan, project.id)
    return {
        "project_id": project.id,
        "currency": project.currency,
        "disbursed_on": loan.disbursed_on if loan else None,
        "stored": section["scheduled"],
        "instalments": [
            {
                "number": i["number"],
                "due": i["due"],
                "principal": i["principal"].decimal_string(),
                "interest": i["interest"].decimal_string(),
            }
            for i in section["instalments"]
        ],
    }


@blp.post("/repayments")
@blp.arguments(RepaymentBatchInput)
@blp.response(201, RepaymentBatchSchema)
def repayments(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Record a batch of repayments (partner staff): all or none; retries are not doubled."""
    if not current_user.is_authenticated:
        abort(401, description="Log in first: the API uses the site's session.")
    entries = [
        RepaymentEntry(
            project_id=r["project_id"],
            paid_on=r["paid_on"],
            idempotency_key=r["idempotency_key"],
            amount=r["amount"],
            local_amount=r["local_amount"],
            rate=r["rate"],
            note=r["note"],
        )
        for r in data["repayments"]
    ]
    recorded = record_repayments(current_user._get_current_object(), entries, today=date.today())
    return {
        "repayments": [
            {
                "id": r.id,
                "project_id": r.project_id,
                "paid_on": r.paid_on,
                "settled": Money(r.settled, r.currency).decimal_string(),
                "credited": Money(r.credited, r.currency).decimal_string(),
                "currency": r.currency,
                "idempotency_key": r.idempotency_key,
            }
            for r in recorded
        ]
    }
