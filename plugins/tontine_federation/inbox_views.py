"""``POST /inbox`` (shared) and ``POST /actor/inbox``: thin views over ``inbox.receive``.

Server-to-server requests carry HTTP signatures, not CSRF tokens: this view alone is exempt
from CSRF.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from tontine.errors import problem
from tontine.extensions import csrf, limiter
from tontine_federation.inbox import receive
from tontine_federation.signatures import SignedRequest

bp = Blueprint("federation_inbox", __name__)


@limiter.request_filter
def _inbox_limits_itself() -> bool:
    """The inbox applies its own per-address and per-host limits (rule 5) before parsing;
    Flask-Limiter has no limit for it, and looking for one costs a share of each POST."""
    return request.endpoint == "federation_inbox.inbox"


@bp.post("/inbox")
@bp.post("/actor/inbox")
@csrf.exempt
def inbox() -> Response:
    headers = SignedRequest.build("POST", "", request.headers).headers
    outcome = receive(
        request.method,
        request.full_path.rstrip("?"),
        headers,
        request.stream.read,
        request.content_length,
        request.remote_addr or "",
    )
    if outcome.status < 300:
        return Response(status=outcome.status)
    response = problem(outcome.status, outcome.message)
    if outcome.retry_after is not None:
        response.headers["Retry-After"] = str(outcome.retry_after)
    return response
