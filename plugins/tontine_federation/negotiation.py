"""Content negotiation: AS2 JSON for federating servers, HTML for people, on the same URL."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

AS_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def _ranges(accept: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            name, _sep, value = piece.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 0.0
        out.append((media, params, quality))
    return out


def wants_activity_json(accept: str | None = None) -> bool:
    """True when the client prefers AS2 JSON to HTML (ties go to AS2: browsers send text/html)."""
    accept = request.headers.get("Accept", "") if accept is None else accept
    best_as = best_html = 0.0
    for media, params, quality in _ranges(accept[:1000]):
        if media == AS_MEDIA_TYPE or (
            media == "application/ld+json" and params.get("profile", AS_PROFILE) == AS_PROFILE
        ):
            best_as = max(best_as, quality)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
    return best_as > 0 and best_as >= best_html


def prefers_html(accept: str | None = None) -> bool:
    """True only when the client asks for HTML over AS2 (a browser, not a server)."""
    accept = request.headers.get("Accept", "") if accept is None else accept
    best_as = best_html = 0.0
    for media, params, quality in _ranges(accept[:1000]):
        if media in (AS_MEDIA_TYPE, "application/ld+json", "application/json"):
            best_as = max(best_as, quality)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
    return best_html > best_as


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    """An AS2 document, typed as the client asked (``ld+json`` with profile, or activity+json)."""
    accept = request.headers.get("Accept", "")
    asked_ld = any(m == "application/ld+json" for m, _p, q in _ranges(accept) if q > 0)
    asked_as = any(m == AS_MEDIA_TYPE for m, _p, q in _ranges(accept) if q > 0)
    media_type = LD_MEDIA_TYPE if asked_ld and not asked_as else AS_MEDIA_TYPE
    response = Response(json.dumps(document, ensure_ascii=False), status=status)
    response.headers["Content-Type"] = media_type
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
