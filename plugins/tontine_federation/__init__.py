"""The federation plugin: instances exchange project listings over ActivityPub.

The protocol profile is ``shared/FEDERATION.md`` (copied into ``docs/federation.md``).
Outbound HTTP goes through ``outbound`` only; signatures live in ``signatures``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tontine.hookspecs import hookimpl
from tontine_federation import models  # noqa: F401  (tables in the metadata)

HERE = Path(__file__).parent


@hookimpl
def register_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine_federation.admin import bp as admin
    from tontine_federation.inbox_views import bp as inbox
    from tontine_federation.views import bp

    return [bp, inbox, admin]


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(HERE / "templates")]


@hookimpl
def register_job_handlers() -> dict[str, Any]:
    from tontine_federation.inbox import APPLY, apply_received, prune_received
    from tontine_federation.outbox import DELIVER, deliver

    return {
        DELIVER: deliver,
        APPLY: apply_received,
        "federation_prune_received": prune_received,
    }


@hookimpl
def register_schedules() -> list[tuple[str, str, int]]:
    return [
        ("federation-prune-received", "federation_prune_received", 3600),
        ("federation-apply-received", "federation_apply_received", 300),
    ]


@hookimpl
def project_state_changed(project: Any, old_state: str, new_state: str) -> None:
    from tontine_federation.outbox import on_state_changed

    on_state_changed(project, old_state, new_state)


@hookimpl
def project_saved(project: Any) -> None:
    from tontine_federation.outbox import on_saved

    on_saved(project)


@hookimpl
def contribution_confirmed(contribution: Any) -> None:
    from tontine_federation.outbox import on_contribution

    on_contribution(contribution.project_id)


@hookimpl
def contribution_refunded(contribution: Any) -> None:
    from tontine_federation.outbox import on_contribution

    on_contribution(contribution.project_id)


@hookimpl
def account_erased(user: Any) -> None:
    from tontine_federation.people import on_account_erased

    on_account_erased(user)


@hookimpl
def register_commands() -> list[Any]:
    from tontine_federation.commands import federation
    from tontine_federation.network import network

    return [federation, network]


@hookimpl
def register_nav_links(user: Any) -> list[tuple[str, str]]:
    from flask import url_for
    from flask_babel import gettext as _

    return [(_("Across the network"), url_for("federation.network"))]
