"""Configuration: the instance folder's ``config.toml``, then the environment, then overrides.

No code runs from configuration. Secrets that are missing outside production are generated
into ``var/`` once and reused; in production they must be given explicitly.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULTS: dict[str, Any] = {
    "NAME": "Tontine",
    "BASE_URL": "http://127.0.0.1:5000",
    "PLUGINS": ["gift", "sandbox"],
    "LOCALE": "en",
    "LOCALES": ["en", "fr"],
    "CURRENCY": "EUR",
    "TIMEZONE": "UTC",
    "ENV": "development",
    "PLATFORM_FEE_PERCENT": "0",
    "PAYMENT_PROVIDERS": ["sandbox"],
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_FROM": "tontine@localhost",
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
    "BROWSE_CACHE_SECONDS": 5,
    "DB_PING_IDLE_SECONDS": 10,  # PostgreSQL: check a pooled connection idle longer than this  # how old the list page's cards may be (0: always fresh)
    "LOGIN_RATE_LIMIT": "10 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "CHECKOUT_EXPIRY_MINUTES": 30,
    "JOBS_IN_PROCESS": None,  # None: decided from the database (on for SQLite)
    "THEME": {},
    "FEDERATION": {},
    "SANDBOX": {},
}

#: Environment variables read on top of config.toml (``TONTINE_<KEY>``).
ENV_KEYS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "FEDERATION_KEY_FILE",
    "FEDERATION_KEY",
    "BASE_URL",
    "ENV",
    "MAIL_SERVER",
    "MAIL_PORT",
    "RATELIMIT_STORAGE_URI",
    "VAR_PATH",
)


class ConfigError(RuntimeError):
    """The instance cannot start with this configuration; the message says why."""


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, ``config.toml``, ``TONTINE_*`` variables and ``overrides``."""
    config = dict(DEFAULTS)
    toml_path = instance_path / "config.toml"
    if toml_path.exists():
        with toml_path.open("rb") as fh:
            data = tomllib.load(fh)
        config.update({key.upper(): value for key, value in data.items()})
    for key in ENV_KEYS:
        value = os.environ.get(f"TONTINE_{key}")
        if value:
            config[key] = value
    config.update(overrides or {})
    var = _var_path(instance_path, config.get("VAR_PATH"))
    config["VAR_PATH"] = str(var)
    config.setdefault("DATABASE_URL", f"sqlite:///{var / 'tontine.db'}")
    config["BASE_URL"] = str(config["BASE_URL"]).rstrip("/")
    production = config["ENV"] == "production"
    config["SECRET_KEY"] = _secret_key(config, var, production)
    config["FEDERATION_KEY"] = _federation_key(config, var, production)
    return config


def _var_path(instance_path: Path, value: Any) -> Path:
    """Runtime state: ``var/`` in the instance folder, or elsewhere (several runs of one folder).

    A relative path is taken from the instance folder, like the default.
    """
    return instance_path / Path(str(value)).expanduser() if value else instance_path / "var"


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _secret_key(config: dict[str, Any], var: Path, production: bool) -> str:
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    if config.get("SECRET_KEY_FILE"):
        return _read_file(config["SECRET_KEY_FILE"])
    if production:
        raise ConfigError(
            "TONTINE_ENV=production needs a secret key: set TONTINE_SECRET_KEY "
            "or TONTINE_SECRET_KEY_FILE"
        )
    path = var / "secret_key"
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _federation_key(config: dict[str, Any], var: Path, production: bool) -> str:
    """The instance actor's RSA private key (PEM); generated lazily outside production."""
    if config.get("FEDERATION_KEY"):
        return str(config["FEDERATION_KEY"])
    if config.get("FEDERATION_KEY_FILE"):
        return _read_file(config["FEDERATION_KEY_FILE"])
    if production:
        raise ConfigError(
            "TONTINE_ENV=production needs a federation key: set TONTINE_FEDERATION_KEY "
            "or TONTINE_FEDERATION_KEY_FILE (an RSA-2048 private key in PEM)"
        )
    path = var / "federation_key.pem"
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()
