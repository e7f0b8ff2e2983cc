"""The microloans instance and its demo data: every state, a year of history, idempotent."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

INSTANCE = Path(__file__).resolve().parents[3] / "instances" / "microloans"


def test_the_microloans_instance_enables_the_loan_plugin() -> None:
    config = tomllib.loads((INSTANCE / "config.toml").read_text())
    assert "loan" in config["plugins"] and "balance" in config["payment_providers"]
    assert config["currency"] == "EUR" and set(config["locales"]) == {"fr", "en"}
    assert config["loan"] == {"min_ticket": "20", "ticket_step": "5"}


@pytest.mark.slow
def test_demo_data_covers_every_state_and_loads_once(make_app) -> None:
    from sqlalchemy import func, select

    from tontine.db import db
    from tontine.demo import load_demo_data
    from tontine.ledger.services import trial_balance
    from tontine.projects.models import Project
    from tontine_loan.models import FieldPartner, LendingTeam, Repayment

    app = make_app(
        plugins=["loan", "manual", "balance"],
        PAYMENT_PROVIDERS=["manual", "balance"],
        LOAN={"min_ticket": "20", "ticket_step": "5"},
    )
    with app.app_context():
        load_demo_data()
        states = Counter(db.session.scalars(select(Project.state)).all())
        assert sum(states.values()) == 30
        for state in (
            "in_review",
            "open",
            "failed",
            "funded",
            "running",
            "delinquent",
            "completed",
            "defaulted",
        ):
            assert states[state] >= 1, (state, states)
        assert db.session.scalar(select(func.count()).select_from(FieldPartner)) == 3
        assert db.session.scalar(select(func.count()).select_from(LendingTeam)) == 3
        first, last = db.session.execute(
            select(func.min(Repayment.paid_on), func.max(Repayment.paid_on))
        ).one()
        assert (last - first).days >= 300  # a year of repayment history
        assert set(trial_balance().values()) == {0}
        repayments = db.session.scalar(select(func.count()).select_from(Repayment))
        load_demo_data()
        assert db.session.scalar(select(func.count()).select_from(Project)) == 30
        assert db.session.scalar(select(func.count()).select_from(Repayment)) == repayments
        client = app.test_client()
        assert client.get("/partners/").status_code == 200
        photos = db.session.scalars(select(Project.photo)).all()
        assert all(photos)
        picture = client.get(f"/media/{photos[0]}")
        assert picture.status_code == 200 and picture.mimetype.startswith("image/")
        for project_id in db.session.scalars(
            select(Project.id).where(Project.state != "in_review")
        ):
            assert client.get(f"/projects/{project_id}").status_code == 200
