"""The gift model on the site's own pages: the dream page and the give form."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tontine.db import db


def _contributions() -> int:
    from tontine.payments.models import Contribution

    return db.session.scalar(select(func.count(Contribution.id)))


def test_the_dream_page_shows_mode_rewards_and_stretch_goals(
    site, client, draft_with_tiers, make_user, give
):
    project, (print_,) = draft_with_tiers(
        [{"title": "Signed print", "min_amount": "30", "quantity": 1}],
        goal=100,
        terms={"stretch_goals": "150 | A bigger oven\n300 | A van"},
    )
    give(project, make_user(), "160", tier=print_)
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "All or nothing" in html
    assert "Signed print" in html and "Sold out" in html
    assert re.search(
        r'stretch-goal reached">\s*<span class="amount">€150</span> — A bigger oven', html
    )
    assert re.search(r'stretch-goal not-reached">\s*<span class="amount">€300</span> — A van', html)


def test_giving_with_a_reward_through_the_form(site, client, login, draft_with_tiers, make_user):
    from tontine.payments.models import Contribution
    from tontine_gift.services import claimed_counts

    project, (card, dinner) = draft_with_tiers(
        [
            {"title": "Postcard", "min_amount": "10"},
            {"title": "Dinner", "min_amount": "50", "quantity": 1},
        ],
        goal=1000,
    )
    login(client, make_user())
    url = f"/projects/{project.id}/give"
    page = client.get(url).get_data(as_text=True)
    assert 'name="details.reward_tier_id"' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": token,
        "idempotency_key": key,
        "amount": "55",
        "provider": "instant",
        "refund_to": "payment_method",
        "details.reward_tier_id": str(dinner.id),
    }
    response = client.post(url, data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    gift = db.session.scalars(select(Contribution)).one()
    assert gift.details == {"reward_tier_id": dinner.id}
    assert claimed_counts([dinner.id])[dinner.id] == 1

    # Someone else, a moment later, still has the old page with the dinner on it.
    login(client, make_user())
    page = client.get(url).get_data(as_text=True)
    assert re.search(rf'value="{dinner.id}"\s+disabled', page)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    refused = client.post(url, data={**form, "csrf_token": token, "idempotency_key": key})
    assert refused.status_code == 422
    assert "This reward is sold out." in refused.get_data(as_text=True)
    too_little = client.post(
        url,
        data={
            **form,
            "csrf_token": token,
            "idempotency_key": key,
            "amount": "5",
            "details.reward_tier_id": str(card.id),
        },
    )
    assert too_little.status_code == 422
    assert "at least" in too_little.get_data(as_text=True)
    assert _contributions() == 1
