"""Once a dream is funded, its owner sends the rewards and supporters see them as sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tontine.db import db, unit_of_work, utcnow


@pytest.fixture
def funded_with_rewards(site, make_user, draft_with_tiers, give):
    from tontine.projects.services import close_project

    owner = make_user(roles=("supporter", "project_owner"), name="Awa")
    project, (card, dinner) = draft_with_tiers(
        [
            {"title": "Postcard", "min_amount": "10"},
            {"title": "Dinner", "min_amount": "50", "quantity": 3},
        ],
        goal=100,
        owner=owner,
        terms={"mode": "keep_it_all"},
    )
    alice = make_user(name="Alice Martin", email="alice@example.org")
    bob = make_user(name="Bob Diallo", email="bob@example.org")
    cleo = make_user(name="Cléo")
    give(project, alice, "10", tier=card)
    give(project, bob, "60", tier=dinner)
    give(project, cleo, "15")
    give(project, make_user(name="Pending Pat"), "50", tier=dinner, provider="later")
    with unit_of_work():
        project.deadline = utcnow() - timedelta(minutes=1)
        db.session.add(project)
    assert close_project(project.id) == "funded"
    return owner, project, card, dinner, alice, bob


def test_the_owner_sees_who_to_send_each_reward_to(site, client, login, funded_with_rewards):
    owner, project, _card, _dinner, _alice, _bob = funded_with_rewards
    login(client, owner)
    page = client.get(f"/projects/{project.id}/rewards/fulfilment")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    postcard = html[html.index("Postcard") : html.index("Dinner")]
    dinner_part = html[html.index("Dinner") :]
    assert "Alice Martin" in postcard and "alice@example.org" in postcard
    assert "Bob Diallo" in dinner_part and "Alice" not in dinner_part
    assert "Pending Pat" not in html  # not paid: nothing to send
    assert "Cléo" not in html  # no reward chosen
    assert html.count("Mark as sent") == 2


def test_marking_a_reward_sent_shows_in_the_supporters_rewards(
    site, client, login, form_post, funded_with_rewards
):
    from sqlalchemy import select

    from tontine.payments.models import Contribution
    from tontine_gift.services import claim_for, reward_status, rewards_of

    owner, project, _card, _dinner, alice, bob = funded_with_rewards
    alice_gift = db.session.scalars(
        select(Contribution).where(Contribution.supporter_id == alice.id)
    ).one()
    claim = claim_for(alice_gift.id)
    assert reward_status(alice_gift) == "Reward: Postcard (to be sent)"
    login(client, owner)
    page = f"/projects/{project.id}/rewards/fulfilment"
    response = form_post(
        client,
        page,
        f"/projects/{project.id}/rewards/claims/{claim.id}",
        data={"sent": "1"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Sent on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert claim_for(alice_gift.id).fulfilled_at is not None
    assert reward_status(alice_gift) == "Reward sent: Postcard"

    login(client, alice)
    mine = client.get("/my/rewards").get_data(as_text=True)
    assert "Postcard" in mine and "Reward sent" in mine
    login(client, bob)
    mine = client.get("/my/rewards").get_data(as_text=True)
    assert "Dinner" in mine and "To be sent by the dreamer" in mine
    assert [c.tier.title for c, _, _ in rewards_of(bob)] == ["Dinner"]


def test_only_the_owner_sends_rewards(
    site, client, login, form_post, make_user, funded_with_rewards
):
    from tontine_gift.models import RewardClaim

    _owner, project, *_ = funded_with_rewards
    claim = db.session.query(RewardClaim).first()
    login(client, make_user())
    assert client.get(f"/projects/{project.id}/rewards/fulfilment").status_code == 403
    response = form_post(
        client,
        "/my/rewards",
        f"/projects/{project.id}/rewards/claims/{claim.id}",
        data={"sent": "1"},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(RewardClaim, claim.id).fulfilled_at is None


def test_rewards_are_not_sent_before_funding(
    site, client, login, form_post, make_user, draft_with_tiers, give
):
    from tontine_gift.services import claim_for

    owner = make_user(roles=("supporter", "project_owner"))
    project, (card,) = draft_with_tiers([{"title": "Postcard", "min_amount": "10"}], owner=owner)
    gift = give(project, make_user(), "10", tier=card)
    claim = claim_for(gift.id)
    login(client, owner)
    page = client.get(f"/projects/{project.id}/rewards/fulfilment").get_data(as_text=True)
    assert "sent once the project is funded" in page
    response = form_post(
        client,
        f"/projects/{project.id}/rewards/fulfilment",
        f"/projects/{project.id}/rewards/claims/{claim.id}",
        data={"sent": "1"},
    )
    assert response.status_code == 409
    assert "once the project is funded" in response.get_data(as_text=True)


def test_an_unpaid_gift_has_no_reward_to_send(site, make_user, funded_with_rewards):
    from sqlalchemy import select

    from tontine.errors import DomainError
    from tontine.payments.models import Contribution
    from tontine_gift.services import claim_for, set_fulfilled

    owner, project, *_ = funded_with_rewards
    pending = db.session.scalars(select(Contribution).where(Contribution.state == "pending")).one()
    with pytest.raises(DomainError, match="not paid"):
        set_fulfilled(project.id, claim_for(pending.id).id, owner)


def test_the_owner_is_told_how_many_rewards_to_send(site, funded_with_rewards):
    from tontine.jobs.models import Job

    owner, project, *_ = funded_with_rewards
    mails = [j.payload for j in db.session.query(Job).filter_by(kind="deliver_email")]
    (mail,) = [m for m in mails if m["to"] == owner.email]
    assert mail["subject"] == "Your dream is funded: 2 rewards to send"
    assert project.title in mail["body"]
    assert f"/projects/{project.id}/rewards/fulfilment" in mail["body"]
    assert mail["body"].startswith("Hello Awa,")


def test_no_mail_when_nobody_chose_a_reward(site, make_project, make_user, give):
    from tontine.jobs.models import Job
    from tontine.projects.services import close_project

    project = make_project(goal=10)
    give(project, make_user(), "10")
    with unit_of_work():
        project.deadline = utcnow() - timedelta(minutes=1)
        db.session.add(project)
    assert close_project(project.id) == "funded"
    assert db.session.query(Job).filter_by(kind="deliver_email").count() == 0


def test_my_gifts_says_whether_the_reward_was_sent(site, client, login, funded_with_rewards):
    from sqlalchemy import select

    from tontine.payments.models import Contribution
    from tontine_gift.services import claim_for, set_fulfilled

    owner, project, _card, _dinner, alice, bob = funded_with_rewards
    gift = db.session.scalars(
        select(Contribution).where(Contribution.supporter_id == alice.id)
    ).one()
    set_fulfilled(project.id, claim_for(gift.id).id, owner)
    login(client, alice)
    assert "Reward sent: Postcard" in client.get("/my/contributions").get_data(as_text=True)
    login(client, bob)
    assert "Reward: Dinner (to be sent)" in client.get("/my/contributions").get_data(as_text=True)
