"""The profile page: what it shows, and changing one's name and language."""

from __future__ import annotations

from tontine.accounts.models import User
from tontine.db import db


def test_profile_shows_name_email_roles_and_data_links(app, client, login, make_user):
    user = make_user(roles=("supporter", "project_owner"), email="eve@example.org", name="Eve")
    login(client, user)
    page = client.get("/account/").get_data(as_text=True)
    assert "Eve" in page and "eve@example.org" in page
    assert "Supporter" in page and "Project owner" in page
    assert 'href="/account/export"' in page
    assert 'href="/account/erase"' in page


def test_profile_change_name_and_locale(app, client, login, make_user, form_post):
    user = make_user(name="Eve")
    login(client, user)
    response = form_post(client, "/account/", data={"display_name": "Eve Martin", "locale": "fr"})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.display_name, saved.locale) == ("Eve Martin", "fr")
    page = client.get("/account/").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Eve Martin" in page

    form_post(client, "/account/", data={"display_name": "Eve Martin", "locale": ""})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale is None


def test_profile_bad_input_is_refused(app, client, login, make_user, form_post):
    user = make_user(name="Eve")
    login(client, user)
    for data, message in [
        ({"display_name": "", "locale": ""}, "Please enter a display name."),
        ({"display_name": "Eve", "locale": "xx"}, "Not a valid choice"),
        ({"display_name": "E" * 81, "locale": ""}, "A display name has at most 80 characters."),
    ]:
        response = form_post(client, "/account/", data=data)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "Eve"


def test_account_pages_need_login(app, client):
    for path in ("/account/", "/account/export", "/account/erase"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/account/login" in response.headers["Location"]
    assert client.post("/account/erase").status_code in (302, 400)


def test_every_account_page_uses_the_site_layout(app, client, login, make_user):
    for path in ("/account/login", "/account/signup", "/account/reset"):
        page = client.get(path).get_data(as_text=True)
        assert 'class="site-header"' in page and 'name="csrf_token"' in page
    login(client, make_user())
    for path in ("/account/", "/account/erase"):
        page = client.get(path).get_data(as_text=True)
        assert 'class="site-header"' in page and 'name="csrf_token"' in page


def test_account_pages_are_translated_in_french(app, client):
    page = client.get("/account/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in page


def test_login_redirect_explains_why(app, client):
    page = client.get("/account/", follow_redirects=True).get_data(as_text=True)
    assert "Please log in to see this page." in page
