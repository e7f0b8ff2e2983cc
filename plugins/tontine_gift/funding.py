"""The gift funding model: Dreamshake/Ulule-style giving with rewards and stretch goals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tontine.funding import CloseOutcome, ContributionRefused, FundingModel
from tontine.money import Money, MoneyError
from tontine_gift import services
from tontine_gift.schemas import ALL_OR_NOTHING, KEEP_IT_ALL, GiftDetailsSchema, GiftTermsSchema

if TYPE_CHECKING:
    from tontine.payments.models import Contribution
    from tontine.projects.models import Project


@dataclass(frozen=True)
class StretchGoal:
    amount: Money
    title: str
    reached: bool


def terms_of(project: Project) -> dict[str, Any]:
    """The project's terms with the defaults filled in (old rows, API-created projects)."""
    terms = dict(project.terms or {})
    mode = terms.get("mode") or ALL_OR_NOTHING
    goals = terms.get("stretch_goals") or []
    cap = terms.get("cap_at_goal")
    if cap is None:
        cap = mode == ALL_OR_NOTHING and not goals
    return {
        "mode": mode,
        "min_gift": str(terms.get("min_gift") or "1"),
        "cap_at_goal": bool(cap),
        "stretch_goals": goals,
    }


def money_of(value: str, currency: str) -> Money:
    """A stored decimal string as money, rounded to the currency (JPY has no cents)."""
    try:
        return Money.from_decimal(value, currency)
    except MoneyError:
        return Money.round_decimal(Decimal(value), currency)


def stretch_goals(project: Project, raised: Money) -> list[StretchGoal]:
    return [
        StretchGoal(
            amount=(amount := money_of(goal["amount"], project.currency)),
            title=goal["title"],
            reached=raised.amount >= amount.amount,
        )
        for goal in terms_of(project)["stretch_goals"]
    ]


class GiftFunding(FundingModel):
    """Gifts to a dream: all-or-nothing or keep-it-all, minimum gift, rewards, stretch goals."""

    key = "gift"
    label = _l("Gift")
    terms_schema = GiftTermsSchema
    contribution_schema = GiftDetailsSchema
    page_template = "gift/project_section.html"
    form_template = "gift/give_fields.html"
    terms_template = "gift/terms_fields.html"

    def cap(self, project: Project) -> int | None:
        return project.goal_amount if terms_of(project)["cap_at_goal"] else None

    def validate_contribution(
        self, project: Project, amount: Money, details: dict[str, Any]
    ) -> None:
        minimum = money_of(terms_of(project)["min_gift"], project.currency)
        if amount.amount < minimum.amount:
            from tontine.i18n import format_money

            raise ContributionRefused(
                _("The smallest gift to this dream is %(amount)s.", amount=format_money(minimum)),
                field="amount",
            )
        tier_id = details.get("reward_tier_id")
        if tier_id is not None:
            services.check_tier(project, int(tier_id), amount)

    def reserve(self, project: Project, contribution: Contribution) -> None:
        tier_id = (contribution.details or {}).get("reward_tier_id")
        if tier_id is not None:
            services.claim(project, contribution, int(tier_id))

    def close(self, project: Project, raised: Money) -> CloseOutcome:
        if terms_of(project)["mode"] == KEEP_IT_ALL:
            return CloseOutcome.FUNDED if raised.amount > 0 else CloseOutcome.FAILED
        return CloseOutcome.FUNDED if raised.amount >= project.goal_amount else CloseOutcome.FAILED

    def after_funding(self, project: Project) -> None:
        services.notify_rewards_to_send(project)

    def contribution_note(self, contribution: Contribution) -> str | None:
        return services.reward_status(contribution)

    def listing_terms(self, project: Project) -> dict[str, Any]:
        terms = terms_of(project)
        return {
            "mode": terms["mode"],
            "min_gift": terms["min_gift"],
            "stretch_goals": [
                {"amount": goal["amount"], "title": goal["title"]}
                for goal in terms["stretch_goals"]
            ],
        }
