"""Matched giving: a sponsor doubles every gift to a project, up to a cap.

The sponsor is an account with a Tontine balance (money they paid in beforehand). When a
gift to a "matched" project is confirmed, the same amount moves from the sponsor's balance
to the project's escrow, until the project's match cap or the sponsor's balance runs out.
Matched giving is keep-it-all: the gifts and the matches go to the project.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates
from sqlalchemy import func, select

from tontine.db import db, lock_row
from tontine.funding import CloseOutcome, FundingModel
from tontine.hookspecs import hookimpl
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, credit, debit, post
from tontine.money import Money

HERE = Path(__file__).parent
KEY = "matched"


class MatchedTerms(Schema):
    """The project's terms: who matches the gifts, and up to how much in total."""

    class Meta:
        unknown = EXCLUDE  # the core keeps its own keys (duration_days) in the terms

    sponsor_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1))
    match_cap = fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False))

    @validates("sponsor_id")
    def sponsor_exists(self, value: int, **_: Any) -> None:
        from tontine.accounts.models import User

        if db.session.get(User, value) is None:
            raise ValidationError(str(_l("No account has this number.")))

    @post_load
    def json_ready(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["match_cap"] = str(data["match_cap"])  # terms are stored as JSON
        return data


class MatchedGiving(FundingModel):
    key = KEY
    label = _l("Matched giving")
    terms_schema = MatchedTerms
    page_template = "matched/page.html"
    terms_template = "matched/terms.html"

    def cap(self, project: Any) -> int | None:
        return None  # keep-it-all: gifts may pass the goal

    def close(self, project: Any, raised: Money) -> CloseOutcome:
        return CloseOutcome.FUNDED

    def listing_terms(self, project: Any) -> dict[str, Any]:
        return {"match_cap": project.terms["match_cap"]}


def match_cap(project: Any) -> Money:
    return Money.round_decimal(Decimal(project.terms["match_cap"]), project.currency)


def matched_so_far(project: Any) -> Money:
    from tontine_matched.models import Match

    total = db.session.scalar(
        select(func.coalesce(func.sum(Match.amount), 0)).where(Match.project_id == project.id)
    )
    return Money(int(total), project.currency)


@hookimpl
def register_funding_models() -> list[Any]:
    return [MatchedGiving()]


@hookimpl
def register_migrations() -> list[str]:
    return [str(HERE / "migrations")]


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(HERE / "templates")]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    """No pages: the blueprint only lends the templates two functions."""
    bp = Blueprint("matched", __name__)
    bp.add_app_template_global(matched_so_far, "matched_so_far")
    bp.add_app_template_global(match_cap, "match_cap")
    return [bp]


@hookimpl
def contribution_confirmed(contribution: Any) -> None:
    """Match the gift inside the core's unit of work: add rows, post, never commit."""
    from tontine.accounts.models import User
    from tontine.projects.models import Project
    from tontine_matched.models import Match

    project = db.session.get(Project, contribution.project_id)
    if project is None or project.funding_model != KEY:
        return
    sponsor_id = int(project.terms["sponsor_id"])
    # One match at a time per project and per sponsor: the cap and the balance hold.
    lock_row(Project, project.id)
    lock_row(User, sponsor_id)
    left = match_cap(project) - matched_so_far(project)
    available = balance(AccountKind.SUPPORTER_BALANCE, sponsor_id, project.currency)
    amount = min(contribution.amount, left.amount, available.amount)
    if amount <= 0:
        return
    match = Money(amount, project.currency)
    posted = post(
        "matched_gift",
        [
            debit(AccountKind.SUPPORTER_BALANCE, sponsor_id, match),
            credit(AccountKind.PROJECT_ESCROW, project.id, match),
        ],
        memo=f"sponsor match of contribution {contribution.id}",
        cause=f"matched:{contribution.id}",
    )
    if posted is not None:  # None: this gift was matched already
        db.session.add(
            Match(
                contribution_id=contribution.id,
                project_id=project.id,
                sponsor_id=sponsor_id,
                amount=amount,
                currency=project.currency,
            )
        )
