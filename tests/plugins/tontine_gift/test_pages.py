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


def test_the_owner_sets_the_gift_terms_in_the_project_form(
    site, client, login, form_post, make_user
):
    from tontine.projects.models import Project

    owner = make_user(roles=("supporter", "project_owner"))
    login(client, owner)
    page = client.get("/projects/new").get_data(as_text=True)
    assert 'name="terms.mode"' in page and 'name="terms.stretch_goals"' in page
    data = {
        "title": "A bakery in Lyon",
        "summary": "Bread",
        "story": "I bake.",
        "place": "Lyon",
        "country": "FR",
        "category": "food",
        "goal": "1000",
        "duration_days": "30",
        "funding_model": "gift",
        "terms.mode": "keep_it_all",
        "terms.min_gift": "5",
        "terms.cap_at_goal": "false",
        "terms.stretch_goals": "1500 | An oven\n2000 a van",
    }
    refused = form_post(client, "/projects/new", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Line 2" in html and "amount | title" in html
    assert ">1500 | An oven\n2000 a van</textarea>" in html  # what the owner typed is kept
    assert db.session.scalar(select(func.count(Project.id))) == 0

    below = form_post(client, "/projects/new", data={**data, "terms.stretch_goals": "800 | Flour"})
    assert below.status_code == 400
    assert "above the goal" in below.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Project.id))) == 0

    saved = form_post(
        client,
        "/projects/new",
        data={**data, "terms.stretch_goals": "1500 | An oven\n2000 | A van"},
    )
    assert saved.status_code in (302, 303)
    project = db.session.scalars(select(Project)).one()
    assert project.terms == {
        "mode": "keep_it_all",
        "min_gift": "5",
        "cap_at_goal": False,
        "duration_days": 30,
        "stretch_goals": [
            {"amount": "1500", "title": "An oven"},
            {"amount": "2000", "title": "A van"},
        ],
    }
    edit = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert ">1500 | An oven\n2000 | A van</textarea>" in edit


def test_choosing_a_reward_on_the_dream_page_preselects_it(
    site, client, login, draft_with_tiers, make_user
):
    project, (card,) = draft_with_tiers([{"title": "Postcard", "min_amount": "10"}])
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    link = (
        re.search(r'href="([^"]*/give\?[^"]*)">Choose this reward', html)
        .group(1)
        .replace("&amp;", "&")
    )
    login(client, make_user())
    page = client.get(link).get_data(as_text=True)
    assert re.search(rf'value="{card.id}"\s+checked', page)
    assert re.search(r'name="amount"[^>]*value="10.00"', page)
