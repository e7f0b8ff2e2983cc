"""Demo data for a micro-lending site, loaded through the real services (idempotent).

Three field partners in three countries, thirty loans in every state, lenders and teams,
and a year of repayment history. Lenders pay by bank transfer (``manual``) that the demo
moderator marks received, partners disburse and record repayments through the loan
services, and the batch marks arrears and defaults — so the ledger holds exactly what a
real site would. People are found by e-mail and loans by title: loading twice changes
nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from tontine.accounts.models import Role, User
from tontine.db import db
from tontine.money import Money
from tontine.payments.services import contribute, mark_received
from tontine.projects import services as projects
from tontine.projects.models import Project
from tontine_loan.models import FieldPartner, LendingTeam
from tontine_loan.schedule import add_months


@dataclass(frozen=True)
class PartnerInfo:
    name: str
    country: str
    local_currency: str | None
    rate: Decimal  # local units per euro at the demo's first disbursal
    drift: Decimal  # monthly change of the rate (currency risk)
    borrower_rate: str
    risk_rating: int
    staff_email: str
    staff_name: str
    description: str
    towns: tuple[str, ...]


PARTNERS = (
    PartnerInfo(
        "Sahel Microfinance",
        "SN",
        "XOF",
        Decimal("655.957"),
        Decimal(0),
        "24",
        2,
        "awa@sahel.demo.example.org",
        "Awa Ndiaye (Sahel Microfinance)",
        "Une institution de microfinance sénégalaise qui accompagne les femmes entrepreneures "
        "des marchés de Thiès et de Saint-Louis depuis 1998.",
        ("Thiès", "Saint-Louis", "Kaolack", "Ziguinchor"),
    ),
    PartnerInfo(
        "Crédito Andino",
        "PE",
        "PEN",
        Decimal("4.05"),
        Decimal("0.012"),
        "32",
        3,
        "lucia@andino.demo.example.org",
        "Lucía Quispe (Crédito Andino)",
        "A Peruvian cooperative lending to farmers and weavers of the Cusco and Puno highlands.",
        ("Cusco", "Puno", "Juliaca", "Arequipa"),
    ),
    PartnerInfo(
        "Mekong Solidarity Fund",
        "KH",
        None,
        Decimal(1),
        Decimal(0),
        "28",
        1,
        "sokha@mekong.demo.example.org",
        "Sokha Chea (Mekong Solidarity Fund)",
        "An association that lends in euros to small shops and workshops along the Mekong, "
        "and trains every borrower in book-keeping.",
        ("Phnom Penh", "Kampong Cham", "Kratie", "Siem Reap"),
    ),
)

BORROWERS = (
    (
        "Aminata",
        "food",
        "Vegetable stall",
        "sells vegetables at the central market and wants a cold box",
    ),
    (
        "Fatou",
        "business",
        "Tailoring workshop",
        "sews school uniforms and needs a second sewing machine",
    ),
    (
        "Moussa",
        "food",
        "Millet and peanuts",
        "grows millet and peanuts and needs seeds before the rains",
    ),
    (
        "Rokhaya",
        "business",
        "Hair salon",
        "runs a hair salon and wants to buy a dryer and products",
    ),
    ("Ibrahima", "business", "Carpentry", "builds furniture and needs a plane and hardwood"),
    ("Khady", "food", "Fish smoking", "smokes fish for the market and wants a better oven"),
    ("Ousmane", "housing", "A tin roof", "wants to replace a leaking roof before the rainy season"),
    (
        "Mariama",
        "education",
        "School fees and supplies",
        "sells fritters and is saving for her daughters' schooling",
    ),
    ("Babacar", "business", "Phone repairs", "repairs phones and wants a stock of spare parts"),
    ("Ndèye", "food", "Bakery", "bakes bread at dawn and wants a second oven"),
)
ANDEAN = (
    (
        "Rosa",
        "business",
        "Alpaca weaving",
        "weaves alpaca scarves and needs yarn for the tourist season",
    ),
    ("Juan", "food", "Potato harvest", "grows native potatoes and needs fertilizer"),
    ("Carmen", "food", "Corner shop", "keeps a corner shop and wants to stock more goods"),
    ("Wilber", "business", "Bicycle repair", "repairs bicycles and needs tools"),
    ("Yolanda", "food", "Guinea pigs", "raises guinea pigs and wants to build a larger pen"),
    ("Percy", "business", "Taxi moto", "drives a moto-taxi and needs a new engine"),
    ("Nélida", "health", "Pharmacy counter", "runs a small pharmacy counter and needs stock"),
    ("Hilario", "food", "Quinoa", "grows quinoa and needs to rent a thresher"),
    (
        "Marleni",
        "business",
        "Embroidery",
        "embroiders festival costumes and wants more thread and beads",
    ),
    ("Edgar", "housing", "Adobe house", "is finishing the second room of an adobe house"),
)
MEKONG = (
    ("Sreymom", "food", "Noodle stand", "sells noodle soup and wants a second stall"),
    ("Dara", "business", "Motorbike repair", "repairs motorbikes and needs a compressor"),
    ("Chanthou", "food", "Rice farming", "grows rice and needs a water pump"),
    ("Vanna", "business", "Grocery", "keeps a grocery and wants a refrigerator"),
    ("Sophal", "business", "Silk weaving", "weaves silk and wants a second loom"),
    ("Kimly", "food", "Fish farming", "raises fish in ponds and needs fingerlings"),
    ("Borey", "business", "Tuk-tuk", "drives a tuk-tuk and needs new tyres"),
    ("Sreyneang", "health", "Midwife kit", "is a village midwife and needs equipment"),
    (
        "Piseth",
        "education",
        "Computer classes",
        "teaches computing and wants two second-hand computers",
    ),
    ("Leakena", "food", "Palm sugar", "makes palm sugar and needs new pans"),
)

#: The demo's men (every other borrower is a woman, as most micro-loans go to women).
GENDER_OF = {
    name: "man"
    for name in (
        "Moussa",
        "Ibrahima",
        "Ousmane",
        "Babacar",
        "Juan",
        "Wilber",
        "Percy",
        "Hilario",
        "Edgar",
        "Dara",
        "Borey",
        "Piseth",
        "Sophal",
    )
}

LENDERS = (
    ("Claire Martin", "claire"),
    ("Thomas Bernard", "thomas"),
    ("Léa Dubois", "lea"),
    ("Hugo Petit", "hugo"),
    ("Chloé Leroy", "chloe"),
    ("Lucas Moreau", "lucas"),
    ("Emma Laurent", "emma"),
    ("Nathan Garcia", "nathan"),
    ("Inès Roux", "ines"),
    ("Jules Fournier", "jules"),
    ("Manon Girard", "manon"),
    ("Paul Mercier", "paul"),
    ("Sarah Blanc", "sarah"),
    ("Karim Haddad", "karim"),
    ("Anna Schmidt", "anna"),
)
TEAMS = (
    ("Lyon solidaire", "Des collègues lyonnais qui prêtent ensemble chaque mois.", range(6)),
    (
        "Les profs prêteurs",
        "Des enseignants qui soutiennent l'éducation et l'artisanat.",
        range(5, 10),
    ),
    ("Friends of the Mekong", "Travellers who came back wanting to help.", range(9, 15)),
)

#: (state, months since disbursal, term) for the 10 loans of each partner, in order.
PLAN = (
    ("open", None, 12),
    ("open", None, 9),
    ("open", None, 12),
    ("funded", None, 12),
    ("running", 3, 12),
    ("running", 8, 12),
    ("running", 11, 18),
    ("delinquent", 7, 12),
    ("completed", 10, 6),
    ("defaulted", 14, 6),
)
EXTRA = {0: "in_review", 1: "failed"}  # per partner index: one more, replacing the last open loan


def _photo(name: str) -> str | None:
    """A drawn portrait stored like an upload (None when the site has no storage)."""
    try:
        from tontine.storage import save_image
    except ImportError:
        return None
    from tontine_loan.pictures import portrait

    return save_image(portrait(name))


def _lender_email(slug: str) -> str:
    return f"{slug}@lenders.demo.example.org"


def _account(email: str, name: str, roles: tuple[Role, ...]) -> tuple[User, str | None]:
    from tontine.demo import ensure_account

    return ensure_account(email, name, roles)


def _partner(info: PartnerInfo, admin: User) -> tuple[FieldPartner, User, list[str]]:
    from tontine_loan.partners import add_staff, create_partner

    lines = []
    staff, password = _account(info.staff_email, info.staff_name, (Role.SUPPORTER,))
    if password:
        lines.append(f"created {info.staff_email} with password {password} (shown once)")
    partner = db.session.scalars(
        select(FieldPartner)
        .join(FieldPartner.organization)
        .where(FieldPartner.organization.has(name=info.name))
    ).first()
    if partner is None:
        partner = create_partner(
            admin,
            name=info.name,
            country=info.country,
            borrower_rate=info.borrower_rate,
            risk_rating=info.risk_rating,
            description=info.description,
        )
        lines.append(f"created field partner {info.name}")
    add_staff(admin, partner.id, staff)
    return partner, staff, lines


def _fund(
    project: Project,
    lenders: list[User],
    share: Decimal,
    moderator: User,
    rng: random.Random,
    teams: dict[int, int],
) -> None:
    """Lend ``share`` of the goal by bank transfers the moderator marks received."""
    target = int(project.goal_amount * share) // 500 * 500
    given = 0
    order = rng.sample(lenders, len(lenders))
    index = 0
    while given < target:
        lender = order[index % len(order)]
        index += 1
        ticket = min(rng.choice((2500, 2500, 5000, 5000, 10000)), target - given)
        if ticket < 2000 and given + ticket != project.goal_amount:
            break
        details = {"team_id": teams[lender.id]} if lender.id in teams and rng.random() < 0.6 else {}
        _contribution, payment, _ = contribute(
            project_id=project.id,
            supporter=lender,
            amount=Money(ticket, project.currency).decimal_string(),
            provider_key="manual",
            idempotency_key=f"demo-{project.id}-{index}",
            return_url="/",
            details=details,
        )
        mark_received(payment.id, moderator, "demo: transfer seen on the bank statement")
        given += ticket


def _repay_history(
    project: Project,
    staff: User,
    info: PartnerInfo,
    start: date,
    months_ago: int,
    plan_state: str,
    today: date,
) -> None:
    from tontine_loan.services import get_loan, positions, record_repayment, review_standing

    loan = get_loan(project.id)
    paid_count = {
        "running": months_ago,
        "delinquent": max(0, months_ago - 3),
        "completed": 99,
        "defaulted": 2,
    }[plan_state]
    for instalment in loan.instalments[:paid_count]:
        if instalment.due > today:
            break
        owed = sum(p.outstanding for p in positions(loan))
        amount = min(instalment.total, owed)
        if amount <= 0:
            break
        months = (instalment.due.year - start.year) * 12 + instalment.due.month - start.month
        kwargs: dict[str, str] = {}
        if loan.local_currency:
            rate_then = info.rate * (1 + info.drift) ** months
            local = Money.round_decimal(
                Money(amount, loan.currency).to_decimal() * info.rate, loan.local_currency
            )
            kwargs = {
                "local_amount": local.decimal_string(),
                "rate": str(rate_then.quantize(Decimal("0.0001"))),
            }
        else:
            kwargs = {"amount": Money(amount, loan.currency).decimal_string()}
        record_repayment(
            project.id,
            staff,
            paid_on=instalment.due,
            idempotency_key=f"demo-{instalment.number}",
            today=instalment.due,
            **kwargs,
        )
    review_standing(project.id, today)


def load() -> str:
    from tontine.demo import STAFF, demo_staff
    from tontine_loan.services import disburse
    from tontine_loan.teams import create_team, join_team

    rng = random.Random(2010)  # the year of the seed article
    today = date.today()
    moderator = demo_staff()
    admin_email = next(e for e, (_n, roles) in STAFF.items() if Role.ADMIN in roles)
    admin, _ = _account(admin_email, STAFF[admin_email][0], STAFF[admin_email][1])
    lines: list[str] = []
    lenders = []
    for name, slug in LENDERS:
        lender, password = _account(_lender_email(slug), name, (Role.SUPPORTER,))
        if password:
            lines.append(f"created {_lender_email(slug)} with password {password} (shown once)")
        lenders.append(lender)
    teams: dict[int, int] = {}
    for team_name, description, members in TEAMS:
        team = db.session.scalars(
            select(LendingTeam).where(LendingTeam.organization.has(name=team_name))
        ).first()
        if team is None:
            team = create_team(lenders[members[0]], team_name, description)
        for i in members:
            join_team(lenders[i], team.id)
            teams.setdefault(lenders[i].id, team.id)
    created = 0
    for p_index, (info, people) in enumerate(
        zip(PARTNERS, (BORROWERS, ANDEAN, MEKONG), strict=True)
    ):
        partner, staff, partner_lines = _partner(info, admin)
        lines.extend(partner_lines)
        plan = list(PLAN)
        if p_index in EXTRA:
            plan[2] = (EXTRA[p_index], None, 12)
        for (state, months_ago, term), (first_name, category, activity, story) in zip(
            plan, people, strict=True
        ):
            title = f"{first_name}: {activity.lower()}"
            if db.session.scalars(
                select(Project).where(Project.title == title, Project.owner_id == staff.id)
            ).first():
                continue
            goal = rng.choice((300, 400, 500, 600, 800, 1000, 1200))
            terms = {
                "borrower_gender": GENDER_OF.get(first_name, "woman"),
                "term_months": term,
                "partner_id": partner.id,
                "borrower_rate": info.borrower_rate,
                "loss_liability": "lenders",
            }
            if info.local_currency:
                terms["local_currency"] = info.local_currency
                if info.drift:
                    terms["currency_risk"] = "shared_beyond_10pct"
            town = rng.choice(info.towns)
            project = projects.create_project(
                staff,
                {
                    "title": title,
                    "summary": f"{first_name} {story}.",
                    "story": (
                        f"{first_name} lives in {town} and {story}.\n\n"
                        f"{info.name} has known {first_name} for several years and vetted the project. "
                        f"The loan is repaid over {term} months."
                    ),
                    "place": town,
                    "country": info.country,
                    "category": category,
                    "goal": str(goal),
                    "funding_model": "loan",
                    "terms": terms,
                    "person_name": first_name,
                    "photo": _photo(first_name),
                },
            )
            created += 1
            projects.submit(project, staff)
            if state == "in_review":
                continue
            project = projects.approve(project, moderator)
            if state == "open":
                _fund(
                    project,
                    lenders,
                    Decimal(rng.choice(("0", "0.25", "0.5", "0.8"))),
                    moderator,
                    rng,
                    teams,
                )
                continue
            if state == "failed":
                _fund(project, lenders, Decimal("0.3"), moderator, rng, teams)
                project = projects.get_project(project.id)
                projects.close_project(project.id, now=project.deadline + timedelta(seconds=1))
                continue
            _fund(project, lenders, Decimal(1), moderator, rng, teams)
            if state == "funded":
                continue
            start = add_months(today, -int(months_ago))
            disburse(
                project.id,
                staff,
                disbursed_on=start,
                rate=str(info.rate) if info.local_currency else None,
                note="demo disbursal",
            )
            _repay_history(project, staff, info, start, int(months_ago), state, today)
    lines.append(f"loans: {created} created, {30 - created if created <= 30 else 0} already there")
    return "\n".join(lines)
