"""Content negotiation: servers get AS2, browsers get HTML, odd headers get something sane."""

from __future__ import annotations

import pytest

from tontine_federation.negotiation import prefers_html, wants_activity_json

AS = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.mark.parametrize(
    "accept,expected",
    [
        (AS, True),
        (LD, True),
        ("application/ld+json", True),
        (f"{AS}, {LD}", True),  # Mastodon
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # a browser
        (f"text/html;q=0.9, {AS}", True),
        (f"text/html, {AS};q=0.5", False),
        ('application/ld+json; profile="https://example.org/other"', False),
        (f"{AS};q=0", False),
        (f"{AS};q=abc", False),
        ("", False),
        ("*/*", False),
        (";;;,,,", False),
        ("a" * 5000, False),
    ],
)
def test_wants_activity_json(app, accept: str, expected: bool) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Accept": accept}):
        assert wants_activity_json() is expected


@pytest.mark.parametrize(
    "accept,expected",
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        (AS, False),
        ("", False),
        ("application/json", False),
        (f"text/html;q=0.4, {AS}", False),
    ],
)
def test_prefers_html(app, accept: str, expected: bool) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Accept": accept}):
        assert prefers_html() is expected
