"""Gifts and rewards: minimum gift, reward minimums, sold-out tiers, also under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tontine.funding import ContributionRefused


def _contribution_count() -> int:
    from tontine.db import db
    from tontine.payments.models import Contribution

    return db.session.scalar(select(func.count(Contribution.id)))


def _claims(tier) -> int:
    from tontine_gift.services import claimed_counts

    return claimed_counts([tier.id])[tier.id]


def test_a_gift_below_the_minimum_is_refused(site, make_project, make_user, give):
    project = make_project(goal=1000, terms={"min_gift": "10"})
    supporter = make_user()
    with pytest.raises(ContributionRefused) as info:
        give(project, supporter, "9.99")
    assert "smallest gift" in info.value.message and "10" in info.value.message
    assert info.value.field == "amount"
    assert _contribution_count() == 0
    assert give(project, supporter, "10").amount == 1000


def test_the_default_minimum_is_one_unit(site, make_project, make_user, give):
    project = make_project(goal=1000)
    with pytest.raises(ContributionRefused, match="smallest gift"):
        give(project, make_user(), "0.50")


def test_a_reward_needs_its_minimum_gift(site, draft_with_tiers, make_user, give):
    project, (postcard,) = draft_with_tiers([{"title": "Postcard", "min_amount": "25"}], goal=1000)
    supporter = make_user()
    with pytest.raises(ContributionRefused) as info:
        give(project, supporter, "20", tier=postcard)
    assert "at least" in info.value.message and "25" in info.value.message
    contribution = give(project, supporter, "25", tier=postcard)
    assert contribution.details == {"reward_tier_id": postcard.id}
    assert _claims(postcard) == 1


def test_a_reward_of_another_project_cannot_be_chosen(
    site, draft_with_tiers, make_project, make_user, give
):
    _other, (tier,) = draft_with_tiers([{"title": "Postcard", "min_amount": "5"}])
    project = make_project(goal=1000)
    with pytest.raises(ContributionRefused, match="does not exist"):
        give(project, make_user(), "50", tier=tier)
    assert _contribution_count() == 0


def test_garbage_reward_choice_is_refused_clearly(site, make_project, make_user):
    from tontine.payments.services import contribute

    project = make_project(goal=1000)
    with pytest.raises(ContributionRefused) as info:
        contribute(
            project_id=project.id,
            supporter=make_user(),
            amount="20",
            provider_key="instant",
            idempotency_key="x",
            return_url="/",
            details={"reward_tier_id": "the big one"},
        )
    assert "Choose a reward" in info.value.message
    assert _contribution_count() == 0


def test_no_reward_is_a_choice(site, draft_with_tiers, make_user, give):
    project, (tier,) = draft_with_tiers([{"title": "Postcard", "min_amount": "5", "quantity": 1}])
    contribution = give(project, make_user(), "3")
    assert contribution.details == {"reward_tier_id": None}
    assert _claims(tier) == 0


def test_a_sold_out_reward_is_refused(site, draft_with_tiers, make_user, give):
    project, (tier,) = draft_with_tiers(
        [{"title": "Dinner with the baker", "min_amount": "50", "quantity": 2}], goal=1000
    )
    give(project, make_user(), "50", tier=tier)
    give(project, make_user(), "60", tier=tier)
    with pytest.raises(ContributionRefused) as info:
        give(project, make_user(), "80", tier=tier)
    assert info.value.message == "This reward is sold out."
    assert _contribution_count() == 2
    assert _claims(tier) == 2


def test_a_pending_payment_holds_the_reward_and_a_failed_one_frees_it(
    site, draft_with_tiers, make_user, give
):
    from tontine.payments.provider import ProviderEvent
    from tontine.payments.services import apply_event

    project, (tier,) = draft_with_tiers(
        [{"title": "Last jar of honey", "min_amount": "10", "quantity": 1}]
    )
    first = give(project, make_user(), "10", tier=tier, provider="later")
    assert _claims(tier) == 1
    with pytest.raises(ContributionRefused, match="sold out"):
        give(project, make_user(), "10", tier=tier)
    payment = first.payments[-1]
    apply_event(
        "later", ProviderEvent(event_id="fail-1", provider_ref=payment.provider_ref, kind="failed")
    )
    assert _claims(tier) == 0
    give(project, make_user(), "10", tier=tier)
    assert _claims(tier) == 1


def test_all_or_nothing_stops_at_the_goal_and_keep_it_all_does_not(
    site, make_project, make_user, give
):
    capped = make_project(goal=100)
    give(capped, make_user(), "80")
    with pytest.raises(ContributionRefused, match="can still be given"):
        give(capped, make_user(), "30")
    open_ended = make_project(goal=100, terms={"mode": "keep_it_all"})
    give(open_ended, make_user(), "80")
    assert give(open_ended, make_user(), "300").amount == 30000


def test_a_retried_gift_claims_its_reward_once(site, draft_with_tiers, make_user):
    from tontine.payments.services import contribute

    project, (tier,) = draft_with_tiers([{"title": "Postcard", "min_amount": "5", "quantity": 3}])
    supporter = make_user()
    for _ in range(2):
        contribute(
            project_id=project.id,
            supporter=supporter,
            amount="5",
            provider_key="instant",
            idempotency_key="same",
            return_url="/",
            details={"reward_tier_id": str(tier.id)},
        )
    assert _claims(tier) == 1


def test_the_last_rewards_under_concurrency(any_db_site, draft_with_tiers, make_user):
    """20 supporters at once for 5 rewards: exactly 5 get one, the others hear it is sold out."""
    from tontine.db import db
    from tontine.payments.services import contribute

    app = any_db_site
    project, (tier,) = draft_with_tiers(
        [{"title": "Signed print", "min_amount": "20", "quantity": 5}], goal=10_000
    )
    supporters = [make_user() for _ in range(20)]
    db.session.remove()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(supporters))

    def attempt(index: int) -> None:
        with app.app_context():
            start.wait()
            try:
                contribute(
                    project_id=project.id,
                    supporter=supporters[index],
                    amount="20",
                    provider_key="instant",
                    idempotency_key=f"rush-{index}",
                    return_url="/",
                    details={"reward_tier_id": str(tier.id)},
                )
                outcome = "ok"
            except ContributionRefused as exc:
                outcome = exc.message
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                outcome = f"error: {exc!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(supporters))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(set(outcomes)) == ["This reward is sold out.", "ok"], outcomes
    assert outcomes.count("ok") == 5
    assert _claims(tier) == 5
    assert _contribution_count() == 5
