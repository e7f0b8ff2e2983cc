"""The project page: the face, the story, the money, the people, the news, sharing."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from tontine.db import db
from tontine.projects.models import Comment
from tontine.storage import save_image


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def meta(html: str, name: str) -> str | None:
    match = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', html)
    return match.group(1) if match else None


def test_the_page_shows_the_project_its_person_and_its_money(
    client, project, owner, give, make_user
):
    dream = project(
        owner=owner,
        title="A bakery for Ndiaganiao",
        summary="Bread every morning",
        story="I bake since I was twelve.\n\nThe oven costs <b>4000</b> euros & more.",
        place="Ndiaganiao",
        country="SN",
        goal=400,
        days=12,
        terms={"note": "thank you"},
    )
    give(dream, "61", supporter=make_user(name="Jeanne Martin"))
    give(dream, "39", supporter=make_user(name="Secret Sam"), anonymous=True)
    response = client.get(f"/projects/{dream.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>A bakery for Ndiaganiao</h1>" in html
    assert '<p class="person-name">Amina Diallo</p>' in html
    assert "Ndiaganiao, SN" in html
    # The story is escaped and cut into paragraphs.
    assert "<p>I bake since I was twelve.</p>" in html
    assert "<p>The oven costs &lt;b&gt;4000&lt;/b&gt; euros &amp; more.</p>" in html
    assert "<b>4000</b>" not in html
    # Progress: raised of goal, backers, days left, state.
    assert '<progress max="100" value="25"' in html
    assert "<dd>€100.00</dd>" in html and "<dd>€400.00</dd>" in html
    assert "<dt>Supporters</dt><dd>2</dd>" in html
    assert "12 days left" in html
    assert 'class="badge state-open">Open<' in html
    # The funding model's own section, with project, raised and backer_count.
    assert "Simple model: €100.00 from 2 for A bakery for Ndiaganiao — note: thank you" in html
    # Supporters: named ones by name, anonymous ones as "Anonymous", amounts hidden.
    supporters = html[html.index('<ul class="supporters">') :]
    supporters = supporters[: supporters.index("</ul>")]
    assert "Jeanne Martin" in supporters and "Anonymous" in supporters
    assert "Secret Sam" not in html
    assert "€61" not in html and "€39" not in html


def test_open_graph_and_share_links_use_the_configured_origin(client, project, owner):
    dream = project(owner=owner, title="Solar pumps", summary="Water for the fields")
    from tontine.projects import services

    key = save_image(png())
    services.update_project(dream, owner, {"photo": key})
    html = client.get(f"/projects/{dream.id}", headers={"Host": "evil.example"}).get_data(
        as_text=True
    )
    url = f"http://dreams.example/projects/{dream.id}"
    assert meta(html, "og:title") == "Solar pumps"
    assert meta(html, "og:description") == "Water for the fields"
    assert meta(html, "og:url") == url
    assert meta(html, "og:image") == f"http://dreams.example/media/{key}"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert "evil.example" not in html
    encoded = "http%3A//dreams.example/projects/" + str(dream.id)
    assert f"mailto:?subject=Solar%20pumps&amp;body={encoded}" in html
    assert f"https://mastodonshare.com/?text=Solar%20pumps&amp;url={encoded}" in html
    assert f"https://www.facebook.com/sharer/sharer.php?u={encoded}" in html
    assert f"https://x.com/intent/post?text=Solar%20pumps&amp;url={encoded}" in html
    # The photo itself is served as an image.
    image = client.get(f"/media/{key}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert f'src="/media/{key}"' in html


def test_the_support_button_leads_to_the_give_page(app, client, project):
    dream = project()
    html = client.get(f"/projects/{dream.id}").get_data(as_text=True)
    if "payments.give" in app.view_functions:
        assert f'href="/projects/{dream.id}/give"' in html and "Support this project" in html
    else:  # the payments pages are not installed: no dead button
        assert "Support this project" not in html
    closed = project(state="funded")
    assert "Support this project" not in client.get(f"/projects/{closed.id}").get_data(as_text=True)


@pytest.mark.parametrize("state", ["draft", "in_review", "rejected", "withdrawn"])
def test_unpublished_projects_are_seen_only_by_owner_and_moderators(
    client, project, owner, make_user, login, state
):
    dream = project(owner=owner, state=state, title="Not yet public")
    assert client.get(f"/projects/{dream.id}").status_code == 404
    login(client, make_user())
    assert client.get(f"/projects/{dream.id}").status_code == 404
    login(client, make_user(roles=("moderator",)))
    assert client.get(f"/projects/{dream.id}").status_code == 200
    login(client, owner)
    response = client.get(f"/projects/{dream.id}")
    assert response.status_code == 200
    assert "Only you and the moderators can see this page" in response.get_data(as_text=True)


def test_unknown_project_is_404(client):
    assert client.get("/projects/424242").status_code == 404


def test_updates_appear_newest_first(client, project, owner):
    from tontine.projects import services

    dream = project(owner=owner)
    services.post_update(dream, owner, "The oven is here", "It arrived <today>.")
    services.post_update(dream, owner, "First bread", "We baked 200 loaves.")
    html = client.get(f"/projects/{dream.id}").get_data(as_text=True)
    assert html.index("First bread") < html.index("The oven is here")
    assert "It arrived &lt;today&gt;." in html


def comments() -> int:
    return db.session.scalar(select(func.count()).select_from(Comment))


def test_a_logged_in_visitor_comments(client, project, make_user, login, form_post):
    dream = project()
    login(client, make_user(name="Jeanne Martin"))
    url = f"/projects/{dream.id}"
    response = form_post(client, url, f"{url}/comments", data={"body": "Bravo <3"})
    assert response.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert "<strong>Jeanne Martin</strong>" in html and "Bravo &lt;3" in html


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_a_bad_comment_is_refused_on_the_form(client, project, make_user, login, form_post, body):
    dream = project()
    login(client, make_user())
    url = f"/projects/{dream.id}"
    response = form_post(client, url, f"{url}/comments", data={"body": body})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html
    assert comments() == 0


def test_comments_need_a_login_and_a_csrf_token(client, project, make_user, login):
    dream = project()
    response = client.post(f"/projects/{dream.id}/comments", data={"body": "hello"})
    assert response.status_code in (302, 400)
    login(client, make_user())
    response = client.post(f"/projects/{dream.id}/comments", data={"body": "hello"})
    assert response.status_code == 400
    assert comments() == 0


def test_the_page_has_no_inline_styles_or_scripts(client, project):
    html = client.get(f"/projects/{project().id}").get_data(as_text=True)
    assert "style=" not in html and "<script" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/projects/99999999999999999999999",
        "/projects/0",
        "/api/v1/projects/99999999999999999999999",
        "/projects/99999999999999999999999/edit",
        "/projects/99999999999999999999999/supporters",
    ],
)
def test_absurd_ids_are_404_not_500(client, owner, login, path):
    login(client, owner)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query", ["q=" + "x" * 101, "country=FRA", "state=nonsense", "cursor=" + "x" * 300]
)
def test_bad_browse_filters_are_a_400_with_a_message(client, query):
    response = client.get(f"/projects/?{query}")
    assert response.status_code == 400
    assert 'class="form-errors"' in response.get_data(as_text=True)
