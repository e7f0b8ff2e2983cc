"""Gift terms: what owners send from the form or the API, and the clear errors they get."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from tontine.errors import DomainError
from tontine_gift.schemas import GiftTermsSchema


def load(data):
    return GiftTermsSchema().load(data)


def error_of(data) -> dict:
    with pytest.raises(ValidationError) as info:
        load(data)
    return info.value.normalized_messages()


def test_defaults_are_an_all_or_nothing_campaign_stopping_at_the_goal(site):
    assert load({}) == {
        "mode": "all_or_nothing",
        "min_gift": "1",
        "cap_at_goal": True,
        "stretch_goals": [],
    }


def test_keep_it_all_does_not_stop_at_the_goal_by_default(site):
    assert load({"mode": "keep_it_all"})["cap_at_goal"] is False


def test_form_strings_are_understood(site):
    terms = load(
        {
            "mode": "keep_it_all",
            "min_gift": " 5,50 ",
            "cap_at_goal": "false",
            "stretch_goals": "1500 | A second oven\n\n2000.50 |  A delivery bike \n",
            "csrf_token": "ignored",
            "duration_days": 45,
        }
    )
    assert terms == {
        "mode": "keep_it_all",
        "min_gift": "5.50",
        "cap_at_goal": False,
        "stretch_goals": [
            {"amount": "1500", "title": "A second oven"},
            {"amount": "2000.50", "title": "A delivery bike"},
        ],
        "duration_days": 45,
    }


def test_empty_form_fields_take_the_defaults(site):
    terms = load({"mode": "", "min_gift": "", "cap_at_goal": "", "stretch_goals": ""})
    assert terms["mode"] == "all_or_nothing" and terms["min_gift"] == "1"
    assert terms["cap_at_goal"] is True and terms["stretch_goals"] == []


def test_stretch_goals_alone_lift_the_cap(site):
    terms = load({"stretch_goals": [{"amount": 1500, "title": "Oven"}]})
    assert terms["cap_at_goal"] is False
    assert terms["stretch_goals"] == [{"amount": "1500", "title": "Oven"}]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"mode": "lottery"}, "mode", "all or nothing"),
        ({"min_gift": "abc"}, "min_gift", "is not an amount"),
        ({"min_gift": "0"}, "min_gift", "more than zero"),
        ({"min_gift": "-3"}, "min_gift", "more than zero"),
        ({"min_gift": "1.234"}, "min_gift", "two decimal places"),
        ({"cap_at_goal": "perhaps"}, "cap_at_goal", "yes or no"),
        ({"stretch_goals": "1500 | Oven\n2000 a van"}, "stretch_goals", "Line 2"),
        ({"stretch_goals": "| Oven"}, "stretch_goals", "Line 1"),
        (
            {"stretch_goals": "2000 | Van\n1500 | Oven"},
            "stretch_goals",
            "smallest amount to the largest",
        ),
        (
            {"stretch_goals": "1500 | Oven\n1500 | Van"},
            "stretch_goals",
            "smallest amount to the largest",
        ),
        (
            {"stretch_goals": "\n".join(f"{1000 + i} | Goal {i}" for i in range(11))},
            "stretch_goals",
            "At most 10",
        ),
        ({"stretch_goals": "lots | Oven"}, "stretch_goals", "is not an amount"),
        ({"cap_at_goal": "true", "stretch_goals": "1500 | Oven"}, "cap_at_goal", "beyond the goal"),
    ],
)
def test_bad_terms_say_what_is_wrong(site, data, field, words):
    errors = error_of(data)
    assert field in errors
    assert words in str(errors[field])


def test_ten_stretch_goals_are_fine(site):
    text = "\n".join(f"{1000 + i} | Goal {i}" for i in range(10))
    assert len(load({"stretch_goals": text})["stretch_goals"]) == 10


def _count_projects():
    from tontine.db import db
    from tontine.projects.models import Project

    return db.session.scalar(select(func.count(Project.id)))


def test_creating_a_project_with_bad_terms_writes_nothing(site, make_user):
    from tontine.projects.services import create_project

    owner = make_user(roles=("supporter", "project_owner"))
    data = {
        "title": "A bakery",
        "goal": "1000",
        "funding_model": "gift",
        "story": "Bread",
        "terms": {"mode": "lottery"},
    }
    with pytest.raises(DomainError) as info:
        create_project(owner, data)
    assert info.value.field == "terms.mode"
    assert "all or nothing" in info.value.message
    assert _count_projects() == 0


def test_stretch_goals_must_be_above_the_goal(site, make_user):
    from tontine.projects.services import create_project

    owner = make_user(roles=("supporter", "project_owner"))
    data = {
        "title": "A bakery",
        "goal": "1000",
        "funding_model": "gift",
        "story": "Bread",
        "terms": {"stretch_goals": "800 | Flour\n1500 | Oven"},
    }
    with pytest.raises(DomainError) as info:
        create_project(owner, data)
    assert info.value.field == "terms.stretch_goals"
    assert "above the goal" in info.value.message
    assert _count_projects() == 0
    data["terms"] = {"stretch_goals": "1200 | Flour\n1500 | Oven"}
    project = create_project(owner, data)
    assert [g["amount"] for g in project.terms["stretch_goals"]] == ["1200", "1500"]


def test_raising_the_goal_above_a_stretch_goal_is_refused(site, make_project):
    from tontine.accounts.models import User
    from tontine.db import db
    from tontine.projects.services import update_project

    project = make_project(state="draft", goal=1000, terms={"stretch_goals": "1500 | Oven"})
    owner = db.session.get(User, project.owner_id)
    with pytest.raises(DomainError, match="above the goal"):
        update_project(project, owner, {"goal": "2000"})
    db.session.refresh(project)
    assert project.goal_amount == 100_000


def test_duration_days_from_the_core_survives(site, make_project):
    project = make_project(state="draft", days=45, terms={"mode": "keep_it_all"})
    assert project.terms["duration_days"] == 45
    assert project.terms["mode"] == "keep_it_all"


def test_listing_terms_for_other_instances(site, make_project):
    from tontine.projects.services import funding_model

    project = make_project(
        goal=1000, terms={"mode": "keep_it_all", "min_gift": "5", "stretch_goals": "1500 | Oven"}
    )
    assert funding_model(project).listing_terms(project) == {
        "mode": "keep_it_all",
        "min_gift": "5",
        "stretch_goals": [{"amount": "1500", "title": "Oven"}],
    }


def test_the_smallest_gift_cannot_exceed_the_goal(site, make_user):
    from tontine.projects.services import create_project

    owner = make_user(roles=("supporter", "project_owner"))
    data = {
        "title": "A bakery",
        "goal": "100",
        "funding_model": "gift",
        "story": "Bread",
        "terms": {"min_gift": "150"},
    }
    with pytest.raises(DomainError) as info:
        create_project(owner, data)
    assert info.value.field == "terms.min_gift"
    assert "cannot be more than the goal" in info.value.message
    assert _count_projects() == 0
