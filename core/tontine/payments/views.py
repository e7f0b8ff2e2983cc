"""Payment pages and webhooks."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("payments", __name__)


@bp.get("/my/contributions")
def my_contributions():  # type: ignore[no-untyped-def]
    return "mine"
