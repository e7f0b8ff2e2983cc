"""Load the demo dreams through the real services (idempotent).

People are found by e-mail and dreams by owner and title: a dream that exists is left as it
is, so loading twice changes nothing. Gifts are bank transfers (``manual``) that the demo
moderator marks received, so the ledger holds exactly what a real site would; dreams that
must be funded, failed or completed are closed by ``close_project`` like at a deadline.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from tontine.accounts.models import Role, User
from tontine.db import db, lock_row, unit_of_work, utcnow
from tontine.money import allocate
from tontine.payments.models import Contribution
from tontine.payments.services import contribute, mark_received, refund_contribution
from tontine.projects import services as projects
from tontine.projects import states
from tontine.projects.models import Comment, Project, ProjectUpdate
from tontine_gift import demo_content, pictures, services
from tontine_gift.demo_content import DREAMS, SUPPORTERS, Dream, Person

PROVIDER = "manual"
FEATURED = 4  # open dreams shown first on the home page


def _account(person: Person, password: str, roles: tuple[Role, ...]) -> tuple[User, bool]:
    from tontine.demo import ensure_account

    user, created_password = ensure_account(person.email, person.name, roles, password)
    return user, created_password is not None


def _existing(owner: User, title: str) -> Project | None:
    return db.session.scalars(
        select(Project).where(Project.owner_id == owner.id, Project.title == title)
    ).first()


def _photo(dream: Dream) -> tuple[str | None, str | None]:
    """Store the dream's illustration and its person's portrait; None without storage."""
    try:
        from tontine.storage import save_image
    except ImportError:  # storage not installed: the dreams simply have no pictures
        return None, None
    face = dream.person_name or dream.owner.name
    picture = save_image(pictures.illustration(face, dream.colours, seed=dream.title))
    portrait = save_image(pictures.portrait(face, dream.colours))
    return picture, portrait


def gift_amounts(dream: Dream, rng: random.Random) -> list[tuple[int, str | None]]:
    """Whole-euro gifts adding up to the dream's target, with the reward each one takes."""
    target = round(dream.goal * dream.raised_share)
    if target <= 0:
        return []
    left = {t["title"]: t.get("quantity") for t in dream.tiers}
    gifts: list[tuple[int, str | None]] = []
    for title in dream.sold_out:
        tier = next(t for t in dream.tiers if t["title"] == title)
        for _ in range(int(tier["quantity"])):
            gifts.append((int(Decimal(tier["min_amount"])), title))
        left[title] = 0
    rest = target - sum(amount for amount, _ in gifts)
    count = max(6, min(36, rest // 70))
    weights = [rng.choice((1, 1, 2, 2, 2, 3, 4, 6, 10)) for _ in range(count)]
    amounts = [a for a in allocate(rest, weights) if a > 0]
    # Round to fives like people do; the last gift absorbs the difference.
    nice = [max(5, 5 * round(a / 5)) for a in amounts[:-1]]
    nice.append(rest - sum(nice))
    while len(nice) > 1 and nice[-1] < 5:
        nice[-2] += nice.pop()
    for amount in nice:
        chosen = None
        eligible = [
            t["title"]
            for t in dream.tiers
            if Decimal(t["min_amount"]) <= amount
            and (left[t["title"]] is None or left[t["title"]] > 1)
        ]
        if eligible and rng.random() < 0.8:
            chosen = rng.choice(eligible)
            if left[chosen] is not None:
                left[chosen] -= 1
        gifts.append((amount, chosen))
    return gifts


def _give(
    project: Project,
    dream: Dream,
    supporters: list[User],
    staff: User,
    rng: random.Random,
    tier_ids: dict[str, int],
) -> int:
    base_url = current_app.config["BASE_URL"]
    count = 0
    for index, (amount, tier_title) in enumerate(gift_amounts(dream, rng)):
        supporter = supporters[rng.randrange(len(supporters))]
        _contribution, payment, _start = contribute(
            project_id=project.id,
            supporter=supporter,
            amount=str(amount),
            provider_key=PROVIDER,
            idempotency_key=f"demo-{project.id}-{index}",
            return_url=base_url,
            tip="2" if index % 4 == 1 else "0",
            details={"reward_tier_id": str(tier_ids[tier_title]) if tier_title else ""},
            anonymous=index % 7 == 5,
            refund_to="balance" if dream.balance_refunds and index % 2 else "payment_method",
        )
        mark_received(payment.id, staff, "Demo data: transfer seen on the bank statement.")
        count += 1
    return count


#: How long ago the campaign of a closed dream ended (its news comes after that).
ENDED_DAYS_AGO = {states.FUNDED: 4, states.FAILED: 2, states.COMPLETED: 25}


def _close(project: Project, dream: Dream) -> None:
    """End the campaign, as the deadline job would, then finish what follows."""
    with unit_of_work():
        locked = lock_row(Project, project.id)
        assert locked is not None
        locked.deadline = utcnow() - timedelta(days=ENDED_DAYS_AGO[dream.state])
    outcome = projects.close_project(project.id)
    if outcome == states.FAILED:
        ids = db.session.scalars(
            select(Contribution.id).where(Contribution.project_id == project.id)
        ).all()
        for contribution_id in ids:
            refund_contribution(contribution_id)
    if dream.state == states.COMPLETED and outcome == states.FUNDED:
        with unit_of_work():
            locked = lock_row(Project, project.id)
            assert locked is not None
            projects.transition(locked, states.COMPLETED, None, "rewards sent, dream came true")


def _backdate(project_id: int, dream: Dream, rng: random.Random) -> None:
    """Spread the campaign over past days, so pages read like a real site's history.

    Only dates that nothing depends on move (the ledger's own rows are never touched).
    """
    from tontine.payments.models import Payment

    now = utcnow()
    with unit_of_work() as session:
        project = lock_row(Project, project_id)
        assert project is not None
        if project.deadline is None:  # draft or in review: written a few days ago
            project.created_at = now - timedelta(days=rng.randint(2, 9))
            return
        if project.state == states.OPEN:
            opened = now - timedelta(days=rng.randint(12, 24), hours=rng.randint(0, 23))
            until = now
        else:
            until = project.deadline
            opened = until - timedelta(days=dream.days)
            project.closed_at = until
        project.opened_at = opened
        project.created_at = opened - timedelta(days=rng.randint(3, 10))
        gifts = session.scalars(
            select(Contribution)
            .where(Contribution.project_id == project.id)
            .order_by(Contribution.id)
        ).all()
        span = (until - opened).total_seconds()
        moments = sorted(rng.uniform(0.02, 0.98) * span for _ in gifts)
        for gift, seconds in zip(gifts, moments, strict=True):
            gift.created_at = opened + timedelta(seconds=seconds)
            for payment in session.scalars(
                select(Payment).where(Payment.contribution_id == gift.id)
            ):
                payment.created_at = gift.created_at
                payment.updated_at = gift.created_at + timedelta(hours=rng.randint(1, 48))


def _fulfil(project: Project, owner: User, share: float) -> None:
    for _tier, deliveries in services.deliveries(project):
        for delivery in deliveries[: round(len(deliveries) * share)]:
            services.set_fulfilled(project.id, delivery.claim.id, owner)


def _journal(project: Project, dream: Dream, owner: User, supporters: list[User]) -> None:
    now = utcnow()
    for title, body, days_ago in dream.updates:
        update = projects.post_update(project, owner, title, body)
        with unit_of_work():
            db.session.get(ProjectUpdate, update.id).created_at = now - timedelta(days=days_ago)
    if not states.is_public(project.state):
        return
    for index, body, days_ago in dream.comments:
        comment = projects.add_comment(project, supporters[index % len(supporters)], body)
        with unit_of_work():
            db.session.get(Comment, comment.id).created_at = now - timedelta(
                days=days_ago, hours=index
            )


def load_dream(dream: Dream, owner: User, supporters: list[User], staff: User) -> Project:
    """Create one dream and walk it to its state, with its rewards, gifts, news and comments."""
    rng = random.Random(dream.title)
    picture, portrait = _photo(dream)
    data: dict[str, Any] = {
        "title": dream.title,
        "summary": dream.summary,
        "story": dream.story,
        "place": dream.owner.town,
        "country": dream.owner.country,
        "category": dream.category,
        "goal": str(dream.goal),
        "currency": "EUR",
        "duration_days": dream.days,
        "funding_model": "gift",
        "terms": dict(dream.terms),
        "person_name": dream.person_name,
        "photo": picture,
    }
    project = projects.create_project(owner, data)
    if portrait:
        with unit_of_work():
            project.person.photo = portrait
            db.session.add(project.person)
    tier_ids = {}
    for position, tier in enumerate(dream.tiers, start=1):
        made = services.add_tier(project.id, owner, {**tier, "position": position})
        tier_ids[made.title] = made.id
    if dream.state == states.DRAFT:
        _backdate(project.id, dream, rng)
        return project
    project = projects.submit(project, owner)
    if dream.state == states.IN_REVIEW:
        _backdate(project.id, dream, rng)
        return project
    project = projects.approve(project, staff)
    _give(project, dream, supporters, staff, rng, tier_ids)
    if dream.state in (states.FUNDED, states.FAILED, states.COMPLETED):
        _close(project, dream)
    _backdate(project.id, dream, rng)
    db.session.expire_all()
    project = projects.get_project(project.id)
    if dream.fulfilled_share and project.state in services.FULFILMENT_STATES:
        _fulfil(project, owner, dream.fulfilled_share)
    _journal(project, dream, owner, supporters)
    return project


def load() -> str:
    """The gift plugin's ``load_demo_data``: people, then each missing dream."""
    from tontine.demo import demo_password, demo_staff

    if PROVIDER not in current_app.config["PAYMENT_PROVIDERS"]:
        return f"gift: demo dreams need the {PROVIDER!r} payment provider; nothing loaded"
    staff = demo_staff()
    password = demo_password()
    created_people = 0
    supporters = []
    for person in SUPPORTERS:
        user, created = _account(person, password, (Role.SUPPORTER,))
        supporters.append(user)
        created_people += created
    owners = []
    for dream in DREAMS:
        owner, created = _account(dream.owner, password, (Role.SUPPORTER, Role.PROJECT_OWNER))
        owners.append(owner)
        created_people += created
    created_dreams = []
    for dream, owner in zip(DREAMS, owners, strict=True):
        if _existing(owner, dream.title) is None:
            # Dreamers support each other's dreams too.
            others = supporters + [o for o in owners if o.id != owner.id]
            created_dreams.append(load_dream(dream, owner, others, staff))
    featured = [p for p in created_dreams if p.state == states.OPEN][:FEATURED]
    if featured:
        with unit_of_work():
            for project in featured:
                db.session.get(Project, project.id).featured = True
    lines = [
        (
            f"gift: {len(created_dreams)} dream(s) created, "
            f"{len(DREAMS) - len(created_dreams)} already there"
        )
    ]
    if created_people:
        lines.append(
            f"gift: {created_people} demo people (e-mails *@{demo_content.DOMAIN}, "
            f"e.g. {DREAMS[0].owner.email}) share the password {password} (shown once)"
        )
    return "\n".join(lines)
