"""Project services: create and edit listings, move them through their lifecycle, close them.

Every function here is a unit of work; hooks fire inside it (``project_state_changed``,
``project_saved``) so that plugins write their rows (e.g. federation activities) in the
same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select

from tontine.accounts.models import Role, User
from tontine.accounts.services import ensure_handle
from tontine.db import db, lock_row, unit_of_work, utcnow
from tontine.errors import DomainError, Forbidden, NotFound, first_error
from tontine.extensions import hook, registry
from tontine.funding import CloseOutcome, FundingModel
from tontine.money import Money, MoneyError
from tontine.payments.models import Contribution
from tontine.payments.states import HOLDS_FUNDS, RESERVES
from tontine.projects import states
from tontine.projects.models import Comment, Person, Project, ProjectTransition, ProjectUpdate
from tontine.projects.schemas import ProjectInputSchema

EDITABLE_STATES = {states.DRAFT, states.REJECTED}


def state_table() -> states.StateTable:
    """The core table extended by every enabled funding model's extra states."""
    table = states.CORE_TABLE
    for model in registry().funding_models.values():
        if model.extra_transitions:
            table = table.extended(model.extra_transitions)
    return table


def funding_model(project_or_key: Project | str) -> FundingModel:
    key = project_or_key if isinstance(project_or_key, str) else project_or_key.funding_model
    model = registry().funding_models.get(key)
    if model is None:
        raise DomainError(f"unknown funding model {key!r}", field="funding_model")
    return model


def get_project(project_id: int) -> Project:
    try:
        ident = int(project_id)
    except (TypeError, ValueError):
        raise NotFound("No such project.") from None
    if not 0 < ident < 2**31:  # beyond any id: the database would refuse the number
        raise NotFound("No such project.")
    project = db.session.get(Project, ident)
    if project is None:
        raise NotFound("No such project.")
    return project


def can_edit(user: User | None, project: Project) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if project.owner_id == user.id or user.is_admin:
        return True
    return project.organization_id is not None and user.has_role(
        Role.PARTNER_STAFF, project.organization_id
    )


def can_view(user: User | None, project: Project) -> bool:
    return states.is_public(project.state) or can_edit(user, project) or bool(
        user is not None and user.is_authenticated and user.is_moderator
    )


