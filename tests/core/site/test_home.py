"""The home page: featured open projects, the site's numbers, a search box; the layout."""

from __future__ import annotations

import re

from sqlalchemy import update

from tontine.db import db, unit_of_work
from tontine.projects.models import Project


def card_titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="/projects/\d+">([^<]*)</a>', html)


def test_featured_open_projects_first_then_newest(client, make_project):
    older = make_project(funding_model="plain", title="An older dream")
    make_project(funding_model="plain", title="The newest dream")
    make_project(funding_model="plain", title="A draft dream", state="draft")
    make_project(funding_model="plain", title="A funded dream", state="funded")
    with unit_of_work():
        db.session.execute(update(Project).where(Project.id == older.id).values(featured=True))
    html = client.get("/").get_data(as_text=True)
    assert card_titles(html) == ["An older dream", "The newest dream"]


def test_numbers_open_projects_money_per_currency_and_supporters(
    client, make_project, make_user, give
):
    eur = make_project(funding_model="plain", goal=1000)
    xof = make_project(funding_model="plain", goal=500_000, currency="XOF")
    make_project(funding_model="plain", state="draft")
    fan = make_user()
    give(eur, "20", supporter=fan)
    give(eur, "5.50")
    give(xof, "15000", supporter=fan)
    html = client.get("/").get_data(as_text=True)
    numbers = html[html.index('<section class="numbers"') :]
    numbers = numbers[: numbers.index("</section>")]
    assert "<dt>Projects open</dt><dd>2</dd>" in numbers
    assert "€25.50" in numbers
    assert "15,000" in numbers and ("CFA" in numbers or "XOF" in numbers)
    assert "<dt>Supporters</dt><dd>2</dd>" in numbers


def test_an_empty_site_still_has_a_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "No project is open yet." in html
    assert "<dt>Projects open</dt><dd>0</dd>" in html


def test_the_search_box_goes_to_browse(client):
    html = client.get("/").get_data(as_text=True)
    assert '<form class="search" method="get" action="/projects/" role="search">' in html
    assert 'name="q"' in html


def test_layout_links_and_language(client, make_user, login):
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert 'href="/projects/"' in html and 'href="/account/login"' in html
    assert 'href="/partners"' in html  # a plugin's navigation link
    assert "style=" not in html and "<script" not in html
    login(client, make_user(roles=("moderator",), name="Mo"))
    html = client.get("/").get_data(as_text=True)
    assert 'href="/projects/mine"' in html and 'href="/projects/moderation"' in html
    assert 'action="/account/logout"' in html


def test_the_stylesheet_is_served(client):
    response = client.get("/static/tontine.css")
    assert response.status_code == 200 and b"progress" in response.data
    response.close()


def test_locale_switch_only_goes_to_local_pages(client, form_post):
    response = form_post(client, "/", "/locale", data={"locale": "fr", "next": "//evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in html


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_the_theme_colour_comes_from_the_instance(make_app):
    app = make_app(plugins=[], THEME={"accent": "#1d4ed8"})
    client = app.test_client()
    assert 'href="/theme.css"' in client.get("/").get_data(as_text=True)
    css = client.get("/theme.css")
    assert css.mimetype == "text/css"
    assert "--accent: #1d4ed8;" in css.get_data(as_text=True)


def test_a_theme_colour_that_is_not_a_colour_is_ignored(make_app):
    app = make_app(plugins=[], THEME={"accent": "red; } body { background: url(//evil)"})
    css = app.test_client().get("/theme.css").get_data(as_text=True)
    assert css == ""
