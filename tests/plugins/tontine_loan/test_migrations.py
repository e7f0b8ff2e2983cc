"""The loan plugin's Alembic branch: matches the models, and goes down and up again."""

from __future__ import annotations


def _loan_diffs(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tontine.db import Base, db

    with db.engine.connect() as conn:
        diffs = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )

    return [d for d in diffs if "loan" in repr(d)]


def test_the_branch_matches_the_models_and_is_reversible(make_loan_app) -> None:
    from sqlalchemy import inspect

    from tontine.db import db
    from tontine.migrate import current_heads, downgrade, upgrade

    app = make_loan_app()
    with app.app_context():
        assert _loan_diffs(app) == []
        assert "0005_loan" in current_heads(app)
        downgrade(app, "loan@base")
        db.engine.dispose()
        assert not [t for t in inspect(db.engine).get_table_names() if t.startswith("loan")]
        upgrade(app)
        db.engine.dispose()
        assert {
            "loans",
            "loan_partners",
            "loan_shares",
            "loan_instalments",
            "loan_repayments",
            "loan_repayment_parts",
            "loan_teams",
            "loan_auto_lending",
        } <= set(inspect(db.engine).get_table_names())
        assert "loan_withdrawals" not in inspect(db.engine).get_table_names()  # core payouts now
