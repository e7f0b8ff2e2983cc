"""A site with a plain funding model and an instant provider, for the home page."""

from __future__ import annotations

from typing import Any

import pytest

from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult


class Plain(FundingModel):
    key = "plain"


class Instant(PaymentProvider):
    key = "instant"

    def start(self, payment: Any, return_url: str) -> StartResult:
        ref = f"i{payment.id}"
        return StartResult(
            provider_ref=ref,
            events=[ProviderEvent(event_id=f"e{payment.id}", provider_ref=ref, kind="succeeded")],
        )


class SitePlugin:
    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [Plain()]

    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [Instant()]

    @hookimpl
    def register_nav_links(self, user: Any) -> list[tuple[str, str]]:
        return [("Partners", "/partners")]


@pytest.fixture
def app(make_app: Any) -> Any:
    site = make_app(plugins=[], extra_plugins=[SitePlugin()], PAYMENT_PROVIDERS=["instant"])
    with site.app_context():
        yield site


@pytest.fixture
def client(app: Any) -> Any:
    """A client that does not keep the first visitor (user, locale) in ``g``: the app context is shared."""
    from flask import g
    from flask.testing import FlaskClient
    from flask_babel import refresh

    def forget() -> None:
        g.pop("_login_user", None)  # flask-login's user
        refresh()  # Flask-Babel's locale

    class Client(FlaskClient):
        def open(self, *args: Any, **kwargs: Any) -> Any:
            forget()
            try:
                return super().open(*args, **kwargs)
            finally:
                forget()

    return Client(app, app.response_class, use_cookies=True)


@pytest.fixture
def give(make_user: Any) -> Any:
    counter = iter(range(1, 100_000))

    def contribute(project: Any, amount: str, supporter: Any = None) -> Any:
        from tontine.payments.services import contribute as pay

        return pay(
            project_id=project.id,
            supporter=supporter or make_user(),
            amount=amount,
            provider_key="instant",
            idempotency_key=f"k{next(counter)}",
            return_url="/",
        )[0]

    return contribute
