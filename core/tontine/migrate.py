"""Schema migrations with Alembic: the core's branch plus one branch per enabled plugin."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

from tontine.plugins import collect

HERE = Path(__file__).parent / "migrations"


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    locations = [str(HERE / "versions")]
    locations += collect(app.extensions["tontine"].pm, "register_migrations")
    cfg.set_main_option("version_locations", " ".join(dict.fromkeys(locations)))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["flask_app"] = app
    return cfg


def upgrade(app: Flask, target: str = "heads") -> None:
    command.upgrade(alembic_config(app), target)


def downgrade(app: Flask, target: str) -> None:
    command.downgrade(alembic_config(app), target)


def current_heads(app: Flask) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from tontine.db import db

    with app.app_context(), db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
