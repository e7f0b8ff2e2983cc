"""WebFinger, NodeInfo, the instance actor and /ns, as a remote server sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyld import jsonld

from tontine_federation.contexts import document_loader

BASE = "https://dreams.example"
AS = "https://www.w3.org/ns/activitystreams#"
AS_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    app = make_app(plugins=["gift", "federation"], BASE_URL=BASE, NAME="Dreams")
    with app.app_context():
        yield app


@pytest.fixture
def web(site):  # type: ignore[no-untyped-def]
    return site.test_client()


def _get(web, path: str, accept: str = "", host: str = "attacker.example") -> Any:  # type: ignore[no-untyped-def]
    return web.get(path, headers={"Accept": accept, "Host": host})


@pytest.mark.parametrize(
    "resource",
    [
        "acct:tontine@dreams.example",
        "acct:TONTINE@dreams.example",
        BASE,
        BASE + "/",
        BASE + "/actor",
    ],
)
def test_webfinger_resolves_the_instance_actor(web, resource: str) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, f"/.well-known/webfinger?resource={resource}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jrd+json"
    body = response.get_json(force=True)
    assert body["subject"] == "acct:tontine@dreams.example"
    self_link = [link for link in body["links"] if link["rel"] == "self"]
    assert self_link == [{"rel": "self", "type": AS_JSON, "href": f"{BASE}/actor"}]


@pytest.mark.parametrize(
    "query,status",
    [
        ("", 400),
        ("?resource=", 400),
        ("?resource=acct:someone@dreams.example", 404),
        ("?resource=acct:tontine@attacker.example", 404),
        ("?resource=acct:tontine", 404),
        ("?resource=https://attacker.example/", 404),
        ("?resource=" + "a" * 600, 400),
    ],
)
def test_webfinger_refuses_other_resources(web, query: str, status: int) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, f"/.well-known/webfinger{query}")
    assert response.status_code == status
    assert response.is_json or response.mimetype == "application/problem+json"


def test_webfinger_with_a_port(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(plugins=["gift", "federation"], BASE_URL="http://127.0.0.1:5001")
    web = app.test_client()
    body = web.get("/.well-known/webfinger?resource=acct:tontine@127.0.0.1:5001").get_json(
        force=True
    )
    assert body["subject"] == "acct:tontine@127.0.0.1:5001"
    assert body["links"][0]["href"] == "http://127.0.0.1:5001/actor"


def test_nodeinfo(web, site) -> None:  # type: ignore[no-untyped-def]
    links = _get(web, "/.well-known/nodeinfo").get_json()
    assert links == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{BASE}/nodeinfo/2.1",
            }
        ]
    }
    response = _get(web, "/nodeinfo/2.1")
    assert response.status_code == 200
    assert "nodeinfo.diaspora.software/ns/schema/2.1" in response.headers["Content-Type"]
    info = json.loads(response.data)
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "tontine"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 0
    assert info["usage"]["localPosts"] == 0
    assert info["metadata"]["nodeName"] == "Dreams"
    assert info["metadata"]["fundingModels"] == sorted(site.extensions["tontine"].funding_models)
    assert "gift" in info["metadata"]["fundingModels"]


def test_nodeinfo_counts_users_and_public_listings(site, web, make_user, make_project) -> None:  # type: ignore[no-untyped-def]
    owner = make_user()
    make_project(owner=owner, state="open")
    make_project(owner=owner, state="draft")
    info = json.loads(_get(web, "/nodeinfo/2.1").data)
    assert info["usage"]["users"]["total"] >= 1
    assert info["usage"]["localPosts"] == 1


@pytest.mark.parametrize(
    "accept", [AS_JSON, LD_JSON, "application/ld+json", f"{AS_JSON}, text/html;q=0.5"]
)
def test_actor_as_json(web, site, accept: str) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, "/actor", accept)
    assert response.status_code == 200
    assert "Accept" in response.headers["Vary"]
    assert response.mimetype in (AS_JSON, "application/ld+json")
    doc = json.loads(response.data)
    assert doc["id"] == f"{BASE}/actor"
    assert doc["type"] == "Application"
    assert doc["preferredUsername"] == "tontine"
    assert doc["inbox"] == f"{BASE}/actor/inbox"
    assert doc["outbox"] == f"{BASE}/actor/outbox"
    assert doc["followers"] == f"{BASE}/actor/followers"
    assert doc["following"] == f"{BASE}/actor/following"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    key = doc["publicKey"]
    assert key["id"] == f"{BASE}/actor#main-key" and key["owner"] == f"{BASE}/actor"
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048
    private = serialization.load_pem_private_key(site.config["FEDERATION_KEY"].encode(), None)
    assert public.public_numbers() == private.public_key().public_numbers()
    assert "attacker.example" not in response.get_data(as_text=True)


def test_ld_json_answer_carries_the_profile(web) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, "/actor", LD_JSON)
    assert response.headers["Content-Type"] == LD_JSON


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "text/html",
        "text/html,application/xhtml+xml,*/*;q=0.8",
        'application/ld+json; profile="https://example.org/other"',
        f"text/html, {AS_JSON};q=0.1",
    ],
)
def test_actor_as_html_for_people(web, accept: str) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, "/actor", accept)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"@tontine@dreams.example" in response.data


def test_actor_expands_with_bundled_contexts_only(web) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(_get(web, "/actor", AS_JSON).data)
    expanded = jsonld.expand(doc, {"documentLoader": document_loader})[0]
    assert expanded["@id"] == f"{BASE}/actor"
    assert expanded["@type"] == [AS + "Application"]
    assert expanded["http://www.w3.org/ns/ldp#inbox"] == [{"@id": f"{BASE}/actor/inbox"}]
    assert expanded[AS + "preferredUsername"] == [{"@value": "tontine"}]
    key = expanded["https://w3id.org/security#publicKey"][0]
    assert key["https://w3id.org/security#owner"] == [{"@id": f"{BASE}/actor"}]
    assert "BEGIN PUBLIC KEY" in key["https://w3id.org/security#publicKeyPem"][0]["@value"]


def test_unknown_contexts_are_never_fetched() -> None:
    doc = {"@context": "https://evil.example/context.jsonld", "name": "x"}
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand(doc, {"documentLoader": document_loader})


def test_ns_serves_the_tontine_context(web) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, "/ns")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    terms = json.loads(response.data)["@context"]
    assert terms["tontine"] == "https://w3id.org/tontine/ns#"
    assert terms["fundingModel"] == "tontine:fundingModel"


def test_network_page_in_french(make_app) -> None:  # type: ignore[no-untyped-def]
    """``make translations`` compiles the catalog; compile it here too when pytest runs alone."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    import tontine_federation

    folder = Path(tontine_federation.__file__).parent / "translations" / "fr" / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source, mo.open("wb") as target:
            write_mo(target, read_po(source))
    app = make_app(plugins=["gift", "federation"], BASE_URL=BASE)
    web = app.test_client()
    html = web.get("/network", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Ailleurs sur le réseau" in html


def test_host_meta_points_to_webfinger(web) -> None:  # type: ignore[no-untyped-def]
    response = _get(web, "/.well-known/host-meta")
    assert response.status_code == 200 and response.mimetype == "application/xrd+xml"
    body = response.get_data(as_text=True)
    assert f'template="{BASE}/.well-known/webfinger?resource={{uri}}"' in body
    assert "attacker.example" not in body


def test_actor_page_counts_peers(web) -> None:  # type: ignore[no-untyped-def]
    from tontine.db import unit_of_work
    from tontine_federation.models import FollowState, Peer

    with unit_of_work() as session:
        session.add(
            Peer(
                actor_id="https://a.example/actor",
                domain="a.example",
                inbox="https://a.example/i",
                followed=FollowState.ACCEPTED,
            )
        )
    html = _get(web, "/actor", "text/html").get_data(as_text=True)
    assert "This site follows 0 other sites." in html
    assert "1 site or account follows it." in html
