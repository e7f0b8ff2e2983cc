"""Accounts tests run on a site with a minimal funding model and an instant provider.

They do not depend on the shipped plugins: what they check is the accounts code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tontine.testing import InstantSite


@pytest.fixture
def site(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """``site(**config)``: a migrated app with the test plugin (no shipped plugins)."""

    def build(**config: Any) -> Any:
        config.setdefault("PAYMENT_PROVIDERS", ["instant"])
        app = make_app(plugins=[], extra_plugins=[InstantSite()], **config)
        return app

    return build


@pytest.fixture
def app(site: Callable[..., Any]) -> Iterator[Any]:
    app = site()
    with app.app_context():
        yield app
