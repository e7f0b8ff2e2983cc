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
from tontine.testing import InstantProvider

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


class SitePlugin:
    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [Simple(), Other()]

    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantProvider()]

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
def project(make_project: Any) -> Any:
    """``project(**fields)``: a project on the simple model (open unless ``state`` says)."""

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("funding_model", "simple")
        return make_project(**kwargs)

    return factory


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user(roles=("supporter", "project_owner"), name="Amina Diallo")
