"""Remote HTML becomes allow-listed HTML; remote text becomes plain, capped text (rule 7)."""

from __future__ import annotations

import html
import re

import nh3
from hypothesis import given, settings
from hypothesis import strategies as st

from tontine_federation.sanitize import clean_html, clean_text, plain_to_html

PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<style>*{}</style>",
        "<iframe src=x>",
        "<svg onload=x>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        "<img src=x onerror=alert(1)>",
        '<p onclick="x()">p</p>',
        "<b>bold</b>",
        "<p>ok</p>",
        '<a href="https://ok.example/">link</a>',
        "<!-- c -->",
        "&lt;",
        "<",
        ">",
        "text",
        '<a href="JaVaScRiPt:x">y</a>',
        "<math><mi>x</mi></math>",
        "<form action=x>",
    ]
)

TAG = re.compile(r"<[^>]*>")
ALLOWED = re.compile(r"^</?(p|br|a|em|strong|i|b|ul|ol|li|blockquote)\b", re.IGNORECASE)
BAD_IN_TAG = re.compile(r"javascript:|data:|\son\w+=", re.IGNORECASE)


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECES | st.text(max_size=20), max_size=12))
def test_nothing_dangerous_survives(pieces: list[str]) -> None:
    """Every tag left is allow-listed and carries no script; the rest is escaped text."""
    html = clean_html("".join(pieces))
    for tag in TAG.findall(html):
        assert ALLOWED.match(tag) and not BAD_IN_TAG.search(tag), html


def test_links_are_kept_and_marked() -> None:
    html = clean_html('<p>See <a href="https://ok.example/">this</a></p>')
    assert 'href="https://ok.example/"' in html and "nofollow" in html


def test_plain_text_is_escaped_into_paragraphs() -> None:
    assert plain_to_html("One <b>\n\nTwo & three") == "<p>One &lt;b&gt;</p><p>Two &amp; three</p>"


def test_text_is_stripped_and_capped() -> None:
    assert clean_text("<b>Hi</b> there\x00\x07", 100) == "Hi there"
    assert len(clean_text("x" * 1000, 50)) == 50
    assert clean_text("a &amp; b", 10) == "a & b"



@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["Une boulangerie à Dakar", "tab\tnew\nline\u00a0\u200b", "cr\r\nlf", "a &lt;b&gt; <i>c</i>"]
))
def test_text_comes_out_the_same_whether_or_not_it_skips_the_parser(text: str) -> None:
    """Text without markup skips the HTML parser; what comes out must not depend on that."""
    parsed = html.unescape(nh3.clean(text, tags=set()))
    assert clean_text(text, 500) == "".join(ch for ch in parsed if ch.isprintable() or ch in "\n\t")
