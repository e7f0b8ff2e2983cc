"""Browse and search public listings, one page at a time, at constant cost.

Pages are cut with a keyset cursor (the last id seen, newest first) instead of OFFSET, so
page 500 costs what page 1 costs; the cursor is opaque to clients so it can change later.
Money raised for a whole page comes from one grouped query (``raised_by_project``).
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from tontine.db import db, utcnow
from tontine.errors import DomainError
from tontine.money import Money
from tontine.projects import states
from tontine.projects.models import Project
from tontine.projects.services import raised_by_project, state_table

PAGE_SIZE = 20
FILTERS = ("q", "category", "place", "country", "state", "funding_model")
CURSOR_PREFIX = "p1:"


class BadQuery(DomainError):
    """A filter or cursor the listing cannot use."""

    status = 422


def encode_cursor(last_id: int) -> str:
    raw = f"{CURSOR_PREFIX}{last_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The last id of the previous page; a cursor we did not make is a bad query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadQuery(_("This page link is not valid."), field="cursor") from None
    if not raw.startswith(CURSOR_PREFIX) or not raw[len(CURSOR_PREFIX) :].isdigit():
        raise BadQuery(_("This page link is not valid."), field="cursor")
    value = int(raw[len(CURSOR_PREFIX) :])
    if value <= 0 or value > 2**62:
        raise BadQuery(_("This page link is not valid."), field="cursor")
    return value


@dataclass
class Card:
    """A listing with its progress, as shown on a card, the page and in the API."""

    project: Project
    raised: Money
    backer_count: int

    @property
    def percent(self) -> int:
        """Share of the goal raised, in whole percent (may exceed 100)."""
        goal = self.project.goal_amount
        return int(self.raised.amount * 100 // goal) if goal > 0 else 0

    @property
    def bar_value(self) -> int:
        """What the progress bar shows (never past full)."""
        return min(self.percent, 100)

    @property
    def days_left(self) -> int | None:
        return days_left(self.project)


def days_left(project: Project, now: datetime | None = None) -> int | None:
    """Whole days until the deadline (rounded up); None when the project is not open."""
    if project.state != states.OPEN or project.deadline is None:
        return None
    seconds = (project.deadline - (now or utcnow())).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def cards_for(projects: Iterable[Project]) -> list[Card]:
    """Cards for a list of projects, with the money raised for all of them in one query."""
    projects = list(projects)
    totals = raised_by_project([p.id for p in projects])
    return [
        Card(project=p, raised=Money(totals[p.id][0], p.currency), backer_count=totals[p.id][1])
        for p in projects
    ]


@dataclass
class Page:
    cards: list[Card]
    next_cursor: str | None


def _clean(filters: Mapping[str, Any]) -> dict[str, str]:
    clean = {}
    for name in FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        value = str(value).strip()
        if value:
            clean[name] = value
    return clean


def query(filters: Mapping[str, Any]) -> Select[tuple[Project]]:
    """Public listings matching ``filters`` (see ``FILTERS``), newest first."""
    clean = _clean(filters)
    stmt = select(Project)
    state = clean.get("state")
    if state is not None:
        if not states.is_public(state) or state not in state_table().states:
            raise BadQuery(_("Unknown project status."), field="state")
        stmt = stmt.where(Project.state == state)
    else:
        stmt = stmt.where(Project.state.not_in(sorted(states.PRIVATE_STATES)))
    if "q" in clean:
        needle = clean["q"].lower()
        stmt = stmt.where(
            or_(
                func.lower(Project.title).contains(needle, autoescape=True),
                func.lower(Project.summary).contains(needle, autoescape=True),
                func.lower(Project.place).contains(needle, autoescape=True),
            )
        )
    if "category" in clean:
        stmt = stmt.where(Project.category == clean["category"])
    if "place" in clean:
        # SQLite's lower() only folds ASCII: the exact spelling always matches too.
        place = clean["place"]
        stmt = stmt.where(or_(func.lower(Project.place) == place.lower(), Project.place == place))
    if "country" in clean:
        stmt = stmt.where(Project.country == clean["country"].upper())
    if "funding_model" in clean:
        stmt = stmt.where(Project.funding_model == clean["funding_model"])
    return stmt.order_by(Project.id.desc())


def page(filters: Mapping[str, Any], cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """One page of listings after ``cursor``; ``next_cursor`` is None on the last page."""
    stmt = query(filters)
    if cursor:
        stmt = stmt.where(Project.id < decode_cursor(cursor))
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        cards=cards_for(rows),
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


class FragmentCache:
    """Rendered listing fragments kept for a few seconds, per process.

    The list page is a site's busiest page and rendering its twenty cards costs more than
    everything else on it, so the cards are rendered once per ``ttl`` seconds for each
    language, filter set and cursor. A fragment holds nothing personal (no user, no CSRF
    token); progress shown may be ``ttl`` seconds old. ``ttl`` 0 turns the cache off.
    """

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, ttl: float, render: Callable[[], str]) -> str:
        if ttl <= 0:
            return render()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
        html = render()  # outside the lock; a concurrent miss renders twice, harmlessly
        with self._lock:
            self._entries[key] = (now + ttl, html)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return html
