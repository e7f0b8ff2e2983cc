"""Accounts tests run on a site with a minimal funding model and an instant provider.

They do not depend on the shipped plugins: what they check is the accounts code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient

from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult


class PlainGift(FundingModel):
    key = "plain"


class InstantProvider(PaymentProvider):
    """Pays at once: the contribution succeeds inside ``contribute``."""

    key = "instant"

    def start(self, payment: Any, return_url: str) -> StartResult:
        ref = f"instant-{payment.id}"
        return StartResult(
            provider_ref=ref,
            events=[ProviderEvent(event_id=f"ok-{payment.id}", provider_ref=ref, kind="succeeded")],
        )


class AccountsTestPlugin:
    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [PlainGift()]

    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantProvider()]


class PerRequestClient(FlaskClient):
    """A test client whose requests start with an empty ``flask.g``, as real requests do.

    The ``app`` fixture keeps an app context pushed for the whole test, and Flask reuses it
    for the client's requests, so ``g`` (the logged-in user, the locale, the CSRF token)
    would otherwise leak from one request, or one client, to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def site(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """``site(**config)``: a migrated app with the test plugin (no shipped plugins)."""

    def build(**config: Any) -> Any:
        config.setdefault("PAYMENT_PROVIDERS", ["instant"])
        app = make_app(plugins=[], extra_plugins=[AccountsTestPlugin()], **config)
        app.test_client_class = PerRequestClient
        return app

    return build


@pytest.fixture
def app(site: Callable[..., Any]) -> Iterator[Any]:
    app = site()
    with app.app_context():
        yield app


@pytest.fixture
def give(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """``give(project, supporter, "25.00")``: a confirmed contribution through the services."""
    from tontine.payments.services import contribute

    counter = iter(range(1, 1_000_000))

    def do_give(project: Any, supporter: Any, amount: str) -> Any:
        contribution, _payment, _redirect = contribute(
            project_id=project.id,
            supporter=supporter,
            amount=amount,
            provider_key="instant",
            idempotency_key=f"give-{next(counter)}",
            return_url="/",
        )
        return contribution

    return do_give
