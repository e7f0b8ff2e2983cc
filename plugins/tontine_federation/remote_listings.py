"""Remote listings: an AS2 ``Page`` from another instance, validated into our own record.

Remote content is data (FEDERATION.md rule 7): text is stripped and capped, HTML goes
through the allow-list, every URL must be http(s) on the listing's own origin, money is a
decimal string in a known currency, counts are bounded integers. Anything else is a 400
and nothing is stored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tontine.db import db, utcnow
from tontine.money import Money, MoneyError, check_currency
from tontine_federation.models import RemoteListing, RemoteTombstone
from tontine_federation.remote import RemoteRefused, id_of, origin
from tontine_federation.sanitize import clean_html, clean_text

KEY = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
DECIMAL = re.compile(r"^\d{1,13}(\.\d{1,4})?$")  # fits a bigint in any currency
MAX_TERMS = 4000


def _refuse(message: str) -> RemoteRefused:
    return RemoteRefused(f"invalid listing: {message}")


def parse_time(value: Any, field: str, required: bool = False) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise _refuse(f"{field} is not a date")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise _refuse(f"{field} is not a date") from exc
    return moment


def money(value: Any, field: str) -> Money:
    if not isinstance(value, dict):
        raise _refuse(f"{field} is not a MonetaryAmount")
    amount, currency = value.get("value"), value.get("currency")
    if not isinstance(amount, str) or not DECIMAL.match(amount):
        raise _refuse(f"{field} must be a decimal string")
    if not isinstance(currency, str):
        raise _refuse(f"{field} has no currency")
    try:
        check_currency(currency)
        return Money.from_decimal(Decimal(amount), currency)
    except (MoneyError, InvalidOperation, ValueError) as exc:
        raise _refuse(f"{field}: {exc}") from exc


def _url(value: Any, listing_origin: str, field: str, required: bool = False) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("href") or value.get("url")
        if isinstance(value, list | dict):
            return _url(value, listing_origin, field, required)
    if value is None and not required:
        return None
    if origin(value) != listing_origin:
        raise _refuse(f"{field} must be an http(s) URL on the listing's origin")
    return str(value)


def _count(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise _refuse(f"{field} must be a whole number")
    return value


def by_ap(page: dict[str, Any], listing_origin: str) -> dict[str, Any]:
    """Validated fields for a ``RemoteListing`` from a ``Page``; raises RemoteRefused (400)."""
    if page.get("type") != "Page":
        raise _refuse("only Page objects are listings")
    ap_id = page.get("id")
    if origin(ap_id) != listing_origin:
        raise RemoteRefused("the listing is not on the sender's origin", status=403)
    attributed = page.get("attributedTo")
    for ref in attributed if isinstance(attributed, list) else [attributed]:
        if ref is not None and origin(id_of(ref)) != listing_origin:
            raise RemoteRefused("attributedTo is on another origin", status=403)
    name = page.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _refuse("a listing needs a name")
    funding_model, status = page.get("fundingModel"), page.get("status")
    if not isinstance(funding_model, str) or not KEY.match(funding_model):
        raise _refuse("fundingModel is not a model key")
    if not isinstance(status, str) or not KEY.match(status):
        raise _refuse("status is not a state name")
    goal = money(page.get("goal"), "goal")
    raised = money(page.get("raised") or {"value": "0", "currency": goal.currency}, "raised")
    if goal.amount <= 0:
        raise _refuse("goal must be more than zero")
    if raised.currency != goal.currency:
        raise _refuse("goal and raised use different currencies")
    location = page.get("location") if isinstance(page.get("location"), dict) else {}
    country = location.get("addressCountry")
    terms = page.get("terms") if isinstance(page.get("terms"), dict) else {}
    if terms and len(json.dumps(terms)) > MAX_TERMS:
        terms = {}
    summary, content = page.get("summary"), page.get("content")
    published = parse_time(page.get("published"), "published")
    updated = parse_time(page.get("updated"), "updated") or published
    if updated is None:
        raise _refuse("a listing needs updated or published")
    return {
        "ap_id": ap_id,
        "origin": listing_origin,
        "name": clean_text(name, 200),
        "summary": clean_text(summary, 500) if isinstance(summary, str) else "",
        "content": clean_html(content) if isinstance(content, str) else "",
        "url": _url(page.get("url"), listing_origin, "url") or ap_id,
        "image_url": _url(page.get("image"), listing_origin, "image"),
        "contribute_url": _url(page.get("contribute"), listing_origin, "contribute"),
        "place": clean_text(location.get("name", ""), 120)
        if isinstance(location.get("name"), str)
        else "",
        "country": country.upper()
        if isinstance(country, str) and re.match(r"^[A-Za-z]{2}$", country)
        else "",
        "funding_model": funding_model,
        "status": status,
        "currency": goal.currency,
        "goal_amount": goal.amount,
        "raised_amount": raised.amount,
        "backer_count": _count(page.get("backerCount"), "backerCount"),
        "end_time": parse_time(page.get("endTime"), "endTime"),
        "terms": terms,
        "published": published,
        "updated": updated,
    }


_UPSERTS: dict[str, Any] = {}
_FIELDS = (
    "ap_id", "origin", "name", "summary", "content", "url", "image_url", "contribute_url",
    "place", "country", "funding_model", "status", "currency", "goal_amount", "raised_amount",
    "backer_count", "end_time", "terms", "published", "updated",
)  # fmt: skip


def _upsert(dialect: str) -> Any:
    """The listing upsert, built once per dialect (building it costs more than running it)."""
    if dialect not in _UPSERTS:
        table = RemoteListing.__table__
        columns = (*_FIELDS, "peer_id", "deleted", "received_at")
        tombstoned = exists().where(RemoteTombstone.ap_id == bindparam("ap_id"))
        rows = select(
            *(bindparam(name, type_=table.c[name].type).label(name) for name in columns)
        ).where(~tombstoned)
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(table).from_select(list(columns), rows)
        _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[table.c.ap_id],
            set_={name: statement.excluded[name] for name in _FIELDS if name != "ap_id"},
            where=(table.c.updated <= statement.excluded.updated) & table.c.deleted.is_(False),
        )
    return _UPSERTS[dialect]


def apply(fields: dict[str, Any], peer_id: int | None) -> None:
    """Store a listing unless what we have is newer, deleted, or its Delete came first."""
    apply_all([(fields, peer_id)])


def apply_all(listings: list[tuple[dict[str, Any], int | None]]) -> None:
    """Store listings in order, each unless what we have is newer, deleted, or tombstoned.

    One statement (an upsert) per listing, sent together (one round trip for a batch on
    PostgreSQL): inserted when new and not tombstoned; else updated only when not deleted and
    not older than what is stored (an older ``Update`` arriving late is ignored, rule 6).
    """
    if not listings:
        return
    now = utcnow()
    rows = []
    for fields, peer_id in listings:
        assert set(fields) == set(_FIELDS)
        rows.append({**fields, "peer_id": peer_id, "deleted": False, "received_at": now})
    session = db.session
    session.flush()  # a Delete just applied through the ORM goes first
    session.execute(_upsert(session.get_bind().dialect.name), rows if len(rows) > 1 else rows[0])


_TIMES = ("end_time", "published", "updated")


def dump(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated fields as JSON, to be kept until the worker applies them."""
    return {
        name: value.isoformat() if name in _TIMES and value is not None else value
        for name, value in fields.items()
    }


def load(kept: dict[str, Any]) -> dict[str, Any]:
    """The fields ``dump`` kept (already validated: only the times need reading back)."""
    return {
        name: datetime.fromisoformat(value) if name in _TIMES and value is not None else value
        for name, value in kept.items()
    }


def delete(ap_id: str, sender_origin: str) -> bool:
    """Mark a listing deleted (only by its own origin); remember ids not seen yet."""
    listing = db.session.scalars(select(RemoteListing).where(RemoteListing.ap_id == ap_id)).first()
    if listing is None:
        if (
            origin(ap_id) == sender_origin
            and db.session.scalars(
                select(RemoteTombstone.id).where(RemoteTombstone.ap_id == ap_id)
            ).first()
            is None
        ):
            db.session.add(RemoteTombstone(ap_id=ap_id))
        return False
    if listing.origin != sender_origin:
        return False
    listing.deleted = True
    return True
