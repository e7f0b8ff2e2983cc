"""Discovery and the instance actor: WebFinger, NodeInfo 2.1, ``/actor`` and ``/ns``.

Views are thin; every id comes from ``urls`` (BASE_URL), never from the Host header.
"""

from __future__ import annotations

import json
from html import escape
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select

from tontine.db import db
from tontine.errors import problem
from tontine.extensions import registry
from tontine_federation import actor, urls
from tontine_federation.contexts import TONTINE_CONTEXT_URL, bundled
from tontine_federation.negotiation import activity_response, prefers_html, wants_activity_json

bp = Blueprint("federation", __name__)

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def _json(document: Any, media_type: str, status: int = 200) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), status=status)
    response.headers["Content-Type"] = media_type
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _problem(status: int, title: str) -> Response:
    response = problem(status, title)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/webfinger")
def webfinger() -> Response:
    """The instance actor (``acct:<username>@host``, the origin, ``/actor``) or an owner."""
    resource = request.args.get("resource", "").strip()
    if not resource or len(resource) > 500:
        return _problem(400, _("The resource parameter is required."))
    if not resource.lower().startswith(("acct:", "http://", "https://")):
        return _problem(400, _("The resource must be an acct: URI or a URL."))
    if _is_us(resource):
        return _json(
            _jrd(f"acct:{urls.handle()}", urls.actor_id(), urls.base() + "/", [urls.base() + "/"]),
            "application/jrd+json",
        )
    owner = _owner(resource)
    if owner is None:
        return _problem(404, _("No such account here."))
    person_url = urls.person(owner.id)
    return _json(
        _jrd(f"acct:{owner.handle}@{urls.host()}", person_url, person_url, []),
        "application/jrd+json",
    )


def _jrd(subject: str, actor_url: str, page_url: str, aliases: list[str]) -> dict[str, Any]:
    return {
        "subject": subject,
        "aliases": [actor_url, *aliases],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor_url},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page_url},
        ],
    }


def _acct(resource: str) -> tuple[str, str] | None:
    """``acct:name@host`` → (name, host) when the host is ours (with or without the port)."""
    name, sep, host = resource[5:].lstrip("@").rpartition("@")
    if not sep or host.lower() not in {urls.host().lower(), urls.domain().lower()}:
        return None
    return name, host


def _is_us(resource: str) -> bool:
    """``acct:name@host`` (host with or without our port), our origin, or our actor id."""
    if resource.lower().startswith("acct:"):
        account = _acct(resource)
        return account is not None and account[0].lower() == urls.username().lower()
    return resource.rstrip("/") in {urls.base(), urls.actor_id()}


def _owner(resource: str) -> Any:
    """The published project owner named by ``acct:<handle>@host`` or by its ``Person`` URL."""
    from tontine_federation import people

    if resource.lower().startswith("acct:"):
        account = _acct(resource)
        return people.by_handle(account[0]) if account else None
    return people.by_url(resource)


@bp.get("/.well-known/host-meta")
def host_meta() -> Response:
    """XRD pointing to WebFinger (some servers look here first)."""
    template = f"{urls.base()}/.well-known/webfinger?resource={{uri}}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/xrd+xml" template="{escape(template)}"/>\n'
        "</XRD>\n"
    )
    response = Response(body, content_type="application/xrd+xml; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/nodeinfo")
def nodeinfo_links() -> Response:
    return _json(
        {"links": [{"rel": NODEINFO_SCHEMA, "href": urls.base() + "/nodeinfo/2.1"}]},
        "application/json",
    )


