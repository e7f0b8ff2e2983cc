"""Payment pages and webhooks: give, the checkout's outcome, my gifts, payouts, transfers.

Views are thin: they read forms, call ``tontine.payments.services`` (which own the
transactions) and render. A refused contribution re-renders the form with the reason and
writes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from tontine.db import db, utcnow
from tontine.errors import DomainError, Forbidden, NotFound, problem
from tontine.extensions import csrf, registry
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, balances
from tontine.money import Money
from tontine.payments import services
from tontine.payments.forms import (
    REFUND_LABELS,
    GiveForm,
    MarkReceivedForm,
    PayoutForm,
    parse_amount,
    provider_labels,
)
from tontine.payments.models import Contribution, Payment
from tontine.payments.provider import InvalidWebhook, StartResult
from tontine.payments.states import PaymentState
from tontine.projects import states as project_states
from tontine.projects.models import Project

bp = Blueprint("payments", __name__)

WAITING = frozenset({PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION})

STATE_LABELS: dict[str, Any] = {
    "created": _l("started"),
    "pending": _l("waiting for payment"),
    "requires_action": _l("waiting for your confirmation"),
    "succeeded": _l("paid"),
    "failed": _l("declined"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
    "partially_refunded": _l("partly refunded"),
    "refunded": _l("refunded"),
    "disputed": _l("disputed"),
    "won": _l("dispute won"),
    "lost": _l("dispute lost"),
    "requested": _l("requested"),
    "paid": _l("paid"),
}

PAYOUT_STATES = frozenset({project_states.FUNDED, project_states.RUNNING, project_states.COMPLETED})


@bp.app_context_processor
def payment_labels() -> dict[str, Any]:
    return {
        "payment_state_label": lambda state: STATE_LABELS.get(str(state), str(state)),
        "Money": Money,
    }


def _project_or_404(project_id: int) -> Project:
    from tontine.projects.services import can_view

    project = db.session.get(Project, project_id)
    if project is None or not can_view(current_user, project):
        abort(404)
    return project


def supporter_balance(currency: str) -> Money | None:
    """The supporter's Tontine balance in ``currency`` when the site offers paying with it."""
    if "balance" not in current_app.config["PAYMENT_PROVIDERS"]:
        return None
    return balance(AccountKind.SUPPORTER_BALANCE, current_user.id, currency)


# --- Give ---------------------------------------------------------------------------------


@bp.route("/projects/<int:project_id>/give", methods=["GET", "POST"])
@login_required
def give(project_id: int):  # type: ignore[no-untyped-def]
    from tontine.projects.services import funding_model, raised

    project = _project_or_404(project_id)
    model = funding_model(project)
    form = GiveForm()
    if request.method == "GET" and parse_amount(request.args.get("amount")):
        form.amount.data = request.args["amount"]  # "Give €20" buttons on the project page
    details = {
        key.removeprefix("details."): value
        for key, value in request.form.items()
        if key.startswith("details.")
    }
    error: str | None = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                contribution, payment, start = services.contribute(
                    project_id=project.id,
                    supporter=current_user._get_current_object(),
                    amount=str(parse_amount(form.amount.data)),
                    tip=str(parse_amount(form.tip.data) or 0),
                    provider_key=form.provider.data,
                    idempotency_key=form.idempotency_key.data,
                    return_url=lambda c: absolute(done_url(c.id)),
                    details=details,
                    anonymous=form.anonymous.data,
                    refund_to=form.refund_to.data,
                )
            except DomainError as exc:
                error = exc.message
            else:
                return _next_step(contribution, payment, start)
        else:
            error = _("Please correct the form.")
    status = 422 if error else 200
    return render_template(
        "payments/give.html",
        project=project,
        model=model,
        form=form,
        details=details,
        error=error,
        raised=raised(project),
        taking=project.state == project_states.OPEN
        and (project.deadline is None or project.deadline > utcnow()),
        balance=supporter_balance(project.currency),
        provider_labels=provider_labels(),
        refund_labels=REFUND_LABELS,
    ), status


def _next_step(contribution: Contribution, payment: Payment, start: StartResult | None):  # type: ignore[no-untyped-def]
    """Off to the provider's page, or to the page that shows the outcome or instructions."""
    if start is None and payment.state in WAITING:  # a retried form: resume the first one
        start = registry().payment_providers[payment.provider].resume(payment)
    if start is not None and start.redirect_url and payment.state in WAITING:
        return redirect(start.redirect_url, 303)
    return redirect(url_for("payments.checkout_done", contribution_id=contribution.id), 303)


def done_url(contribution_id: int) -> str:
    return url_for("payments.checkout_done", contribution_id=contribution_id)


def absolute(path: str) -> str:
    """An address on this site built from its configured origin, never the Host header."""
    return current_app.config["BASE_URL"] + path


@bp.get("/my/contributions/<int:contribution_id>")
@login_required
def checkout_done(contribution_id: int):  # type: ignore[no-untyped-def]
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or contribution.supporter_id != current_user.id:
        abort(404)
    payment = contribution.payments[-1]
    project = db.session.get(Project, contribution.project_id)
    next_step = None
    if payment.state in WAITING:
        next_step = registry().payment_providers[payment.provider].resume(payment)
    return render_template(
        "payments/done.html",
        contribution=contribution,
        payment=payment,
        project=project,
        next_step=next_step,
        waiting=payment.state in WAITING,
    )


