"""Browse and search: public listings only, filters, constant-cost cursor pages, the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from tontine.db import db
from tontine.projects.browse import decode_cursor, encode_cursor


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="/projects/\d+">([^<]*)</a>', html)


@pytest.fixture
def listings(project: Any, owner: Any) -> dict[str, Any]:
    return {
        "bakery": project(
            owner=owner,
            title="Open a bakery",
            summary="Bread for the village",
            place="Lyon",
            country="FR",
            category="food",
        ),
        "school": project(
            owner=owner,
            title="A school library",
            summary="Books for children",
            place="Dakar",
            country="SN",
            category="education",
        ),
        "choir": project(
            owner=owner,
            title="Choir tour",
            summary="Singing in BAKERY halls",
            place="Lille",
            country="FR",
            category="music",
            state="funded",
        ),
        "farm": project(
            owner=owner,
            title="Goat farm",
            summary="Cheese",
            place="Thiès",
            country="SN",
            category="food",
            funding_model="other",
        ),
        "draft": project(owner=owner, title="Secret bakery draft", place="Lyon", state="draft"),
        "review": project(owner=owner, title="Bakery in review", place="Lyon", state="in_review"),
        "withdrawn": project(
            owner=owner, title="Withdrawn bakery", place="Lyon", state="withdrawn"
        ),
    }


def test_only_public_projects_are_listed(client, listings):
    html = client.get("/projects/").get_data(as_text=True)
    assert sorted(titles(html)) == ["A school library", "Choir tour", "Goat farm", "Open a bakery"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=bakery", ["Choir tour", "Open a bakery"]),  # title or summary, any case
        ("q=DAKAR", ["A school library"]),  # place
        ("q=100%25", []),  # LIKE wildcards are literal
        ("category=food", ["Goat farm", "Open a bakery"]),
        ("place=lyon", ["Open a bakery"]),
        ("country=sn", ["Goat farm", "A school library"]),
        ("state=funded", ["Choir tour"]),
        ("funding_model=other", ["Goat farm"]),
        ("category=food&country=SN", ["Goat farm"]),
    ],
)
def test_filters(client, listings, query, expected):
    response = client.get(f"/projects/?{query}")
    assert response.status_code == 200
    assert titles(response.get_data(as_text=True)) == expected


def test_filters_never_reveal_drafts(client, listings):
    assert titles(client.get("/projects/?q=secret").get_data(as_text=True)) == []
    response = client.get("/projects/?state=draft")
    assert response.status_code == 400
    assert "Unknown project status." in response.get_data(as_text=True)
    assert "Secret" not in response.get_data(as_text=True)


def test_cards_show_photo_owner_place_progress_and_days_left(client, project, owner, give):
    bakery = project(owner=owner, title="Open a bakery", place="Lyon", goal=200, days=10)
    give(bakery, "50")
    html = client.get("/projects/").get_data(as_text=True)
    card = html[html.index('<article class="card">') : html.index("</article>")]
    assert "Amina Diallo · Lyon" in card
    assert '<progress max="100" value="25"' in card
    assert "€50" in card and "of €200" in card
    assert "10 days left" in card
    assert "1 supporter" in card


def test_cards_are_rendered_once_per_cache_window_per_language(app, client, project, owner, give):
    app.config["BROWSE_CACHE_SECONDS"] = 60
    bakery = project(owner=owner, title="Open a bakery", goal=200)
    assert "€0" in client.get("/projects/").get_data(as_text=True)
    give(bakery, "50")
    # Within the window the cached cards are served as they were…
    assert 'value="25"' not in client.get("/projects/").get_data(as_text=True)
    # …other filters and languages have cards of their own…
    french = client.get("/projects/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'value="25"' in french
    assert 'value="25"' in client.get("/projects/?place=Lyon").get_data(as_text=True)
    # …and with the cache off, every page is fresh.
    app.config["BROWSE_CACHE_SECONDS"] = 0
    assert 'value="25"' in client.get("/projects/").get_data(as_text=True)


def test_pages_of_twenty_with_a_next_link_and_no_offset(client, project, owner):
    for n in range(45):
        project(owner=owner, title=f"Dream number {n:02d}", state="draft" if n == 44 else "open")
    seen: list[str] = []
    url = "/projects/?category=food"
    statements: list[str] = []

    offsets: list[Any] = []

    def record(conn, cursor, statement, parameters, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)
        if "FROM projects" in statement and "OFFSET" in statement.upper():
            offsets.append(parameters[-1])  # SQLite always writes "LIMIT ? OFFSET ?"

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        pages = 0
        while url:
            html = client.get(url).get_data(as_text=True)
            page = titles(html)
            assert len(page) == (20 if pages < 2 else 4)
            seen += page
            match = re.search(r'<a class="button" rel="next" href="([^"]+)"', html)
            url = match.group(1).replace("&amp;", "&") if match else None
            if url:
                assert "category=food" in url
            if pages:
                assert '<a href="/projects/?category=food">First page</a>' in html
            pages += 1
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert pages == 3
    assert seen == [f"Dream number {n:02d}" for n in range(43, -1, -1)]
    listing_queries = [s for s in statements if "FROM projects" in s and "LIMIT" in s]
    assert len(listing_queries) == pages
    assert all(offset == 0 for offset in offsets)  # keyset pages: nothing is skipped over
    assert all("projects.id < " in s for s in listing_queries[1:])
    # The money raised for a whole page is one grouped query.
    assert len([s for s in statements if "FROM contributions" in s]) == pages


@pytest.mark.parametrize("cursor", ["garbage", "cDE6LTE", encode_cursor(5) + "x", "%00", "p1:5"])
def test_a_bad_cursor_is_a_clear_400(client, listings, cursor):
    response = client.get(f"/projects/?cursor={cursor}")
    assert response.status_code == 400
    assert "This page link is not valid." in response.get_data(as_text=True)


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor(1234)) == 1234


# --- API ---------------------------------------------------------------------------------


def test_api_lists_public_projects_with_decimal_amounts(client, project, give):
    bakery = project(title="Open a bakery", goal=1000)
    give(bakery, "12.5")
    project(title="Hidden draft", state="draft")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["next_cursor"] is None
    assert [item["title"] for item in body["items"]] == ["Open a bakery"]
    item = body["items"][0]
    assert item["goal"] == {"amount": "1000.00", "currency": "EUR"}
    assert item["raised"] == {"amount": "12.50", "currency": "EUR"}
    assert item["backer_count"] == 1
    assert item["url"] == f"http://dreams.example/projects/{bakery.id}"
    assert item["owner_name"]


def test_api_pages_with_cursor_and_limit(client, project, owner):
    ids = [project(owner=owner, title=f"Dream {n}").id for n in range(5)]
    first = client.get("/api/v1/projects/?limit=2").get_json()
    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    second = client.get(f"/api/v1/projects/?limit=2&cursor={first['next_cursor']}").get_json()
    assert [i["id"] for i in second["items"]] == ids[::-1][2:4]
    third = client.get(f"/api/v1/projects/?limit=2&cursor={second['next_cursor']}").get_json()
    assert [i["id"] for i in third["items"]] == ids[:1] and third["next_cursor"] is None


def test_api_filters(client, listings):
    body = client.get("/api/v1/projects/?q=bakery&country=FR").get_json()
    assert sorted(i["title"] for i in body["items"]) == ["Choir tour", "Open a bakery"]


@pytest.mark.parametrize(
    "query", ["limit=abc", "limit=0", "limit=1000", "cursor=nonsense", "state=draft", "country=FRA"]
)
def test_api_bad_query_is_a_json_422(client, listings, query):
    response = client.get(f"/api/v1/projects/?{query}")
    assert response.status_code == 422
    assert response.mimetype in ("application/json", "application/problem+json")
    assert response.get_json()["status"] == 422


def test_api_one_project_and_404s(client, listings, owner, login):
    bakery = listings["bakery"]
    response = client.get(f"/api/v1/projects/{bakery.id}")
    assert response.status_code == 200 and response.get_json()["title"] == "Open a bakery"
    for path in [
        "/api/v1/projects/999999",
        f"/api/v1/projects/{listings['draft'].id}",
        f"/api/v1/projects/{listings['review'].id}",
    ]:
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["status"] == 404
    login(client, owner)
    assert client.get(f"/api/v1/projects/{listings['draft'].id}").status_code == 200


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_search_pages_and_totals_on_each_database(make_app, site_plugin, make_user, database):
    """The same listing query on SQLite and PostgreSQL: case-insensitive search, keyset pages."""
    from tontine.payments.services import contribute
    from tontine.projects import services
    from tontine.projects.browse import page

    app = make_app(
        plugins=[], extra_plugins=[site_plugin], PAYMENT_PROVIDERS=["instant"], database=database
    )
    with app.app_context():
        owner = make_user()
        ids = []
        for n in range(5):
            draft = services.create_project(
                owner,
                {
                    "title": f"Bakery Nº{n}" if n % 2 else f"Garden {n}",
                    "story": "x",
                    "goal": "100",
                    "funding_model": "simple",
                    "place": "Saint-Étienne" if n == 1 else "Lyon",
                },
            )
            ids.append(services.walk_to(draft, "open").id)
        services.walk_to(
            services.create_project(
                owner, {"title": "Bakery draft", "goal": "5", "funding_model": "simple"}
            ),
            "in_review",
        )
        contribute(
            project_id=ids[3],
            supporter=make_user(),
            amount="12.50",
            provider_key="instant",
            idempotency_key="k",
            return_url="/",
        )
        first = page({"q": "BAKERY"}, limit=1)
        assert [c.project.id for c in first.cards] == [ids[3]]
        assert first.cards[0].raised.amount == 1250 and first.cards[0].backer_count == 1
        second = page({"q": "bakery"}, first.next_cursor, limit=1)
        assert [c.project.id for c in second.cards] == [ids[1]] and second.next_cursor is None
        assert [c.project.id for c in page({"place": "Saint-Étienne"}).cards] == [ids[1]]
        assert [c.project.id for c in page({"place": "lyon"}).cards] == ids[4:1:-1] + [ids[0]]
        assert [c.project.id for c in page({"q": "100%"}).cards] == []
        assert len(page({}).cards) == 5
