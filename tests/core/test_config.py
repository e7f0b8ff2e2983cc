"""Configuration: config.toml, then TONTINE_* variables, then overrides; clear start-up errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tontine import create_app
from tontine.config import ConfigError, load_config
from tontine.plugins import installed_plugins

CORE_ONLY = 'plugins = []\npayment_providers = []\n'


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's or CI's own TONTINE_* settings must not leak into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("TONTINE_") and not name.startswith("TONTINE_TEST") and not name.startswith(
            "TONTINE_REQUIRE"
        ):
            monkeypatch.delenv(name)


def instance(tmp_path: Path, toml: str = CORE_ONLY) -> Path:
    folder = tmp_path / "site"
    folder.mkdir(exist_ok=True)
    (folder / "config.toml").write_text(toml)
    return folder


def test_production_without_a_secret_key_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONTINE_ENV", "production")
    with pytest.raises(ConfigError, match="production needs a secret key: set TONTINE_SECRET_KEY"):
        create_app(instance(tmp_path))
    assert not (tmp_path / "site" / "var" / "secret_key").exists()


def test_production_without_a_federation_key_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONTINE_ENV", "production")
    monkeypatch.setenv("TONTINE_SECRET_KEY", "s3cret-from-the-environment")
    with pytest.raises(ConfigError, match="needs a federation key"):
        create_app(instance(tmp_path))


def test_production_reads_secrets_from_files_and_generates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, federation_key_pem: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    key = tmp_path / "federation.pem"
    key.write_text(federation_key_pem)
    monkeypatch.setenv("TONTINE_ENV", "production")
    monkeypatch.setenv("TONTINE_SECRET_KEY_FILE", str(secret))
    monkeypatch.setenv("TONTINE_FEDERATION_KEY_FILE", str(key))
    app = create_app(instance(tmp_path, CORE_ONLY + 'debug = true\n'))
    assert app.config["SECRET_KEY"] == "from-a-file"
    assert app.config["FEDERATION_KEY"].strip() == federation_key_pem.strip()
    assert app.debug is False
    assert not (tmp_path / "site" / "var" / "secret_key").exists()
    assert not (tmp_path / "site" / "var" / "federation_key.pem").exists()


def test_an_unreadable_secret_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONTINE_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot read .*missing"):
        create_app(instance(tmp_path))


def test_outside_production_secrets_are_generated_once_into_var(tmp_path: Path) -> None:
    folder = instance(tmp_path)
    first = load_config(folder)
    second = load_config(folder)
    assert first["SECRET_KEY"] and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert "PRIVATE KEY" in first["FEDERATION_KEY"]
    assert (folder / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["DATABASE_URL"] == f"sqlite:///{folder / 'var' / 'tontine.db'}"


def test_environment_overrides_config_toml_and_overrides_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = instance(
        tmp_path,
        CORE_ONLY + 'name = "Rêves"\nbase_url = "https://dreams.example.org/"\n'
        'database_url = "sqlite:////tmp/from-toml.db"\n',
    )
    config = load_config(folder)
    assert config["NAME"] == "Rêves"
    assert config["BASE_URL"] == "https://dreams.example.org"
    assert config["DATABASE_URL"] == "sqlite:////tmp/from-toml.db"

    monkeypatch.setenv("TONTINE_BASE_URL", "https://reves.example.fr")
    monkeypatch.setenv("TONTINE_DATABASE_URL", "sqlite:////tmp/from-env.db")
    monkeypatch.setenv("TONTINE_SECRET_KEY", "from-env")
    config = load_config(folder)
    assert config["BASE_URL"] == "https://reves.example.fr"
    assert config["DATABASE_URL"] == "sqlite:////tmp/from-env.db"
    assert config["SECRET_KEY"] == "from-env"

    config = load_config(folder, {"BASE_URL": "http://127.0.0.1:5999"})
    assert config["BASE_URL"] == "http://127.0.0.1:5999"


def test_tontine_var_path_moves_the_database_secrets_and_uploads_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One instance folder run twice (the demo network, the single site) keeps two states."""
    folder = instance(tmp_path)
    elsewhere = tmp_path / "network" / "site"
    monkeypatch.setenv("TONTINE_VAR_PATH", str(elsewhere))
    config = load_config(folder)
    assert config["VAR_PATH"] == str(elsewhere)
    assert config["DATABASE_URL"] == f"sqlite:///{elsewhere / 'tontine.db'}"
    assert (elsewhere / "secret_key").exists() and (elsewhere / "federation_key.pem").exists()
    assert not (folder / "var").exists()
    alone = load_config(folder, {"VAR_PATH": "var"})
    assert alone["VAR_PATH"] == str(folder / "var")  # relative: from the instance folder
    assert alone["SECRET_KEY"] != config["SECRET_KEY"]


def test_an_unknown_plugin_is_an_error_listing_the_installed_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(instance(tmp_path, 'plugins = ["no_such_plugin"]\npayment_providers = []\n'))
    message = str(caught.value)
    assert "unknown plugin(s) no_such_plugin" in message
    installed = sorted(installed_plugins())
    assert installed, "the tontine entry points are not installed (pip install -e .)"
    assert f"installed: {', '.join(installed)}" in message


def test_a_payment_provider_no_plugin_provides_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="payment provider.*stripe.*no enabled plugin"):
        create_app(instance(tmp_path, 'plugins = []\npayment_providers = ["stripe"]\n'))


def test_a_default_locale_outside_the_locales_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="locale 'de'"):
        create_app(instance(tmp_path, CORE_ONLY + 'locale = "de"\nlocales = ["en", "fr"]\n'))


def test_https_base_url_makes_cookies_secure(tmp_path: Path) -> None:
    app = create_app(instance(tmp_path, CORE_ONLY + 'base_url = "https://dreams.example.org"\n'))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    plain = create_app(instance(tmp_path, CORE_ONLY))
    assert plain.config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("source", ["config", "env"])
def test_links_use_the_configured_origin_never_the_host_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    from tontine.mail import external_url

    toml = CORE_ONLY + 'base_url = "https://dreams.example.org"\n'
    if source == "env":
        monkeypatch.setenv("TONTINE_BASE_URL", "https://reves.example.fr/")
    app: Any = create_app(instance(tmp_path, toml))
    origin = "https://dreams.example.org" if source == "config" else "https://reves.example.fr"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert external_url("site.home") == origin + "/"
        assert "evil.example" not in external_url("accounts.login")
    with app.app_context():  # no request at all (jobs, CLI)
        assert external_url("accounts.login").startswith(origin + "/")


def test_sites_in_one_process_keep_their_own_translations(tmp_path: Path) -> None:
    """Two sites with different plugins (tests, several instances) never share a catalog."""
    from flask_babel import gettext

    def site(name: str, plugins: str) -> Any:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.toml").write_text(
            f'plugins = {plugins}\npayment_providers = []\nlocale = "fr"\nlocales = ["fr", "en"]\n'
        )
        return create_app(folder)

    core_only, with_sandbox = site("core", "[]"), site("sandbox", '["sandbox"]')
    with core_only.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert gettext("Abandon") == "Abandon"  # a sandbox string: not in this site's catalogs
    with with_sandbox.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert gettext("Abandon") == "Abandonner"
