"""An irregular repayment schedule uploaded as a CSV file on the loan form (multipart)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"


@pytest.fixture
def staff_client(loan_app: Any, staff: Any, login: Any) -> Any:
    client = loan_app.test_client()
    login(client, staff)
    return client


def listing(partner: Any, upload: bytes | None, filename: str = "schedule.csv", **extra: str) -> dict:
    data: dict[str, Any] = {
        "title": "A mill for the cooperative",
        "summary": "Millet flour in Kaolack",
        "story": "The cooperative grinds millet for the market.",
        "place": "Kaolack",
        "country": "SN",
        "category": "business",
        "goal": "600",
        "duration_days": "30",
        "funding_model": "loan",
        "person_name": "Mariama",
        "person_consent": "y",
        "terms.term_months": "12",
        "terms.partner_id": str(partner.id),
        "terms.lender_rate": "0",
        "terms.borrower_rate": "24",
        "terms.repayment_frequency": "irregular",
        "terms.funding": "fixed",
        "terms.loss_liability": "lenders",
        "terms.currency_risk": "partner_covers",
        **extra,
    }
    if upload is not None:
        data["terms.irregular_schedule"] = (io.BytesIO(upload), filename)
    return data


def project_count() -> int:
    from tontine.db import db
    from tontine.projects.models import Project

    return db.session.scalar(select(func.count()).select_from(Project)) or 0


def post(form_post: Any, client: Any, data: dict) -> Any:
    return form_post(
        client,
        "/projects/new?model=loan",
        "/projects/new",
        data=data,
        content_type="multipart/form-data",
    )


def test_the_form_offers_a_file_for_the_schedule(staff_client: Any) -> None:
    page = staff_client.get("/projects/new?model=loan").get_data(as_text=True)
    assert 'type="file" id="terms-irregular_schedule-file" name="terms.irregular_schedule"' in page
    assert 'enctype="multipart/form-data"' in page


def test_an_uploaded_csv_becomes_the_loans_irregular_schedule(
    staff_client: Any, partner: Any, form_post: Any
) -> None:
    from tontine.db import db
    from tontine.projects.models import Project

    csv = "\ufeffdate,amount\r\n2026-04-01,100\r\n\r\n2026-07-01,\"200.50\"\r\n2026-12-01;300\r\n"
    response = post(form_post, staff_client, listing(partner, csv.encode()))
    assert response.status_code == 303, response.get_data(as_text=True)
    project = db.session.scalars(select(Project)).one()
    assert project.terms["repayment_frequency"] == "irregular"
    assert project.terms["irregular_schedule"] == [
        ["2026-04-01", "100"],
        ["2026-07-01", "200.5"],
        ["2026-12-01", "300"],
    ]
    # The owner's form shows the schedule back in the textarea, ready to edit.
    page = staff_client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert "2026-07-01 200.5" in page


def test_a_file_replaces_what_the_textarea_says(
    staff_client: Any, partner: Any, form_post: Any
) -> None:
    from tontine.db import db
    from tontine.projects.models import Project

    data = listing(partner, None)
    data["terms.irregular_schedule"] = [(io.BytesIO(b"2026-05-01,600\n"), "s.csv"), "not a schedule"]
    response = post(form_post, staff_client, data)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert db.session.scalars(select(Project)).one().terms["irregular_schedule"] == [
        ["2026-05-01", "600"]
    ]


def test_a_bad_line_is_named_and_nothing_is_saved(
    staff_client: Any, partner: Any, form_post: Any
) -> None:
    csv = b"date,amount\n2026-04-01,100\n01/07/2026,200\n"
    response = post(form_post, staff_client, listing(partner, csv))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 3: write a date and an amount" in body
    assert project_count() == 0


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (PNG, "The file photo.png is not a text file (UTF-8)."),
        (b"2026-04-01,100\n\x00\x01", "The file photo.png is not a text file (UTF-8)."),
        (b"2026-04-01,100\n" * 5000, "The file photo.png is too large: at most 64 kB."),
    ],
)
def test_binary_or_huge_files_are_refused_on_the_form(
    staff_client: Any, partner: Any, form_post: Any, upload: bytes, message: str
) -> None:
    response = post(form_post, staff_client, listing(partner, upload, filename="photo.png"))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert project_count() == 0


def test_an_empty_file_input_leaves_the_textarea_in_charge(
    staff_client: Any, partner: Any, form_post: Any
) -> None:
    from tontine.db import db
    from tontine.projects.models import Project

    data = listing(partner, None)
    data["terms.irregular_schedule"] = [(io.BytesIO(b""), ""), "2026-04-01 250\n2026-08-01 350"]
    response = post(form_post, staff_client, data)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert db.session.scalars(select(Project)).one().terms["irregular_schedule"] == [
        ["2026-04-01", "250"],
        ["2026-08-01", "350"],
    ]
