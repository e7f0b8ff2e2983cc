"""The loan funding model: terms, tickets, funding windows, states and listing terms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tontine.errors import DomainError
from tontine.funding import ContributionRefused


def test_terms_from_a_form_are_cleaned_and_defaulted(make_loan) -> None:
    project = make_loan(
        term_months="18",
        grace_months="",
        lender_rate="0",
        borrower_rate="24,5 %",
        disbursal_date="2026-12-01",
        local_currency="xof",
        state="draft",
    )
    terms = project.terms
    assert terms["term_months"] == 18
    assert terms["grace_months"] == 0
    assert terms["method"] == "zero_interest"
    assert terms["repayment_frequency"] == "monthly"
    assert terms["funding"] == "fixed"
    assert terms["loss_liability"] == "lenders"
    assert terms["currency_risk"] == "partner_covers"
    assert terms["borrower_rate"] == "24.5"
    assert terms["lender_rate"] == "0"
    assert terms["disbursal_date"] == "2026-12-01"
    assert terms["local_currency"] == "XOF"


def test_an_interest_bearing_loan_defaults_to_an_annuity(make_loan) -> None:
    project = make_loan(lender_rate="5", term_months=36, state="draft")
    assert project.terms["method"] == "annuity"
    assert project.terms["lender_rate"] == "5"


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        ({"term_months": 0}, "terms.term_months", "1 to 360"),
        ({"term_months": "a year"}, "terms.term_months", "whole number"),
        ({"grace_months": 12}, "terms.grace_months", "shorter than the term"),
        ({"method": "zero_interest", "lender_rate": "3"}, "terms.method", "0 %"),
        ({"repayment_frequency": "weekly"}, "terms.repayment_frequency", "monthly"),
        (
            {"loss_liability": "partner", "partner_id": None},
            "terms.loss_liability",
            "field partner",
        ),
        ({"partner_id": 9999}, "terms.partner_id", "field partner"),
        ({"lender_rate": "150"}, "terms.lender_rate", "between 0 and 100"),
        ({"funding": "maybe"}, "terms.funding", "fixed"),
        ({"local_currency": "XXQ"}, "terms.local_currency", "ISO 4217"),
        ({"colour": "blue"}, "terms.colour", "Unknown field"),
        ({"borrower_gender": "robot"}, "terms.borrower_gender", "woman, a man, or a group"),
    ],
)
def test_bad_terms_are_refused_with_a_clear_message(make_loan, terms, field, message) -> None:
    with pytest.raises(DomainError, match=message) as caught:
        make_loan(state="draft", **terms)
    assert caught.value.field == field


def test_minimum_ticket_and_steps(make_loan, lend) -> None:
    project = make_loan(goal=600)
    with pytest.raises(ContributionRefused, match="smallest loan is 20.00 EUR"):
        lend(project, "15")
    with pytest.raises(ContributionRefused, match="steps of 5.00 EUR"):
        lend(project, "22")
    assert lend(project, "25").amount == 2500


def test_the_last_gap_can_be_closed_below_the_minimum(make_loan, lend) -> None:
    project = make_loan(goal=100)
    lend(project, "90")
    with pytest.raises(ContributionRefused, match="Only 10.00 EUR"):
        lend(project, "20")
    assert lend(project, "10").amount == 1000


def test_the_instance_sets_the_ticket_rules(make_loan_app, make_user, admin_factory) -> None:
    app = make_loan_app(LOAN={"min_ticket": "25", "ticket_step": "25"})
    with app.app_context():
        project = admin_factory()
        from tontine_loan.funding import ticket_rules

        minimum, step = ticket_rules("EUR")
        assert (minimum.amount, step.amount) == (2500, 2500)
        from tontine.payments.services import contribute

        lender = make_user()
        with pytest.raises(ContributionRefused, match="steps of 25.00 EUR"):
            contribute(
                project_id=project.id,
                supporter=lender,
                amount="30",
                provider_key="instant",
                idempotency_key="a",
                return_url="/",
            )


@pytest.fixture
def admin_factory(make_user, make_project):
    """A loan listed on a site built by the test itself (no shared partner fixture)."""

    def factory():
        from tontine_loan.partners import add_staff, create_partner

        admin = make_user(roles=("admin",))
        partner = create_partner(admin, name="Partner", country="ML")
        staff = make_user()
        add_staff(admin, partner.id, staff)
        return make_project(
            owner=staff,
            funding_model="loan",
            goal=500,
            terms={"term_months": 6, "partner_id": partner.id},
        )

    return factory


def test_a_loan_never_takes_more_than_asked(make_loan, lend) -> None:
    project = make_loan(goal=100)
    lend(project, "100")
    from tontine.projects.services import get_project

    assert get_project(project.id).state == "funded"
    with pytest.raises(ContributionRefused):
        lend(project, "20")


def test_a_fully_funded_loan_closes_at_once_with_each_lenders_share(
    make_loan, lend, make_user
) -> None:
    from tontine_loan.services import get_loan, shares_of

    project = make_loan(goal=100)
    first, second = make_user(), make_user()
    lend(project, "30", first)
    lend(project, "20", second)
    assert project.state == "open"
    lend(project, "25", first)
    lend(project, "25")
    loan = get_loan(project.id)
    assert loan.principal == 10000
    assert loan.partner_id == project.terms["partner_id"]
    shares = {s.lender_id: s.amount for s in shares_of(project.id)}
    assert shares[first.id] == 5500 and shares[second.id] == 2000
    assert sum(shares.values()) == 10000


def test_fixed_funding_fails_and_refunds_when_short(make_loan, lend) -> None:
    from datetime import timedelta

    from tontine.db import utcnow
    from tontine.ledger.services import trial_balance
    from tontine.projects.services import close_project, get_project

    project = make_loan(goal=600)
    lend(project, "100")
    assert close_project(project.id, now=utcnow() + timedelta(days=31)) == "failed"
    assert get_project(project.id).state == "failed"
    assert trial_balance() == {"EUR": 0}


def test_flexible_funding_keeps_what_was_raised(make_loan, lend) -> None:
    from datetime import timedelta

    from tontine.db import utcnow
    from tontine.projects.services import close_project
    from tontine_loan.services import get_loan

    project = make_loan(goal=600, funding="flexible")
    lend(project, "100")
    lend(project, "150")
    assert close_project(project.id, now=utcnow() + timedelta(days=31)) == "funded"
    assert get_loan(project.id).principal == 25000


def test_flexible_funding_with_nobody_fails(make_loan) -> None:
    from datetime import timedelta

    from tontine.db import utcnow
    from tontine.projects.services import close_project

    project = make_loan(goal=600, funding="flexible")
    assert close_project(project.id, now=utcnow() + timedelta(days=31)) == "failed"


def test_the_state_table_has_delinquent_and_defaulted(loan_app) -> None:
    from tontine.projects.services import state_table

    table = state_table()
    assert table.can("running", "delinquent")
    assert table.can("delinquent", "running")
    assert table.can("delinquent", "completed")
    assert table.can("delinquent", "defaulted")
    assert table.can("running", "defaulted")
    assert not table.can("defaulted", "running")
    assert not table.can("defaulted", "completed")
    assert not table.can("open", "delinquent")


def test_listing_terms_are_a_schema_org_loan(make_loan) -> None:
    from tontine.projects.services import funding_model

    project = make_loan(
        goal=1200,
        lender_rate="0",
        borrower_rate="22",
        grace_months=2,
        repayment_frequency="quarterly",
        local_currency="XOF",
        state="draft",
    )
    listing = funding_model(project).listing_terms(project)
    assert listing["@type"] == "LoanOrCredit"
    assert listing["amount"] == {"@type": "MonetaryAmount", "value": "1200.00", "currency": "EUR"}
    assert listing["loanTerm"] == {"@type": "QuantitativeValue", "value": 12, "unitCode": "MON"}
    assert listing["annualPercentageRate"] == 0.0
    assert listing["borrowerInterestRate"] == 22.0
    assert listing["gracePeriod"] == "P2M"
    assert listing["loanRepaymentForm"]["numberOfLoanPayments"] == 4
    assert listing["localCurrency"] == "XOF"
    assert listing["fundingType"] == "fixed"
    assert Decimal(listing["amount"]["value"]) == Decimal(1200)


def test_only_the_partners_staff_list_loans_through_it(
    make_project, make_user, partner, staff
) -> None:
    from sqlalchemy import func, select

    from tontine.db import db
    from tontine.projects.models import Project

    outsider = make_user(roles=("supporter", "project_owner"))
    before = db.session.scalar(select(func.count()).select_from(Project))
    with pytest.raises(DomainError, match="Only the staff of Sahel Microfinance") as caught:
        make_project(
            owner=outsider,
            funding_model="loan",
            goal=500,
            terms={"term_months": 6, "partner_id": partner.id},
            state="draft",
        )
    assert caught.value.status == 403
    assert db.session.scalar(select(func.count()).select_from(Project)) == before
    listed = make_project(
        owner=staff,
        funding_model="loan",
        goal=500,
        terms={"term_months": 6, "partner_id": partner.id},
        state="draft",
    )
    assert listed.organization_id == partner.organization_id


def test_another_staff_member_can_post_the_loans_journal(
    make_loan, make_user, admin, partner
) -> None:
    from tontine.projects.services import post_update
    from tontine_loan.partners import add_staff

    project = make_loan()
    colleague = make_user()
    add_staff(admin, partner.id, colleague)
    update = post_update(project, colleague, "Aminata bought seeds", "The first harvest is in May.")
    assert update.author_id == colleague.id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"country": "Senegal"}, "country"),
        ({"borrower_rate": "lots"}, "borrower_rate"),
        ({"borrower_rate": "250"}, "borrower_rate"),
        ({"risk_rating": "7"}, "risk_rating"),
        ({"website": "javascript:alert(1)"}, "website"),
    ],
)
def test_bad_partner_details_are_refused(loan_app, admin, fields, field) -> None:
    from tontine.errors import DomainError as Refused
    from tontine_loan.partners import create_partner

    data = {"name": "Partner", "country": "SN", "borrower_rate": "20", **fields}
    with pytest.raises(Refused) as caught:
        create_partner(admin, **data)
    assert caught.value.field == field


def test_only_admins_vet_partners(loan_app, make_user, partner) -> None:
    from tontine.errors import Forbidden
    from tontine_loan.partners import create_partner, set_risk_rating

    someone = make_user()
    with pytest.raises(Forbidden):
        create_partner(someone, name="Mine", country="SN")
    with pytest.raises(Forbidden):
        set_risk_rating(someone, partner.id, 1, "I like them")
