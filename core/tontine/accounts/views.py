"""Account pages (sign-up, log-in, profile)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    return "login"


@bp.route("/signup", methods=["GET", "POST"])
def signup():  # type: ignore[no-untyped-def]
    return "signup"


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    return "logout"


@bp.get("/")
def profile():  # type: ignore[no-untyped-def]
    return "profile"
