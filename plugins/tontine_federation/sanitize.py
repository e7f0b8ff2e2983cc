"""Remote and local text becomes safe HTML here, and only here (FEDERATION.md rule 7).

An allow-list: paragraphs, line breaks, emphasis, lists, quotes and http(s) links. No
script, style, iframe, svg, event handlers, or ``javascript:``/``data:`` URLs survive.
"""

from __future__ import annotations

import html as _html
import re
from html import escape

import nh3

TAGS = {"p", "br", "a", "em", "strong", "i", "b", "ul", "ol", "li", "blockquote"}
ATTRIBUTES = {"a": {"href"}}
SCHEMES = {"http", "https"}
MAX_HTML = 20_000


#: Built once: configuring the sanitizer cost several times what cleaning a listing does.
_HTML = nh3.Cleaner(
    tags=TAGS,
    attributes=ATTRIBUTES,
    url_schemes=SCHEMES,
    link_rel="nofollow noopener noreferrer",
    strip_comments=True,
)
_TEXT = nh3.Cleaner(tags=set())


def clean_html(html: str, limit: int = MAX_HTML) -> str:
    """Allow-listed HTML, cut to ``limit`` characters of input first."""
    return _HTML.clean(html[:limit])


def plain_to_html(text: str) -> str:
    """A plain-text story (paragraphs at blank lines) as sanitized HTML."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return clean_html(html)


#: The only characters an HTML parser reads as anything but text in running text: without
#: them, parsing a string and serializing it back gives the same string.
_MARKUP = re.compile(r"[<&\r\x00]")


def clean_text(text: str, limit: int) -> str:
    """Plain text: no markup at all, control characters dropped, at most ``limit`` characters.

    Text that holds no markup character skips the parser (the inbox cleans several fields of
    every listing it receives, and most are plain).
    """
    text = text[: limit * 2]
    if _MARKUP.search(text):
        text = _html.unescape(_TEXT.clean(text))
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    return text[:limit]
