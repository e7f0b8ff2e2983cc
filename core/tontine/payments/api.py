"""Contributions API (``/api/v1/contributions``).

Session authentication with Flask-WTF's CSRF header (``X-CSRFToken``), like the pages.
Creating a contribution needs an ``Idempotency-Key`` header: a retry with the same key
returns the first contribution with status 200 instead of 201.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from tontine.db import db
from tontine.errors import DomainError
from tontine.extensions import registry
from tontine.money import Money
from tontine.payments import services
from tontine.payments.models import Contribution, Payment
from tontine.payments.provider import StartResult
from tontine.payments.states import PaymentState

blp = Blueprint(
    "contributions_api", __name__, url_prefix="/contributions", description="Contributions"
)

WAITING = (PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION)


class ContributionInput(Schema):
    project_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Decimal(
        required=True,
        as_string=True,
        allow_nan=False,
        validate=validate.Range(min=0, min_inclusive=False),
    )
    tip = fields.Decimal(
        load_default="0", as_string=True, allow_nan=False, validate=validate.Range(min=0)
    )
    provider = fields.String(required=True, validate=validate.Length(min=1, max=32))
    anonymous = fields.Boolean(load_default=False)
    refund_to = fields.String(
        load_default="payment_method", validate=validate.OneOf(["payment_method", "balance"])
    )
    details = fields.Dict(keys=fields.String(), load_default=dict)


class NextStepSchema(Schema):
    redirect_url = fields.String(allow_none=True)
    instructions = fields.Dict()


class ContributionSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    amount = fields.String(metadata={"description": "Decimal, in the project's currency"})
    tip = fields.String()
    currency = fields.String()
    state = fields.String()
    anonymous = fields.Boolean()
    refund_to = fields.String()
    refunded = fields.String()
    details = fields.Dict()
    created_at = fields.DateTime()
    next = fields.Nested(NextStepSchema, allow_none=True)
    status_url = fields.String()


class IdempotencyHeader(Schema):
    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "Any unique string; a retry with the same key is not a new gift"},
    )


def _require_login() -> Any:
    if not current_user.is_authenticated:
        abort(401, description="Log in first: the API uses the site's session.")
    return current_user._get_current_object()


def to_json(contribution: Contribution, start: StartResult | None = None) -> dict[str, Any]:
    payment: Payment = contribution.payments[-1]
    if start is None and payment.state in WAITING:
        start = registry().payment_providers[payment.provider].resume(payment)
    nxt = None
    if start is not None and payment.state in WAITING:
        nxt = {"redirect_url": start.redirect_url, "instructions": start.instructions}
    return {
        "id": contribution.id,
        "project_id": contribution.project_id,
        "amount": contribution.money.decimal_string(),
        "tip": Money(contribution.tip_amount, contribution.currency).decimal_string(),
        "currency": contribution.currency,
        "state": contribution.state.value,
        "anonymous": contribution.anonymous,
        "refund_to": contribution.refund_to,
        "refunded": Money(contribution.refunded_amount, contribution.currency).decimal_string(),
        "details": contribution.details,
        "created_at": contribution.created_at,
        "next": nxt,
        "status_url": url_for("payments.checkout_done", contribution_id=contribution.id),
    }


@blp.post("/")
@blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(ContributionInput)
@blp.response(201, ContributionSchema)
@blp.alt_response(200, schema=ContributionSchema, description="A retry: the first contribution")
def create_contribution(data: dict[str, Any], idempotency_key: str):  # type: ignore[no-untyped-def]
    """Give to a project; pay at ``next.redirect_url`` or by ``next.instructions``."""
    supporter = _require_login()
    existed = db.session.scalar(
        db.select(Contribution.id).where(
            Contribution.supporter_id == supporter.id,
            Contribution.idempotency_key == idempotency_key,
        )
    )
    contribution, _payment, start = services.contribute(
        project_id=data["project_id"],
        supporter=supporter,
        amount=data["amount"],
        tip=data["tip"],
        provider_key=data["provider"],
        idempotency_key=idempotency_key,
        return_url=lambda c: (
            current_app.config["BASE_URL"] + url_for("payments.checkout_done", contribution_id=c.id)
        ),
        details=data["details"],
        anonymous=data["anonymous"],
        refund_to=data["refund_to"],
    )
    status = 200 if (start is None or existed) else 201
    return to_json(contribution, start), status


@blp.get("/<int:contribution_id>")
@blp.response(200, ContributionSchema)
def get_contribution(contribution_id: int):  # type: ignore[no-untyped-def]
    """One of your contributions (someone else's is 404)."""
    supporter = _require_login()
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or contribution.supporter_id != supporter.id:
        raise DomainError("No such contribution.", status=404)
    return to_json(contribution)
