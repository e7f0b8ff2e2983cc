"""Project owners as ``Person``s: WebFinger, their URL, listings' attributedTo, erasure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tontine.accounts.services import erase_account
from tontine.db import db, unit_of_work
from tontine_federation import outbox
from tontine_federation.listings import to_ap
from tontine_federation.models import FollowState, OutgoingActivity, Peer

BASE = "https://dreams.example"
AS_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, make_app: Any) -> Any:
    app = make_app(
        plugins=["gift", "sandbox", "federation"],
        database=request.param,
        BASE_URL=BASE,
        NAME="Dreams",
    )
    with app.app_context():
        yield app


@pytest.fixture
def web(site: Any) -> Any:
    return site.test_client()


@pytest.fixture
def marie(make_user: Any, make_project: Any) -> Any:
    """An owner with an open listing that shows her (with consent to federate)."""
    user = make_user(name="Marie Curie", roles=("supporter", "project_owner"))
    make_project(owner=user, title="A radium lab")
    return user


def first_listing() -> Any:
    from tontine.projects.models import Project

    return db.session.scalars(select(Project).order_by(Project.id)).first()


def _get(web: Any, path: str, accept: str = AS_JSON) -> Any:
    return web.get(path, headers={"Accept": accept, "Host": "attacker.example"})


def test_webfinger_resolves_an_owner_by_handle_and_by_url(web: Any, marie: Any) -> None:
    person = f"{BASE}/people/{marie.id}"
    for resource in ("acct:marie_curie@dreams.example", "acct:Marie_Curie@dreams.example", person):
        response = _get(web, f"/.well-known/webfinger?resource={resource}", accept="")
        assert response.status_code == 200, resource
        assert response.headers["Content-Type"] == "application/jrd+json"
        body = json.loads(response.data)
        assert body["subject"] == "acct:marie_curie@dreams.example"
        assert {"rel": "self", "type": AS_JSON, "href": person} in body["links"]
        assert {
            "rel": "http://webfinger.net/rel/profile-page",
            "type": "text/html",
            "href": person,
        } in body["links"]
    instance = json.loads(_get(web, "/.well-known/webfinger?resource=acct:tontine@dreams.example").data)
    assert instance["links"][0]["href"] == f"{BASE}/actor"  # the instance actor still resolves


@pytest.mark.parametrize(
    "resource,status",
    [
        ("acct:nobody@dreams.example", 404),
        ("acct:marie_curie@attacker.example", 404),
        ("acct:marie-curie@dreams.example", 404),
        (f"{BASE}/people/999999", 404),
        (f"{BASE}/people/{2**70}", 404),
        ("https://attacker.example/people/1", 404),
        ("marie_curie@dreams.example", 400),
        ("mailto:marie@dreams.example", 400),
    ],
)
def test_webfinger_refuses_unknown_and_malformed_resources(
    web: Any, marie: Any, resource: str, status: int
) -> None:
    response = _get(web, f"/.well-known/webfinger?resource={resource}", accept="")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_the_person_negotiates_json_and_html(web: Any, marie: Any) -> None:
    person = f"{BASE}/people/{marie.id}"
    for accept, media in ((AS_JSON, AS_JSON), (LD_JSON, "application/ld+json")):
        response = _get(web, f"/people/{marie.id}", accept=accept)
        assert response.status_code == 200 and response.mimetype == media
        doc = json.loads(response.data)
        assert doc["id"] == doc["url"] == person
        assert doc["type"] == "Person"
        assert doc["preferredUsername"] == "marie_curie" and doc["name"] == "Marie Curie"
        assert not {"inbox", "outbox", "publicKey", "endpoints"} & set(doc)  # only the instance sends
        assert "attacker.example" not in response.get_data(as_text=True)
    html = _get(web, f"/people/{marie.id}", accept="text/html,*/*;q=0.8")
    assert html.status_code == 200 and html.mimetype == "text/html"
    page = html.get_data(as_text=True)
    assert "Marie Curie" in page and "@marie_curie@dreams.example" in page
    assert "A radium lab" in page
    assert f'<{person}>; rel="alternate"' in html.headers["Link"]


def test_the_person_page_is_translated(web: Any, marie: Any) -> None:
    html = web.get(f"/people/{marie.id}", headers={"Accept-Language": "fr", "Accept": "text/html"})
    assert "Projets de Marie Curie" in html.get_data(as_text=True)


def test_owners_without_a_public_listing_do_not_resolve(
    web: Any, make_user: Any, make_project: Any
) -> None:
    supporter = make_user(name="Paul Langevin")
    drafter = make_user(name="Irene Joliot", roles=("supporter", "project_owner"))
    make_project(owner=drafter, state="draft")
    private = make_user(name="Pierre Curie", roles=("supporter", "project_owner"))
    project = make_project(owner=private, consent_federate=False)  # declined to federate
    assert drafter.handle == "irene_joliot"
    for user in (supporter, drafter, private):
        assert _get(web, f"/people/{user.id}").status_code == 404
        assert _get(web, f"/people/{user.id}", accept="text/html").status_code == 404
    assert _get(web, "/.well-known/webfinger?resource=acct:irene_joliot@dreams.example").status_code == 404
    assert to_ap(project)["attributedTo"] == f"{BASE}/actor"  # never a Person that 404s
    assert _get(web, "/people/0").status_code == 404


def test_listings_are_attributed_to_their_owner(web: Any, marie: Any, make_project: Any) -> None:
    project = make_project(owner=marie, title="A second lab")
    assert to_ap(project)["attributedTo"] == f"{BASE}/people/{marie.id}"
    doc = json.loads(_get(web, f"/projects/{project.id}").data)
    assert doc["attributedTo"] == f"{BASE}/people/{marie.id}"


def test_erasure_answers_410_and_updates_every_listing(
    web: Any, marie: Any, make_project: Any
) -> None:
    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/inbox",
                followed=FollowState.ACCEPTED,
            )
        )
    # A listing for someone else (the owner is not its person): only account_erased updates it.
    other = make_project(owner=marie, title="A lab for Irène", person_name="Irène")
    mine = first_listing()
    assert "Marie Curie" in to_ap(mine)["summary"]
    assert to_ap(other)["attributedTo"] == f"{BASE}/people/{marie.id}"

    erase_account(marie, marie)

    updates = db.session.scalars(
        select(OutgoingActivity).where(OutgoingActivity.type == "Update")
    ).all()
    assert sorted(u.project_id for u in updates) == [mine.id, other.id]
    for update in updates:
        sent = outbox.render(update)
        assert sent is not None
        assert sent["object"]["attributedTo"] == f"{BASE}/actor"
        assert "Marie Curie" not in json.dumps(sent)
        assert "marie_curie" not in json.dumps(sent)
    response = _get(web, f"/people/{marie.id}")
    assert response.status_code == 410
    tombstone = json.loads(response.data)
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Person"
    assert tombstone["id"] == f"{BASE}/people/{marie.id}"
    assert "Marie Curie" not in response.get_data(as_text=True)
    assert _get(web, f"/people/{marie.id}", accept="text/html").status_code == 410
    assert (
        _get(web, "/.well-known/webfinger?resource=acct:marie_curie@dreams.example").status_code
        == 404
    )


def test_a_peer_takes_a_listing_attributed_to_a_person_on_its_origin(site: Any, marie: Any) -> None:
    """What a Tontine peer's ingest checks (rule 2): attributedTo on the listing's origin."""
    from tontine_federation.remote import RemoteRefused, origin
    from tontine_federation.remote_listings import by_ap

    page = to_ap(first_listing())
    assert page["attributedTo"] == f"{BASE}/people/{marie.id}"
    assert by_ap(page, origin(BASE))["ap_id"] == page["id"]
    elsewhere = {**page, "attributedTo": f"https://other.example/people/{marie.id}"}
    with pytest.raises(RemoteRefused):
        by_ap(elsewhere, origin(BASE))
