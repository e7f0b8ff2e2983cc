"""A site with a tiny funding model and an instant payment provider, for the project pages.

The model has one term (``note``) and templates for the project page and the owner's form,
so the tests see the funding-model contract (``page_template``, ``terms_template``) at work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields, validate

from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult

TEMPLATES = Path(__file__).parent / "templates"


class SimpleTerms(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=40))


class Simple(FundingModel):
    key = "simple"
    label = "Simple giving"
    terms_schema = SimpleTerms
    page_template = "simple_page.html"
    terms_template = "simple_terms.html"


class Other(FundingModel):
    key = "other"
    label = "Other model"


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
        return [Simple(), Other()]

    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [Instant()]

    @hookimpl
    def register_template_dirs(self) -> list[str]:
        return [str(TEMPLATES)]


@pytest.fixture
def site_plugin() -> SitePlugin:
    return SitePlugin()


@pytest.fixture
def app(make_app: Any) -> Any:
    site = make_app(
        plugins=[],
        extra_plugins=[SitePlugin()],
        PAYMENT_PROVIDERS=["instant"],
        BASE_URL="http://dreams.example",
    )
    with site.app_context():
        yield site


@pytest.fixture
def client(app: Any) -> Any:
    """A test client that forgets the logged-in user between requests.

    The ``app`` fixture keeps an app context pushed, which requests then share, and
    flask-login caches the user in ``g``: without this, the first request's visitor would
    stick for the whole test.
    """
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
def project(make_project: Any) -> Any:
    """``project(**fields)``: a project on the simple model (open unless ``state`` says)."""

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("funding_model", "simple")
        return make_project(**kwargs)

    return factory


@pytest.fixture
def give(make_user: Any) -> Any:
    """``give(project, amount="10", supporter=None, anonymous=False)``: a confirmed gift."""
    counter = iter(range(1, 100_000))

    def contribute(
        project: Any, amount: str = "10", supporter: Any = None, anonymous: bool = False
    ) -> Any:
        from tontine.payments.services import contribute as pay

        supporter = supporter or make_user()
        contribution, _payment, _start = pay(
            project_id=project.id,
            supporter=supporter,
            amount=amount,
            provider_key="instant",
            idempotency_key=f"gift-{next(counter)}",
            return_url="/",
            anonymous=anonymous,
        )
        return contribution

    return contribute


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user(roles=("supporter", "project_owner"), name="Amina Diallo")
