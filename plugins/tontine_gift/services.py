"""Reward tiers and their claims: the owner edits tiers, supporters claim, the owner fulfils.

Writes here are units of work (``tontine.db.unit_of_work``). Claims are made by the funding
model's ``reserve`` inside the core's contribution transaction, with the project row locked,
so counting the claims then inserting one cannot oversell a tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from tontine.accounts.models import User
from tontine.db import db, lock_row, unit_of_work, utcnow
from tontine.errors import DomainError, Forbidden, NotFound, first_error
from tontine.money import Money, MoneyError
from tontine.payments.models import Contribution
from tontine.payments.states import HOLDS_FUNDS, RESERVES
from tontine.projects import states
from tontine.projects.models import Project
from tontine_gift.models import RewardClaim, RewardTier
from tontine_gift.schemas import RewardTierSchema

MAX_TIERS = 20
#: States in which the owner may still change the rewards (nobody has given yet).
EDITABLE_STATES = frozenset({states.DRAFT, states.REJECTED})
#: States in which rewards are owed to supporters.
FULFILMENT_STATES = frozenset({states.FUNDED, states.RUNNING, states.COMPLETED})


def row_id(value: Any) -> int | None:
    """An id the database can hold, or None (a huge number in a URL is "not found", not a 500)."""
    try:
        ident = int(value)
    except (TypeError, ValueError):
        return None
    return ident if 0 < ident < 2**31 else None


# --- Reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TierStock:
    """A tier as a supporter sees it: how many are claimed and left."""

    tier: RewardTier
    claimed: int
    currency: str

    @property
    def remaining(self) -> int | None:
        return None if self.tier.quantity is None else max(self.tier.quantity - self.claimed, 0)

    @property
    def sold_out(self) -> bool:
        return self.remaining == 0

    @property
    def minimum(self) -> Money:
        return Money(self.tier.min_amount, self.currency)


def tiers_of(project_id: int) -> list[RewardTier]:
    return list(
        db.session.scalars(
            select(RewardTier)
            .where(RewardTier.project_id == project_id)
            .order_by(RewardTier.position, RewardTier.min_amount, RewardTier.id)
        )
    )


def claimed_counts(tier_ids: list[int]) -> dict[int, int]:
    """Claims per tier whose contribution still reserves (a failed payment frees the reward)."""
    if not tier_ids:
        return {}
    rows = db.session.execute(
        select(RewardClaim.tier_id, func.count(RewardClaim.id))
        .join(Contribution, Contribution.id == RewardClaim.contribution_id)
        .where(RewardClaim.tier_id.in_(tier_ids), Contribution.state.in_(RESERVES))
        .group_by(RewardClaim.tier_id)
    ).all()
    found = {tier_id: int(count) for tier_id, count in rows}
    return {tier_id: found.get(tier_id, 0) for tier_id in tier_ids}


def stock(project: Project) -> list[TierStock]:
    tiers = tiers_of(project.id)
    counts = claimed_counts([t.id for t in tiers])
    return [TierStock(t, counts[t.id], project.currency) for t in tiers]


def claim_for(contribution_id: int) -> RewardClaim | None:
    return db.session.scalars(
        select(RewardClaim).where(RewardClaim.contribution_id == contribution_id)
    ).first()


# --- Claiming (inside the core's contribution unit of work) ------------------------------


def check_tier(project: Project, tier_id: int, amount: Money) -> RewardTier:
    """The tier a supporter chose, if it belongs to the project and the gift is enough."""
    from tontine.funding import ContributionRefused

    ident = row_id(tier_id)
    tier = db.session.get(RewardTier, ident) if ident else None
    if tier is None or tier.project_id != project.id:
        raise ContributionRefused(_("This reward does not exist."), field="details.reward_tier_id")
    if amount.amount < tier.min_amount:
        from tontine.i18n import format_money

        raise ContributionRefused(
            _(
                "This reward needs a gift of at least %(amount)s.",
                amount=format_money(Money(tier.min_amount, project.currency)),
            ),
            field="amount",
        )
    return tier


def claim(project: Project, contribution: Contribution, tier_id: int) -> RewardClaim:
    """Claim one of the tier's rewards for ``contribution``; refuse when sold out.

    Runs with the project row locked (PostgreSQL) or the write lock held (SQLite), so the
    count below cannot change before the insert.
    """
    from tontine.funding import ContributionRefused

    tier = check_tier(project, tier_id, contribution.money)
    if tier.quantity is not None and claimed_counts([tier.id])[tier.id] >= tier.quantity:
        raise ContributionRefused(_("This reward is sold out."), field="details.reward_tier_id")
    found = claim_for(contribution.id)
    if found is not None:
        return found
    claim_row = RewardClaim(contribution_id=contribution.id, tier_id=tier.id)
    db.session.add(claim_row)
    db.session.flush()
    return claim_row


# --- The owner's tiers -------------------------------------------------------------------


def _owned(project_id: int, actor: User) -> Project:
    from tontine.projects.services import can_edit

    ident = row_id(project_id)
    project = lock_row(Project, ident) if ident else None
    if project is None:
        raise NotFound(_("No such project."))
    if not can_edit(actor, project):
        raise Forbidden(_("Only the project's owner can change its rewards."))
    return project


def _editable(project: Project) -> None:
    if project.state not in EDITABLE_STATES:
        raise DomainError(_("Rewards can only change while the project is a draft."), status=409)


def _clean_tier(project: Project, data: dict[str, Any]) -> dict[str, Any]:
    try:
        clean = RewardTierSchema().load(data)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise DomainError(message, field=field) from exc
    try:
        clean["min_amount"] = Money.from_decimal(
            Decimal(clean["min_amount"]), project.currency
        ).amount
    except MoneyError as exc:
        raise DomainError(
            _(
                "%(currency)s amounts cannot have that many decimal places.",
                currency=project.currency,
            ),
            field="min_amount",
        ) from exc
    return clean


def add_tier(project_id: int, actor: User, data: dict[str, Any]) -> RewardTier:
    with unit_of_work() as session:
        project = _owned(project_id, actor)
        _editable(project)
        clean = _clean_tier(project, data)
        count = session.scalar(
            select(func.count(RewardTier.id)).where(RewardTier.project_id == project.id)
        )
        if count >= MAX_TIERS:
            raise DomainError(_("A project has at most %(n)d rewards.", n=MAX_TIERS))
        if clean.get("position") is None:
            last = session.scalar(
                select(func.max(RewardTier.position)).where(RewardTier.project_id == project.id)
            )
            clean["position"] = (last or 0) + 1
        tier = RewardTier(project_id=project.id, **clean)
        session.add(tier)
        session.flush()
    return tier


def tier_of(project: Project, tier_id: int) -> RewardTier:
    ident = row_id(tier_id)
    tier = db.session.get(RewardTier, ident) if ident else None
    if tier is None or tier.project_id != project.id:
        raise NotFound(_("No such reward."))
    return tier


def update_tier(project_id: int, tier_id: int, actor: User, data: dict[str, Any]) -> RewardTier:
    with unit_of_work():
        project = _owned(project_id, actor)
        _editable(project)
        tier = tier_of(project, tier_id)
        clean = _clean_tier(project, data)
        if clean.get("position") is None:
            clean["position"] = tier.position
        for key, value in clean.items():
            setattr(tier, key, value)
    return tier


def delete_tier(project_id: int, tier_id: int, actor: User) -> None:
    with unit_of_work() as session:
        project = _owned(project_id, actor)
        _editable(project)
        tier = tier_of(project, tier_id)
        claimed = session.scalar(
            select(func.count(RewardClaim.id)).where(RewardClaim.tier_id == tier.id)
        )
        if claimed:
            raise DomainError(_("Supporters chose this reward: it cannot be deleted."), status=409)
        session.delete(tier)


# --- Fulfilment --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A reward owed to a supporter who paid."""

    claim: RewardClaim
    contribution: Contribution
    supporter: User | None