def _validated(data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    try:
        clean = ProjectInputSchema().load(data, partial=partial)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise DomainError(f"{field}: {message}", field=field) from exc
    if "terms" in clean:  # a partial update without terms keeps the saved ones
        model = funding_model(clean.get("funding_model", data.get("funding_model", "")))
        try:
            clean["terms"] = model.terms_schema().load(clean.get("terms") or {})
        except ValidationError as exc:
            field, message = first_error(exc)
            raise DomainError(f"{field}: {message}", field=f"terms.{field}") from exc
    return clean


def _apply(project: Project, clean: dict[str, Any]) -> None:
    for field in ("title", "summary", "story", "place", "country", "category", "funding_model", "terms"):
        if field in clean:
            setattr(project, field, clean[field])
    if "goal" in clean:
        try:
            project.goal_amount = Money.from_decimal(clean["goal"], project.currency).amount
        except MoneyError as exc:
            raise DomainError(f"goal: {exc}", field="goal") from exc
    if "duration_days" in clean:
        project.terms = {**(project.terms or {}), "duration_days": clean["duration_days"]}
    if "photo" in clean:
        project.photo = clean["photo"]
        project.person.photo = clean["photo"]


def create_project(owner: User, data: dict[str, Any]) -> Project:
    """Create a draft; the owner is the person shown unless ``person_name`` is given."""
    clean = _validated(data)
    currency = clean.get("currency") or current_app.config["CURRENCY"]
    with unit_of_work() as session:
        ensure_handle(owner)  # owners are public (federation resolves them by handle)
        person = Person(
            user_id=None if clean.get("person_name") else owner.id,
            name=clean.get("person_name") or owner.display_name,
            town=clean.get("place", ""),
            country=clean.get("country", ""),
            consent_publish=True,
            consent_federate=bool(clean.get("consent_federate", True)),
            consent_recorded_at=utcnow(),
            consent_recorded_by=owner.id,
        )
        project = Project(
            owner_id=owner.id,
            person=person,
            currency=currency,
            goal_amount=1,
            funding_model=clean["funding_model"],
            terms={},
            state=states.DRAFT,
        )
        _apply(project, clean)
        session.add(project)
        session.flush()
        hook().project_saved(project=project)
    return project


def update_project(project: Project, actor: User, data: dict[str, Any]) -> Project:
    if not can_edit(actor, project):
        raise Forbidden("You cannot edit this project.")
    clean = _validated({"funding_model": project.funding_model, **data}, partial=True)
    with unit_of_work():
        locked = lock_row(Project, project.id)
        assert locked is not None
        if locked.state not in EDITABLE_STATES:
            allowed = {"story", "summary", "photo"}
            if set(data) - allowed:
                raise DomainError("Only the story, summary and photo can change once published.")
        _apply(locked, clean)
        if locked.state == states.REJECTED:
            transition(locked, states.DRAFT, actor, "edited after rejection")
        hook().project_saved(project=locked)
    return locked


def transition(project: Project, target: str, actor: User | None = None, reason: str = "") -> None:
    """Move ``project`` to ``target`` along the state table (inside a unit of work)."""
    source = project.state
    state_table().check(source, target)
    project.state = target
    project.state_reason = reason[:500]
    now = utcnow()
    if target == states.OPEN:
        project.opened_at = now
        days = int((project.terms or {}).get("duration_days", 30))
        if project.deadline is None or project.deadline <= now:
            project.deadline = now + timedelta(days=days)
    if target in {states.FUNDED, states.FAILED, states.WITHDRAWN}:
        project.closed_at = now
    db.session.add(
        ProjectTransition(
            project_id=project.id,
            from_state=source,
            to_state=target,
            actor_id=actor.id if actor else None,
            reason=reason[:500],
        )
    )
    db.session.flush()
    hook().project_state_changed(project=project, old_state=source, new_state=target)


def _move(project: Project, target: str, actor: User | None, reason: str = "") -> Project:
    with unit_of_work():
        locked = lock_row(Project, project.id)
        if locked is None:
            raise NotFound("No such project.")
        transition(locked, target, actor, reason)
    return locked


def submit(project: Project, actor: User) -> Project:
    if not can_edit(actor, project):
        raise Forbidden("You cannot submit this project.")
    if not project.story.strip() or not project.title.strip():
        raise DomainError("A project needs a title and a story before review.")
    return _move(project, states.IN_REVIEW, actor)


def approve(project: Project, moderator: User) -> Project:
    if not moderator.is_moderator:
        raise Forbidden("Only moderators approve projects.")
    return _move(project, states.OPEN, moderator)


def reject(project: Project, moderator: User, reason: str) -> Project:
    if not moderator.is_moderator:
        raise Forbidden("Only moderators reject projects.")
    if not reason.strip():
        raise DomainError("Say why the project is rejected.", field="reason")
    return _move(project, states.REJECTED, moderator, reason.strip())


def withdraw(project: Project, actor: User, reason: str = "") -> Project:
    if not can_edit(actor, project):
        raise Forbidden("You cannot withdraw this project.")
    project = _move(project, states.WITHDRAWN, actor, reason)
    if any(True for _ in _contributions_holding_funds(project.id)):
        from tontine.payments.services import schedule_refunds

        with unit_of_work():
            schedule_refunds(project)
    return project


def walk_to(project: Project, target: str, actor: User | None = None) -> Project:
    """Move a draft along the usual path to ``target`` (demo data and tests)."""
    path = {
        states.DRAFT: [],
        states.IN_REVIEW: [states.IN_REVIEW],
        states.REJECTED: [states.IN_REVIEW, states.REJECTED],
        states.OPEN: [states.IN_REVIEW, states.OPEN],
        states.FUNDED: [states.IN_REVIEW, states.OPEN, states.FUNDED],
        states.FAILED: [states.IN_REVIEW, states.OPEN, states.FAILED],
        states.RUNNING: [states.IN_REVIEW, states.OPEN, states.FUNDED, states.RUNNING],
        states.COMPLETED: [states.IN_REVIEW, states.OPEN, states.FUNDED, states.COMPLETED],
        states.WITHDRAWN: [states.WITHDRAWN],
    }[target]
    for step in path:
        reason = "demo" if step == states.REJECTED else ""
        project = _move(project, step, actor, reason)
    return project


# --- Money raised ----------------------------------------------------------------------


def _contributions_holding_funds(project_id: int) -> list[Contribution]:
    return list(
        db.session.scalars(
            select(Contribution).where(
                Contribution.project_id == project_id, Contribution.state.in_(HOLDS_FUNDS)
            )
        )
    )


def raised_by_project(project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """``{project id: (raised minor units, number of backers)}`` for confirmed contributions."""
    if not project_ids:
        return {}
    rows = db.session.execute(
        select(
            Contribution.project_id,
            func.coalesce(func.sum(Contribution.amount - Contribution.refunded_amount), 0),
            func.count(func.distinct(Contribution.supporter_id)),
        )
        .where(Contribution.project_id.in_(project_ids), Contribution.state.in_(HOLDS_FUNDS))
        .group_by(Contribution.project_id)
    ).all()
    found = {pid: (int(total), int(count)) for pid, total, count in rows}
    return {pid: found.get(pid, (0, 0)) for pid in project_ids}


def raised(project: Project) -> Money:
    return Money(raised_by_project([project.id])[project.id][0], project.currency)


def reserved(project: Project) -> int:
    """Minor units raised or held by checkouts in progress (what a cap is checked against)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Contribution.amount - Contribution.refunded_amount), 0)).where(
            Contribution.project_id == project.id, Contribution.state.in_(RESERVES)
        )
    )
    return int(total or 0)


# --- Deadlines --------------------------------------------------------------------------


def close_project(project_id: int, now: datetime | None = None) -> str | None:
    """Close one open project whose deadline has passed; returns the new state."""
    from tontine.payments.services import schedule_refunds

    now = now or utcnow()
    with unit_of_work():
        project = lock_row(Project, project_id)
        if project is None or project.state != states.OPEN:
            return None
        if project.deadline is None or project.deadline > now:
            return None
        model = funding_model(project)
        outcome = model.close(project, raised(project))
        if outcome == CloseOutcome.FAILED:
            transition(project, states.FAILED, None, "goal not reached by the deadline")
            schedule_refunds(project)
        else:
            transition(project, states.FUNDED, None, "deadline reached")
            model.after_funding(project)
        return project.state


def close_due_projects(payload: dict[str, Any] | None = None) -> int:
    """Job: close every open project past its deadline (idempotent)."""
    now = utcnow()
    due = db.session.scalars(
        select(Project.id).where(Project.state == states.OPEN, Project.deadline <= now)
    ).all()
    db.session.rollback()
    return sum(1 for project_id in due if close_project(project_id, now))


# --- Journal and comments ---------------------------------------------------------------


def post_update(project: Project, actor: User, title: str, body: str) -> ProjectUpdate:
    if not can_edit(actor, project):
        raise Forbidden("Only the project's owner can post updates.")
    if not title.strip() or not body.strip():
        raise DomainError("An update needs a title and some text.")
    with unit_of_work() as session:
        update = ProjectUpdate(
            project_id=project.id, author_id=actor.id, title=title.strip()[:120], body=body.strip()[:20000]
        )
        session.add(update)
    return update


def add_comment(project: Project, author: User, body: str) -> Comment:
    if not states.is_public(project.state):
        raise DomainError("Comments open when the project is published.")
    body = body.strip()
    if not body:
        raise DomainError("A comment cannot be empty.", field="body")
    if len(body) > 2000:
        raise DomainError("A comment has at most 2000 characters.", field="body")
    with unit_of_work() as session:
        comment = Comment(project_id=project.id, author_id=author.id, body=body)
        session.add(comment)
    return comment


def hide_comment(comment_id: int, moderator: User) -> Comment:
    """Take a comment off the page (kept in the database: moderation is reversible)."""
    if not moderator.is_moderator:
        raise Forbidden("Only moderators hide comments.")
    with unit_of_work():
        comment = lock_row(Comment, comment_id)
        if comment is None:
            raise NotFound("No such comment.")
        comment.hidden = True
    return comment


def set_featured(project: Project, moderator: User, featured: bool) -> Project:
    """Put a published project on the home page first (or take it off)."""
    if not moderator.is_moderator:
        raise Forbidden("Only moderators choose the featured projects.")
    if featured and not states.is_public(project.state):
        raise DomainError("Only a published project can be featured.")
    with unit_of_work():
        locked = lock_row(Project, project.id)
        if locked is None:
            raise NotFound("No such project.")
        locked.featured = featured
    return locked
