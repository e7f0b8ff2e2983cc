"""The owner's dashboard: create, edit, submit, withdraw, post updates, see supporters."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from tontine.db import db
from tontine.projects.models import Project, ProjectUpdate


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 100, 20)).save(out, "PNG")
    return out.getvalue()


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def uploads(app: Any) -> list[Path]:
    root = Path(app.config["VAR_PATH"]) / "uploads"
    return [p for p in root.glob("*") if not p.name.startswith(".")] if root.exists() else []


GOOD = {
    "title": "A bakery in Lyon",
    "summary": "Bread for the street",
    "story": "I have baked for ten years.\n\nNow I want my own oven.",
    "place": "Lyon",
    "country": "fr",
    "category": "food",
    "goal": "2500.50",
    "duration_days": "45",
    "funding_model": "simple",
    "terms.note": "merci",
}


def test_dashboard_needs_a_login(client):
    response = client.get("/projects/mine")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_create_a_project_with_a_photo_and_terms(app, client, owner, login, form_post):
    login(client, owner)
    page = client.get("/projects/new").get_data(as_text=True)
    assert 'name="terms.note"' in page  # the funding model's terms template
    data = {**GOOD, "photo": (io.BytesIO(png()), "oven.png", "image/png")}
    response = form_post(client, "/projects/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    project = db.session.scalars(select(Project)).one()
    assert project.owner_id == owner.id and project.state == "draft"
    assert project.goal_amount == 250050 and project.currency == "EUR"
    assert project.country == "FR" and project.category == "food"
    assert project.terms == {"note": "merci", "duration_days": 45}
    assert project.person.name == "Amina Diallo"
    assert project.photo and project.photo.endswith(".png")
    assert client.get(f"/media/{project.photo}").mimetype == "image/png"
    dashboard = client.get("/projects/mine").get_data(as_text=True)
    assert "A bakery in Lyon" in dashboard and "Draft" in dashboard
    assert "€2,500.50" in dashboard


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "ab"}, "Field must be between 3 and 120 characters long."),
        ({"goal": "abc"}, "Not a valid decimal value."),
        ({"goal": "0"}, "Number must be between 1 and 100000000."),
        ({"goal": "NaN"}, ""),
        ({"goal": "10.555"}, "Use at most 2 decimal places."),
        ({"goal": "10.555", "title": "x"}, "Use at most 2 decimal places."),
        ({"duration_days": "500"}, "Number must be between 1 and 120."),
        ({"country": "France"}, "Use a two-letter code"),
        ({"category": "weapons"}, "Not a valid choice."),
        ({"funding_model": "ponzi"}, "Not a valid choice."),
        ({"terms.note": "x" * 41}, "Longer than maximum length 40."),
        ({"terms.unknown": "1"}, "Unknown field."),
    ],
)
def test_bad_input_is_refused_on_the_form_and_nothing_is_written(
    app, client, owner, login, form_post, change, message
):
    login(client, owner)
    data = {**GOOD, **change, "photo": (io.BytesIO(png()), "oven.png", "image/png")}
    response = form_post(client, "/projects/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="form-errors"' in html
    assert count(Project) == 0
    assert uploads(app) == []


def test_a_form_without_csrf_token_is_refused(client, owner, login):
    login(client, owner)
    response = client.post("/projects/new", data=GOOD)
    assert response.status_code == 400
    assert count(Project) == 0


def test_edit_a_draft(client, project, owner, login, form_post):
    dream = project(owner=owner, state="draft", terms={"note": "old"})
    login(client, owner)
    page = client.get(f"/projects/{dream.id}/edit").get_data(as_text=True)
    assert 'value="Open a bakery in Lyon"' in page and 'value="old"' in page
    response = form_post(
        client, f"/projects/{dream.id}/edit", data={**GOOD, "title": "A bigger bakery"}
    )
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.title == "A bigger bakery" and dream.terms["note"] == "merci"


def test_a_published_project_only_changes_its_story_summary_and_photo(
    client, project, owner, login, form_post
):
    dream = project(owner=owner, goal=1000)
    login(client, owner)
    page = client.get(f"/projects/{dream.id}/edit").get_data(as_text=True)
    assert 'name="goal"' not in page and 'name="story"' in page
    response = form_post(
        client,
        f"/projects/{dream.id}/edit",
        data={"summary": "New summary", "story": "A new chapter.", "goal": "1", "title": "Hacked"},
    )
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.summary == "New summary" and dream.story == "A new chapter."
    assert dream.title == "Open a bakery in Lyon" and dream.goal_amount == 100000


def test_submit_then_withdraw(client, project, owner, login, form_post):
    dream = project(owner=owner, state="draft")
    login(client, owner)
    response = form_post(client, "/projects/mine", f"/projects/{dream.id}/submit")
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.state == "in_review"
    # Submitting twice is refused with a message, not a crash.
    response = form_post(client, "/projects/mine", f"/projects/{dream.id}/submit")
    assert response.status_code == 409
    assert "cannot be submitted" in response.get_data(as_text=True)
    response = form_post(
        client,
        "/projects/mine",
        f"/projects/{dream.id}/withdraw",
        data={"reason": "Found a bank loan"},
    )
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.state == "withdrawn" and dream.state_reason == "Found a bank loan"


def test_a_project_without_a_story_cannot_be_submitted(client, project, owner, login, form_post):
    dream = project(owner=owner, state="draft", story="")
    login(client, owner)
    response = form_post(client, "/projects/mine", f"/projects/{dream.id}/submit")
    assert response.status_code == 400
    assert "needs a title and a story" in response.get_data(as_text=True)
    db.session.refresh(dream)
    assert dream.state == "draft"


def test_post_an_update(client, project, owner, login, form_post):
    dream = project(owner=owner)
    login(client, owner)
    url = f"/projects/{dream.id}/updates/new"
    response = form_post(client, url, data={"title": "The oven is here", "body": "Bread tomorrow!"})
    assert response.status_code == 303
    assert "The oven is here" in client.get(f"/projects/{dream.id}").get_data(as_text=True)
    response = form_post(client, url, data={"title": "", "body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert count(ProjectUpdate) == 1


def test_the_owner_sees_supporters_with_amounts(client, project, owner, login, give, make_user):
    dream = project(owner=owner)
    give(dream, "25", supporter=make_user(name="Jeanne Martin"))
    give(dream, "10", supporter=make_user(name="Secret Sam"), anonymous=True)
    login(client, owner)
    html = client.get(f"/projects/{dream.id}/supporters").get_data(as_text=True)
    assert "Jeanne Martin" in html and "€25.00" in html
    assert "Secret Sam" in html and "anonymous" in html and "€10.00" in html
    assert "€35.00" in html  # the total
    login(client, make_user(roles=("moderator",)))
    assert client.get(f"/projects/{dream.id}/supporters").status_code == 200


OWNER_ACTIONS = [
    ("get", "/projects/{id}/edit"),
    ("post", "/projects/{id}/edit"),
    ("post", "/projects/{id}/submit"),
    ("post", "/projects/{id}/withdraw"),
    ("get", "/projects/{id}/updates/new"),
    ("post", "/projects/{id}/updates/new"),
    ("get", "/projects/{id}/supporters"),
]


@pytest.mark.parametrize(("method", "path"), OWNER_ACTIONS)
@pytest.mark.parametrize("state", ["draft", "open"])
def test_another_user_gets_403_on_every_owner_action(
    client, project, owner, make_user, login, form_post, method, path, state
):
    dream = project(owner=owner, state=state)
    login(client, make_user(roles=("supporter", "project_owner")))
    url = path.format(id=dream.id)
    if method == "get":
        response = client.get(url)
    else:
        response = form_post(
            client, "/projects/new", url, data={**GOOD, "title": "Hacked", "body": "x"}
        )
    assert response.status_code == 403
    db.session.refresh(dream)
    assert dream.title == "Open a bakery in Lyon" and dream.state == state
    assert count(ProjectUpdate) == 0


def test_an_admin_may_edit_any_project(client, project, owner, make_user, login, form_post):
    dream = project(owner=owner, state="draft")
    login(client, make_user(roles=("admin",)))
    response = form_post(
        client, f"/projects/{dream.id}/edit", data={**GOOD, "title": "Fixed by staff"}
    )
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.title == "Fixed by staff"


def test_the_goal_follows_the_currency_of_the_project(client, project, owner, login, form_post):
    dream = project(owner=owner, state="draft", currency="XOF", goal=500_000)
    login(client, owner)
    response = form_post(client, f"/projects/{dream.id}/edit", data={**GOOD, "goal": "1000.5"})
    assert response.status_code == 400
    assert "Use a whole amount, without decimals." in response.get_data(as_text=True)
    response = form_post(client, f"/projects/{dream.id}/edit", data={**GOOD, "goal": "750000"})
    assert response.status_code == 303
    db.session.refresh(dream)
    assert dream.goal_amount == 750_000 and dream.currency == "XOF"
