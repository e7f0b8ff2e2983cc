"""Origins: the unit every same-origin rule (FEDERATION.md rules 2 and 3) compares."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tontine_federation.remote import ascii_host, origin


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/projects/1", "https://example.com:443"),
        ("https://example.com.:443/x", "https://example.com:443"),
        ("http://127.0.0.1:5001/actor", "http://127.0.0.1:5001"),
        ("HTTP://peer.example:8080", "http://peer.example:8080"),
        ("https://bücher.example/p", "https://xn--bcher-kva.example:443"),
        ("https://xn--bcher-kva.example/p", "https://xn--bcher-kva.example:443"),
        ("https://user@example.com/", None),
        ("https://user:secret@example.com/", None),
        ("ftp://example.com/", None),
        ("javascript:alert(1)", None),
        ("https://a..b/", None),
        ("https://.example/", None),
        (f"https://{'a' * 64}.example/", None),
        ("https://example.com:99999/", None),
        ("https:///nohost", None),
        ("/relative/path", None),
        (42, None),
        ("https://example.com/" + "x" * 600, None),
    ],
)
def test_origin(url: object, expected: str | None) -> None:
    assert origin(url) == expected


def _codec(hostname: str) -> str | None:
    try:
        return hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abZ09-_", max_size=3) | st.sampled_from(["x" * 63, "y" * 64, "", "é"]),
        min_size=1,
        max_size=5,
    )
    .map(".".join)
    .filter(bool)  # origin() refuses an empty host before it asks
)
def test_ascii_host_names_are_read_as_the_idna_codec_reads_them(hostname: str) -> None:
    """Host names skip the codec when they are ASCII; the result must not depend on that."""
    assert ascii_host(hostname) == _codec(hostname)
