"""Local projects as AS2 ``Page`` listings (``to_ap``), per FEDERATION.md "Listing object".

A listing's id is its project URL. Money is a schema.org ``MonetaryAmount`` with a decimal
string; the funding model adds its own terms through ``FundingModel.listing_terms``. The
beneficiary's name and photo go out only with their recorded consent to federate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from tontine.extensions import registry
from tontine.money import Money
from tontine.projects import states
from tontine.projects.models import Project
from tontine_federation import urls
from tontine_federation.contexts import PUBLIC, context
from tontine_federation.people import attributed_to
from tontine_federation.sanitize import plain_to_html

#: Withdrawn listings answer 410 with a Tombstone; public ones (``states.is_public``) are served.
GONE = frozenset({states.WITHDRAWN})


def iso(moment: datetime | None) -> str | None:
    """Naive UTC datetimes as ``2026-01-02T03:04:05.123456Z`` (precise: it orders versions)."""
    return moment.isoformat(timespec="microseconds") + "Z" if moment else None


def monetary(money: Money) -> dict[str, str]:
    return {"type": "MonetaryAmount", "value": money.decimal_string(), "currency": money.currency}


def progress(project: Project) -> tuple[Money, int]:
    from tontine.projects.browse import cards_for

    card = cards_for([project])[0]
    return card.raised, card.backer_count


def last_changed(project: Project) -> datetime:
    """The listing's ``updated``: the project row's change, or a later recorded one."""
    from tontine.db import db
    from tontine_federation.models import ListingVersion

    version = db.session.get(ListingVersion, project.id)
    if version is not None and version.changed_at > project.updated_at:
        return version.changed_at
    return project.updated_at


def summary_line(project: Project, raised: Money) -> str:
    """One line, what Mastodon shows: who, where, how far along."""
    parts = []
    if project.person is not None and project.person.consent_federate and project.person.name:
        parts.append(project.person.name)
    if project.place:
        parts.append(project.place)
    parts.append(_("%(raised)s raised of %(goal)s", raised=str(raised), goal=str(project.goal)))
    line = " · ".join(parts)
    if project.summary:
        line = f"{project.summary} — {line}"
    return line[:500]


def image_for(project: Project) -> dict[str, str] | None:
    key = project.photo
    if not key and project.person is not None and project.person.consent_federate:
        key = project.person.photo
    if not key:
        return None
    return {"type": "Image", "url": urls.media(key), "name": project.title}


def to_ap(
    project: Project,
    *,
    raised: Money | None = None,
    backer_count: int | None = None,
    with_context: bool = True,
) -> dict[str, Any]:
    """The AS2 document for a project: a ``Page``, or a ``Tombstone`` once withdrawn."""
    listing_id = urls.listing(project.id)
    if project.state in GONE:
        doc: dict[str, Any] = {
            "id": listing_id,
            "type": "Tombstone",
            "formerType": "Page",
            "deleted": iso(last_changed(project)),
        }
        return {"@context": context(), **doc} if with_context else doc
    if raised is None or backer_count is None:
        raised, backer_count = progress(project)
    model = registry().funding_models.get(project.funding_model)
    doc = {
        "id": listing_id,
        "type": "Page",
        "name": project.title,
        "summary": summary_line(project, raised),
        "content": plain_to_html(project.story),
        "mediaType": "text/html",
        "url": listing_id,
        "attributedTo": attributed_to(project),
        "published": iso(project.opened_at or project.created_at),
        "updated": iso(last_changed(project)),
        "to": [PUBLIC],
        "cc": [urls.followers()],
        "fundingModel": project.funding_model,
        "status": project.state,
        "goal": monetary(project.goal),
        "raised": monetary(raised),
        "backerCount": backer_count,
    }
    if project.state == states.OPEN:
        doc["contribute"] = urls.contribute(project.id)
    if project.deadline:
        doc["endTime"] = iso(project.deadline)
    if project.place or project.country:
        location: dict[str, Any] = {"type": "Place", "name": project.place or project.country}
        if project.country:
            location["addressCountry"] = project.country
        doc["location"] = location
    image = image_for(project)
    if image:
        doc["image"] = image
        doc["attachment"] = [{"type": "Image", "url": image["url"], "name": image["name"]}]
    if model is not None:
        terms = model.listing_terms(project)
        if terms:
            doc["terms"] = terms
    return {"@context": context(), **doc} if with_context else doc


def create_activity(project: Project) -> dict[str, Any]:
    """The ``Create`` that announces a listing to followers."""
    page = to_ap(project, with_context=False)
    return {
        "@context": context(),
        "id": f"{page['id']}#create",
        "type": "Create",
        "actor": urls.actor_id(),
        "published": page.get("published"),
        "to": [PUBLIC],
        "cc": [urls.followers()],
        "object": page,
    }
