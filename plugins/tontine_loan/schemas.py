"""marshmallow schemas of the loan model: a loan's terms and a loan's details at checkout.

They accept what HTML forms send (strings, empty fields) as well as JSON from the API, and
store only JSON-friendly values (decimal strings, ISO dates) because terms live in a JSON
column. The loan amount is the project's goal; everything else a lender must know is here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from tontine.funding import drop_blanks
from tontine.money import known_currencies
from tontine_loan.schedule import DAY_COUNTS, METHODS

FREQUENCIES = ("monthly", "quarterly", "at_end", "irregular")
LOSS_LIABILITY = ("lenders", "partner")
CURRENCY_RISK = ("partner_covers", "shared_beyond_10pct")
FUNDING = ("fixed", "flexible")
#: Who borrows, for lenders who choose (Kiva and Babyloan show it): shown only with consent,
#: like the borrower's name and photo.
GENDERS = ("woman", "man", "group")
MAX_TERM_MONTHS = 360


def _schedule_cells(line: str) -> list[str]:
    """A line's cells: ``;``, tab or space separated, or a CSV ``date,amount`` (quotes dropped)."""
    cells = line.replace(";", " ").replace("\t", " ").split()
    if len(cells) == 1 and "," in cells[0]:
        cells = cells[0].split(",")
    return [cell.strip().strip('"').strip("'").strip() for cell in cells]


def parse_irregular(text: str) -> list[list[str]]:
    """``"2026-03-01 100"`` per line (or ``;`` / tab separated, or CSV ``2026-03-01,100``)
    → ``[[date, amount], …]``. The same for the textarea and an uploaded CSV file, which may
    start with a header line (``date,amount``); every refusal names its line.

    Amounts are the planned principal of each instalment; they are scaled to what was lent.
    """
    rows: list[list[str]] = []
    seen_first = False
    for number, line in enumerate(text.splitlines(), start=1):
        cells = _schedule_cells(line)
        if not any(cells):
            continue
        first, seen_first = not seen_first, True
        if first and not any(ch.isdigit() for ch in line):
            continue  # a header line ("date,amount")
        if len(rows) >= MAX_TERM_MONTHS:
            raise ValidationError(
                _(
                    "Line %(n)d: a schedule has at most %(max)d dates.",
                    n=number,
                    max=MAX_TERM_MONTHS,
                ),
                "irregular_schedule",
            )
        valid = len(cells) == 2
        amount = cells[1].replace(",", ".") if valid else ""
        if valid:
            try:
                date.fromisoformat(cells[0])
                valid = Decimal(amount).is_finite()
            except (ValueError, ArithmeticError):
                valid = False
        if not valid:
            raise ValidationError(
                _("Line %(n)d: write a date and an amount, e.g. “2026-03-01 150”.", n=number),
                "irregular_schedule",
            )
        rows.append([cells[0], amount])
    return rows


def _percent(maximum: int, label: Any) -> fields.Decimal:
    return fields.Decimal(
        places=None,
        validate=validate.Range(min=0, max=maximum, error=label),
        error_messages={"invalid": _l("Enter a percentage, e.g. 0 or 4.5.")},
    )


