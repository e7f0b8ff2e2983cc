"""Partner figures and the lender's portfolio, computed from the rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def test_partner_figures_are_computed_not_typed(
    make_loan, lend, make_user, staff, admin, partner
) -> None:
    from tontine_loan.reports import partner_figures, portfolio, portfolio_csv, repayments_by_month
    from tontine_loan.services import declare_default, disburse, record_repayment

    lender = make_user()

    def loan(**terms):
        project = make_loan(goal=600, **terms)
        lend(project, "300", lender)
        lend(project, "300")
        return project

    late, lost, local = (
        loan(borrower_rate="20"),
        loan(),
        loan(local_currency="XOF", borrower_rate="30"),
    )
    for project in (late, lost, local):
        disburse(
            project.id,
            staff,
            disbursed_on=date(2026, 1, 10),
            rate="655.957" if project is local else None,
        )
    record_repayment(late.id, staff, amount="100", paid_on=date(2026, 2, 10), idempotency_key="a")
    declare_default(lost.id, admin, "the shop burnt down")
    # 32 798 XOF: 50 € at the disbursal rate, 40 € at the day's (the partner covers the loss).
    record_repayment(
        local.id,
        staff,
        local_amount="32798",
        rate="819.946",
        paid_on=date(2026, 2, 10),
        idempotency_key="b",
    )
    record_repayment(
        local.id,
        staff,
        local_amount="16399",
        rate="655.957",
        paid_on=date(2026, 3, 10),
        idempotency_key="c",
    )
    figures = partner_figures(partner, "EUR", today=date(2026, 4, 11))
    assert figures.loans == 3
    assert figures.amount.amount == 180000
    # Past due on 11 April: late owes 150 − 100 = 50, local 150 − 75 = 75; still owed 500 + 525.
    assert figures.delinquency_rate == Decimal("12.20")  # 125 / 1025
    assert figures.default_rate == Decimal("33.33")  # 600 written off / 1800 disbursed
    assert figures.currency_loss_rate == Decimal("13.33")  # 10 € lost / 75 € repaid locally
    assert figures.average_borrower_rate == Decimal("25.0")  # 20 % and 30 % on equal amounts

    holdings = {h.project.id: h for h in portfolio(lender.id)}
    assert (
        holdings[late.id].lent.amount,
        holdings[late.id].repaid.amount,
        holdings[late.id].outstanding.amount,
    ) == (30000, 5000, 25000)
    assert (holdings[lost.id].lost.amount, holdings[lost.id].outstanding.amount) == (30000, 0)
    assert holdings[local.id].repaid.amount == 3750
    assert [(m, a.amount) for m, a in repayments_by_month(lender.id)] == [
        ("2026-02", 7500),
        ("2026-03", 1250),
    ]
    assert (
        f"{lost.id},Aminata's vegetable stall,defaulted,EUR,300.00,0.00,0.00,300.00"
        in portfolio_csv(lender.id)
    )


def test_csv_cells_cannot_become_formulas(loan_app) -> None:
    from tontine_loan.reports import _cell

    assert _cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert _cell("Seeds for Moussa") == "Seeds for Moussa"


def test_a_partner_bearing_the_default_shows_as_repaid(
    make_loan, lend, make_user, staff, admin
) -> None:
    from datetime import date

    from tontine_loan.reports import portfolio
    from tontine_loan.services import declare_default, disburse, record_repayment

    lender = make_user()
    project = make_loan(goal=100, loss_liability="partner")
    lend(project, "60", lender)
    lend(project, "40")
    disburse(project.id, staff, disbursed_on=date(2026, 1, 10))
    record_repayment(project.id, staff, amount="10", paid_on=date(2026, 2, 10), idempotency_key="a")
    declare_default(project.id, admin, "fraud")
    (holding,) = portfolio(lender.id)
    assert (holding.repaid.amount, holding.outstanding.amount, holding.lost.amount) == (6000, 0, 0)
