"""The owner's reward pages: only the owner edits, forms show clear errors, nothing half-saved."""

from __future__ import annotations

import pytest

from tontine.db import db


@pytest.fixture
def owner_and_draft(site, make_user, make_project):
    owner = make_user(roles=("supporter", "project_owner"))
    project = make_project(owner=owner, state="draft", goal=1000, title="A bakery in Lyon")
    return owner, project


def _tiers(project):
    from tontine_gift.services import tiers_of

    return tiers_of(project.id)


def test_the_owner_adds_a_reward(site, client, login, form_post, owner_and_draft):
    owner, project = owner_and_draft
    login(client, owner)
    url = f"/projects/{project.id}/rewards"
    page = client.get(url)
    assert page.status_code == 200
    assert "No rewards yet" in page.get_data(as_text=True)
    response = form_post(
        client,
        url,
        data={
            "title": "A loaf every week",
            "description": "For a month",
            "min_amount": "40",
            "quantity": "12",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A loaf every week" in html and "added" in html
    (tier,) = _tiers(project)
    assert (tier.min_amount, tier.quantity, tier.description) == (4000, 12, "For a month")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "min_amount": "10"}, "Give the reward a title."),
        ({"title": "Postcard", "min_amount": ""}, "Say the smallest gift for this reward."),
        ({"title": "Postcard", "min_amount": "ten euros"}, "is not an amount"),
        ({"title": "Postcard", "min_amount": "-5"}, "more than zero"),
        ({"title": "Postcard", "min_amount": "10", "quantity": "many"}, "A whole number"),
        ({"title": "Postcard", "min_amount": "10", "quantity": "0"}, "Between 1 and"),
        ({"title": "x" * 121, "min_amount": "10"}, "1 to 120 characters"),
        ({"title": "Postcard", "min_amount": "10", "position": "first"}, "A number from 0 to 1000"),
        ({"title": "Postcard", "min_amount": "10", "description": "x" * 2001}, "At most 2000"),
        ({"title": "Postcard", "min_amount": "10", "quantity": "2.5"}, "A whole number"),
    ],
)
def test_bad_rewards_get_a_clear_message_and_nothing_is_saved(
    site, client, login, form_post, owner_and_draft, data, message
):
    owner, project = owner_and_draft
    login(client, owner)
    url = f"/projects/{project.id}/rewards"
    response = form_post(client, url, data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _tiers(project) == []


def test_a_form_without_csrf_token_is_refused(site, client, login, owner_and_draft):
    owner, project = owner_and_draft
    login(client, owner)
    response = client.post(
        f"/projects/{project.id}/rewards", data={"title": "P", "min_amount": "1"}
    )
    assert response.status_code == 400
    assert _tiers(project) == []


def test_the_owner_edits_and_deletes_a_reward(
    site, client, login, form_post, owner_and_draft, add_tier
):
    owner, project = owner_and_draft
    tier = add_tier(project, title="Postcard", min_amount="10")
    login(client, owner)
    edit = f"/projects/{project.id}/rewards/{tier.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert 'value="10.00"' in page and 'value="Postcard"' in page
    bad = form_post(client, edit, data={"title": "Postcard", "min_amount": "0"})
    assert bad.status_code == 400 and "more than zero" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert _tiers(project)[0].min_amount == 1000
    ok = form_post(
        client, edit, data={"title": "Two postcards", "min_amount": "15", "quantity": "3"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    (saved,) = _tiers(project)
    assert (saved.title, saved.min_amount, saved.quantity) == ("Two postcards", 1500, 3)
    deleted = form_post(
        client,
        f"/projects/{project.id}/rewards",
        f"/projects/{project.id}/rewards/{tier.id}/delete",
    )
    assert deleted.status_code == 302
    db.session.expire_all()
    assert _tiers(project) == []


def test_someone_else_cannot_see_or_change_the_rewards(
    site, client, login, form_post, make_user, owner_and_draft, add_tier
):
    _owner, project = owner_and_draft
    tier = add_tier(project, title="Postcard", min_amount="10")
    login(client, make_user())
    assert client.get(f"/projects/{project.id}/rewards").status_code == 403
    assert client.get(f"/projects/{project.id}/rewards/{tier.id}/edit").status_code == 403
    # A valid CSRF token of the intruder's own session, from a page they may see.
    token_page = "/my/rewards"
    for post_url, data in [
        (f"/projects/{project.id}/rewards", {"title": "Mine", "min_amount": "1"}),
        (f"/projects/{project.id}/rewards/{tier.id}/edit", {"title": "Mine", "min_amount": "1"}),
        (f"/projects/{project.id}/rewards/{tier.id}/delete", {}),
    ]:
        assert form_post(client, token_page, post_url, data=data).status_code == 403
    db.session.expire_all()
    assert [t.title for t in _tiers(project)] == ["Postcard"]


def test_visitors_are_sent_to_log_in(site, client, owner_and_draft):
    _owner, project = owner_and_draft
    response = client.get(f"/projects/{project.id}/rewards")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_rewards_are_frozen_once_the_project_is_submitted(
    site, client, login, form_post, owner_and_draft, add_tier
):
    from tontine.projects.services import walk_to

    owner, project = owner_and_draft
    tier = add_tier(project, title="Postcard", min_amount="10")
    walk_to(project, "open")
    login(client, owner)
    page = client.get(f"/projects/{project.id}/rewards")
    assert "only change while the project is a draft" in page.get_data(as_text=True)
    token_page = f"/projects/{project.id}/rewards"
    for post_url in (token_page, f"/projects/{project.id}/rewards/{tier.id}/delete"):
        response = form_post(client, token_page, post_url, data={"title": "New", "min_amount": "5"})
        assert response.status_code == 409
        assert "only change while the project is a draft" in response.get_data(as_text=True)
    assert [t.title for t in _tiers(project)] == ["Postcard"]


def test_an_unknown_project_or_reward_is_404(site, client, login, owner_and_draft):
    owner, project = owner_and_draft
    login(client, owner)
    assert client.get("/projects/999999/rewards").status_code == 404
    assert client.get(f"/projects/{project.id}/rewards/999999/edit").status_code == 404


def test_absurd_ids_are_not_found(site, client, login, form_post, owner_and_draft, add_tier):
    owner, project = owner_and_draft
    add_tier(project, title="Postcard", min_amount="10")
    login(client, owner)
    huge = 10**30
    assert client.get(f"/projects/{huge}/rewards").status_code == 404
    assert client.get(f"/projects/{project.id}/rewards/{huge}/edit").status_code == 404
    page = f"/projects/{project.id}/rewards"
    assert (
        form_post(client, page, f"/projects/{project.id}/rewards/{huge}/delete").status_code == 404
    )
    assert (
        form_post(client, page, f"/projects/{project.id}/rewards/claims/{huge}").status_code == 404
    )


def test_an_absurd_reward_choice_is_refused_clearly(site, make_project, make_user, give):
    import pytest

    from tontine.funding import ContributionRefused
    from tontine.payments.services import contribute

    project = make_project(goal=1000)
    with pytest.raises(ContributionRefused, match="does not exist|Choose a reward"):
        contribute(
            project_id=project.id,
            supporter=make_user(),
            amount="20",
            provider_key="instant",
            idempotency_key="huge",
            return_url="/",
            details={"reward_tier_id": str(10**30)},
        )


def test_a_rejected_project_gets_its_rewards_fixed(site, client, login, form_post, owner_and_draft):
    from tontine.projects.services import walk_to

    owner, project = owner_and_draft
    walk_to(project, "rejected")
    login(client, owner)
    url = f"/projects/{project.id}/rewards"
    response = form_post(client, url, data={"title": "Postcard", "min_amount": "10"})
    assert response.status_code == 302
    assert [t.title for t in _tiers(project)] == ["Postcard"]
