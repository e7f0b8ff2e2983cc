"""The application factory: ``create_app`` reads as the list of steps that build a site."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy.engine import make_url

from tontine import i18n
from tontine.config import ConfigError, load_config
from tontine.db import configure_sqlite, db, is_sqlite, ping_idle_connections
from tontine.extensions import Registry, csrf, limiter, login_manager
from tontine.plugins import build_plugin_manager, collect

DEFAULT_INSTANCE = Path(__file__).resolve().parents[2] / "instances" / "dreams"


def create_app(
    instance_path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    plugins: list[object] | None = None,
) -> Flask:
    """Build a Tontine site from an instance folder.

    ``instance_path`` defaults to ``TONTINE_INSTANCE`` or the shipped dreams instance;
    ``overrides`` win over config.toml and the environment; ``plugins`` are extra plugin
    objects registered after the enabled ones (how tests add an out-of-tree plugin).
    """
    path = Path(instance_path or os.environ.get("TONTINE_INSTANCE") or DEFAULT_INSTANCE)
    app = Flask("tontine", instance_path=str(path.resolve()), instance_relative_config=True)
    configure_config(app, overrides)
    configure_plugins(app, plugins or [])
    configure_database(app)
    configure_i18n(app)
    configure_security(app)
    configure_templates(app)
    configure_blueprints(app)
    configure_errors(app)
    return app


def configure_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    app.config.update(load_config(Path(app.instance_path), overrides))
    production = app.config["ENV"] == "production"
    app.config["DEBUG"] = False if production else app.config.get("DEBUG", False)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    # PostgreSQL pings only connections idle for a while (``ping_idle_connections``); a ping on
    # every checkout costs a round trip per query batch.
    postgres = make_url(app.config["DATABASE_URL"]).get_backend_name() == "postgresql"
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {} if postgres else {"pool_pre_ping": True})
    app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_MAX_BYTES"] + 64 * 1024
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["LOCALE"]
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATELIMIT_STORAGE_URI"]
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    app.config["API_TITLE"] = f"{app.config['NAME']} API"
    app.config["API_VERSION"] = "v1"
    app.config["OPENAPI_VERSION"] = "3.0.3"
    app.config["OPENAPI_URL_PREFIX"] = "/api"
    app.config["OPENAPI_JSON_PATH"] = "openapi.json"
    if app.config["LOCALE"] not in app.config["LOCALES"]:
        raise ConfigError(f"default locale {app.config['LOCALE']!r} is not in LOCALES")


def configure_plugins(app: Flask, extra: list[object]) -> None:
    pm = build_plugin_manager(list(app.config["PLUGINS"]), extra)
    registry = Registry(pm=pm)
    for model in collect(pm, "register_funding_models"):
        if model.key in registry.funding_models:
            raise ConfigError(f"two funding models use the key {model.key!r}")
        registry.funding_models[model.key] = model
    for provider in collect(pm, "register_payment_providers"):
        if provider.key in registry.payment_providers:
            raise ConfigError(f"two payment providers use the key {provider.key!r}")
        registry.payment_providers[provider.key] = provider
    for handlers in pm.hook.register_job_handlers():
        registry.job_handlers.update(handlers or {})
    registry.schedules = collect(pm, "register_schedules")
    missing = [p for p in app.config["PAYMENT_PROVIDERS"] if p not in registry.payment_providers]
    if missing:
        raise ConfigError(
            f"payment provider(s) {', '.join(missing)} are configured but no enabled plugin "
            f"provides them; available: {', '.join(sorted(registry.payment_providers))}"
        )
    app.extensions["tontine"] = registry


def configure_database(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        if is_sqlite(db.engine):
            Path(app.config["VAR_PATH"]).mkdir(parents=True, exist_ok=True)
            configure_sqlite(db.engine)
        elif db.engine.dialect.name == "postgresql" and not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get(
            "pool_pre_ping"
        ):
            ping_idle_connections(db.engine, float(app.config["DB_PING_IDLE_SECONDS"]))


def configure_i18n(app: Flask) -> None:
    dirs = [str(Path(__file__).parent / "translations")]
    for plugin in app.extensions["tontine"].pm.get_plugins():
        plugin_file = getattr(plugin, "__file__", None)
        if plugin_file and (Path(plugin_file).parent / "translations").is_dir():
            dirs.append(str(Path(plugin_file).parent / "translations"))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)
    # One Babel per app: Flask-Babel caches translations on the Babel object, and sites with
    # different plugins (tests, several instances in one process) have different catalogs.
    Babel().init_app(app, locale_selector=i18n.select_locale)
    i18n.install_filters(app)


def configure_security(app: Flask) -> None:
    from tontine.accounts.services import load_user

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.user_loader(load_user)
    limiter.init_app(app)

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        return response


def configure_templates(app: Flask) -> None:
    registry = app.extensions["tontine"]
    dirs = collect(registry.pm, "register_template_dirs")
    theme_dir = Path(app.instance_path) / "templates"
    if theme_dir.is_dir():
        dirs.insert(0, str(theme_dir))
    if dirs:
        app.jinja_loader = ChoiceLoader([FileSystemLoader(dirs), app.jinja_loader])

    @app.context_processor
    def site_context() -> dict[str, Any]:
        return {
            "site_name": app.config["NAME"],
            "theme": app.config.get("THEME", {}),
            "base_url": app.config["BASE_URL"],
        }


def configure_blueprints(app: Flask) -> None:
    from flask_smorest import Api

    registry = app.extensions["tontine"]
    for blueprint in collect(registry.pm, "register_blueprints", app=app):
        app.register_blueprint(blueprint)
    api = Api(app, spec_kwargs={"info": {"description": "Tontine site API"}})
    for blueprint in collect(registry.pm, "register_api_blueprints", app=app):
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
    app.extensions["tontine.api"] = api


def configure_errors(app: Flask) -> None:
    from tontine.errors import register_error_handlers

    register_error_handlers(app)