def deliveries(project: Project) -> list[tuple[RewardTier, list[Delivery]]]:
    """Per tier, the paid claims the owner has to deliver (and those already sent)."""
    rows = db.session.execute(
        select(RewardClaim, Contribution, User)
        .join(Contribution, Contribution.id == RewardClaim.contribution_id)
        .outerjoin(User, User.id == Contribution.supporter_id)
        .join(RewardTier, RewardTier.id == RewardClaim.tier_id)
        .where(RewardTier.project_id == project.id, Contribution.state.in_(HOLDS_FUNDS))
        .order_by(RewardClaim.id)
    ).all()
    by_tier: dict[int, list[Delivery]] = {}
    for claim_row, contribution, user in rows:
        by_tier.setdefault(claim_row.tier_id, []).append(Delivery(claim_row, contribution, user))
    return [(tier, by_tier.get(tier.id, [])) for tier in tiers_of(project.id)]


def set_fulfilled(
    project_id: int, claim_id: int, actor: User, fulfilled: bool = True
) -> RewardClaim:
    """The owner says a reward was sent (or takes it back); only once the project is funded."""
    with unit_of_work():
        project = _owned(project_id, actor)
        ident = row_id(claim_id)
        claim_row = db.session.get(RewardClaim, ident) if ident else None
        if claim_row is None or claim_row.tier.project_id != project.id:
            raise NotFound(_("No such reward claim."))
        if project.state not in FULFILMENT_STATES:
            raise DomainError(_("Rewards are sent once the project is funded."), status=409)
        contribution = db.session.get(Contribution, claim_row.contribution_id)
        if contribution is None or contribution.state not in HOLDS_FUNDS:
            raise DomainError(_("This gift was not paid: there is no reward to send."), status=409)
        if fulfilled and claim_row.fulfilled_at is None:
            claim_row.fulfilled_at = utcnow()
            claim_row.fulfilled_by = actor.id
        elif not fulfilled:
            claim_row.fulfilled_at = None
            claim_row.fulfilled_by = None
    return claim_row


