"""The rewards API: what a supporter can choose, for other sites and apps."""

from __future__ import annotations


def test_the_rewards_of_a_dream(site, client, draft_with_tiers, make_user, give):
    project, (card, dinner) = draft_with_tiers(
        [
            {"title": "Postcard", "min_amount": "10", "description": "Drawn by the kids"},
            {"title": "Dinner", "min_amount": "50", "quantity": 1},
        ],
        goal=100,
        terms={"min_gift": "5", "stretch_goals": "120 | Oven\n200 | Van"},
    )
    give(project, make_user(), "60", tier=dinner)
    give(project, make_user(), "70")
    response = client.get(f"/api/v1/projects/{project.id}/rewards")
    assert response.status_code == 200
    assert response.json == {
        "mode": "all_or_nothing",
        "min_gift": {"amount": "5.00", "currency": "EUR"},
        "tiers": [
            {
                "id": card.id,
                "title": "Postcard",
                "description": "Drawn by the kids",
                "min_amount": {"amount": "10.00", "currency": "EUR"},
                "quantity": None,
                "remaining": None,
                "sold_out": False,
            },
            {
                "id": dinner.id,
                "title": "Dinner",
                "description": "",
                "min_amount": {"amount": "50.00", "currency": "EUR"},
                "quantity": 1,
                "remaining": 0,
                "sold_out": True,
            },
        ],
        "stretch_goals": [
            {"amount": {"amount": "120.00", "currency": "EUR"}, "title": "Oven", "reached": True},
            {"amount": {"amount": "200.00", "currency": "EUR"}, "title": "Van", "reached": False},
        ],
    }


def test_drafts_and_unknown_projects_are_404_problems(site, client, make_project):
    draft = make_project(state="draft")
    for url in (
        f"/api/v1/projects/{draft.id}/rewards",
        "/api/v1/projects/999999/rewards",
        f"/api/v1/projects/{10**30}/rewards",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
