"""The gift plugin: Dreamshake/Ulule-style giving to a dream.

A project funded by gifts is all-or-nothing (a missed goal refunds every gift) or
keep-it-all, has a minimum gift, reward tiers with limited quantities (claimed under the
core's project lock, so a sold-out reward cannot be chosen, even by concurrent supporters),
stretch goals shown on its page, and a fulfilment list for the owner once it is funded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tontine.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def register_funding_models() -> list[Any]:
    from tontine_gift.funding import GiftFunding

    return [GiftFunding()]


@hookimpl
def register_migrations() -> list[str]:
    return [str(HERE / "migrations")]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine_gift.views import bp

    return [bp]


@hookimpl
def register_api_blueprints(app: Any) -> list[Any]:
    from tontine_gift.api import blp

    return [blp]


@hookimpl
def register_nav_links(user: Any) -> list[tuple[str, str]]:
    from flask import url_for
    from flask_babel import gettext as _

    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [(_("My rewards"), url_for("gift.my_rewards"))]


@hookimpl
def project_saved(project: Any) -> None:
    """Terms that depend on the goal, which the terms schema does not see, are checked here.

    Raising rolls the whole save back, so the owner gets the message and nothing is written.
    """
    if project.funding_model != "gift":
        return
    from flask_babel import gettext as _

    from tontine.errors import DomainError
    from tontine.money import Money
    from tontine_gift.funding import money_of, stretch_goals, terms_of

    goals = stretch_goals(project, Money(0, project.currency))
    if any(goal.amount.amount <= project.goal_amount for goal in goals):
        raise DomainError(
            _("Each stretch goal must be above the goal."), field="terms.stretch_goals"
        )
    if money_of(terms_of(project)["min_gift"], project.currency).amount > project.goal_amount:
        raise DomainError(
            _("The smallest gift cannot be more than the goal."), field="terms.min_gift"
        )


@hookimpl
def load_demo_data() -> str | None:
    from tontine_gift.demo import load

    return load()
