"""The loan funding model: minimum ticket, fixed or flexible funding, delinquency and default."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tontine.funding import CloseOutcome, ContributionRefused, FundingModel
from tontine.money import Money, MoneyError
from tontine.projects import states
from tontine_loan.schemas import LoanDetailsSchema, LoanTermsSchema

if TYPE_CHECKING:
    from tontine.payments.models import Contribution
    from tontine.projects.models import Project

DELINQUENT = "delinquent"
DEFAULTED = "defaulted"

DEFAULT_MIN_TICKET = "20"
DEFAULT_TICKET_STEP = "5"


def loan_config() -> dict[str, Any]:
    """The instance's ``[loan]`` table in config.toml (keys in lower case)."""
    return {str(k).lower(): v for k, v in (current_app.config.get("LOAN") or {}).items()}


def ticket_rules(currency: str) -> tuple[Money, Money]:
    """``(minimum ticket, step)`` from ``[loan] min_ticket`` and ``ticket_step``."""
    config = loan_config()
    try:
        minimum = Money.from_decimal(str(config.get("min_ticket", DEFAULT_MIN_TICKET)), currency)
        step = Money.from_decimal(str(config.get("ticket_step", DEFAULT_TICKET_STEP)), currency)
    except MoneyError as exc:
        raise ValueError(
            f"[loan] min_ticket and ticket_step must be amounts in {currency}: {exc}"
        ) from exc
    if minimum.amount <= 0 or step.amount <= 0:
        raise ValueError("[loan] min_ticket and ticket_step must be positive")
    return minimum, step


def lender_rate(terms: dict[str, Any]) -> Decimal:
    """The yearly rate to lenders as a fraction (terms store a percentage)."""
    return Decimal(str(terms.get("lender_rate") or "0")) / 100


class LoanFunding(FundingModel):
    """Micro-loans through field partners (Babyloan/Kiva), or business loans to a company.

    State table additions: a running loan that misses a payment becomes ``delinquent``; it
    returns to ``running`` once caught up, or goes straight to ``completed`` when repaid in
    full. ``defaulted`` (six months after the end of the term, or an admin's decision) is
    terminal: the outstanding amount is written off at once and to whoever bears it, and
    anything the partner recovers afterwards is still credited to the lenders as a
    recovery — the loan does not move back, so the books and the partner's default rate
    keep what happened.
    """

    key = "loan"
    label = _l("Loan")
    terms_schema = LoanTermsSchema
    contribution_schema = LoanDetailsSchema
    page_template = "loan/project_section.html"
    form_template = "loan/give_fields.html"
    terms_template = "loan/terms_fields.html"
    extra_transitions: Mapping[str, frozenset[str]] = MappingProxyType(
        {
            states.RUNNING: frozenset({DELINQUENT, DEFAULTED}),
            DELINQUENT: frozenset({states.RUNNING, states.COMPLETED, DEFAULTED}),
            DEFAULTED: frozenset(),
        }
    )
    state_labels: Mapping[str, Any] = MappingProxyType(
        {DELINQUENT: _l("Late repayments"), DEFAULTED: _l("Defaulted")}
    )

    def cap(self, project: Project) -> int | None:
        """Never more than the amount the borrower asked for."""
        return project.goal_amount

    def validate_contribution(
        self, project: Project, amount: Money, details: dict[str, Any]
    ) -> None:
        """A loan is at least the minimum ticket, in steps; closing the last gap is always allowed."""
        from tontine.projects.services import reserved

        minimum, step = ticket_rules(project.currency)
        left = project.goal_amount - reserved(project)
        if amount.amount == left:
            return
        if amount.amount < minimum.amount:
            raise ContributionRefused(
                _("The smallest loan is %(minimum)s.", minimum=str(minimum)), field="amount"
            )
        if amount.amount % step.amount:
            raise ContributionRefused(
                _(
                    "Lend in steps of %(step)s (for example %(example)s).",
                    step=str(step),
                    example=str(Money(minimum.amount + step.amount, minimum.currency)),
                ),
                field="amount",
            )

    def reserve(self, project: Project, contribution: Contribution) -> None:
        """A loan lent for a team needs the lender to be one of its members."""
        team_id = (contribution.details or {}).get("team_id")
        if team_id is None:
            return
        from tontine_loan.teams import is_member

        if not is_member(int(team_id), contribution.supporter_id):
            raise ContributionRefused(
                _("Join the team before lending on its behalf."), field="details.team_id"
            )

    def close(self, project: Project, raised: Money) -> CloseOutcome:
        """Fixed funding is all or nothing; flexible funding keeps whatever was raised."""
        if raised.amount >= project.goal_amount:
            return CloseOutcome.FUNDED
        if (project.terms or {}).get("funding") == "flexible" and raised.amount > 0:
            return CloseOutcome.FUNDED
        return CloseOutcome.FAILED

    def after_funding(self, project: Project) -> None:
        """Freeze the terms and the lenders' shares into a ``Loan`` (see services)."""
        from tontine_loan.services import open_loan

        open_loan(project)

    def listing_terms(self, project: Project) -> dict[str, Any]:
        """A schema.org ``LoanOrCredit`` for other instances, with Tontine's extra terms."""
        terms = project.terms or {}
        months = int(terms.get("term_months") or 0)
        listing: dict[str, Any] = {
            "@type": "LoanOrCredit",
            "amount": {
                "@type": "MonetaryAmount",
                "value": project.goal.decimal_string(),
                "currency": project.currency,
            },
            "currency": project.currency,
            "loanTerm": {"@type": "QuantitativeValue", "value": months, "unitCode": "MON"},
            "annualPercentageRate": float(Decimal(str(terms.get("lender_rate") or "0"))),
            "loanRepaymentForm": {
                "@type": "RepaymentSpecification",
                "numberOfLoanPayments": _payment_count(terms),
                "repaymentFrequency": terms.get("repayment_frequency", "monthly"),
                "repaymentMethod": terms.get("method", "zero_interest"),
            },
            "gracePeriod": f"P{int(terms.get('grace_months') or 0)}M",
            "fundingType": terms.get("funding", "fixed"),
            "lossLiability": terms.get("loss_liability", "lenders"),
            "currencyRisk": terms.get("currency_risk", "partner_covers"),
        }
        if terms.get("borrower_rate") is not None:
            listing["borrowerInterestRate"] = float(Decimal(str(terms["borrower_rate"])))
        if terms.get("local_currency"):
            listing["localCurrency"] = terms["local_currency"]
        if terms.get("disbursal_date"):
            listing["disbursalDate"] = terms["disbursal_date"]
        return listing


def _payment_count(terms: dict[str, Any]) -> int | None:
    months = int(terms.get("term_months") or 0)
    frequency = terms.get("repayment_frequency", "monthly")
    if frequency == "monthly":
        return months
    if frequency == "quarterly":
        return -(-months // 3)
    if frequency == "at_end":
        return 1
    return len(terms.get("irregular_schedule") or []) or None
