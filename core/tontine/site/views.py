"""Home page, language switcher and health check."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from tontine.db import db
from tontine.extensions import registry
from tontine.money import Money
from tontine.payments.models import Contribution
from tontine.payments.states import HOLDS_FUNDS
from tontine.plugins import collect
from tontine.projects import states
from tontine.projects.browse import cards_for
from tontine.projects.models import Project

bp = Blueprint("site", __name__)


def site_numbers() -> dict[str, Any]:
    """What the home page boasts about: open projects, money raised per currency, supporters."""
    open_count = db.session.scalar(
        select(func.count()).select_from(Project).where(Project.state == states.OPEN)
    )
    totals = db.session.execute(
        select(
            Contribution.currency,
            func.coalesce(func.sum(Contribution.amount - Contribution.refunded_amount), 0),
        )
        .where(Contribution.state.in_(HOLDS_FUNDS))
        .group_by(Contribution.currency)
        .order_by(Contribution.currency)
    ).all()
    supporters = db.session.scalar(
        select(func.count(func.distinct(Contribution.supporter_id))).where(
            Contribution.state.in_(HOLDS_FUNDS)
        )
    )
    return {
        "open_projects": int(open_count or 0),
        "raised": [Money(int(total), currency) for currency, total in totals if total],
        "supporters": int(supporters or 0),
    }


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    featured = db.session.scalars(
        select(Project)
        .where(Project.state == states.OPEN)
        .order_by(Project.featured.desc(), Project.id.desc())
        .limit(6)
    ).all()
    return render_template("site/home.html", cards=cards_for(featured), numbers=site_numbers())


@bp.app_context_processor
def navigation() -> dict[str, Any]:
    """Links plugins add to the navigation (``register_nav_links``), for this visitor."""

    def nav_links() -> list[tuple[str, str]]:
        return collect(registry().pm, "register_nav_links", user=current_user)

    return {"nav_links": nav_links}


@bp.post("/locale")
def set_locale():  # type: ignore[no-untyped-def]
    code = request.form.get("locale", "")
    if code in current_app.config["LOCALES"]:
        session["locale"] = code
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("site.home")
    return redirect(target)


HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def darker(colour: str, factor: float = 0.8) -> str:
    """The same hue, darker: hover states and links on a light background."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))


@bp.get("/theme.css")
def theme_css():  # type: ignore[no-untyped-def]
    """The instance's colours as CSS variables (the CSP forbids inline styles)."""
    accent = str(current_app.config.get("THEME", {}).get("accent", ""))
    body = ""
    if HEX_COLOUR.match(accent):
        body = f":root {{ --accent: {accent}; --accent-dark: {darker(accent)}; }}\n"
    response = make_response(body)
    response.mimetype = "text/css"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/healthz")
def health():  # type: ignore[no-untyped-def]
    db.session.execute(select(1))
    return {"status": "ok"}
