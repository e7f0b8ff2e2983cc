"""Demo data: staff accounts, a dozen dreams in every state, and loading twice changes nothing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select


@pytest.fixture
def fast_hashes(monkeypatch):
    """Demo accounts are many; a cheap argon2 keeps this test quick (behaviour is the same)."""
    from tontine.accounts import services

    monkeypatch.setattr(
        services, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def _counts() -> dict[str, int]:
    from tontine.db import db
    from tontine.models import (
        Comment,
        Contribution,
        LedgerTransaction,
        Payment,
        Posting,
        Project,
        ProjectUpdate,
        User,
    )
    from tontine_gift.models import RewardClaim, RewardTier

    models = [
        User,
        Project,
        Contribution,
        Payment,
        LedgerTransaction,
        Posting,
        ProjectUpdate,
        Comment,
        RewardTier,
        RewardClaim,
    ]
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in models}


def test_demo_data_loads_once_and_balances(app, client, fast_hashes):
    from tontine.accounts.services import authenticate
    from tontine.db import db
    from tontine.demo import load_demo_data
    from tontine.ledger.services import trial_balance
    from tontine.projects.models import Project
    from tontine.projects.services import raised_by_project
    from tontine_gift.services import stock

    first = load_demo_data()
    assert "created admin@demo.example.org with password" in first
    assert "gift: 12 dream(s) created" in first
    password = first.split("moderator@demo.example.org with password ")[1].split()[0]
    moderator = authenticate("moderator@demo.example.org", password)
    assert moderator is not None and moderator.is_moderator
    counts = _counts()

    second = load_demo_data()
    assert "password" not in second.replace("password unchanged", "")
    assert "gift: 0 dream(s) created, 12 already there" in second
    assert _counts() == counts
    assert trial_balance() == {"EUR": 0}

    projects = db.session.scalars(select(Project)).all()
    assert len(projects) == 12
    assert {p.state for p in projects} >= {
        "open",
        "funded",
        "failed",
        "in_review",
        "draft",
        "completed",
    }
    assert all(p.photo and p.person.photo for p in projects)
    assert len({p.country for p in projects}) >= 6
    raised = raised_by_project([p.id for p in projects])
    open_dreams = [p for p in projects if p.state == "open"]
    assert any(0.8 <= raised[p.id][0] / p.goal_amount < 1 for p in open_dreams)  # near the goal
    assert any(s.sold_out for p in open_dreams for s in stock(p))
    failed = next(p for p in projects if p.state == "failed")
    assert raised[failed.id][0] == 0  # everyone was refunded
    photo = client.get(f"/media/{open_dreams[0].photo}")
    assert photo.status_code == 200 and photo.mimetype.startswith("image/")
    assert counts["ProjectUpdate"] >= 10 and counts["Comment"] >= 15 and counts["RewardClaim"] > 50


def test_the_cli_command_prints_the_summary(app, fast_hashes):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from tontine.cli import main

    result = CliRunner().invoke(main, ["demo-data"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "admin@demo.example.org" in result.output and "dream(s) created" in result.output
