"""At the deadline: all-or-nothing refunds every gift when the goal is missed; keep-it-all keeps."""

from __future__ import annotations

from datetime import timedelta

from tontine.db import db, unit_of_work, utcnow


def _past_deadline(project) -> None:
    with unit_of_work():
        project.deadline = utcnow() - timedelta(minutes=1)
        db.session.add(project)


def _escrow(project) -> int:
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance

    return balance(AccountKind.PROJECT_ESCROW, project.id, project.currency).amount


def test_all_or_nothing_below_the_goal_fails_and_refunds_everyone(
    site, draft_with_tiers, make_user, give
):
    from tontine.jobs.services import run_pending
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance, trial_balance
    from tontine.projects.services import close_project, raised
    from tontine_gift.services import claimed_counts

    project, (tier,) = draft_with_tiers(
        [{"title": "Postcard", "min_amount": "10", "quantity": 5}], goal=1000
    )
    to_card, to_balance = make_user(), make_user()
    give(project, to_card, "300", tier=tier)
    give(project, to_balance, "200", refund_to="balance", tip="5")
    assert raised(project).amount == 50000
    _past_deadline(project)

    assert close_project(project.id) == "failed"
    run_pending()

    assert raised(project).amount == 0
    assert _escrow(project) == 0
    assert balance(AccountKind.SUPPORTER_BALANCE, to_balance.id, "EUR").amount == 20500
    assert trial_balance() == {"EUR": 0}
    assert claimed_counts([tier.id])[tier.id] == 0  # refunded gifts no longer hold rewards
    run_pending()  # refund jobs are idempotent
    assert balance(AccountKind.SUPPORTER_BALANCE, to_balance.id, "EUR").amount == 20500


def test_all_or_nothing_reaching_the_goal_is_funded(site, make_project, make_user, give):
    from tontine.projects.services import close_project

    project = make_project(goal=100)
    give(project, make_user(), "100")
    _past_deadline(project)
    assert close_project(project.id) == "funded"
    assert _escrow(project) == 10000


def test_keep_it_all_keeps_what_was_given(site, make_project, make_user, give):
    from tontine.jobs.services import run_pending
    from tontine.ledger.services import trial_balance
    from tontine.projects.services import close_project

    project = make_project(goal=1000, terms={"mode": "keep_it_all"})
    give(project, make_user(), "120")
    _past_deadline(project)
    assert close_project(project.id) == "funded"
    run_pending()
    assert _escrow(project) == 12000
    assert trial_balance() == {"EUR": 0}


def test_keep_it_all_with_no_gift_fails(site, make_project):
    from tontine.projects.services import close_project

    project = make_project(goal=1000, terms={"mode": "keep_it_all"})
    _past_deadline(project)
    assert close_project(project.id) == "failed"
