"""Remote and local text becomes safe HTML here, and only here (FEDERATION.md rule 7).

An allow-list: paragraphs, line breaks, emphasis, lists, quotes and http(s) links. No
script, style, iframe, svg, event handlers, or ``javascript:``/``data:`` URLs survive.
"""

from __future__ import annotations

import html as _html
from html import escape

import nh3

TAGS = {"p", "br", "a", "em", "strong", "i", "b", "ul", "ol", "li", "blockquote"}
ATTRIBUTES = {"a": {"href"}}
SCHEMES = {"http", "https"}
MAX_HTML = 20_000


def clean_html(html: str, limit: int = MAX_HTML) -> str:
    """Allow-listed HTML, cut to ``limit`` characters of input first."""
    return nh3.clean(
        html[:limit],
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def plain_to_html(text: str) -> str:
    """A plain-text story (paragraphs at blank lines) as sanitized HTML."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return clean_html(html)


def clean_text(text: str, limit: int) -> str:
    """Plain text: no markup at all, control characters dropped, at most ``limit`` characters."""
    stripped = nh3.clean(text[: limit * 2], tags=set())
    unescaped = _html.unescape(stripped)
    return "".join(ch for ch in unescaped if ch.isprintable() or ch in "\n\t")[:limit]
