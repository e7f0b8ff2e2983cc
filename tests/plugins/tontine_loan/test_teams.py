"""Lending teams: create, join, lend on a team's behalf, the team's page."""

from __future__ import annotations

import pytest

from tontine.errors import Conflict, DomainError
from tontine.funding import ContributionRefused


def test_a_team_lends_together(make_loan, lend, make_user) -> None:
    from tontine_loan.teams import create_team, join_team, team_page

    founder, friend, outsider = make_user(name="Camille"), make_user(name="Idrissa"), make_user()
    team = create_team(founder, "  Lyon   solidarity lenders ")
    assert team.name == "Lyon solidarity lenders"
    join_team(friend, team.id)
    join_team(friend, team.id)  # twice changes nothing
    project = make_loan(goal=100)
    lend(project, "40", founder, details={"team_id": str(team.id)})
    lend(project, "20", friend, details={"team_id": team.id})
    with pytest.raises(ContributionRefused, match="Join the team"):
        lend(project, "20", outsider, details={"team_id": team.id})
    lend(project, "40", outsider)
    page = team_page(team.id)
    assert page.members == ["Camille", "Idrissa"]
    assert [m.amount for m in page.total_lent] == [6000]
    assert [p.id for p in page.loans] == [project.id]


def test_team_names_are_unique_and_not_empty(loan_app, make_user) -> None:
    from tontine_loan.teams import create_team

    user = make_user()
    create_team(user, "Bakers")
    with pytest.raises(Conflict, match="already called"):
        create_team(user, "bakers")
    with pytest.raises(DomainError, match="2 to 120"):
        create_team(user, " ")


def test_team_pages_through_http(make_loan_app, make_user, login, form_post) -> None:
    app = make_loan_app()
    with app.app_context():
        user, other = make_user(name="Camille"), make_user(name="Lou")
        client = app.test_client()
        login(client, user)
        bad = form_post(client, "/teams/", data={"name": ""})
        assert bad.status_code == 400 and "Give the team a name" in bad.get_data(as_text=True)
        made = form_post(client, "/teams/", data={"name": "Les Canuts", "description": "Weavers."})
        assert made.status_code == 303
        team_url = made.headers["Location"]
        again = form_post(client, "/teams/", data={"name": "les canuts"})
        assert again.status_code == 409 and "already called" in again.get_data(as_text=True)
        other_client = app.test_client()
        login(other_client, other)
        assert form_post(other_client, team_url, team_url + "/join").status_code == 303
        html = app.test_client().get(team_url).get_data(as_text=True)
        assert "Les Canuts" in html and "Camille" in html and "Lou" in html
        assert form_post(other_client, team_url, team_url + "/leave").status_code == 303
        assert "Lou" not in app.test_client().get(team_url).get_data(as_text=True)
        assert app.test_client().get("/teams/999").status_code == 404
        assert client.post(team_url + "/join").status_code == 400  # no CSRF token
