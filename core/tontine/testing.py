"""Pytest fixtures for Tontine and its plugins (a ``pytest11`` plugin: ``tontine.testing``).

Plugin authors get the same fixtures the core's tests use:

- ``make_app(plugins=[...], extra_plugins=[...], database="sqlite"|"postgres", **config)``
  builds a migrated site in a temporary instance folder; ``app``, ``client``, ``runner``
  are the default dreams-like site on SQLite.
- ``db_app`` runs a test on SQLite and again on PostgreSQL (``TONTINE_TEST_DATABASE_URL``);
  without PostgreSQL that run is skipped, or fails when ``TONTINE_REQUIRE_POSTGRES=1``.
- ``make_user``, ``make_project``, ``login``, ``form_post`` and ``live_server``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import g, has_app_context
from flask.testing import FlaskClient

from tontine.funding import FundingModel
from tontine.hookspecs import hookimpl
from tontine.payments.provider import PaymentProvider, ProviderEvent, StartResult

DEFAULT_PLUGINS = ["gift", "sandbox", "manual", "balance"]


def require_or_skip(env_flag: str, reason: str) -> None:
    """Skip with ``reason``, unless ``env_flag`` is set: then a skip would hide a gap, so fail."""
    if os.environ.get(env_flag) == "1":
        pytest.fail(f"{reason} ({env_flag}=1 forbids skipping)")
    pytest.skip(reason)


def postgres_url() -> str | None:
    return os.environ.get("TONTINE_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def federation_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class TontineClient(FlaskClient):
    """A test client whose every request starts with an empty ``flask.g``, as in production.

    Fixtures keep an app context pushed for the whole test and Flask reuses it for the
    client's requests, so without this the logged-in user, the locale and the CSRF token
    cached in ``g`` would leak from one request (or one client) to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask_babel import refresh

        if has_app_context():
            vars(g).clear()
            refresh()
        return super().open(*args, **kwargs)


class InstantProvider(PaymentProvider):
    """A payment provider that settles at once: tests raise money without a checkout."""

    key = "instant"
    label = "Instant"
    pays_out = True

    def start(self, payment: Any, return_url: str) -> StartResult:
        ref = f"instant-{payment.id}"
        return StartResult(
            provider_ref=ref,
            events=[ProviderEvent(event_id=f"ok-{payment.id}", provider_ref=ref, kind="succeeded")],
        )

    def refund(self, payment: Any, amount: int, event_id: str) -> list[ProviderEvent]:
        return [
            ProviderEvent(event_id=event_id, provider_ref=payment.provider_ref, kind="refund", amount=amount)
        ]

    def payout(self, payout: Any) -> list[ProviderEvent]:
        payout.provider_ref = f"instant-payout-{payout.id}"
        return [ProviderEvent(event_id=f"paid-{payout.id}", provider_ref=payout.provider_ref, kind="payout_paid")]


class PlainModel(FundingModel):
    """The base funding model as is: all-or-nothing, capped at the goal."""

    key = "plain"
    label = "Plain giving"


class InstantSite:
    """A plugin giving a site the ``plain`` model and the ``instant`` provider.

    ``make_app(plugins=[], extra_plugins=[InstantSite()], PAYMENT_PROVIDERS=["instant"])``
    is a site that depends on no shipped plugin: tests of the core use it.
    """

    @hookimpl
    def register_funding_models(self) -> list[Any]:
        return [PlainModel()]

    @hookimpl
    def register_payment_providers(self) -> list[Any]:
        return [InstantProvider()]


