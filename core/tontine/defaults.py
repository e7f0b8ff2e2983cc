"""The core's own plugin: built-in pages, API, jobs and migrations use the public hooks."""

from __future__ import annotations

from typing import Any

from tontine.hookspecs import hookimpl


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine.accounts.views import bp as accounts
    from tontine.payments.views import bp as payments
    from tontine.projects.views import bp as projects
    from tontine.site.views import bp as site
    from tontine.storage import media

    return [site, accounts, projects, payments, media]


@hookimpl
def register_api_blueprints(app: Any) -> list[Any]:
    from tontine.payments.api import blp as contributions
    from tontine.projects.api import blp as projects

    return [projects, contributions]


@hookimpl
def register_job_handlers() -> dict[str, Any]:
    from tontine.mail import deliver_email
    from tontine.payments.services import expire_stale_payments, refund_job
    from tontine.projects.services import close_due_projects

    return {
        "close_due_projects": close_due_projects,
        "deliver_email": deliver_email,
        "expire_stale_payments": expire_stale_payments,
        "refund_contribution": refund_job,
    }


@hookimpl
def register_schedules() -> list[tuple[str, str, int]]:
    return [
        ("close-due-projects", "close_due_projects", 60),
        ("expire-stale-payments", "expire_stale_payments", 300),
    ]