@bp.get("/nodeinfo/2.1")
def nodeinfo() -> Response:
    from tontine.accounts.models import User
    from tontine.projects.models import Project
    from tontine.projects.states import PRIVATE_STATES

    users = db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(True)))
    listings = db.session.scalar(
        select(func.count()).select_from(Project).where(Project.state.not_in(PRIVATE_STATES))
    )
    try:
        software_version = version("tontine")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        software_version = "0"
    document = {
        "version": "2.1",
        "software": {"name": "tontine", "version": software_version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": True,
        "usage": {"users": {"total": users or 0}, "localPosts": listings or 0},
        "metadata": {
            "nodeName": current_app.config["NAME"],
            "fundingModels": sorted(registry().funding_models),
        },
    }
    return _json(document, f'application/json; profile="{NODEINFO_SCHEMA}#"')


@bp.get("/actor")
def instance_actor():  # type: ignore[no-untyped-def]
    if wants_activity_json():
        return activity_response(actor.to_ap())
    from tontine_federation.models import FollowState, Peer

    def count(column: Any) -> int:
        query = select(func.count()).select_from(Peer).where(column == FollowState.ACCEPTED)
        return db.session.scalar(query) or 0

    response = Response(
        render_template(
            "federation/actor.html",
            actor=actor.to_ap(),
            handle=urls.handle(),
            following=count(Peer.following),
            followers=count(Peer.followed),
        )
    )
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/people/<int:user_id>")
def person(user_id: int):  # type: ignore[no-untyped-def]
    """A project owner: AS2 ``Person`` when asked, HTML (their public projects) otherwise."""
    from tontine.projects.browse import cards_for
    from tontine_federation import people

    owner = people.owner(user_id)
    gone = owner is not None and people.is_gone(owner)
    if owner is None or not (gone or people.is_published(owner)):
        if wants_activity_json():
            return _problem(404, _("This page does not exist."))
        abort(404)
    if wants_activity_json():
        if gone:
            return activity_response(people.tombstone(owner), status=410)
        return activity_response(people.to_ap(owner))
    if gone:
        abort(410, description=_("This account was erased."))
    response = Response(
        render_template(
            "federation/person.html",
            owner=owner,
            handle=f"{owner.handle}@{urls.host()}",
            cards=cards_for(people.public_projects(owner, limit=100)),
        )
    )
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = (
        f'<{urls.person(owner.id)}>; rel="alternate"; type="application/activity+json"'
    )
    return response


@bp.get("/ns")
def namespace() -> Response:
    """The Tontine JSON-LD context (the same terms every published document carries inline)."""
    response = _json(bundled(TONTINE_CONTEXT_URL), "application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.before_app_request
def listing_as_activity_json():  # type: ignore[no-untyped-def]
    """``/projects/<id>`` answers AS2 when asked for it (the projects views stay HTML-only)."""
    if request.endpoint != "projects.detail" or request.method not in ("GET", "HEAD"):
        return None
    if not wants_activity_json():
        return None
    from tontine.projects.models import Project
    from tontine.projects.states import is_public
    from tontine_federation.listings import GONE, to_ap

    project_id = (request.view_args or {}).get("project_id")
    project = db.session.get(Project, project_id) if 0 < project_id < 2**31 else None
    if project is None or not (is_public(project.state) or project.state in GONE):
        return _problem(404, _("This page does not exist."))
    return activity_response(to_ap(project), status=410 if project.state in GONE else 200)


@bp.after_app_request
def advertise_listing(response: Response) -> Response:
    """Point fediverse software from a project page to its AS2 listing."""
    if request.endpoint == "projects.detail" and response.mimetype == "text/html":
        project_id = (request.view_args or {}).get("project_id")
        response.headers.add(
            "Link",
            f'<{urls.listing(project_id)}>; rel="alternate"; type="application/activity+json"',
        )
        response.vary.add("Accept")
    return response


# --- collections: OrderedCollections paged by an id cursor (cost independent of size) ----------

PAGE_SIZE = 20


def _collection(collection_id: str, total: int) -> Response:
    from tontine_federation.contexts import context

    return activity_response(
        {
            "@context": context(),
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": f"{collection_id}?page=true",
        }
    )


def _page(collection_id: str, items: list[Any], last_id: int | None, full: bool) -> Response:
    from tontine_federation.contexts import context

    max_id = _cursor()
    page: dict[str, Any] = {
        "@context": context(),
        "id": f"{collection_id}?max_id={max_id}" if max_id else f"{collection_id}?page=true",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": items,
    }
    if full and last_id is not None:
        page["next"] = f"{collection_id}?max_id={last_id}"
    return activity_response(page)


def _cursor() -> int | None:
    """``?max_id=``: an id (a page of older items), or None for the newest page."""
    value = request.args.get("max_id", type=int)
    if value is None or value >= 2**31:
        return None
    return max(value, 0)


def _wants_page() -> bool:
    return "page" in request.args or "max_id" in request.args


@bp.get("/actor/outbox")
def outbox_collection() -> Response:
    if prefers_html():
        return redirect(url_for("federation.instance_actor"))
    from tontine_federation.models import OutgoingActivity
    from tontine_federation.outbox import render

    if not _wants_page():
        total = db.session.scalar(
            select(func.count())
            .select_from(OutgoingActivity)
            .where(OutgoingActivity.public.is_(True))
        )
        return _collection(urls.outbox(), total or 0)
    query = select(OutgoingActivity).where(OutgoingActivity.public.is_(True))
    max_id = _cursor()
    if max_id is not None:
        query = query.where(OutgoingActivity.id < max_id)
    rows = db.session.scalars(query.order_by(OutgoingActivity.id.desc()).limit(PAGE_SIZE)).all()
    items = []
    for row in rows:
        document = render(row)
        if document is not None:
            document.pop("@context", None)
            items.append(document)
    return _page(urls.outbox(), items, rows[-1].id if rows else None, len(rows) == PAGE_SIZE)


def _peer_collection(collection_id: str, column: str) -> Response:
    from tontine_federation.models import FollowState, Peer

    accepted = getattr(Peer, column) == FollowState.ACCEPTED
    if not _wants_page():
        total = db.session.scalar(select(func.count()).select_from(Peer).where(accepted))
        return _collection(collection_id, total or 0)
    query = select(Peer).where(accepted)
    max_id = _cursor()
    if max_id is not None:
        query = query.where(Peer.id < max_id)
    rows = db.session.scalars(query.order_by(Peer.id.desc()).limit(PAGE_SIZE)).all()
    return _page(
        collection_id,
        [p.actor_id for p in rows],
        rows[-1].id if rows else None,
        len(rows) == PAGE_SIZE,
    )


@bp.get("/actor/followers")
def followers_collection() -> Response:
    if prefers_html():
        return redirect(url_for("federation.instance_actor"))
    return _peer_collection(urls.followers(), "followed")


@bp.get("/actor/following")
def following_collection() -> Response:
    if prefers_html():
        return redirect(url_for("federation.instance_actor"))
    return _peer_collection(urls.following(), "following")


# --- across the network ------------------------------------------------------------------------


@bp.get("/network")
def network():  # type: ignore[no-untyped-def]
    """Other instances' listings, linking back to their origin for contributions."""
    from tontine.money import Money
    from tontine_federation.peers import visible_listings
    from tontine_federation.remote import origin

    before = request.args.get("before", type=int)
    if before is not None and not 0 < before < 2**31:
        before = None
    listings = visible_listings(limit=PAGE_SIZE, before=before)
    cards = [
        {
            "listing": listing,
            "raised": Money(listing.raised_amount, listing.currency),
            "goal": Money(listing.goal_amount, listing.currency),
            "percent": int(listing.raised_amount * 100 // listing.goal_amount),
            "host": urlsplit(listing.url).netloc,
        }
        for listing in listings
    ]
    image_origins = sorted(
        {origin_to_source(origin(c["listing"].image_url)) for c in cards if c["listing"].image_url}
        - {""}
    )
    more = listings[-1].id if len(listings) == PAGE_SIZE else None
    response = Response(render_template("federation/network.html", cards=cards, more=more))
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: " + " ".join(image_origins) + "; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    return response


def origin_to_source(value: str | None) -> str:
    """``scheme://host:port`` as a CSP source (default ports dropped)."""
    if not value:
        return ""
    for default in (":443", ":80"):
        if value.endswith(default) and value.startswith("https" if default == ":443" else "http:"):
            return value[: -len(default)]
    return value