class LoanTermsSchema(Schema):
    """A loan's terms. Rates are percentages a year (``"4.5"`` for 4.5 %)."""

    class Meta:
        unknown = RAISE

    term_months = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(
            min=1, max=MAX_TERM_MONTHS, error=_l("The term is 1 to 360 months.")
        ),
        error_messages={
            "required": _l("Say over how many months the loan is repaid."),
            "invalid": _l("The term is a whole number of months."),
        },
    )
    repayment_frequency = fields.String(
        load_default="monthly",
        validate=validate.OneOf(
            FREQUENCIES,
            error=_l("Repayments are monthly, quarterly, at the end, or on an irregular schedule."),
        ),
    )
    grace_months = fields.Integer(
        load_default=0,
        strict=False,
        validate=validate.Range(
            min=0, max=MAX_TERM_MONTHS - 1, error=_l("The grace period is a number of months.")
        ),
        error_messages={"invalid": _l("The grace period is a whole number of months.")},
    )
    disbursal_date = fields.Date(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": _l("Give the disbursal date as YYYY-MM-DD.")},
    )
    partner_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        error_messages={"invalid": _l("Choose a field partner from the list.")},
    )
    loss_liability = fields.String(
        load_default="lenders",
        validate=validate.OneOf(
            LOSS_LIABILITY, error=_l("A default is borne by the lenders or by the partner.")
        ),
    )
    currency_risk = fields.String(
        load_default="partner_covers",
        validate=validate.OneOf(
            CURRENCY_RISK,
            error=_l(
                "The partner covers currency losses, or losses beyond 10 % are shared with lenders."
            ),
        ),
    )
    lender_rate = _percent(100, _l("The interest rate to lenders is between 0 and 100 %."))
    borrower_rate = _percent(200, _l("The borrower's interest rate is between 0 and 200 %."))
    method = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(
            METHODS, error=_l("Repayments are an annuity, equal principal, or interest-free.")
        ),
    )
    day_count = fields.String(
        load_default="30/360",
        validate=validate.OneOf(DAY_COUNTS, error=_l("Interest is counted 30/360 or actual/365.")),
    )
    funding = fields.String(
        load_default="fixed",
        validate=validate.OneOf(
            FUNDING, error=_l("Funding is fixed (refunded unless fully funded) or flexible.")
        ),
    )
    borrower_gender = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(GENDERS, error=_l("The borrower is a woman, a man, or a group.")),
    )
    local_currency = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(
            sorted(known_currencies()),
            error=_l("The local currency is an ISO 4217 code, e.g. XOF."),
        ),
    )
    irregular_schedule = fields.List(
        fields.Tuple(
            (
                fields.Date(),
                fields.Decimal(
                    places=None,
                    allow_nan=False,
                    validate=validate.Range(
                        min=0,
                        min_inclusive=False,
                        max=100_000_000,
                        error=_l(
                            "Each part of the schedule is more than zero and at most 100,000,000."
                        ),
                    ),
                ),
            )
        ),
        load_default=None,
        allow_none=True,
        validate=validate.Length(
            min=1, max=MAX_TERM_MONTHS, error=_l("A schedule has 1 to 360 dates.")
        ),
        error_messages={"invalid": _l("Write one instalment per line: a date and an amount.")},
    )
    duration_days = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=1, max=120, error=_l("Fundraising lasts 1 to 120 days.")),
    )

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        data = drop_blanks(data)
        if isinstance(data, dict):
            data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
            for key in ("lender_rate", "borrower_rate"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].replace(",", ".").rstrip("%").strip()
            if isinstance(data.get("local_currency"), str):
                data["local_currency"] = data["local_currency"].upper()
            if isinstance(data.get("irregular_schedule"), str):
                data["irregular_schedule"] = parse_irregular(data["irregular_schedule"])
        return data

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kw: Any) -> None:
        term = data.get("term_months") or 0
        if data.get("grace_months", 0) >= term:
            raise ValidationError(
                _("The grace period must be shorter than the term."), "grace_months"
            )
        rate = data.get("lender_rate") or Decimal(0)
        if data.get("method") == "zero_interest" and rate != 0:
            raise ValidationError(
                _("An interest-free loan has a rate of 0 % to lenders."), "method"
            )
        if data.get("loss_liability") == "partner" and data.get("partner_id") is None:
            raise ValidationError(
                _("Only a loan through a field partner can have the partner bear defaults."),
                "loss_liability",
            )
        if data.get("repayment_frequency") == "irregular" and rate != 0:
            raise ValidationError(
                _("Irregular schedules are for interest-free loans."), "repayment_frequency"
            )
        planned = data.get("irregular_schedule")
        if (data.get("repayment_frequency") == "irregular") != bool(planned):
            raise ValidationError(
                _("An irregular loan needs its schedule, and only an irregular loan has one."),
                "irregular_schedule",
            )
        if planned:
            dates = [due for due, _part in planned]
            if any(b <= a for a, b in pairwise(dates)):
                raise ValidationError(
                    _("List the dates in order, each once."), "irregular_schedule"
                )
        partner_id = data.get("partner_id")
        if partner_id is not None:
            from tontine_loan.partners import partner_exists

            if not partner_exists(partner_id):
                raise ValidationError(_("Choose a field partner from the list."), "partner_id")

    @post_load
    def _store(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        """Fill defaults and keep only JSON values (decimal strings, ISO dates)."""
        rate = data.get("lender_rate") or Decimal(0)
        if data.get("method") is None:
            data["method"] = "zero_interest" if rate == 0 else "annuity"
        for key in ("lender_rate", "borrower_rate"):
            if data.get(key) is not None:
                data[key] = format(Decimal(data[key]).normalize(), "f")
        data.setdefault("lender_rate", "0")
        if data.get("irregular_schedule"):
            data["irregular_schedule"] = [
                [due.isoformat(), format(Decimal(part).normalize(), "f")]
                for due, part in data["irregular_schedule"]
            ]
        if isinstance(data.get("disbursal_date"), date):
            data["disbursal_date"] = data["disbursal_date"].isoformat()
        for key in (
            "borrower_gender",
            "disbursal_date",
            "partner_id",
            "local_currency",
            "duration_days",
            "borrower_rate",
            "irregular_schedule",
        ):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class LoanDetailsSchema(Schema):
    """What a lender may add at checkout: the lending team the loan counts for."""

    class Meta:
        unknown = RAISE

    team_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        error_messages={"invalid": _l("Choose one of your teams.")},
    )

    @pre_load
    def _from_form(self, data: Any, **_kw: Any) -> Any:
        data = drop_blanks(data)
        if isinstance(data, dict) and data.get("team_id") in ("none", "0", 0):
            data = {**data, "team_id": None}
        return data

    @post_load
    def _store(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        if data.get("team_id") is None:
            data.pop("team_id", None)
        return data