def notify_rewards_to_send(project: Project) -> None:
    """Tell the owner of a funded dream how many rewards to send, with the list's link.

    Called from the model's ``after_funding``, inside the closing unit of work: the mail is
    queued only if the project really is funded.
    """
    from flask_babel import lazy_gettext

    from tontine.mail import external_url, send_mail

    owed = sum(len(group) for _tier, group in deliveries(project))
    owner = db.session.get(User, project.owner_id) if project.owner_id else None
    if not owed or owner is None or not owner.email:
        return
    send_mail(
        owner.email,
        lazy_gettext("Your dream is funded: %(count)d rewards to send", count=owed),
        "gift_rewards_to_send",
        project=project,
        owner=owner,
        count=owed,
        url=external_url("gift.fulfilment", project_id=project.id),
        locale=owner.locale,
    )


def rewards_of(user: User) -> list[tuple[RewardClaim, Contribution, Project]]:
    """A supporter's claimed rewards, newest first, for "my gifts"."""
    rows = db.session.execute(
        select(RewardClaim, Contribution, Project)
        .join(Contribution, Contribution.id == RewardClaim.contribution_id)
        .join(Project, Project.id == Contribution.project_id)
        .where(Contribution.supporter_id == user.id, Contribution.state.in_(RESERVES))
        .order_by(RewardClaim.id.desc())
    ).all()
    return [(c, contribution, project) for c, contribution, project in rows]


def reward_status(contribution: Contribution) -> str | None:
    """What a supporter sees about the reward of one gift: None, "to be sent" or "sent"."""
    claim_row = claim_for(contribution.id)
    if claim_row is None:
        return None
    if claim_row.fulfilled_at is not None:
        return _("Reward sent: %(title)s", title=claim_row.tier.title)
    return _("Reward: %(title)s (to be sent)", title=claim_row.tier.title)
