"""The ``tontine`` command, as an operator uses it: through click and as the installed script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tontine.cli import main

CONFIG = """\
name = "CLI test site"
plugins = []
payment_providers = []
locale = "en"
locales = ["en", "fr"]
"""


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh instance folder; TONTINE_INSTANCE is restored after the test (--instance sets it)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "config.toml").write_text(CONFIG)
    for name in list(os.environ):
        if name.startswith("TONTINE_") and not name.startswith(("TONTINE_TEST", "TONTINE_REQUIRE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TONTINE_INSTANCE", str(folder))
    return folder


def tontine(instance: Path, *args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(main, ["--instance", str(instance), *args], input=input)
    assert result.exit_code == 0, f"tontine {' '.join(args)} failed:\n{result.output}{result.exception!r}"
    return result


def tables(instance: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{instance / 'var' / 'tontine.db'}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_init_creates_var_secrets_and_schema_and_is_idempotent(instance: Path) -> None:
    result = tontine(instance, "init")
    assert "CLI test site: ready" in result.output
    var = instance / "var"
    secret = (var / "secret_key").read_text()
    key = (var / "federation_key.pem").read_text()
    assert (var / "uploads").is_dir()
    assert {"projects", "ledger_postings", "jobs", "users", "alembic_version"} <= tables(instance)

    again = tontine(instance, "init")
    assert "ready" in again.output
    assert (var / "secret_key").read_text() == secret
    assert (var / "federation_key.pem").read_text() == key


def test_db_downgrade_to_base_then_upgrade(instance: Path) -> None:
    tontine(instance, "init")
    tontine(instance, "db", "downgrade", "base")
    assert tables(instance) <= {"alembic_version"}
    tontine(instance, "db", "upgrade")
    assert {"projects", "ledger_postings", "jobs"} <= tables(instance)


def test_plugins_lists_installed_and_enabled(instance: Path) -> None:
    from tontine.plugins import installed_plugins

    (instance / "config.toml").write_text(CONFIG.replace("plugins = []", 'plugins = ["sandbox"]'))
    output = tontine(instance, "plugins").output
    for name in installed_plugins():
        assert name in output
    lines = {line.split()[1]: line.split()[0] for line in output.splitlines() if line.strip()}
    assert lines["sandbox"] == "enabled"
    assert all(state == "disabled" for name, state in lines.items() if name != "sandbox")


def test_create_admin_creates_an_administrator_once(instance: Path) -> None:
    from tontine import create_app
    from tontine.accounts.services import authenticate

    tontine(instance, "init")
    args = ["create-admin", "--email", "Admin@Example.org", "--name", "Ada", "--password", "long enough secret"]
    assert "admin: admin@example.org" in tontine(instance, *args).output
    assert "admin: admin@example.org" in tontine(instance, *args).output
    app = create_app(instance)
    with app.app_context():
        user = authenticate("admin@example.org", "long enough secret")
        assert user is not None and user.is_admin
        from tontine.accounts.models import User
        from tontine.db import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        db.engine.dispose()


def test_create_admin_prompts_for_the_password(instance: Path) -> None:
    tontine(instance, "init")
    result = tontine(
        instance, "create-admin", "--email", "root@example.org",
        input="prompted password\nprompted password\n",
    )
    assert "admin: root@example.org" in result.output


def test_bad_input_is_a_clear_error_not_a_traceback(instance: Path) -> None:
    (instance / "config.toml").write_text(CONFIG.replace("plugins = []", 'plugins = ["nope"]'))
    result = CliRunner().invoke(main, ["--instance", str(instance), "init"])
    assert result.exit_code != 0
    assert "unknown plugin(s) nope" in (result.output + repr(result.exception))


def tontine_script() -> str:
    found = Path(sys.executable).parent / "tontine"
    return str(found) if found.exists() else (shutil.which("tontine") or "tontine")


def test_the_installed_script_runs_init_and_plugins(instance: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONTINE_")}
    for args in (["init"], ["init"], ["plugins"]):
        done = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
            [tontine_script(), "--instance", str(instance), *args],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert "disabled" in done.stdout and "gift" in done.stdout
    assert {"projects", "alembic_version"} <= tables(instance)
