"""The admin's federation page: peers and their state, follows, approvals, blocks.

Thin views over ``peers``; only admins get here.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from tontine.db import db
from tontine.errors import DomainError
from tontine_federation import peers, urls
from tontine_federation.forms import BlockForm, FollowForm, PeerActionForm
from tontine_federation.models import BlockedDomain

bp = Blueprint("federation_admin", __name__, url_prefix="/admin/federation")

ACTIONS = {
    "unfollow": (peers.unfollow, _l("Unfollowed.")),
    "approve": (peers.approve, _l("Follower approved.")),
    "refuse": (peers.refuse, _l("Follow request refused.")),
    "unblock": (peers.unblock, _l("Domain unblocked.")),
}


@bp.before_request
@login_required
def admins_only() -> None:
    if not current_user.is_admin:
        abort(403)


def _page(
    follow_form: FollowForm | None = None, block_form: BlockForm | None = None, status: int = 200
):  # type: ignore[no-untyped-def]
    blocked = db.session.scalars(select(BlockedDomain).order_by(BlockedDomain.domain)).all()
    body = render_template(
        "federation/admin.html",
        rows=peers.peer_rows(),
        blocked=blocked,
        handle=urls.handle(),
        follow_form=follow_form or FollowForm(),
        block_form=block_form or BlockForm(),
        action_form=PeerActionForm(),
    )
    return body, status


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/follow")
def follow():  # type: ignore[no-untyped-def]
    form = FollowForm()
    if not form.validate_on_submit():
        return _page(follow_form=form, status=400)
    try:
        peers.follow(form.target.data)
    except DomainError as exc:
        form.target.errors = [exc.message]
        return _page(follow_form=form, status=exc.status)
    flash(_("Follow request sent."))
    return redirect(url_for("federation_admin.index"))


@bp.post("/block")
def block():  # type: ignore[no-untyped-def]
    form = BlockForm()
    if not form.validate_on_submit():
        return _page(block_form=form, status=400)
    try:
        peers.block(form.domain.data, form.reason.data or "")
    except DomainError as exc:
        form.domain.errors = [exc.message]
        return _page(block_form=form, status=exc.status)
    flash(_("Domain blocked."))
    return redirect(url_for("federation_admin.index"))


@bp.post("/<action>")
def act(action: str):  # type: ignore[no-untyped-def]
    if action not in ACTIONS:
        abort(404)
    form = PeerActionForm()
    if not form.validate_on_submit():
        return _page(status=400)
    service, done = ACTIONS[action]
    try:
        service(form.target.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return _page(status=exc.status)
    flash(str(done))
    return redirect(url_for("federation_admin.index"))
