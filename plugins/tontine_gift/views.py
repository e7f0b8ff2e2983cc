"""Pages of the gift plugin: the owner's rewards and fulfilment, the supporter's rewards.

Views are thin: they read the form, call a service and show its message on error.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tontine.errors import DomainError, Forbidden
from tontine.projects.services import can_edit, get_project
from tontine_gift import services
from tontine_gift.forms import ActionForm, RewardTierForm

bp = Blueprint("gift", __name__, template_folder="templates")


@bp.app_template_global()
def gift_tiers(project: Any) -> list[services.TierStock]:
    """Reward tiers of ``project`` with what is left of each (for the page and give form)."""
    return services.stock(project)


@bp.app_template_global()
def gift_stretch_goals(project: Any, raised: Any) -> list[Any]:
    from tontine_gift.funding import stretch_goals

    return stretch_goals(project, raised)


@bp.app_template_global()
def gift_terms(project: Any) -> dict[str, Any]:
    from tontine_gift.funding import terms_of

    return terms_of(project)


@bp.app_template_global()
def gift_minimum(project: Any) -> Any:
    """The smallest gift to ``project``, as Money."""
    from tontine_gift.funding import money_of, terms_of

    return money_of(terms_of(project)["min_gift"], project.currency)


@bp.app_template_global()
def gift_reward_status(contribution: Any) -> str | None:
    """ "Reward sent: …" / "Reward: … (to be sent)" for a supporter's gift, or None."""
    return services.reward_status(contribution)


def _owner_project(project_id: int) -> Any:
    project = get_project(project_id)
    if not can_edit(current_user, project):
        raise Forbidden(_("Only the project's owner can change its rewards."))
    return project


def _rewards_page(
    project: Any, form: RewardTierForm, status: int = 200, error: str | None = None
) -> Any:
    return (
        render_template(
            "gift/rewards.html",
            project=project,
            tiers=services.stock(project),
            form=form,
            error=error,
            editable=project.state in services.EDITABLE_STATES,
            fulfilment=project.state in services.FULFILMENT_STATES,
            action=ActionForm(),
        ),
        status,
    )


def _form_error(form: RewardTierForm, exc: DomainError) -> str:
    field = getattr(form, exc.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), exc.message]
    return exc.message


@bp.route("/projects/<int:project_id>/rewards", methods=["GET", "POST"])
@login_required
def rewards(project_id: int) -> Any:
    """List the project's rewards; the owner adds one while the project is a draft."""
    project = _owner_project(project_id)
    form = RewardTierForm()
    if form.is_submitted():
        try:
            tier = services.add_tier(project.id, current_user, form.values())
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            return _rewards_page(project, form, exc.status, _form_error(form, exc))
        flash(_("Reward “%(title)s” added.", title=tier.title), "success")
        return redirect(url_for("gift.rewards", project_id=project.id))
    return _rewards_page(project, form)


@bp.route("/projects/<int:project_id>/rewards/<int:tier_id>/edit", methods=["GET", "POST"])
@login_required
def edit_tier(project_id: int, tier_id: int) -> Any:
    project = _owner_project(project_id)
    tier = services.tier_of(project, tier_id)
    form = RewardTierForm()
    error = None
    if form.is_submitted():
        try:
            services.update_tier(project.id, tier.id, current_user, form.values())
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            error = _form_error(form, exc)
            return render_template(
                "gift/edit_tier.html", project=project, tier=tier, form=form, error=error
            ), exc.status
        flash(_("Reward saved."), "success")
        return redirect(url_for("gift.rewards", project_id=project.id))
    form.title.data = tier.title
    form.description.data = tier.description
    form.min_amount.data = tier.minimum(project.currency).decimal_string()
    form.quantity.data = "" if tier.quantity is None else str(tier.quantity)
    form.position.data = str(tier.position)
    return render_template(
        "gift/edit_tier.html", project=project, tier=tier, form=form, error=error
    )


@bp.post("/projects/<int:project_id>/rewards/<int:tier_id>/delete")
@login_required
def delete_tier(project_id: int, tier_id: int) -> Any:
    project = _owner_project(project_id)
    try:
        services.delete_tier(project.id, tier_id, current_user)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _rewards_page(project, RewardTierForm(formdata=None), exc.status, exc.message)
    flash(_("Reward deleted."), "success")
    return redirect(url_for("gift.rewards", project_id=project.id))


@bp.get("/projects/<int:project_id>/rewards/fulfilment")
@login_required
def fulfilment(project_id: int) -> Any:
    """Per reward, the supporters to deliver to, once the project is funded."""
    project = _owner_project(project_id)
    return render_template(
        "gift/fulfilment.html",
        project=project,
        groups=services.deliveries(project),
        open=project.state in services.FULFILMENT_STATES,
        action=ActionForm(),
    )


@bp.post("/projects/<int:project_id>/rewards/claims/<int:claim_id>")
@login_required
def mark_fulfilled(project_id: int, claim_id: int) -> Any:
    """Mark one supporter's reward as sent (``sent=1``) or not yet sent (``sent=0``)."""
    project = _owner_project(project_id)
    form = ActionForm()
    sent = (form.sent.data or "1") not in ("0", "false", "no")
    services.set_fulfilled(project.id, claim_id, current_user, sent)
    flash(_("Marked as sent.") if sent else _("Marked as not sent yet."), "success")
    return redirect(url_for("gift.fulfilment", project_id=project.id))


@bp.get("/my/rewards")
@login_required
def my_rewards() -> Any:
    """The rewards a supporter chose, and whether they were sent."""
    return render_template("gift/my_rewards.html", rows=services.rewards_of(current_user))
