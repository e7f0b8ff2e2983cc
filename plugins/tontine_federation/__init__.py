"""The federation plugin: instances exchange project listings over ActivityPub.

The protocol profile is ``shared/FEDERATION.md`` (copied into ``docs/federation.md``).
Outbound HTTP goes through ``outbound`` only; signatures live in ``signatures``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tontine.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def register_migrations() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine_federation.views import bp

    return [bp]


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(HERE / "templates")]
