"""A supporter's first gift, in real headless Chromium against a live site.

Sign up, find a dream by searching, give with the sandbox (pay on its checkout page, the
confirmation arrives later as a signed webhook delivered by the job worker), then see the
progress bar move on the dream's page and the gift in "My gifts".
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tontine.testing import require_or_skip

CHROMIUM = os.environ.get("TONTINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
    "--disable-features=Translate,MediaRouter",
]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        require_or_skip("TONTINE_REQUIRE_BROWSER", f"the browser test needs Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("TONTINE_REQUIRE_BROWSER", "the browser test needs the playwright package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def progress_of(page: Any) -> float:
    return float(page.locator("progress").first.get_attribute("value") or 0)


def test_a_supporter_signs_up_finds_a_dream_and_gives(
    live_server: Any, make_project: Any, page: Any
) -> None:
    server = live_server()
    with server.app.app_context():
        dream = make_project(
            title="A bakery for Belleville",
            summary="Wood-fired bread for the neighbourhood",
            goal=200,
            terms={"mode": "keep_it_all"},
        )
        other = make_project(
            title="Music lessons in Rennes",
            summary="Violins for the school orchestra",
            story="Twenty children want to play.",
            place="Rennes",
            goal=500,
        )
        dream_id = dream.id
        assert other.state == "open"

    # Sign up.
    page.goto(f"{server.url}/account/signup")
    page.fill("input[name=display_name]", "Camille")
    page.fill("input[name=email]", "camille@example.org")
    page.fill("input[name=password]", "a long enough password")
    page.fill("input[name=confirm]", "a long enough password")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/account/signup" not in page.url, page.content()

    # Find the dream: search, then open it from the results.
    page.goto(f"{server.url}/projects/")
    page.fill("input[name=q]", "bakery")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    results = page.locator(".cards .card-title a")
    assert results.count() == 1
    assert "Music lessons" not in page.inner_text(".cards")
    results.first.click()
    page.wait_for_url(f"**/projects/{dream_id}")
    assert "A bakery for Belleville" in page.inner_text("h1")
    before = progress_of(page)

    # Give 50 € with the sandbox.
    page.click(f"a[href$='/projects/{dream_id}/give']")
    page.wait_for_url(f"**/projects/{dream_id}/give")
    page.fill("input[name=amount]", "50")
    page.check("input[name=provider][value=sandbox]")
    page.click("form.give-form button[type=submit]")

    # The sandbox's checkout page: pay.
    page.wait_for_url("**/sandbox/checkout/**")
    page.click("button[name=action][value=pay]")

    # The gift's page waits for the webhook (it refreshes itself) until the payment succeeded.
    page.wait_for_selector("[data-state=succeeded]", timeout=TIMEOUT_MS)

    # The progress bar moved: 50 of 200.
    page.goto(f"{server.url}/projects/{dream_id}")
    after = progress_of(page)
    assert after > before
    assert after == pytest.approx(25, abs=1)
    assert "€50" in page.inner_text(".progress-figures")

    # And the gift is in "My gifts".
    page.goto(f"{server.url}/my/contributions")
    row = page.locator("table.contributions tbody tr")
    assert row.count() == 1
    text = row.first.inner_text()
    assert "A bakery for Belleville" in text and "€50.00" in text
    assert row.first.locator(".state-succeeded").count() == 1
