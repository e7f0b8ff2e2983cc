"""The money paths on both databases, and lenders racing for the last euros of a loan."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, trial_balance


@pytest.fixture
def site(loan_db_app, make_user, make_project):
    """(partner staff, an open 600 € loan) on the parametrized database."""
    from tontine_loan.partners import add_staff, create_partner

    admin = make_user(roles=("admin",))
    partner = create_partner(admin, name="Kigali Credit", country="RW", borrower_rate="18")
    staff = make_user()
    add_staff(admin, partner.id, staff)
    project = make_project(
        owner=staff,
        funding_model="loan",
        goal=600,
        terms={"term_months": 6, "partner_id": partner.id},
    )
    return staff, project


def test_fund_disburse_repay_and_complete(site, lend, make_user) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse, record_repayment

    staff, project = site
    lenders = [make_user() for _ in range(3)]
    for lender, amount in zip(lenders, ("300", "200", "100"), strict=True):
        lend(project, amount, lender)
    disburse(project.id, staff, disbursed_on=date(2026, 1, 5))
    record_repayment(project.id, staff, amount="100", paid_on=date(2026, 2, 5), idempotency_key="1")
    record_repayment(project.id, staff, amount="500", paid_on=date(2026, 5, 5), idempotency_key="2")
    assert get_project(project.id).state == "completed"
    assert [balance(AccountKind.SUPPORTER_BALANCE, u.id, "EUR").amount for u in lenders] == [
        30000,
        20000,
        10000,
    ]
    assert trial_balance() == {"EUR": 0}


def test_fifty_lenders_racing_for_the_last_200_euros_never_over_fund(
    loan_db_app, site, lend, make_user
) -> None:
    from tontine.db import db
    from tontine.funding import ContributionRefused
    from tontine.projects.services import get_project, raised
    from tontine_loan.services import get_loan

    _, project = site
    lend(project, "400")
    lenders = [make_user() for _ in range(50)]
    app = loan_db_app
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def race(lender) -> None:
        with app.app_context():
            barrier.wait()
            try:
                lend(project, "20", lender)
                outcomes.append("lent")
            except ContributionRefused:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race, args=(lender,)) for lender in lenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("lent") == 10 and outcomes.count("refused") == 40
    db.session.expire_all()
    assert raised(project).amount == 60000
    assert get_project(project.id).state == "funded"
    assert get_loan(project.id).principal == 60000
    assert trial_balance() == {"EUR": 0}
