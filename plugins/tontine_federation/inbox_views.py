"""``POST /inbox`` (shared) and ``POST /actor/inbox``, answered in front of Flask's request handling.

Server-to-server requests carry HTTP signatures, not cookies or CSRF tokens, and every one
is answered by ``inbox.receive``: the session, login, CSRF, locale, Flask-Limiter (the inbox
has limits of its own, rule 5) and the pages' request hooks have nothing to do for them, yet
running them cost a good share of each POST. So registering this blueprint mounts a small
WSGI handler before the app for these two paths (other methods there get 405); every other
request goes to Flask as before. It runs in the app context, as the views do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, has_app_context
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import get_content_length, get_input_stream

from tontine.errors import problem
from tontine_federation.inbox import receive
from tontine_federation.remote import RemoteRefused
from tontine_federation.signatures import joined_headers

log = logging.getLogger(__name__)

PATHS = frozenset({"/inbox", "/actor/inbox"})

bp = Blueprint("federation_inbox", __name__)


@bp.record_once
def _mount(state: BlueprintSetupState) -> None:
    state.app.wsgi_app = InboxHandler(state.app, state.app.wsgi_app)  # type: ignore[method-assign]


class InboxHandler:
    """WSGI: the inbox paths here, anything else on to ``app``'s own handling."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in PATHS:
            return self.wsgi_app(environ, start_response)
        if has_app_context() and current_app._get_current_object() is self.app:  # type: ignore[attr-defined]
            response = self.answer(environ)  # inside the caller's context, as Flask would be
        else:
            with self.app.app_context():
                response = self.answer(environ)
        if response is None:  # accepted: the one answer that needs no body
            start_response("202 Accepted", ACCEPTED_HEADERS)
            return [b""]
        return response(environ, start_response)

    def answer(self, environ: dict[str, Any]) -> Response | None:
        if environ.get("REQUEST_METHOD") != "POST":
            response = problem(405, "Method Not Allowed")
            response.headers["Allow"] = "POST"
        else:
            try:
                response = inbox(environ)
            except Exception:
                if self.app.testing:
                    raise
                log.exception("inbox: unexpected error")
                response = problem(500, "Internal Server Error")
        if response is not None:
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


ACCEPTED_HEADERS = [("Content-Length", "0"), ("X-Content-Type-Options", "nosniff")]


def inbox(environ: dict[str, Any]) -> Response | None:
    """The answer to one POST; None for 202 Accepted.

    Read straight from the WSGI environ (a werkzeug ``Request`` would parse more than the
    inbox reads): its headers through werkzeug's ``EnvironHeaders``, its body through
    werkzeug's stream, bounded by Content-Length.
    """
    path = environ["PATH_INFO"]
    if query := environ.get("QUERY_STRING"):
        path = f"{path}?{query}"
    stream = get_input_stream(environ)

    def read_body(limit: int) -> bytes:
        try:
            return stream.read(limit)
        except ClientDisconnected as exc:
            raise RemoteRefused("the body ended before its Content-Length") from exc

    outcome = receive(
        "POST",
        path,
        joined_headers(EnvironHeaders(environ)),
        read_body,
        get_content_length(environ),
        environ.get("REMOTE_ADDR") or "",
    )
    if outcome.status == 202:
        return None
    if outcome.status < 300:
        return Response(status=outcome.status)
    response = problem(outcome.status, outcome.message)
    if outcome.retry_after is not None:
        response.headers["Retry-After"] = str(outcome.retry_after)
    return response
