"""Lending teams: anyone creates one, anyone joins; a loan can be lent on a team's behalf."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from tontine.accounts.models import Organization, User
from tontine.db import db, unit_of_work
from tontine.errors import Conflict, DomainError, NotFound
from tontine.money import Money
from tontine.projects.models import Project
from tontine_loan.models import LenderShare, LendingTeam, TeamMember


def get_team(team_id: int) -> LendingTeam:
    team = db.session.get(LendingTeam, team_id)
    if team is None:
        raise NotFound(_("No such team."))
    return team


def is_member(team_id: int, user_id: int | None) -> bool:
    return user_id is not None and db.session.get(TeamMember, (team_id, user_id)) is not None


def teams_of(user_id: int) -> list[LendingTeam]:
    return list(
        db.session.scalars(
            select(LendingTeam)
            .join(TeamMember, TeamMember.team_id == LendingTeam.id)
            .where(TeamMember.user_id == user_id)
            .order_by(LendingTeam.id)
        )
    )


def create_team(user: User, name: str, description: str = "") -> LendingTeam:
    """A new team with its creator as captain; names are unique among teams."""
    name = " ".join(name.split())
    if not 2 <= len(name) <= 120:
        raise DomainError(_("A team's name has 2 to 120 characters."), field="name")
    with unit_of_work() as session:
        taken = session.scalar(
            select(Organization.id).where(
                Organization.kind == "team", func.lower(Organization.name) == name.lower()
            )
        )
        if taken is not None:
            raise Conflict(_("A team is already called “%(name)s”.", name=name), field="name")
        team = LendingTeam(
            organization=Organization(kind="team", name=name),
            description=description.strip()[:5000],
            created_by=user.id,
        )
        session.add(team)
        session.flush()
        session.add(TeamMember(team_id=team.id, user_id=user.id, captain=True))
    return team


def join_team(user: User, team_id: int) -> None:
    with unit_of_work() as session:
        get_team(team_id)
        if not is_member(team_id, user.id):
            session.add(TeamMember(team_id=team_id, user_id=user.id))


def leave_team(user: User, team_id: int) -> None:
    """Leaving keeps the loans already lent for the team in its totals."""
    with unit_of_work() as session:
        member = session.get(TeamMember, (team_id, user.id))
        if member is not None:
            session.delete(member)


@dataclass(frozen=True)
class TeamPage:
    team: LendingTeam
    members: list[str]
    total_lent: list[Money]
    loans: list[Project]


def team_page(team_id: int) -> TeamPage:
    team = get_team(team_id)
    members = db.session.scalars(
        select(User.display_name)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id, User.erased_at.is_(None))
        .order_by(TeamMember.joined_at)
    ).all()
    totals = db.session.execute(
        select(Project.currency, func.sum(LenderShare.amount))
        .join(Project, Project.id == LenderShare.project_id)
        .where(LenderShare.team_id == team.organization_id)
        .group_by(Project.currency)
    ).all()
    loans = db.session.scalars(
        select(Project)
        .where(
            Project.id.in_(
                select(LenderShare.project_id).where(LenderShare.team_id == team.organization_id)
            )
        )
        .order_by(Project.id.desc())
    ).all()
    return TeamPage(team, list(members), [Money(int(t), c) for c, t in totals], list(loans))
