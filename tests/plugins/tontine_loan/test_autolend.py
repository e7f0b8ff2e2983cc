"""Auto-lending: idle balances are lent, spread fairly, only to loans the lender would choose."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tontine.errors import DomainError


@pytest.fixture
def site(make_app):
    import importlib

    conftest = importlib.import_module(__name__.rsplit(".", 1)[0] + ".conftest")
    app = make_app(
        plugins=["loan", "balance"],
        extra_plugins=[conftest.InstantPlugin()],
        PAYMENT_PROVIDERS=["instant", "balance"],
    )
    with app.app_context():
        yield app


@pytest.fixture
def loans(site, make_user, make_project):
    from tontine_loan.partners import add_staff, create_partner

    admin = make_user(roles=("admin",))
    sahel = create_partner(admin, name="Sahel", country="SN", risk_rating=2)
    risky = create_partner(admin, name="Risky", country="SN", risk_rating=5)
    staff = make_user()
    add_staff(admin, sahel.id, staff)
    add_staff(admin, risky.id, staff)

    def loan(goal, partner=sahel, country="SN", term=12, category="food"):
        return make_project(
            owner=staff,
            funding_model="loan",
            goal=goal,
            country=country,
            category=category,
            terms={"term_months": term, "partner_id": partner.id},
        )

    return loan, sahel, risky


def top_up(user, amount: int) -> None:
    from tontine.db import unit_of_work
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import credit, debit, post
    from tontine.money import Money

    with unit_of_work():
        post(
            "top_up",
            [
                debit(AccountKind.PROVIDER_CLEARING, "test", Money(amount, "EUR")),
                credit(AccountKind.SUPPORTER_BALANCE, user.id, Money(amount, "EUR")),
            ],
        )


def bal(user) -> int:
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance

    return balance(AccountKind.SUPPORTER_BALANCE, user.id, "EUR").amount


def later(days: int):
    from tontine.db import utcnow

    return utcnow() + timedelta(days=days)


def test_idle_money_is_spread_over_the_least_funded_matching_loans(loans, make_user, lend) -> None:
    from tontine.projects.services import raised
    from tontine_loan.autolend import auto_lend, save_settings

    loan, _sahel, risky = loans
    half_funded = loan(100)
    lend(half_funded, "50")
    empty = loan(600)
    elsewhere = loan(600, country="ML")
    too_risky = loan(600, partner=risky)
    too_long = loan(600, term=48)
    lender = make_user()
    top_up(lender, 10000)
    save_settings(
        lender,
        {
            "enabled": "y",
            "countries": "sn, ",
            "max_risk_rating": "3",
            "max_term_months": "24",
            "idle_days": "1",
        },
    )
    assert auto_lend(now=later(0)) == 0  # the money arrived today: not idle yet
    assert auto_lend(now=later(2)) == 2  # one ticket per loan: the empty loan first
    assert raised(empty).amount == 2000 and raised(half_funded).amount == 7000
    assert [raised(p).amount for p in (elsewhere, too_risky, too_long)] == [0, 0, 0]
    assert bal(lender) == 6000
    assert auto_lend(now=later(2)) == 0  # the same day again: nothing twice


def test_lenders_who_did_not_opt_in_keep_their_balance(loans, make_user) -> None:
    from tontine_loan.autolend import auto_lend, save_settings

    loan, *_ = loans
    loan(600)
    lender, paused = make_user(), make_user()
    top_up(lender, 5000)
    top_up(paused, 5000)
    save_settings(paused, {"enabled": "", "idle_days": "1"})
    assert auto_lend(now=later(2)) == 0
    assert bal(lender) == 5000 and bal(paused) == 5000


def test_the_last_gap_is_filled_exactly(loans, make_user, lend) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.autolend import auto_lend, save_settings

    loan, *_ = loans
    project = loan(100)
    lend(project, "90")
    lender = make_user()
    top_up(lender, 5000)
    save_settings(lender, {"enabled": "y", "idle_days": "1"})
    assert auto_lend(now=later(2)) == 1
    assert get_project(project.id).state == "funded"
    assert bal(lender) == 4000


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"countries": "Senegal"}, "countries"),
        ({"categories": ["weapons"]}, "categories"),
        ({"max_risk_rating": "9"}, "max_risk_rating"),
        ({"idle_days": "0"}, "idle_days"),
        ({"max_term_months": "forever"}, "max_term_months"),
    ],
)
def test_bad_settings_are_refused(site, make_user, data, field) -> None:
    from tontine_loan.autolend import save_settings, settings_of

    user = make_user()
    with pytest.raises(DomainError) as caught:
        save_settings(user, {"enabled": "y", **data})
    assert caught.value.field == field
    assert settings_of(user.id) is None


def test_the_batch_job_is_registered(site) -> None:
    from tontine.extensions import registry

    assert "loan_batch" in registry().job_handlers
    assert ("loan-batch", "loan_batch", 86400) in registry().schedules


def test_the_settings_page(site, make_user, login, form_post) -> None:
    from tontine_loan.autolend import settings_of

    user = make_user()
    client = site.test_client()
    login(client, user)
    assert client.get("/my/loans/auto").status_code == 200
    bad = form_post(
        client, "/my/loans/auto", data={"enabled": "y", "countries": "France", "idle_days": "90"}
    )
    assert bad.status_code == 400 and "two-letter codes" in bad.get_data(as_text=True)
    good = form_post(
        client,
        "/my/loans/auto",
        data={
            "enabled": "y",
            "countries": "sn,ml",
            "categories": ["food", "business"],
            "idle_days": "60",
        },
    )
    assert good.status_code == 303
    setting = settings_of(user.id)
    assert (setting.enabled, setting.countries, setting.categories, setting.idle_days) == (
        True,
        "ML,SN",
        "business,food",
        60,
    )


def test_the_batch_job_marks_arrears_queues_reminders_and_lends(loans, make_user, lend) -> None:
    from datetime import date

    from sqlalchemy import select

    from tontine.accounts.models import RoleAssignment, User
    from tontine.db import db
    from tontine.extensions import registry
    from tontine.jobs.models import Job
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse

    loan, sahel, _risky = loans
    late = loan(100)
    lend(late, "100")
    staff_user = db.session.scalars(
        select(User)
        .join(RoleAssignment)
        .where(RoleAssignment.organization_id == sahel.organization_id)
    ).first()
    disburse(late.id, staff_user, disbursed_on=date(2025, 1, 1))
    result = registry().job_handlers["loan_batch"]({})
    assert result["reviewed"] == 1
    assert get_project(late.id).state == "defaulted"  # 12 months from Jan 2025 + 6 months: past
    assert (
        db.session.scalars(select(Job).where(Job.kind == "loan_repayment_reminders")).first()
        is not None
    )
