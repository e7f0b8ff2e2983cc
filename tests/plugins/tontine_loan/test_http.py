"""End to end through HTTP: a partner lists a loan, lenders fund it, it is disbursed and repaid."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tontine.hookspecs import hookimpl
from tontine.testing import InstantProvider, csrf_token_from

KEY_RE = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


class InstantPlugin:
    @hookimpl
    def register_payment_providers(self):
        return [InstantProvider()]


@pytest.fixture
def site(make_app):
    app = make_app(
        plugins=["loan", "balance"],
        extra_plugins=[InstantPlugin()],
        PAYMENT_PROVIDERS=["instant", "balance"],
    )
    with app.app_context():
        yield app


def client_for(app, user, login):
    client = app.test_client()
    login(client, user)
    return client


def page_key(html: str) -> str:
    match = KEY_RE.search(html)
    assert match, "no idempotency key on the page"
    return match.group(1)


def give(client, project_id: int, amount: str, provider: str = "instant"):
    url = f"/projects/{project_id}/give"
    html = client.get(url).get_data(as_text=True)
    return client.post(
        url,
        data={
            "csrf_token": csrf_token_from(html),
            "idempotency_key": page_key(html),
            "amount": amount,
            "provider": provider,
            "refund_to": "payment_method",
        },
    )


def repay(client, project_id: int, **fields):
    url = f"/loans/{project_id}/repayments"
    html = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html), "idempotency_key": page_key(html), **fields}
    return client.post(url, data=data)


def test_list_fund_disburse_repay_and_relend(site, make_user, login, form_post) -> None:
    from sqlalchemy import select

    from tontine.db import db
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance, trial_balance
    from tontine.projects.models import Project
    from tontine_loan.models import FieldPartner
    from tontine_loan.services import review_standing

    admin = make_user(roles=("admin",))
    moderator = make_user(roles=("moderator",))
    staff = make_user(email="awa@partner.example")
    admin_client = client_for(site, admin, login)

    # An admin registers the field partner and adds its staff member.
    response = form_post(
        admin_client,
        "/partners/new",
        data={
            "name": "Sahel Microfinance",
            "country": "sn",
            "borrower_rate": "24",
            "risk_rating": "2",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    partner = db.session.scalars(select(FieldPartner)).one()
    assert partner.country == "SN"
    response = form_post(
        admin_client,
        f"/partners/{partner.id}",
        f"/partners/{partner.id}/staff",
        data={"email": "awa@partner.example"},
    )
    assert response.status_code == 303

    # The partner's staff list a loan for a borrower.
    staff_client = client_for(site, staff, login)
    page = staff_client.get("/projects/new?model=loan").get_data(as_text=True)
    assert 'name="terms.term_months"' in page and "Sahel Microfinance" in page
    assert "Interest to lenders (% a year)" in page
    response = form_post(
        staff_client,
        "/projects/new?model=loan",
        "/projects/new",
        data={
            "title": "A sewing machine for Fatou",
            "summary": "Tailoring in Thiès",
            "story": "Fatou sews school uniforms.",
            "place": "Thiès",
            "country": "SN",
            "category": "business",
            "goal": "300",
            "duration_days": "30",
            "funding_model": "loan",
            "person_name": "Fatou",
            "terms.term_months": "3",
            "terms.partner_id": str(partner.id),
            "terms.lender_rate": "0",
            "terms.borrower_rate": "24",
            "terms.repayment_frequency": "monthly",
            "terms.funding": "fixed",
            "terms.loss_liability": "lenders",
            "terms.currency_risk": "partner_covers",
        },
    )
    assert response.status_code == 400 and "Confirm that the person agreed" in response.get_data(
        as_text=True
    )
    response = form_post(
        staff_client,
        "/projects/new?model=loan",
        "/projects/new",
        data={
            "title": "A sewing machine for Fatou",
            "summary": "Tailoring in Thiès",
            "story": "Fatou sews school uniforms.",
            "place": "Thiès",
            "country": "SN",
            "category": "business",
            "goal": "300",
            "duration_days": "30",
            "funding_model": "loan",
            "person_name": "Fatou",
            "person_consent": "y",
            "terms.term_months": "3",
            "terms.partner_id": str(partner.id),
            "terms.lender_rate": "0",
            "terms.borrower_rate": "24",
            "terms.repayment_frequency": "monthly",
            "terms.funding": "fixed",
            "terms.loss_liability": "lenders",
            "terms.currency_risk": "partner_covers",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    project = db.session.scalars(select(Project)).one()
    assert project.person.name == "Fatou" and project.person.user_id is None
    assert project.person.consent_recorded_by == staff.id
    assert project.terms["partner_id"] == partner.id and project.terms["method"] == "zero_interest"
    assert (
        form_post(staff_client, "/projects/mine", f"/projects/{project.id}/submit").status_code
        == 303
    )

    # A moderator approves it; it shows its terms and expected schedule.
    moderator_client = client_for(site, moderator, login)
    assert (
        form_post(
            moderator_client, "/projects/moderation", f"/projects/{project.id}/approve"
        ).status_code
        == 303
    )
    html = site.test_client().get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Expected repayment schedule" in html and "Sahel Microfinance" in html
    french = site.test_client().get(f"/projects/{project.id}", headers={"Accept-Language": "fr"})
    assert "Échéancier prévu" in french.get_data(as_text=True)
    assert "24 %" in html  # the borrower's rate is shown

    # Three lenders fund it; a ticket below the minimum is refused with a message.
    lenders = [make_user(name=f"Lender {n}") for n in (1, 2, 3)]
    clients = [client_for(site, lender, login) for lender in lenders]
    refused = give(clients[0], project.id, "10")
    assert refused.status_code == 422 and "smallest loan" in refused.get_data(as_text=True)
    for client, amount in zip(clients, ("150", "100", "50"), strict=True):
        assert give(client, project.id, amount).status_code == 303
    db.session.expire_all()
    assert db.session.get(Project, project.id).state == "funded"

    # Lenders cannot disburse; the partner's staff can.
    assert clients[0].get(f"/loans/{project.id}/disburse").status_code == 403
    bad = form_post(
        staff_client, f"/loans/{project.id}/disburse", data={"disbursed_on": "not a date"}
    )
    assert bad.status_code == 400
    response = form_post(
        staff_client, f"/loans/{project.id}/disburse", data={"disbursed_on": "2026-01-05"}
    )
    assert response.status_code == 303

    # A partial repayment, a missed month, then a late one that catches up.
    response = repay(staff_client, project.id, paid_on="2026-02-05", amount="60")
    assert response.status_code == 303
    assert review_standing(project.id, date(2026, 2, 10)) == "delinquent"
    response = repay(staff_client, project.id, paid_on="2026-03-20", amount="abc")
    assert response.status_code == 400 and "Enter an amount" in response.get_data(as_text=True)
    response = repay(staff_client, project.id, paid_on="2026-03-20", amount="140")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Project, project.id).state == "running"
    balances = [balance(AccountKind.SUPPORTER_BALANCE, u.id, "EUR").amount for u in lenders]
    assert balances == [10000, 6667, 3333]
    assert trial_balance() == {"EUR": 0}

    # Each lender sees their own share on the loan's page.
    page = clients[1].get(f"/projects/{project.id}").get_data(as_text=True)
    assert "You lent €100.00: €66.67 repaid so far, €33.33 to come." in page

    # The lender's portfolio and its CSV.
    html = clients[0].get("/my/loans").get_data(as_text=True)
    assert "A sewing machine for Fatou" in html and "€100.00" in html and "€50.00" in html
    csv = clients[0].get("/my/loans.csv").get_data(as_text=True)
    assert f"{project.id},A sewing machine for Fatou,running,EUR,150.00,100.00,50.00,0.00" in csv

    # An admin records the transfer that settles the partner's account (300 € lent, 200 € collected).
    page = admin_client.get(f"/partners/{partner.id}/dashboard").get_data(as_text=True)
    assert "The site owes Sahel Microfinance €100.00" in page
    response = form_post(
        admin_client,
        f"/partners/{partner.id}/dashboard",
        f"/partners/{partner.id}/transfers",
        data={"direction": "to_partner", "amount": "100", "reason": "wire of 21 March"},
    )
    assert response.status_code == 303
    assert "Nothing is owed either way." in admin_client.get(
        f"/partners/{partner.id}/dashboard"
    ).get_data(as_text=True)

    # The partner's page computes its figures.
    html = site.test_client().get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "Delinquency rate" in html and "24.0 %" in html

    # Re-lending from the balance.
    second = staff_client  # the same partner lists another loan
    from tontine.projects.services import create_project, walk_to

    other = walk_to(
        create_project(
            staff,
            {
                "title": "Seeds for Moussa",
                "story": "Millet.",
                "goal": "200",
                "funding_model": "loan",
                "category": "food",
                "terms": {"term_months": 6, "partner_id": partner.id},
            },
        ),
        "open",
    )
    assert give(clients[0], other.id, "100", provider="balance").status_code == 303
    assert balance(AccountKind.SUPPORTER_BALANCE, lenders[0].id, "EUR").amount == 0
    dashboard = second.get(f"/partners/{partner.id}/dashboard")
    assert dashboard.status_code == 200 and "Seeds for Moussa" in dashboard.get_data(as_text=True)
    news = form_post(
        staff_client,
        f"/projects/{project.id}/updates/new",
        data={"title": "The first uniforms", "body": "Forty uniforms for the new school year."},
    )
    assert news.status_code == 303
    assert "The first uniforms" in site.test_client().get(f"/projects/{project.id}").get_data(
        as_text=True
    )
    assert f'href="/partners/{partner.id}/dashboard"' in second.get("/").get_data(as_text=True)
    assert clients[1].get(f"/partners/{partner.id}/dashboard").status_code == 403


def test_pages_refuse_strangers_and_bad_ids(site, make_user, login) -> None:
    stranger = client_for(site, make_user(), login)
    assert stranger.get("/partners/999").status_code == 404
    assert stranger.get("/partners/new").status_code == 403
    assert stranger.get("/loans/999/repayments").status_code == 404
    assert site.test_client().get("/my/loans").status_code in (302, 401)
    assert site.test_client().get("/partners/").status_code == 200


def test_a_lender_gives_part_of_the_balance_to_the_site(site, make_user, login, form_post) -> None:
    from tontine.db import unit_of_work
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import balance, credit, debit, post, trial_balance
    from tontine.money import Money

    lender = make_user()
    with unit_of_work():
        post(
            "top_up",
            [
                debit(AccountKind.PROVIDER_CLEARING, "test", Money(3000, "EUR")),
                credit(AccountKind.SUPPORTER_BALANCE, lender.id, Money(3000, "EUR")),
            ],
        )
    client = client_for(site, lender, login)
    too_much = form_post(client, "/my/loans", "/my/loans/donate", data={"amount": "31"})
    assert too_much.status_code == 303
    assert "Your balance is 30.00 EUR" in client.get("/my/loans").get_data(as_text=True)
    assert (
        form_post(client, "/my/loans", "/my/loans/donate", data={"amount": "abc"}).status_code
        == 303
    )
    assert (
        form_post(client, "/my/loans", "/my/loans/donate", data={"amount": "10"}).status_code == 303
    )
    assert balance(AccountKind.SUPPORTER_BALANCE, lender.id, "EUR").amount == 2000
    assert balance(AccountKind.DONATIONS, "platform", "EUR").amount == 1000
    assert trial_balance() == {"EUR": 0}


def test_browse_loans_by_country_sector_partner_and_time_left(
    site, make_user, make_project
) -> None:
    from tontine_loan.partners import add_staff, create_partner

    admin = make_user(roles=("admin",))
    sahel = create_partner(admin, name="Sahel", country="SN")
    andes = create_partner(admin, name="Andes", country="PE")
    staff = make_user()
    add_staff(admin, sahel.id, staff)
    add_staff(admin, andes.id, staff)

    def loan(title, partner, country, category, days, gender="woman"):
        return make_project(
            owner=staff,
            funding_model="loan",
            goal=300,
            title=title,
            country=country,
            category=category,
            days=days,
            terms={"term_months": 6, "partner_id": partner.id, "borrower_gender": gender},
        )

    loan("Seeds for Moussa", sahel, "SN", "food", 20, gender="man")
    loan("A loom for Rosa", andes, "PE", "business", 5)
    loan("An oven for Khady", sahel, "SN", "business", 10)
    client = site.test_client()
    html = client.get("/loans/").get_data(as_text=True)
    assert (
        html.index("A loom for Rosa")
        < html.index("An oven for Khady")
        < html.index("Seeds for Moussa")
    )
    html = client.get("/loans/?country=sn&category=business").get_data(as_text=True)
    assert (
        "An oven for Khady" in html
        and "Seeds for Moussa" not in html
        and "A loom for Rosa" not in html
    )
    html = client.get(f"/loans/?partner={andes.id}").get_data(as_text=True)
    assert "A loom for Rosa" in html and "Khady" not in html
    html = client.get("/loans/?gender=man").get_data(as_text=True)
    assert "Seeds for Moussa" in html and "Khady" not in html and "Rosa" not in html
    assert client.get("/loans/?gender=robot").status_code == 400
    assert client.get("/loans/?sort=cheapest").status_code == 400
    assert client.get("/loans/?country=Senegal").status_code == 400
    assert client.get("/loans/?partner=x").status_code == 400


GARBAGE = [
    "",
    " ",
    "-1",
    "0",
    "1e400",
    "NaN",
    "9" * 40,
    "<script>x</script>",
    "2026-13-45",
    "€",
    "\x00",
    "٣",
]


def test_garbage_in_every_form_gets_a_4xx_or_a_redirect_never_a_500(
    site, make_user, login, form_post
) -> None:
    from tontine_loan.partners import add_staff, create_partner

    admin = make_user(roles=("admin",))
    partner = create_partner(admin, name="Sahel", country="SN")
    add_staff(admin, partner.id, admin)
    client = client_for(site, admin, login)
    forms = {
        "/partners/new": (
            "/partners/new",
            ["name", "country", "borrower_rate", "risk_rating", "website"],
        ),
        f"/partners/{partner.id}/staff": (f"/partners/{partner.id}", ["email"]),
        f"/partners/{partner.id}/rating": (f"/partners/{partner.id}", ["risk_rating", "reason"]),
        f"/partners/{partner.id}/transfers": (
            f"/partners/{partner.id}/dashboard",
            ["direction", "amount", "reason"],
        ),
        "/teams/": ("/teams/", ["name", "description"]),
        "/my/loans/auto": (
            "/my/loans/auto",
            ["countries", "categories", "max_risk_rating", "idle_days"],
        ),
        "/my/loans/donate": ("/my/loans", ["amount"]),
    }
    for post_url, (page, names) in forms.items():
        for value in GARBAGE:
            response = form_post(client, page, post_url, data=dict.fromkeys(names, value))
            assert response.status_code < 500, (post_url, value, response.status_code)
    for query in (
        "country=%00",
        "category=%FF",
        "partner=99999999999999999999",
        "sort=" + "x" * 500,
    ):
        assert client.get(f"/loans/?{query}").status_code < 500
    for body in (
        None,
        [],
        {"repayments": "x"},
        {"repayments": [{"project_id": 2**70}]},
        {"repayments": [[]]},
    ):
        response = client.post("/api/v1/loans/repayments", json=body)
        assert response.status_code < 500, (body, response.status_code)
    for url in (
        "/loans/99999999999999999999/repayments",
        "/partners/99999999999999999999",
        "/teams/99999999999999999999",
        "/api/v1/loans/99999999999999999999/schedule",
    ):
        assert client.get(url).status_code == 404, url


def test_an_admin_declares_a_default_from_the_loan_page(
    site, make_user, make_project, login, form_post
) -> None:
    from datetime import date as day

    from tontine.db import db
    from tontine.projects.models import Project
    from tontine_loan.partners import add_staff, create_partner
    from tontine_loan.services import disburse

    admin = make_user(roles=("admin",))
    partner = create_partner(admin, name="Sahel", country="SN")
    staff = make_user()
    add_staff(admin, partner.id, staff)
    project = make_project(
        owner=staff,
        funding_model="loan",
        goal=100,
        terms={"term_months": 6, "partner_id": partner.id},
    )
    lender = client_for(site, make_user(), login)
    assert give(lender, project.id, "100").status_code == 303
    disburse(project.id, staff, disbursed_on=day(2026, 1, 10))
    staff_client = client_for(site, staff, login)
    assert "Declare the default" not in staff_client.get(f"/projects/{project.id}").get_data(
        as_text=True
    )
    admin_client = client_for(site, admin, login)
    page = f"/projects/{project.id}"
    url = f"/loans/{project.id}/default"
    response = form_post(admin_client, page, url, data={"reason": " "})
    assert response.status_code == 303 and "running" == db.session.get(Project, project.id).state
    assert form_post(staff_client, page, url, data={"reason": "gone"}).status_code == 403
    response = form_post(admin_client, page, url, data={"reason": "the workshop burnt down"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Project, project.id).state == "defaulted"