class _Databases:
    """Migrated template databases, one per set of migration directories."""

    def __init__(self, root: Path, worker: str):
        self.root = root
        self.worker = worker
        self.sqlite_templates: dict[tuple[str, ...], Path] = {}
        self.pg_databases: dict[tuple[str, ...], tuple[str, str]] = {}  # key → (name, url)

    def postgres(self, key: tuple[str, ...]) -> tuple[str, bool]:
        """The URL of the database for this set of migrations; True when newly created.

        One database per test process and per set of migration directories: xdist workers
        and runs started at the same time never drop each other's, and a site with fewer
        plugins never meets another site's migration history.
        """
        if key in self.pg_databases:
            return self.pg_databases[key][1], False
        import sqlalchemy as sa

        base = sa.make_url(postgres_url() or "")
        name = f"{base.database or 'test'}_tontine_{self.worker}_{os.getpid()}_{len(self.pg_databases)}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = base.set(database=name).render_as_string(hide_password=False)
        self.pg_databases[key] = (name, url)
        return url, True

    def drop_postgres(self) -> None:
        """Drop this process's databases at the end of the session."""
        if not self.pg_databases:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(sa.make_url(postgres_url() or ""), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for name, _url in self.pg_databases.values():
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()


@pytest.fixture(scope="session")
def _tontine_databases(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[_Databases]:
    workerinput = getattr(request.config, "workerinput", {})
    databases = _Databases(tmp_path_factory.mktemp("tontine-db"), workerinput.get("workerid", "main"))
    yield databases
    databases.drop_postgres()


def _plugin_migrations(plugins: list[str], extra: list[object] | None) -> tuple[str, ...]:
    """The migration directories a site with these plugins runs (before the app exists)."""
    from tontine.plugins import build_plugin_manager, collect

    return tuple(collect(build_plugin_manager(list(plugins), list(extra or [])), "register_migrations"))


def _truncate_all(app: Any) -> None:
    from sqlalchemy import text

    from tontine.db import Base, db

    with app.app_context():
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            existing = {
                row[0]
                for row in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
            }
            tables = [t for t in Base.metadata.sorted_tables if t.name in existing]
            if tables:
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


#: Argon2 at its production cost takes ~0.1-0.5 s a hash; tests create many accounts.
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture
def make_app(
    tmp_path: Path,
    _tontine_databases: _Databases,
    federation_key_pem: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Any]]:
    """Factory for migrated apps: ``make_app(plugins=[...], database="postgres", NAME="x")``.

    Password hashes in these apps are still argon2id, at a cost fit for tests.
    """
    from argon2 import PasswordHasher

    from tontine import create_app
    from tontine.migrate import upgrade

    monkeypatch.setattr("tontine.accounts.services._hasher", PasswordHasher(**FAST_ARGON2))

    apps: list[Any] = []

    def factory(
        *,
        plugins: list[str] | None = None,
        extra_plugins: list[object] | None = None,
        database: str = "sqlite",
        name: str = "site",
        **config: Any,
    ) -> Any:
        instance = tmp_path / f"instance-{name}-{len(apps)}"
        instance.mkdir()
        settings: dict[str, Any] = {
            "name": "Test site",
            "plugins": plugins if plugins is not None else DEFAULT_PLUGINS,
            "locale": "en",
            "locales": ["en", "fr"],
            "currency": "EUR",
            "payment_providers": [
                p for p in ("sandbox", "manual", "balance")
                if p in (plugins if plugins is not None else DEFAULT_PLUGINS)
            ],
        }
        lines = [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
        (instance / "config.toml").write_text("\n".join(lines) + "\n")
        overrides: dict[str, Any] = {
            "SECRET_KEY": "test-secret",
            "FEDERATION_KEY": federation_key_pem,
            "TESTING": True,
            "JOBS_IN_PROCESS": False,
            "BROWSE_CACHE_SECONDS": 0,  # pages show what a test just changed
            "RATELIMIT_STORAGE_URI": "memory://",
            # The developer's own TONTINE_* variables must not reach the tests' sites.
            "ENV": "development",
            "BASE_URL": "http://127.0.0.1:5000",
            "DATABASE_URL": f"sqlite:///{instance / 'var' / 'tontine.db'}",
            "MAIL_SERVER": "",
        }
        key = _plugin_migrations(settings["plugins"], extra_plugins)
        if database == "postgres":
            if not postgres_url():
                require_or_skip(
                    "TONTINE_REQUIRE_POSTGRES",
                    "PostgreSQL tests need TONTINE_TEST_DATABASE_URL",
                )
            pg_url, pg_new = _tontine_databases.postgres(key)
            overrides["DATABASE_URL"] = pg_url
        overrides.update(config)
        app = create_app(instance, overrides, plugins=extra_plugins)
        if database == "postgres":
            if pg_new:
                upgrade(app)
            _truncate_all(app)
        else:
            db_file = instance / "var" / "tontine.db"
            template = _tontine_databases.sqlite_templates.get(key)
            if template is None:
                upgrade(app)
                template = _tontine_databases.root / f"template-{len(_tontine_databases.sqlite_templates)}.db"
                with app.app_context():
                    from tontine.db import db

                    db.engine.dispose()
                shutil.copy(db_file, template)
                _tontine_databases.sqlite_templates[key] = template
            else:
                with app.app_context():
                    from tontine.db import db

                    db.engine.dispose()
                shutil.copy(template, db_file)
        app.test_client_class = TontineClient
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            from tontine.db import db

            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Iterator[Any]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture(params=["sqlite", "postgres"])
def db_app(request: pytest.FixtureRequest, make_app: Callable[..., Any]) -> Iterator[Any]:
    """The default site on SQLite, then on PostgreSQL."""
    app = make_app(database=request.param)
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def make_user() -> Callable[..., Any]:
    """``make_user(roles=("supporter",), email=None, password=..., name=...)``."""
    from tontine.accounts.models import Role
    from tontine.accounts.services import create_user

    counter = iter(range(1, 1_000_000))

    def factory(
        roles: tuple[str, ...] = ("supporter",),
        email: str | None = None,
        password: str = "correct horse battery",
        name: str | None = None,
    ) -> Any:
        n = next(counter)
        return create_user(
            email=email or f"user{n}@example.org",
            password=password,
            display_name=name or f"User {n}",
            roles=tuple(Role(r) for r in roles),
        )

    return factory


@pytest.fixture
def make_project(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """Create a project through the services and walk it to ``state`` (default ``open``)."""
    from tontine.projects import services

    def factory(
        *,
        owner: Any = None,
        state: str = "open",
        goal: int = 100_000,
        currency: str = "EUR",
        funding_model: str = "gift",
        terms: dict[str, Any] | None = None,
        days: int = 30,
        **fields: Any,
    ) -> Any:
        owner = owner or make_user(roles=("supporter", "project_owner"))
        data = {
            "title": fields.pop("title", "Open a bakery in Lyon"),
            "summary": fields.pop("summary", "A wood-fired bakery for the neighbourhood"),
            "story": fields.pop("story", "I have baked bread for ten years."),
            "place": fields.pop("place", "Lyon"),
            "country": fields.pop("country", "FR"),
            "category": fields.pop("category", "food"),
            "goal": goal,
            "currency": currency,
            "duration_days": days,
            "funding_model": funding_model,
            "terms": terms if terms is not None else {},
            **fields,
        }
        project = services.create_project(owner, data)
        return services.walk_to(project, state)

    return factory


@pytest.fixture
def give(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """``give(project, amount="10", supporter=None, **options)`` → a contribution.

    Goes through ``payments.services.contribute`` with the ``instant`` provider unless
    ``provider_key`` says otherwise; ``options`` are passed on (``anonymous``, ``details``…).
    """
    from tontine.payments.services import contribute

    counter = iter(range(1, 1_000_000))

    def do_give(project: Any, amount: str = "10", supporter: Any = None, **options: Any) -> Any:
        options.setdefault("provider_key", "instant")
        options.setdefault("return_url", "/")
        options.setdefault("idempotency_key", f"give-{next(counter)}")
        contribution, _payment, _start = contribute(
            project_id=project.id, supporter=supporter or make_user(), amount=amount, **options
        )
        return contribution

    return do_give


@pytest.fixture
def login() -> Callable[[Any, Any], None]:
    """``login(client, user)``: start a session for ``user`` without the form."""

    def do_login(client: Any, user: Any) -> None:
        from flask import g, has_app_context

        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        if has_app_context():
            # Requests reuse the test's app context and so its ``g``, where flask-login
            # caches the user of the previous request: forget it so the switch takes.
            g.pop("_login_user", None)

    return do_login


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


@pytest.fixture
def form_post() -> Callable[..., Any]:
    """``form_post(client, page_url, post_url=None, data={...})``: submit a form as a browser."""

    def submit(client: Any, page_url: str, post_url: str | None = None, data: dict | None = None, **kw: Any) -> Any:
        page = client.get(page_url)
        token = csrf_token_from(page.get_data(as_text=True))
        payload = {"csrf_token": token, **(data or {})}
        return client.post(post_url or page_url, data=payload, **kw)

    return submit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A site served over real HTTP on 127.0.0.1, in a thread, with its own job worker."""

    def __init__(self, app: Any, port: int):
        from werkzeug.serving import make_server

        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stop_worker = threading.Event()
        self._worker: threading.Thread | None = None

    def start(self, worker: bool = True) -> LiveServer:
        from tontine.jobs.services import work_forever

        self._thread.start()
        if worker:
            self._worker = threading.Thread(
                target=work_forever, args=(self.app, self._stop_worker, 0.2),
                name=f"tontine-worker-{self.port}", daemon=True,
            )
            self._worker.start()
        return self

    def stop(self) -> None:
        """Stop the worker first and wait for it: its job must not outlive the test's database."""
        self._stop_worker.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture
def live_server(make_app: Callable[..., Any]) -> Iterator[Callable[..., LiveServer]]:
    """``live_server(**make_app_kwargs)`` → a started ``LiveServer`` whose BASE_URL is its URL."""
    servers: list[LiveServer] = []

    def start(worker: bool = True, **kwargs: Any) -> LiveServer:
        port = free_port()
        kwargs.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
        kwargs.setdefault("JOB_RETRY_BASE_SECONDS", 1)
        app = make_app(**kwargs)
        server = LiveServer(app, port).start(worker=worker)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (async webhooks, workers)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


__all__ = ["LiveServer", "csrf_token_from", "free_port", "require_or_skip", "timedelta", "wait_for"]
