"""The sandbox's checkout pages, served by the instance as a provider's page would be.

The supporter's choice becomes signed webhooks queued for delivery (see ``provider``); the
page itself never changes the payment: only the webhook does, as with a real provider.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import InputRequired

from tontine.db import db, unit_of_work
from tontine.errors import Conflict, DomainError
from tontine.forms import Form
from tontine.payments.models import Contribution, Payment
from tontine.payments.states import PaymentState
from tontine.projects.models import Project
from tontine_sandbox.provider import (
    FINAL_KINDS,
    event_body,
    payment_event_id,
    send_events,
    sent_event_ids,
)

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

WAITING = (PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION)

#: What each button sends: ``(event kind, reason)`` in the order a real provider would. A
#: card payment is confirmed by one event; a bank debit reports "pending" first and settles
#: later, which is also the pair that ``out_of_order`` and ``duplicate_webhooks`` rehearse.
ACTIONS: dict[str, list[tuple[str, str]]] = {
    "pay": [("succeeded", "")],
    "pay_debit": [("pending", ""), ("succeeded", "")],
    "pay_3ds": [("requires_action", "")],
    "decline": [("failed", "card_declined")],
    "abandon": [("cancelled", "abandoned at checkout")],
    "authenticate": [("succeeded", "")],
    "fail_authentication": [("failed", "authentication_failed")],
}


class CheckoutForm(Form):
    action = SelectField(
        choices=["pay", "pay_debit", "pay_3ds", "decline", "abandon"],  # the page's buttons
        validators=[InputRequired(_l("Choose what happens to this payment."))],
        validate_choice=True,
    )


class ChallengeForm(Form):
    action = SelectField(
        choices=["authenticate", "fail_authentication"],
        validators=[InputRequired(_l("Choose what happens to this payment."))],
    )


def _payment(ref: str, *, for_update: bool = False) -> Payment:
    """The payment behind a checkout (locked for the decision when ``for_update``), or 404."""
    query = select(Payment).where(Payment.provider == "sandbox", Payment.provider_ref == ref)
    if for_update:
        query = query.with_for_update(of=Payment, key_share=True).execution_options(
            populate_existing=True
        )
    payment = db.session.scalars(query).first()
    if payment is None:
        abort(404)
    return payment


def _safe_return(target: str | None, payment: Payment) -> str:
    """Back to the site after the checkout: only to an address on this site."""
    base = current_app.config["BASE_URL"]
    if target and (
        target.startswith(base + "/") or (target.startswith("/") and not target.startswith("//"))
    ):
        return target
    return url_for("payments.checkout_done", contribution_id=payment.contribution_id)


def decide(ref: str, action: str) -> Payment:
    """Record the supporter's choice by queueing its webhooks; one final outcome per payment."""
    with unit_of_work():
        locked = _payment(ref, for_update=True)
        if locked.state not in WAITING:
            raise Conflict(_("This payment is already %(state)s.", state=locked.state.value))
        finals = [payment_event_id(ref, kind) for kind in FINAL_KINDS]
        if sent_event_ids(finals):
            raise Conflict(_("This checkout is finished; the bank's answer is on its way."))
        send_events(
            [
                (
                    payment_event_id(ref, kind),
                    event_body(payment_event_id(ref, kind), kind, ref, locked.amount, reason),
                )
                for kind, reason in ACTIONS[action]
            ]
        )
    return locked


def _render(template: str, ref: str, form: Form, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    row = db.session.execute(  # the payment and its project in one query
        select(Payment, Project)
        .join(Contribution, Contribution.id == Payment.contribution_id)
        .join(Project, Project.id == Contribution.project_id)
        .where(Payment.provider == "sandbox", Payment.provider_ref == ref)
    ).first()
    if row is None:
        abort(404)
    payment, project = row
    decided = bool(sent_event_ids([payment_event_id(ref, kind) for kind in FINAL_KINDS]))
    return render_template(
        template,
        payment=payment,
        project=project,
        form=form,
        error=error,
        open=payment.state in WAITING and not decided,
        return_to=request.args.get("return_to", ""),
    ), status


@bp.get("/checkout/<ref>")
def checkout(ref: str):  # type: ignore[no-untyped-def]
    return _render("sandbox/checkout.html", ref, CheckoutForm())


@bp.post("/checkout/<ref>")
def checkout_submit(ref: str):  # type: ignore[no-untyped-def]
    return _submit(ref, CheckoutForm(), "sandbox/checkout.html")


@bp.get("/checkout/<ref>/3ds")
def challenge(ref: str):  # type: ignore[no-untyped-def]
    return _render("sandbox/challenge.html", ref, ChallengeForm())


@bp.post("/checkout/<ref>/3ds")
def challenge_submit(ref: str):  # type: ignore[no-untyped-def]
    return _submit(ref, ChallengeForm(), "sandbox/challenge.html")


def _submit(ref: str, form: Form, template: str):  # type: ignore[no-untyped-def]
    if not form.validate_on_submit():
        return _render(template, ref, form, _("Choose one of the buttons."), 400)  # 404 if unknown
    try:
        payment = decide(ref, form.action.data)
    except DomainError as exc:
        return _render(template, ref, form, exc.message, exc.status)
    return_to = request.args.get("return_to")
    if form.action.data == "pay_3ds":
        target = (
            url_for("sandbox.challenge", ref=ref, return_to=return_to)
            if return_to
            else url_for("sandbox.challenge", ref=ref)
        )
        return redirect(target, 303)
    return redirect(_safe_return(return_to, payment), 303)