@bp.get("/my/contributions")
@login_required
def my_contributions():  # type: ignore[no-untyped-def]
    contributions = services.contributions_of(current_user)
    ids = {c.project_id for c in contributions}
    projects = (
        {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(ids)))}
        if ids
        else {}
    )
    models = registry().funding_models
    notes = {}  # what each funding model has to say about a gift ("reward sent", …)
    for contribution in contributions:
        project = projects.get(contribution.project_id)
        model = models.get(project.funding_model) if project else None
        note = model.contribution_note(contribution) if model else None
        if note:
            notes[contribution.id] = note
    return render_template(
        "payments/my_contributions.html",
        contributions=contributions,
        projects=projects,
        notes=notes,
        balances=balances(AccountKind.SUPPORTER_BALANCE, current_user.id),
        offers_balance="balance" in current_app.config["PAYMENT_PROVIDERS"],
    )


# --- Webhooks -----------------------------------------------------------------------------


@bp.post("/payments/webhook/<provider_key>")
@csrf.exempt
def webhook(provider_key: str):  # type: ignore[no-untyped-def]
    """Provider callbacks: verified by the provider, applied once each (duplicates are no-ops)."""
    found = registry().payment_providers.get(provider_key)
    if found is None or provider_key not in current_app.config["PAYMENT_PROVIDERS"]:
        return problem(
            400, "Unknown payment provider", f"This site has no provider {provider_key[:40]!r}."
        )
    try:
        events = found.parse_webhook(request)
    except InvalidWebhook as exc:
        return problem(400, "Invalid webhook", exc.message)
    outcomes = [services.apply_event(provider_key, event) for event in events]
    if any(outcome in services.UNKNOWN for outcome in outcomes):
        # Nothing was written for those: answering 404 makes the provider deliver again.
        return problem(
            404,
            "Unknown payment",
            "No payment or payout has this reference (yet).",
            outcomes=outcomes,
        )
    return jsonify(received=len(events), outcomes=outcomes)


# --- Payouts ------------------------------------------------------------------------------


def _owned_project(project_id: int) -> Project:
    from tontine.projects.services import can_edit

    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    if not (can_edit(current_user, project) or current_user.is_moderator):
        abort(404)
    return project


def _render_payouts(project: Project, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    from tontine.projects.services import raised

    held = balance(AccountKind.PROJECT_ESCROW, project.id, project.currency)
    return render_template(
        "payments/payouts.html",
        project=project,
        payouts=services.payouts_of(project.id),
        held=held,
        raised=raised(project),
        fee_percent=current_app.config["PLATFORM_FEE_PERCENT"],
        can_request=project.state in PAYOUT_STATES and held.amount > 0,
        form=PayoutForm(),
        error=error,
    ), status


@bp.get("/projects/<int:project_id>/payouts")
@login_required
def payouts(project_id: int):  # type: ignore[no-untyped-def]
    return _render_payouts(_owned_project(project_id))


@bp.post("/projects/<int:project_id>/payout")
@login_required
def payout(project_id: int):  # type: ignore[no-untyped-def]
    project = _owned_project(project_id)
    if not PayoutForm().validate_on_submit():
        return _render_payouts(project, _("This form has expired; please try again."), 400)
    try:
        done = services.request_payout(project.id, current_user._get_current_object())
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return _render_payouts(project, exc.message, 409)
    flash(
        _("Payout of %(amount)s requested.", amount=str(Money(done.amount, done.currency))),
        "success",
    )
    return redirect(url_for("payments.payouts", project_id=project.id), 303)


# --- Bank transfers (staff) -----------------------------------------------------------------


def _staff_only() -> None:
    if not current_user.is_moderator:
        abort(403)


def _render_transfers(
    error: str | None = None,
    error_for: int | None = None,
    status: int = 200,
    form: MarkReceivedForm | None = None,
):  # type: ignore[no-untyped-def]
    transfers = services.pending_transfers()
    if error_for not in {t.id for t in transfers}:
        error_for = None  # no longer listed (already received): show the message on top
    contributions = {p.contribution_id: p.contribution for p in transfers}
    projects_by_id = (
        {
            p.id: p
            for p in db.session.scalars(
                select(Project).where(
                    Project.id.in_({c.project_id for c in contributions.values()})
                )
            )
        }
        if contributions
        else {}
    )
    return render_template(
        "payments/transfers.html",
        transfers=transfers,
        projects=projects_by_id,
        form=form or MarkReceivedForm(formdata=None),
        error=error,
        error_for=error_for,
    ), status


@bp.get("/payments/transfers")
@login_required
def transfers():  # type: ignore[no-untyped-def]
    _staff_only()
    return _render_transfers()


@bp.post("/payments/transfers/<int:payment_id>/received")
@login_required
def mark_received(payment_id: int):  # type: ignore[no-untyped-def]
    _staff_only()
    form = MarkReceivedForm()
    if not form.validate_on_submit():
        message = next(iter(form.reason.errors), None) or _("Please correct the form.")
        return _render_transfers(str(message), payment_id, 422, form)
    try:
        services.mark_received(
            payment_id, current_user._get_current_object(), form.reason.data or ""
        )
    except NotFound:
        raise
    except DomainError as exc:
        return _render_transfers(exc.message, payment_id, 409 if exc.status == 409 else 422, form)
    flash(_("Transfer marked as received."), "success")
    return redirect(url_for("payments.transfers"), 303)
