"""Home page, language switcher and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import select

from tontine.db import db
from tontine.projects import states
from tontine.projects.models import Project

bp = Blueprint("site", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    featured = db.session.scalars(
        select(Project)
        .where(Project.state == states.OPEN)
        .order_by(Project.featured.desc(), Project.id.desc())
        .limit(6)
    ).all()
    return render_template("site/home.html", featured=featured)


@bp.post("/locale")
def set_locale():  # type: ignore[no-untyped-def]
    code = request.form.get("locale", "")
    if code in current_app.config["LOCALES"]:
        session["locale"] = code
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("site.home")
    return redirect(target)


@bp.get("/healthz")
def health():  # type: ignore[no-untyped-def]
    db.session.execute(select(1))
    return {"status": "ok"}
