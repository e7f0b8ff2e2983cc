"""The loan plugin: Babyloan/Kiva-style micro-lending through field partners.

Lenders lend small sums to a borrower vetted by a local field partner, which disburses the
loan and collects the repayments; repayments are split exactly among the lenders and
credited to their Tontine balances, from which they lend again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tontine.hookspecs import hookimpl
from tontine_loan import models as _models  # noqa: F401  (registers the tables)

HERE = Path(__file__).parent


@hookimpl
def register_funding_models() -> list[Any]:
    from tontine_loan.funding import LoanFunding

    return [LoanFunding()]


@hookimpl
def register_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def project_saved(project: Any) -> None:
    """Loans through a partner are listed by its staff and belong to its organization."""
    from tontine_loan.partners import check_listing

    check_listing(project)


@hookimpl
def contribution_confirmed(contribution: Any) -> None:
    """A loan stops taking lenders as soon as it is fully funded."""
    from tontine_loan.services import close_if_fully_funded

    close_if_fully_funded(contribution.project_id)


@hookimpl
def register_job_handlers() -> dict[str, Any]:
    from tontine_loan.autolend import run_batch
    from tontine_loan.reminders import send_reminders

    return {"loan_batch": run_batch, "loan_repayment_reminders": send_reminders}


@hookimpl
def register_schedules() -> list[tuple[str, str, int]]:
    """Daily: it is idempotent, and marks a missed payment the day after it was due."""
    return [("loan-batch", "loan_batch", 24 * 3600)]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine_loan.views import bp

    return [bp]


@hookimpl
def register_api_blueprints(app: Any) -> list[Any]:
    from tontine_loan.api import blp

    return [blp]


@hookimpl
def register_nav_links(user: Any) -> list[tuple[str, str]]:
    from flask import url_for
    from flask_babel import gettext as _

    links = [
        (_("Loans"), url_for("loan.browse")),
        (_("Field partners"), url_for("loan.partners")),
        (_("Teams"), url_for("loan.teams")),
    ]
    if user is not None and user.is_authenticated:
        from tontine_loan.partners import staff_partners

        links.append((_("My loans"), url_for("loan.portfolio")))
        for partner in staff_partners(user):
            links.append((partner.name, url_for("loan.dashboard", partner_id=partner.id)))
    return links


@hookimpl
def load_demo_data() -> str | None:
    from tontine_loan.demo import load

    return load()
