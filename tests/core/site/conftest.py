"""A site with a plain funding model and an instant provider, for the home page."""

from __future__ import annotations

from typing import Any

import pytest

from tontine.hookspecs import hookimpl
from tontine.testing import InstantSite


class NavPlugin:
    @hookimpl
    def register_nav_links(self, user: Any) -> list[tuple[str, str]]:
        return [("Partners", "/partners")]


@pytest.fixture
def app(make_app: Any) -> Any:
    site = make_app(plugins=[], extra_plugins=[InstantSite(), NavPlugin()], PAYMENT_PROVIDERS=["instant"])
    with site.app_context():
        yield site
