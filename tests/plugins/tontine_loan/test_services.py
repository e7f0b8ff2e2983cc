"""Loan services: disbursal, repayments split into balances, arrears, default, currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tontine.errors import Conflict, DomainError, Forbidden
from tontine.ledger.models import AccountKind
from tontine.ledger.services import balance, trial_balance

DISBURSED = date(2026, 1, 10)


def eur(amount: str) -> int:
    return int(Decimal(amount) * 100)


@pytest.fixture
def funded(make_loan, lend, make_user):
    """A 600 € loan over 12 months, lent 300/200/100 by three lenders, not yet disbursed."""

    def factory(**terms):
        project = make_loan(goal=600, **terms)
        lenders = [make_user(name=f"Lender {n}") for n in (1, 2, 3)]
        for lender, amount in zip(lenders, ("300", "200", "100"), strict=True):
            lend(project, amount, lender)
        return project, lenders

    return factory


def rows(model, **where):
    from sqlalchemy import select

    from tontine.db import db

    return list(db.session.scalars(select(model).filter_by(**where)))


def bal(user) -> int:
    return balance(AccountKind.SUPPORTER_BALANCE, user.id, "EUR").amount


def test_partner_staff_disburse_and_the_schedule_is_stored(funded, staff, partner) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse, get_loan

    project, _ = funded()
    loan = disburse(project.id, staff, disbursed_on=DISBURSED)
    assert get_project(project.id).state == "running"
    rows = [(i.number, i.due, i.principal, i.interest) for i in get_loan(project.id).instalments]
    assert len(rows) == 12
    assert rows[0] == (1, date(2026, 2, 10), 5000, 0)
    assert rows[-1][1] == date(2027, 1, 10)
    assert sum(r[2] for r in rows) == 60000
    assert loan.disbursed_by == staff.id
    assert balance(AccountKind.PROJECT_ESCROW, project.id, "EUR").amount == 0
    assert balance(AccountKind.PARTNER, partner.id, "EUR").amount == 60000
    assert trial_balance() == {"EUR": 0}
    with pytest.raises(Conflict):
        disburse(project.id, staff, disbursed_on=DISBURSED)


def test_only_the_partners_staff_disburse(funded, make_user) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse

    project, lenders = funded()
    with pytest.raises(Forbidden):
        disburse(project.id, lenders[0], disbursed_on=DISBURSED)
    assert get_project(project.id).state == "funded"


def test_a_quarterly_loan_groups_three_months(funded, staff) -> None:
    from tontine_loan.services import disburse, get_loan

    project, _ = funded(repayment_frequency="quarterly")
    disburse(project.id, staff, disbursed_on=DISBURSED)
    instalments = get_loan(project.id).instalments
    assert [(i.due, i.principal) for i in instalments] == [
        (date(2026, 4, 10), 15000),
        (date(2026, 7, 10), 15000),
        (date(2026, 10, 10), 15000),
        (date(2027, 1, 10), 15000),
    ]


def test_an_interest_bearing_loan_stores_its_annuity(funded, staff) -> None:
    from tontine_loan.services import disburse, get_loan

    project, _ = funded(lender_rate="5")
    disburse(project.id, staff, disbursed_on=DISBURSED)
    instalments = get_loan(project.id).instalments
    assert {i.total for i in instalments[:-1]} == {5136}  # 600 € at 5 % over 12 months: 51.36
    assert sum(i.principal for i in instalments) == 60000


def test_a_repayment_is_split_among_lenders_in_one_transaction(funded, staff, partner) -> None:
    from tontine.ledger.models import LedgerTransaction
    from tontine_loan.services import disburse, record_repayment

    project, (a, b, c) = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    repayment = record_repayment(
        project.id, staff, amount="50", paid_on=date(2026, 2, 10), idempotency_key="r1"
    )
    assert (bal(a), bal(b), bal(c)) == (2500, 1667, 833)  # 50 € × 3/6, 2/6, 1/6, to the cent
    txn = rows(LedgerTransaction, cause=f"loan-repayment:{repayment.id}")[0]
    assert len(txn.postings) == 4
    assert balance(AccountKind.PARTNER, partner.id, "EUR").amount == 60000 - 5000
    assert trial_balance() == {"EUR": 0}
    again = record_repayment(
        project.id, staff, amount="50", paid_on=date(2026, 2, 10), idempotency_key="r1"
    )
    assert again.id == repayment.id
    assert (bal(a), bal(b), bal(c)) == (2500, 1667, 833)


def test_partial_late_and_early_repayments_repay_everyone_exactly(funded, staff) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse, get_loan, positions, record_repayment

    project, (a, b, c) = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    for n, amount in enumerate(["33.33", "0.01", "150", "416.66"]):
        record_repayment(
            project.id, staff, amount=amount, paid_on=date(2026, 3, 1), idempotency_key=f"k{n}"
        )
    assert (bal(a), bal(b), bal(c)) == (30000, 20000, 10000)
    assert all(p.outstanding == 0 for p in positions(get_loan(project.id)))
    assert get_project(project.id).state == "completed"
    assert trial_balance() == {"EUR": 0}


def test_more_than_what_is_owed_is_refused_and_nothing_is_written(funded, staff) -> None:
    from tontine_loan.models import Repayment
    from tontine_loan.services import disburse, record_repayment

    project, (a, _, _) = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    with pytest.raises(DomainError, match="more than the 600.00 EUR still owed"):
        record_repayment(
            project.id, staff, amount="600.01", paid_on=date(2026, 2, 1), idempotency_key="x"
        )
    with pytest.raises(DomainError, match="amount"):
        record_repayment(
            project.id, staff, amount="-5", paid_on=date(2026, 2, 1), idempotency_key="y"
        )
    with pytest.raises(DomainError):
        record_repayment(
            project.id, staff, amount="1.001", paid_on=date(2026, 2, 1), idempotency_key="z"
        )
    assert len(rows(Repayment)) == 0
    assert bal(a) == 0


def test_repayments_need_a_disbursed_loan_and_the_partners_staff(funded, staff) -> None:
    from tontine_loan.services import disburse, record_repayment

    project, lenders = funded()
    with pytest.raises(Conflict):
        record_repayment(
            project.id, staff, amount="10", paid_on=date(2026, 2, 1), idempotency_key="a"
        )
    disburse(project.id, staff, disbursed_on=DISBURSED)
    with pytest.raises(Forbidden):
        record_repayment(
            project.id, lenders[0], amount="10", paid_on=date(2026, 2, 1), idempotency_key="b"
        )


def test_a_missed_payment_makes_the_loan_delinquent_until_caught_up(funded, staff) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.services import disburse, get_loan, record_repayment, review_standing

    project, _ = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    assert review_standing(project.id, date(2026, 2, 9)) is None  # nothing due yet
    assert review_standing(project.id, date(2026, 2, 11)) == "delinquent"
    assert get_loan(project.id).delinquent_since == date(2026, 2, 10)
    record_repayment(
        project.id,
        staff,
        amount="20",
        paid_on=date(2026, 2, 20),
        idempotency_key="p",
        today=date(2026, 2, 20),
    )
    assert get_project(project.id).state == "delinquent"  # 20 of 50 € due: still behind
    record_repayment(
        project.id,
        staff,
        amount="30",
        paid_on=date(2026, 2, 25),
        idempotency_key="q",
        today=date(2026, 2, 25),
    )
    assert get_project(project.id).state == "running"
    assert get_loan(project.id).delinquent_since is None
    assert review_standing(project.id, date(2026, 3, 1)) is None


def test_six_months_after_the_term_a_loan_defaults_and_lenders_bear_the_loss(funded, staff) -> None:
    from tontine.projects.services import get_project
    from tontine_loan.models import WriteOff
    from tontine_loan.services import disburse, record_repayment, review_standing

    project, (a, b, c) = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    record_repayment(
        project.id, staff, amount="120", paid_on=date(2026, 3, 10), idempotency_key="p"
    )
    assert review_standing(project.id, date(2026, 4, 11)) == "delinquent"
    assert review_standing(project.id, date(2027, 7, 9)) is None  # the term ended 10 Jan 2027
    assert review_standing(project.id, date(2027, 7, 10)) == "defaulted"
    assert get_project(project.id).state == "defaulted"
    write_off = rows(WriteOff, project_id=project.id)[0]
    assert (write_off.amount, write_off.borne_by) == (48000, "lenders")
    assert (bal(a), bal(b), bal(c)) == (6000, 4000, 2000)  # only what was repaid
    assert trial_balance() == {"EUR": 0}
    # A recovery after the default still reaches the lenders.
    record_repayment(
        project.id, staff, amount="60", paid_on=date(2027, 8, 1), idempotency_key="late"
    )
    assert (bal(a), bal(b), bal(c)) == (9000, 6000, 3000)


def test_a_partner_bearing_defaults_repays_the_lenders_itself(
    funded, staff, admin, partner
) -> None:
    from tontine_loan.services import declare_default, disburse, record_repayment

    project, (a, b, c) = funded(loss_liability="partner")
    disburse(project.id, staff, disbursed_on=DISBURSED)
    record_repayment(
        project.id, staff, amount="100", paid_on=date(2026, 3, 10), idempotency_key="p"
    )
    with pytest.raises(Forbidden):
        declare_default(project.id, staff, "gone")
    with pytest.raises(DomainError, match="why"):
        declare_default(project.id, admin, " ")
    write_off = declare_default(project.id, admin, "the borrower left the region")
    assert (write_off.amount, write_off.borne_by) == (50000, "partner")
    assert (bal(a), bal(b), bal(c)) == (30000, 20000, 10000)
    assert balance(AccountKind.PARTNER, partner.id, "EUR").amount == 60000 - 60000
    assert trial_balance() == {"EUR": 0}
    with pytest.raises(Conflict):
        record_repayment(
            project.id, staff, amount="10", paid_on=date(2026, 9, 1), idempotency_key="q"
        )


def test_a_loan_repaid_in_local_currency_partner_covers_the_loss(funded, staff) -> None:
    from tontine_loan.models import Repayment
    from tontine_loan.services import disburse, record_repayment

    project, (a, b, c) = funded(local_currency="XOF")
    with pytest.raises(DomainError, match="exchange rate"):
        disburse(project.id, staff, disbursed_on=DISBURSED)
    disburse(project.id, staff, disbursed_on=DISBURSED, rate="655.957")
    # 32 798 XOF is 50 € at the disbursal rate; the franc lost 20 %: it is worth 40 € now.
    record_repayment(
        project.id,
        staff,
        local_amount="32798",
        rate="819.946",
        paid_on=date(2026, 2, 10),
        idempotency_key="x1",
    )
    repayment = rows(Repayment)[0]
    assert repayment.settled == 5000 and repayment.credited == 5000
    assert repayment.currency_loss == 5000 - 4000
    assert (bal(a), bal(b), bal(c)) == (2500, 1667, 833)
    with pytest.raises(DomainError):
        record_repayment(
            project.id, staff, amount="50", paid_on=date(2026, 2, 10), idempotency_key="x2"
        )
    with pytest.raises(DomainError, match="less than one cent"):
        record_repayment(
            project.id,
            staff,
            local_amount="1",
            rate="655.957",
            paid_on=date(2026, 2, 10),
            idempotency_key="x3",
        )


def test_lenders_share_currency_losses_beyond_ten_percent(funded, staff) -> None:
    from tontine_loan.models import Repayment
    from tontine_loan.services import disburse, get_loan, positions, record_repayment

    project, (a, b, c) = funded(local_currency="XOF", currency_risk="shared_beyond_10pct")
    disburse(project.id, staff, disbursed_on=DISBURSED, rate="655.957")
    record_repayment(
        project.id,
        staff,
        local_amount="32798",
        rate="819.946",
        paid_on=date(2026, 2, 10),
        idempotency_key="x1",
    )
    repayment = rows(Repayment)[0]
    # Loss 10 € on 50 €: the partner covers 5 € (10 %), the lenders bear the other 5 €.
    assert (repayment.settled, repayment.credited, repayment.currency_loss) == (5000, 4500, 1000)
    assert (bal(a), bal(b), bal(c)) == (2250, 1500, 750)
    assert sum(p.outstanding for p in positions(get_loan(project.id))) == 60000 - 5000
    assert trial_balance() == {"EUR": 0}
    # A gain is not passed on: lenders get the value at the disbursal rate.
    record_repayment(
        project.id,
        staff,
        local_amount="32798",
        rate="600",
        paid_on=date(2026, 3, 10),
        idempotency_key="x2",
    )
    assert bal(a) == 2250 + 2500


def test_a_months_batch_is_recorded_at_once_or_not_at_all(funded, staff) -> None:
    from tontine.ledger.models import LedgerTransaction
    from tontine_loan.models import Repayment
    from tontine_loan.repayments import RepaymentEntry, record_repayments
    from tontine_loan.services import disburse

    first, (a, b, c) = funded()
    second, _ = funded()
    for project in (first, second):
        disburse(project.id, staff, disbursed_on=DISBURSED)
    paid = date(2026, 2, 10)
    good = [
        RepaymentEntry(first.id, paid, "feb", amount="50"),
        RepaymentEntry(second.id, paid, "feb", amount="50"),
    ]
    bad = RepaymentEntry(second.id, paid, "feb-extra", amount="9999")
    with pytest.raises(DomainError, match="more than"):
        record_repayments(staff, [*good, bad])
    assert rows(Repayment) == [] and rows(LedgerTransaction, kind="loan_repayment") == []
    recorded = record_repayments(staff, good)
    assert [r.project_id for r in recorded] == [first.id, second.id]
    assert (bal(a), bal(b), bal(c)) == (2500, 1667, 833)
    again = record_repayments(staff, good)
    assert [r.id for r in again] == [r.id for r in recorded]
    assert len(rows(LedgerTransaction, kind="loan_repayment")) == 2
    assert trial_balance() == {"EUR": 0}


def test_an_irregular_schedule_is_scaled_to_what_was_lent(make_loan, lend, staff) -> None:
    from datetime import timedelta as days

    from tontine.db import utcnow
    from tontine.projects.services import close_project
    from tontine_loan.services import disburse, get_loan

    project = make_loan(
        goal=600,
        funding="flexible",
        repayment_frequency="irregular",
        irregular_schedule="2026-04-01 100\n2026-07-01 200\n\n2026-12-01; 300",
    )
    assert project.terms["irregular_schedule"] == [
        ["2026-04-01", "100"],
        ["2026-07-01", "200"],
        ["2026-12-01", "300"],
    ]
    lend(project, "100")
    lend(project, "150")
    close_project(project.id, now=utcnow() + days(days=31))  # flexible: 250 of 600 € lent
    with pytest.raises(DomainError, match="first date must come after the disbursal"):
        disburse(project.id, staff, disbursed_on=date(2026, 4, 1))
    disburse(project.id, staff, disbursed_on=DISBURSED)
    rows = [(i.due, i.principal, i.interest) for i in get_loan(project.id).instalments]
    # 250 € in the proportions 1 : 2 : 3 → 41.67, 83.33, 125.00 (largest remainder, exact).
    assert rows == [
        (date(2026, 4, 1), 4167, 0),
        (date(2026, 7, 1), 8333, 0),
        (date(2026, 12, 1), 12500, 0),
    ]


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"repayment_frequency": "irregular"}, "needs its schedule"),
        ({"irregular_schedule": "2026-04-01 100"}, "only an irregular loan"),
        ({"repayment_frequency": "irregular", "irregular_schedule": "2026-04-01"}, "Line 1"),
        (
            {
                "repayment_frequency": "irregular",
                "irregular_schedule": "2026-07-01 1\n2026-04-01 1",
            },
            "in order",
        ),
        (
            {"repayment_frequency": "irregular", "irregular_schedule": "2026-04-01 -5"},
            "more than zero",
        ),
        (
            {"repayment_frequency": "irregular", "irregular_schedule": "2026-04-01 5\ntomorrow 5"},
            "Line 2",
        ),
        (
            {
                "repayment_frequency": "irregular",
                "irregular_schedule": "2026-04-01 5",
                "lender_rate": "3",
            },
            "interest-free",
        ),
    ],
)
def test_bad_irregular_schedules_are_refused(make_loan, terms, message) -> None:
    with pytest.raises(DomainError, match=message):
        make_loan(state="draft", **terms)


def test_partner_staff_get_one_reminder_a_week(funded, staff) -> None:
    from tontine.jobs.models import Job
    from tontine_loan.reminders import queue_weekly, send_reminders
    from tontine_loan.services import disburse, record_repayment

    project, _ = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    record_repayment(project.id, staff, amount="20", paid_on=date(2026, 2, 10), idempotency_key="p")
    queue_weekly(date(2026, 3, 9))
    queue_weekly(date(2026, 3, 11))  # same ISO week: still one job
    assert len(rows(Job, kind="loan_repayment_reminders")) == 1
    assert send_reminders({"today": "2026-03-09"}) == 1
    mail = rows(Job, kind="deliver_email")[-1].payload
    assert mail["to"] == staff.email and mail["subject"] == "Repayments due this week"
    assert "Aminata's vegetable stall (Aminata): €50.00" in mail["body"]  # due on 10 March
    assert (
        "behind on their repayments" in mail["body"] and "€30.00" in mail["body"]
    )  # 50 due, 20 paid
    assert "/partners/" in mail["body"]


def test_transfers_between_the_site_and_the_partner_settle_its_account(
    funded, staff, admin, partner
) -> None:
    from tontine_loan.partners import partner_position, settle
    from tontine_loan.services import disburse, record_repayment

    project, _ = funded()
    disburse(project.id, staff, disbursed_on=DISBURSED)
    assert partner_position(partner, "EUR").amount == 60000  # the site owes the disbursed loan
    with pytest.raises(DomainError, match="Only 600.00 EUR"):
        settle(
            admin,
            partner.id,
            amount="600.01",
            direction="to_partner",
            currency="EUR",
            reason="wire 1",
        )
    with pytest.raises(Forbidden):
        settle(
            staff, partner.id, amount="600", direction="to_partner", currency="EUR", reason="wire 1"
        )
    with pytest.raises(DomainError, match="checked"):
        settle(admin, partner.id, amount="600", direction="to_partner", currency="EUR", reason=" ")
    settle(admin, partner.id, amount="600", direction="to_partner", currency="EUR", reason="wire 1")
    record_repayment(project.id, staff, amount="50", paid_on=date(2026, 2, 10), idempotency_key="r")
    assert partner_position(partner, "EUR").amount == -5000  # the partner owes what it collected
    with pytest.raises(DomainError, match="Only 0.00 EUR"):
        settle(
            admin, partner.id, amount="1", direction="to_partner", currency="EUR", reason="wire 2"
        )
    settle(
        admin,
        partner.id,
        amount="50",
        direction="from_partner",
        currency="EUR",
        reason="statement of 12 Feb",
    )
    assert partner_position(partner, "EUR").amount == 0
    assert trial_balance() == {"EUR": 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"disbursed_on": date(1999, 12, 31)}, "real one"),
        ({"disbursed_on": date(9999, 1, 1)}, "real one"),
    ],
)
def test_absurd_disbursal_dates_are_refused(funded, staff, kwargs, message) -> None:
    from tontine_loan.services import disburse

    project, _ = funded()
    with pytest.raises(DomainError, match=message):
        disburse(project.id, staff, **kwargs)


def test_absurd_exchange_rates_are_refused(funded, staff) -> None:
    from tontine_loan.services import disburse

    project, _ = funded(local_currency="XOF")
    for rate in ("0", "-3", "1e12", "NaN", "abc"):
        with pytest.raises(DomainError, match="exchange rate"):
            disburse(project.id, staff, disbursed_on=DISBURSED, rate=rate)
