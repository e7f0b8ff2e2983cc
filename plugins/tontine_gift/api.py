"""Read-only API of the gift model: a dream's rewards (with what is left) and stretch goals.

Amounts are decimal strings with their currency, like the projects API; a project that does
not exist, is not published or does not use gifts is a 404 problem.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from tontine.money import Money
from tontine.projects import services as projects
from tontine.projects.schemas import MoneySchema
from tontine_gift import services
from tontine_gift.funding import stretch_goals, terms_of

blp = Blueprint("gift_api", __name__, url_prefix="/projects", description="Gift rewards")


class RewardTierSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    min_amount = fields.Nested(MoneySchema)
    quantity = fields.Integer(allow_none=True, metadata={"description": "null: no limit"})
    remaining = fields.Integer(allow_none=True)
    sold_out = fields.Boolean()


class StretchGoalOutputSchema(Schema):
    amount = fields.Nested(MoneySchema)
    title = fields.String()
    reached = fields.Boolean()


class RewardsSchema(Schema):
    mode = fields.String(metadata={"description": "all_or_nothing or keep_it_all"})
    min_gift = fields.Nested(MoneySchema)
    tiers = fields.List(fields.Nested(RewardTierSchema))
    stretch_goals = fields.List(fields.Nested(StretchGoalOutputSchema))


def _money(value: Money) -> dict[str, str]:
    return {"amount": value.decimal_string(), "currency": value.currency}


@blp.route("/<int:project_id>/rewards")
class Rewards(MethodView):
    @blp.response(200, RewardsSchema)
    @blp.alt_response(404, description="No such published gift project")
    def get(self, project_id: int) -> dict[str, Any]:
        """What a supporter can choose: reward tiers with what is left, and stretch goals."""
        from tontine_gift.funding import money_of

        project = projects.get_project(project_id)
        if not projects.can_view(current_user, project) or project.funding_model != "gift":
            abort(404)
        raised = projects.raised(project)
        terms = terms_of(project)
        return {
            "mode": terms["mode"],
            "min_gift": _money(money_of(terms["min_gift"], project.currency)),
            "tiers": [
                {
                    "id": stock.tier.id,
                    "title": stock.tier.title,
                    "description": stock.tier.description,
                    "min_amount": _money(stock.minimum),
                    "quantity": stock.tier.quantity,
                    "remaining": stock.remaining,
                    "sold_out": stock.sold_out,
                }
                for stock in services.stock(project)
            ],
            "stretch_goals": [
                {"amount": _money(goal.amount), "title": goal.title, "reached": goal.reached}
                for goal in stretch_goals(project, raised)
            ],
        }
