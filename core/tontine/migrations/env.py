"""Alembic environment: runs against the Flask app's engine, all models loaded."""

from __future__ import annotations

from alembic import context

import tontine.models  # noqa: F401  (registers core tables)
from tontine.db import Base, db

config = context.config
app = config.attributes["flask_app"]


def run() -> None:
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=engine.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()


run()
