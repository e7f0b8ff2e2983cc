"""Listings as AS2 ``Page`` objects: what a Mastodon or Tontine peer receives for a project."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyld import jsonld

from tontine.db import db, unit_of_work
from tontine_federation.contexts import document_loader
from tontine_federation.listings import create_activity, to_ap

BASE = "https://dreams.example"
AS = "https://www.w3.org/ns/activitystreams#"
TONTINE = "https://w3id.org/tontine/ns#"
SCHEMA = "http://schema.org/"
AS_JSON = "application/activity+json"


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(plugins=["gift", "sandbox", "federation"], BASE_URL=BASE)
    with app.app_context():
        yield app


@pytest.fixture
def web(site):  # type: ignore[no-untyped-def]
    return site.test_client()


def _as(web, path: str, host: str = "attacker.example") -> Any:  # type: ignore[no-untyped-def]
    return web.get(path, headers={"Accept": AS_JSON, "Host": host})


def test_open_project_is_a_page(site, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project(
        goal=1500,
        title="Bakery",
        place="Lyon",
        country="FR",
        story="Line one.\n\n<script>alert(1)</script> & more",
    )
    page = to_ap(project)
    assert page["id"] == page["url"] == f"{BASE}/projects/{project.id}"
    assert page["type"] == "Page"
    assert page["name"] == "Bakery"
    assert page["attributedTo"] == f"{BASE}/people/{project.owner_id}"  # its owner, a Person
    assert page["fundingModel"] == "gift"
    assert page["status"] == "open"
    assert page["goal"] == {"type": "MonetaryAmount", "value": "1500.00", "currency": "EUR"}
    assert page["raised"] == {"type": "MonetaryAmount", "value": "0.00", "currency": "EUR"}
    assert page["backerCount"] == 0
    assert page["contribute"] == f"{BASE}/projects/{project.id}/give"
    assert page["location"] == {"type": "Place", "name": "Lyon", "addressCountry": "FR"}
    assert page["endTime"].endswith("Z") and page["published"].endswith("Z")
    assert "Lyon" in page["summary"]
    assert "1,500" in page["summary"] or "1500" in page["summary"]
    assert page["content"].startswith("<p>Line one.</p>")
    assert "<script>" not in page["content"]
    assert "&lt;script&gt;" in page["content"]
    assert page["terms"]["mode"]  # the gift model's own terms
    assert "https://www.w3.org/ns/activitystreams#Public" in page["to"]


def test_beneficiary_name_only_with_consent(site, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project()
    project.person.name = "Amina"
    project.person.consent_federate = False
    assert "Amina" not in to_ap(project)["summary"]
    project.person.consent_federate = True
    assert "Amina" in to_ap(project)["summary"]


def test_project_url_negotiates(site, web, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project()
    response = _as(web, f"/projects/{project.id}")
    assert response.status_code == 200
    assert response.mimetype == AS_JSON
    doc = json.loads(response.data)
    assert doc["type"] == "Page" and doc["id"] == f"{BASE}/projects/{project.id}"
    assert "attacker.example" not in response.get_data(as_text=True)
    html = web.get(f"/projects/{project.id}", headers={"Accept": "text/html"})
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert f'<{BASE}/projects/{project.id}>; rel="alternate"' in html.headers.get("Link", "")


def test_unpublished_projects_are_not_listed(site, web, make_project) -> None:  # type: ignore[no-untyped-def]
    draft = make_project(state="draft")
    assert _as(web, f"/projects/{draft.id}").status_code == 404
    assert _as(web, "/projects/999999").status_code == 404
    assert _as(web, f"/projects/{2**70}").status_code == 404


def test_withdrawn_listing_answers_410_with_a_tombstone(site, web, make_project) -> None:  # type: ignore[no-untyped-def]
    from tontine.projects import services

    project = make_project()
    with unit_of_work():
        services.transition(db.session.merge(project), "withdrawn", reason="test")
    response = _as(web, f"/projects/{project.id}")
    assert response.status_code == 410
    doc = json.loads(response.data)
    assert doc["type"] == "Tombstone" and doc["formerType"] == "Page"
    assert doc["id"] == f"{BASE}/projects/{project.id}"


def _expand(doc: dict[str, Any]) -> dict[str, Any]:
    return jsonld.expand(doc, {"documentLoader": document_loader})[0]


def test_page_expands_to_the_expected_terms(site, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project(goal=2000)
    project.photo = "abc123.jpg"
    page = _expand(to_ap(project))
    assert page["@type"] == [AS + "Page"]
    # what Mastodon shows: name, summary, url, image
    assert page[AS + "name"][0]["@value"] == project.title
    assert page[AS + "summary"][0]["@value"]
    assert page[AS + "url"] == [{"@id": f"{BASE}/projects/{project.id}"}]
    assert page[AS + "image"][0][AS + "url"] == [{"@id": f"{BASE}/media/abc123.jpg"}]
    assert page[TONTINE + "fundingModel"] == [{"@value": "gift"}]
    assert page[TONTINE + "status"] == [{"@value": "open"}]
    goal = page[TONTINE + "goal"][0]
    assert goal["@type"] == [SCHEMA + "MonetaryAmount"]
    assert goal[SCHEMA + "value"] == [{"@value": "2000.00"}]
    assert goal[SCHEMA + "currency"] == [{"@value": "EUR"}]
    assert page[TONTINE + "backerCount"][0]["@value"] in (0, "0")
    assert page[AS + "attributedTo"] == [{"@id": f"{BASE}/people/{project.owner_id}"}]


def test_create_expands_with_the_page_inside(site, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project()
    create = create_activity(project)
    assert create["object"]["id"] == f"{BASE}/projects/{project.id}"
    expanded = _expand(create)
    assert expanded["@type"] == [AS + "Create"]
    assert expanded[AS + "actor"] == [{"@id": f"{BASE}/actor"}]
    page = expanded[AS + "object"][0]
    assert page["@type"] == [AS + "Page"]
    assert page[AS + "name"][0]["@value"] == project.title


def test_progress_changes_move_updated_forward(site, make_project) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from tontine_federation import outbox

    project = make_project()
    before = to_ap(project)["updated"]
    with unit_of_work():
        outbox.on_contribution(project.id)  # what contribution_confirmed does
    after = to_ap(project)["updated"]
    assert datetime.fromisoformat(after.rstrip("Z")) > datetime.fromisoformat(before.rstrip("Z"))


@pytest.mark.postgres
def test_absurd_listing_ids_on_postgres(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(plugins=["gift", "federation"], BASE_URL=BASE, database="postgres")
    response = app.test_client().get(f"/projects/{2**70}", headers={"Accept": AS_JSON})
    assert response.status_code == 404
    for cursor in (2**70, -(2**70), 0):
        assert app.test_client().get(f"/network?before={cursor}").status_code == 200
    for path in ("/actor/outbox", "/actor/followers", "/actor/following"):
        for cursor in (2**70, -(2**70), 0):
            assert app.test_client().get(f"{path}?max_id={cursor}").status_code == 200


def test_a_refund_sends_the_listings_new_progress(make_app, make_project, give) -> None:  # type: ignore[no-untyped-def]
    """``contribution_refunded`` moves the listing's ``updated`` on: peers take the new total."""
    from tontine.payments.services import refund_contribution
    from tontine.testing import InstantSite

    app = make_app(
        plugins=["federation"], extra_plugins=[InstantSite()], PAYMENT_PROVIDERS=["instant"], BASE_URL=BASE
    )
    with app.app_context():
        project = make_project(funding_model="plain", goal=100)
        contribution = give(project, "40")
        assert to_ap(project)["raised"]["value"] == "40.00"
        before = to_ap(project)["updated"]
        refund_contribution(contribution.id)
        page = to_ap(project)
        assert page["raised"]["value"] == "0.00"
        assert page["updated"] > before
