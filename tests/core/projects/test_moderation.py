"""Moderation: moderators approve or reject (with a reason the owner sees) what is in review."""

from __future__ import annotations

import pytest

from tontine.db import db


@pytest.fixture
def moderator(make_user):
    return make_user(roles=("moderator",), name="Mo Derator")


def test_the_queue_lists_projects_in_review(client, project, moderator, login):
    waiting = project(state="in_review", title="Waiting for review")
    project(state="draft", title="Still a draft")
    project(title="Already open")
    login(client, moderator)
    html = client.get("/projects/moderation").get_data(as_text=True)
    assert "Waiting for review" in html
    assert "Still a draft" not in html and "Already open" not in html
    assert f'action="/projects/{waiting.id}/approve"' in html


def test_approve_opens_the_project(client, project, moderator, login, form_post):
    waiting = project(state="in_review")
    login(client, moderator)
    response = form_post(client, "/projects/moderation", f"/projects/{waiting.id}/approve")
    assert response.status_code == 303
    db.session.refresh(waiting)
    assert waiting.state == "open" and waiting.deadline is not None
    # Approving again is refused with a message.
    response = form_post(client, "/projects/moderation", f"/projects/{waiting.id}/approve")
    assert response.status_code == 409
    assert "Only projects in review can be approved." in response.get_data(as_text=True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(client, project, moderator, login, form_post, reason):
    waiting = project(state="in_review")
    login(client, moderator)
    response = form_post(
        client, "/projects/moderation", f"/projects/{waiting.id}/reject", data={"reason": reason}
    )
    assert response.status_code == 400
    assert "Say why the project is rejected." in response.get_data(as_text=True)
    db.session.refresh(waiting)
    assert waiting.state == "in_review"


def test_rejection_reason_reaches_the_owner_and_editing_makes_a_draft(
    client, project, owner, moderator, login, form_post
):
    waiting = project(owner=owner, state="in_review")
    login(client, moderator)
    response = form_post(
        client,
        "/projects/moderation",
        f"/projects/{waiting.id}/reject",
        data={"reason": "Please add a photo of the <workshop>."},
    )
    assert response.status_code == 303
    db.session.refresh(waiting)
    assert waiting.state == "rejected"

    login(client, owner)
    dashboard = client.get("/projects/mine").get_data(as_text=True)
    assert "Please add a photo of the &lt;workshop&gt;." in dashboard
    edit = client.get(f"/projects/{waiting.id}/edit").get_data(as_text=True)
    assert "Please add a photo of the &lt;workshop&gt;." in edit
    response = form_post(
        client,
        f"/projects/{waiting.id}/edit",
        data={
            "title": "Open a bakery in Lyon",
            "story": "Now with a photo.",
            "goal": "1000",
            "duration_days": "30",
            "funding_model": "simple",
        },
    )
    assert response.status_code == 303
    db.session.refresh(waiting)
    assert waiting.state == "draft" and waiting.story == "Now with a photo."


@pytest.mark.parametrize("path", ["/projects/moderation", "approve", "reject"])
def test_only_moderators_moderate(client, project, make_user, login, form_post, path):
    waiting = project(state="in_review")
    login(client, make_user())
    if path.startswith("/"):
        response = client.get(path)
    else:
        response = form_post(
            client, "/projects/mine", f"/projects/{waiting.id}/{path}", data={"reason": "no"}
        )
    assert response.status_code == 403
    db.session.refresh(waiting)
    assert waiting.state == "in_review"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/projects/moderation")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_moderators_feature_a_project_on_the_home_page(
    client, project, moderator, make_user, login, form_post
):
    first = project(title="First dream")
    project(title="Second dream")
    page = f"/projects/{first.id}"
    login(client, make_user())
    assert form_post(client, page, f"{page}/feature", data={"featured": "1"}).status_code == 403
    login(client, moderator)
    assert "Feature on the home page" in client.get(page).get_data(as_text=True)
    response = form_post(client, page, f"{page}/feature", data={"featured": "1"})
    assert response.status_code == 303
    db.session.refresh(first)
    assert first.featured
    home = client.get("/").get_data(as_text=True)
    assert home.index("First dream") < home.index("Second dream")
    form_post(client, page, f"{page}/feature", data={"featured": "0"})
    db.session.refresh(first)
    assert not first.featured


def test_a_draft_cannot_be_featured(client, project, moderator, login, form_post):
    draft = project(state="in_review")
    login(client, moderator)
    response = form_post(
        client, f"/projects/{draft.id}", f"/projects/{draft.id}/feature", data={"featured": "1"}
    )
    assert response.status_code == 400
    db.session.refresh(draft)
    assert not draft.featured


def test_moderators_hide_comments(client, project, moderator, make_user, login, form_post):
    from tontine.projects import services

    dream = project()
    author = make_user()
    comment = services.add_comment(dream, author, "Buy cheap watches at spam.example")
    page = f"/projects/{dream.id}"
    hide = f"{page}/comments/{comment.id}/hide"
    login(client, author)
    assert "Hide this comment" not in client.get(page).get_data(as_text=True)
    assert form_post(client, page, hide).status_code == 403
    login(client, moderator)
    assert form_post(client, page, f"{page}/comments/999999/hide").status_code == 404
    assert form_post(client, page, hide).status_code == 303
    assert "spam.example" not in client.get(page).get_data(as_text=True)
    db.session.refresh(comment)
    assert comment.hidden
