"""The sandbox payment provider: a realistic asynchronous simulator, the demo default.

``start`` sends the supporter to a checkout page served by the instance
(``/sandbox/checkout/<ref>``) where they pay, pay with 3-D Secure, are declined or abandon.
The outcome comes back the way a real provider's does: as HMAC-SHA256-signed webhooks,
delivered asynchronously over HTTP by a job, optionally twice (``[sandbox]
duplicate_webhooks = true``) or in reverse order (``out_of_order = true``). Refunds and
payouts are confirmed by webhook too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tontine.hookspecs import hookimpl
from tontine_sandbox.provider import SIGNATURE_HEADER, SandboxProvider, sign, verify

__all__ = ["SIGNATURE_HEADER", "SandboxProvider", "sign", "verify"]


@hookimpl
def register_payment_providers() -> list[Any]:
    return [SandboxProvider()]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from tontine_sandbox.views import bp

    return [bp]


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_job_handlers() -> dict[str, Any]:
    from tontine_sandbox.provider import deliver_webhook

    return {"sandbox_deliver_webhook": deliver_webhook}
