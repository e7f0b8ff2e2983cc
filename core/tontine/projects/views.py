"""Project pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.get("/")
def browse():  # type: ignore[no-untyped-def]
    return "browse"


@bp.get("/<int:project_id>")
def detail(project_id: int):  # type: ignore[no-untyped-def]
    return "detail"


@bp.get("/mine")
def dashboard():  # type: ignore[no-untyped-def]
    return "dashboard"


@bp.get("/moderation")
def moderation():  # type: ignore[no-untyped-def]
    return "moderation"
