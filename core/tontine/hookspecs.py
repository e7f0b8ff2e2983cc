"""Every hook a Tontine plugin can implement, in one place.

Hooks are called with keyword arguments; an implementation may accept any subset of them.
``register_*`` hooks return things for the core to install; they never mutate the app.
``docs/hooks.md`` documents each hook and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tontine")
hookimpl = pluggy.HookimplMarker("tontine")


# --- The application -------------------------------------------------------------------


@hookspec
def register_blueprints(app: Any) -> list[Any]:
    """Return Flask blueprints to register on the app."""


@hookspec
def register_api_blueprints(app: Any) -> list[Any]:
    """Return flask-smorest blueprints to register under ``/api/v1``."""


@hookspec
def register_commands() -> list[Any]:
    """Return click commands to add to the ``tontine`` CLI."""


@hookspec
def register_migrations() -> list[str]:
    """Return Alembic version directories; each plugin's revisions carry its own branch label."""


@hookspec
def register_template_dirs() -> list[str]:
    """Return template directories searched before the core's (themes override pages here)."""


@hookspec
def register_job_handlers() -> dict[str, Any]:
    """Return ``{job kind: handler(payload: dict)}``; handlers must be idempotent."""


@hookspec
def register_schedules() -> list[tuple[str, str, int]]:
    """Return recurring jobs as ``(name, job kind, interval in seconds)``."""


@hookspec
def load_demo_data() -> str | None:
    """Create this plugin's demo data (idempotent: loading twice changes nothing); say what."""


@hookspec
def register_nav_links(user: Any) -> list[tuple[str, str]]:
    """Return ``(label, url)`` pairs to add to the site navigation for this user."""


# --- Projects ----------------------------------------------------------------------------


@hookspec
def project_state_changed(project: Any, old_state: str, new_state: str) -> None:
    """Called inside the unit of work after a project changes state; may add rows, never commit."""


@hookspec
def project_saved(project: Any) -> None:
    """Called inside the unit of work after a project's public fields change."""


# --- Accounts ----------------------------------------------------------------------------


@hookspec
def account_erased(user: Any) -> None:
    """Called inside the unit of work when an account is erased; update what you published."""


# --- Funding models ----------------------------------------------------------------------


@hookspec
def register_funding_models() -> list[Any]:
    """Return ``tontine.funding.FundingModel`` objects; each ``key`` must be unique."""


@hookspec
def contribution_confirmed(contribution: Any) -> None:
    """Called inside the unit of work when a contribution's payment has succeeded."""


@hookspec
def contribution_refunded(contribution: Any) -> None:
    """Called inside the unit of work when money of a contribution went back (refund, chargeback)."""


# --- Payment providers -------------------------------------------------------------------


@hookspec
def register_payment_providers() -> list[Any]:
    """Return ``tontine.payments.provider.PaymentProvider`` objects; each ``key`` unique."""
