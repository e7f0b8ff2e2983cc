"""Fixtures for the loan plugin: a lending site with an instant test provider and a partner."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tontine.hookspecs import hookimpl
from tontine.testing import InstantProvider


class InstantPlugin:
    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantProvider()]


@pytest.fixture
def make_loan_app(make_app: Callable[..., Any]) -> Callable[..., Any]:
    def factory(**config: Any) -> Any:
        return make_app(
            plugins=["loan"],
            extra_plugins=[InstantPlugin()],
            PAYMENT_PROVIDERS=["instant"],
            **config,
        )

    return factory


@pytest.fixture
def loan_app(make_loan_app: Callable[..., Any]) -> Iterator[Any]:
    app = make_loan_app()
    with app.app_context():
        yield app


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    return make_user(roles=("admin",))


@pytest.fixture
def partner(loan_app: Any, admin: Any) -> Any:
    from tontine_loan.partners import create_partner

    return create_partner(
        admin, name="Sahel Microfinance", country="SN", borrower_rate="24", risk_rating=3
    )


@pytest.fixture
def staff(partner: Any, admin: Any, make_user: Callable[..., Any]) -> Any:
    from tontine_loan.partners import add_staff

    user = make_user(roles=("supporter",), name="Awa (partner staff)")
    add_staff(admin, partner.id, user)
    return user


@pytest.fixture
def make_loan(make_project: Callable[..., Any], staff: Any, partner: Any) -> Callable[..., Any]:
    """``make_loan(goal=..., **terms)``: an open loan listed by the partner's staff."""

    def factory(goal: int = 600, state: str = "open", **terms: Any) -> Any:
        terms = {"term_months": 12, "partner_id": partner.id, **terms}
        project = make_project(
            owner=staff,
            funding_model="loan",
            goal=goal,
            terms=terms,
            state=state,
            title="Aminata's vegetable stall",
            person_name="Aminata",
            place="Thiès",
            country="SN",
            category="food",
        )
        return project

    return factory


_keys = itertools.count(1)


@pytest.fixture
def lend(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """``lend(project, amount, lender=None, **kw)`` → the confirmed contribution."""
    from tontine.payments.services import contribute

    def do_lend(project: Any, amount: str, lender: Any = None, **kw: Any) -> Any:
        lender = lender or make_user()
        contribution, _payment, _ = contribute(
            project_id=project.id,
            supporter=lender,
            amount=amount,
            provider_key="instant",
            idempotency_key=f"lend-{next(_keys)}",
            return_url="/",
            **kw,
        )
        return contribution

    return do_lend


@pytest.fixture(params=["sqlite", "postgres"])
def loan_db_app(request: pytest.FixtureRequest, make_loan_app: Callable[..., Any]) -> Iterator[Any]:
    """The lending site on SQLite, then on PostgreSQL (``TONTINE_TEST_DATABASE_URL``)."""
    app = make_loan_app(database=request.param)
    with app.app_context():
        yield app
