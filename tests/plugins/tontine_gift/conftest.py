"""Gift-plugin test set-up: a site with only the gift model and two test payment providers.

``instant`` succeeds at once (and refunds at once); ``later`` leaves the payment pending so
a test can fail or succeed it with a provider event, as a webhook would.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tontine.hookspecs import hookimpl
from tontine.payments.provider import StartResult
from tontine.payments.states import PaymentState
from tontine.testing import InstantProvider


class Later(InstantProvider):
    key = "later"
    label = "Later"

    def start(self, payment: Any, return_url: str) -> StartResult:
        return StartResult(provider_ref=f"later-{payment.id}", state=PaymentState.PENDING)


class TestProviders:
    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantProvider(), Later()]


@pytest.fixture
def gift_site(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """``gift_site(database="sqlite")`` → an app with the gift model and test providers."""

    def build(database: str = "sqlite", **config: Any) -> Any:
        return make_app(
            plugins=["gift"],
            extra_plugins=[TestProviders()],
            database=database,
            PAYMENT_PROVIDERS=["instant", "later"],
            **config,
        )

    return build


@pytest.fixture
def site(gift_site: Callable[..., Any]) -> Any:
    app = gift_site()
    with app.app_context():
        yield app


@pytest.fixture
def app(site: Any) -> Any:
    """The gift site stands in for the default ``app`` (so ``client`` talks to it)."""
    return site


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_site(request: pytest.FixtureRequest, gift_site: Callable[..., Any]) -> Any:
    app = gift_site(database=request.param)
    with app.app_context():
        yield app


_keys = itertools.count(1)


@pytest.fixture
def give() -> Callable[..., Any]:
    """``give(project, supporter, "25", tier=None, provider="instant")`` → the contribution."""
    from tontine.payments.services import contribute

    def do_give(
        project: Any,
        supporter: Any,
        amount: str,
        tier: Any = None,
        provider: str = "instant",
        **kwargs: Any,
    ) -> Any:
        details = {"reward_tier_id": str(tier.id) if tier is not None else ""}
        contribution, _payment, _start = contribute(
            project_id=project.id,
            supporter=supporter,
            amount=amount,
            provider_key=provider,
            idempotency_key=f"test-{next(_keys)}",
            return_url="/",
            details=details,
            **kwargs,
        )
        return contribution

    return do_give


@pytest.fixture
def add_tier() -> Callable[..., Any]:
    """``add_tier(project, "Postcard", "10", quantity=None)`` through the owner's service."""
    from tontine.accounts.models import User
    from tontine.db import db
    from tontine_gift.services import add_tier as service

    def do_add(
        project: Any,
        title: str = "A postcard",
        min_amount: str = "10",
        quantity: int | None = None,
        **fields: Any,
    ) -> Any:
        owner = db.session.get(User, project.owner_id)
        data = {
            "title": title,
            "min_amount": min_amount,
            "quantity": "" if quantity is None else str(quantity),
            **fields,
        }
        return service(project.id, owner, data)

    return do_add


@pytest.fixture
def draft_with_tiers(
    make_project: Callable[..., Any], add_tier: Callable[..., Any]
) -> Callable[..., Any]:
    """A project with reward tiers, walked to ``state`` after the tiers were added."""
    from tontine.projects.services import walk_to

    def build(
        tiers: list[dict[str, Any]], state: str = "open", **project_kw: Any
    ) -> tuple[Any, list[Any]]:
        project = make_project(state="draft", **project_kw)
        made = [add_tier(project, **tier) for tier in tiers]
        return walk_to(project, state), made

    return build
