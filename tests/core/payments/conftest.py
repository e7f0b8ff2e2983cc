"""Fixtures for the payment tests: a site with the three providers and a tiny funding model.

The funding model ``capped`` stands in for the gift plugin: all-or-nothing, capped at the
goal, with one optional contribution field (``details.note``) rendered by its own template.
``wire_webhooks(app)`` routes the sandbox's outgoing HTTP webhooks into the app's test
client so that jobs can be run with ``run_pending()`` without a server.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from marshmallow import Schema, fields, validate

from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl

TEMPLATES = Path(__file__).parent / "templates"
PROVIDER_PLUGINS = ["sandbox", "manual", "balance"]


class NoteSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200))


class Capped(FundingModel):
    key = "capped"
    label = "Capped test model"
    contribution_schema = NoteSchema
    form_template = "test_model_fields.html"


class Uncapped(FundingModel):
    """Keep-it-all without a cap (to show that the cap, not the form, stops over-funding)."""

    key = "uncapped"

    def cap(self, project: Any) -> None:
        return None


class TestModels:
    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [Capped(), Uncapped()]

    @hookimpl
    def register_template_dirs(self) -> list[str]:
        return [str(TEMPLATES)]


@pytest.fixture
def make_site(make_app: Any) -> Any:
    """``make_site(**config)``: a migrated site with sandbox, manual and balance."""

    def factory(**config: Any) -> Any:
        return make_app(plugins=PROVIDER_PLUGINS, extra_plugins=[TestModels()], **config)

    return factory


@pytest.fixture
def app(make_site: Any) -> Any:
    """Overrides ``tontine.testing``'s ``app`` so that ``client`` talks to this site."""
    app = make_site()
    with app.app_context():
        yield app


@pytest.fixture
def site(app: Any) -> Any:
    return app


@pytest.fixture
def capped_project(make_project: Any) -> Any:
    def factory(**kw: Any) -> Any:
        kw.setdefault("funding_model", "capped")
        kw.setdefault("goal", 100)
        return make_project(**kw)

    return factory


@pytest.fixture
def wire_webhooks(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Send the sandbox's webhooks to ``app`` through its test client instead of the network."""

    def connect(app: Any) -> list[tuple[int, str]]:
        client = app.test_client()
        seen: list[tuple[int, str]] = []

        def post(url: str, data: bytes, headers: dict[str, str], timeout: float) -> Any:
            assert url.startswith(app.config["BASE_URL"])
            response = client.post(
                url.removeprefix(app.config["BASE_URL"]), data=data, headers=headers
            )
            seen.append((response.status_code, response.get_data(as_text=True)))
            return SimpleNamespace(
                status_code=response.status_code, text=response.get_data(as_text=True)
            )

        monkeypatch.setattr("tontine_sandbox.provider.requests.post", post)
        return seen

    return connect


@pytest.fixture
def top_up() -> Any:
    """``top_up(user, "100.00")``: money arrives on the supporter's Tontine balance."""
    from tontine.db import unit_of_work
    from tontine.ledger.models import AccountKind
    from tontine.ledger.services import credit, debit, post
    from tontine.money import Money

    def do(user: Any, amount: str, currency: str = "EUR") -> None:
        money = Money.from_decimal(amount, currency)
        with unit_of_work():
            post(
                "top_up",
                [
                    debit(AccountKind.PROVIDER_CLEARING, "sandbox", money),
                    credit(AccountKind.SUPPORTER_BALANCE, user.id, money),
                ],
                memo="test top-up",
            )

    return do


KEY_RE = r'name="idempotency_key" type="hidden" value="([^"]+)"'


@pytest.fixture
def give_form() -> Any:
    """``give_form(client, project_id, amount="10", ...)``: open the give page and submit it
    as a browser would (CSRF token and the hidden idempotency key included). Returns
    ``(response, submitted data)`` so a test can submit the same data again."""
    import re

    from tontine.testing import csrf_token_from

    def submit(client: Any, project_id: int, **fields: Any) -> tuple[Any, dict[str, Any]]:
        url = f"/projects/{project_id}/give"
        page = client.get(url)
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        match = re.search(KEY_RE, html)
        assert match, "no idempotency key on the give page"
        data = {
            "csrf_token": csrf_token_from(html),
            "idempotency_key": match.group(1),
            "amount": "10",
            "provider": "sandbox",
            "refund_to": "payment_method",
        }
        data.update({k.replace("__", "."): v for k, v in fields.items()})
        data = {k: v for k, v in data.items() if v is not None}
        return client.post(url, data=data), data

    return submit


def count(model: Any, *where: Any) -> int:
    """Rows of ``model`` in the database now (fresh: what another request committed)."""
    from sqlalchemy import func, select

    from tontine.db import db

    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def fresh(model: Any, ident: Any) -> Any:
    from tontine.db import db

    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def rows() -> Any:
    """``rows(Model, *where)`` counts committed rows; ``rows.get(Model, id)`` reloads one."""
    return SimpleNamespace(count=count, get=fresh, __call__=count)


@pytest.fixture
def site_options() -> dict[str, Any]:
    """``make_app``/``live_server`` keyword arguments for the payment test site."""
    return {"plugins": PROVIDER_PLUGINS, "extra_plugins": [TestModels()]}


@pytest.fixture
def provider_says() -> Any:
    """``provider_says(client, payment, "succeeded")``: a correctly signed sandbox webhook."""
    import json
    import time

    def deliver(
        client: Any,
        ref_or_payment: Any,
        kind: str,
        amount: int | None = None,
        event_id: str | None = None,
    ) -> Any:
        from tontine_sandbox import SIGNATURE_HEADER, sign
        from tontine_sandbox.provider import webhook_secret

        ref = getattr(ref_or_payment, "provider_ref", ref_or_payment)
        body = json.dumps(
            {
                "id": event_id or f"evt_test_{ref}_{kind}",
                "type": kind,
                "ref": ref,
                "amount": amount,
                "created": int(time.time()),
            }
        ).encode()
        return client.post(
            "/payments/webhook/sandbox",
            data=body,
            headers={SIGNATURE_HEADER: sign(body, webhook_secret())},
        )

    return deliver


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, make_site: Any) -> Any:
    """The payment test site on SQLite, then on PostgreSQL."""
    app = make_site(database=request.param)
    with app.app_context():
        yield app


@pytest.fixture
def race(any_db: Any) -> Any:
    """``race(count, attempt)``: run ``attempt(i)`` in ``count`` threads released at once,
    each with its own app context (session and connection); returns the results, with a
    refusal's message in place of a result."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tontine.db import db
    from tontine.funding import ContributionRefused

    def run_all(count: int, attempt: Any) -> list[Any]:
        barrier = threading.Barrier(count)

        def run(i: int) -> Any:
            with any_db.app_context():
                barrier.wait()
                try:
                    return attempt(i)
                except ContributionRefused as exc:
                    return exc.message
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(run, range(count)))

    return run_all
