"""Alembic migrations are the only way the schema is made, so they must match the models.

Each test starts from an empty database (SQLite file, or a PostgreSQL database of its own),
upgrades every branch with every installed plugin enabled, then asks Alembic's autogenerate
what differs between the migrated schema and the models: the answer must be nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tontine.testing import postgres_url, require_or_skip


def all_plugins() -> list[str]:
    from tontine.plugins import installed_plugins

    return sorted(installed_plugins())


def import_every_model(app: Any) -> None:
    """Models of core and of each enabled plugin (``<plugin>.models`` when it exists)."""
    import tontine.models  # noqa: F401

    for plugin in app.extensions["tontine"].pm.get_plugins():
        name = getattr(plugin, "__name__", "")
        if not hasattr(plugin, "__path__"):  # a module, not a package: no models submodule
            continue
        if importlib.util.find_spec(f"{name}.models") is not None:
            importlib.import_module(f"{name}.models")


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = postgres_url()
    if not base:
        require_or_skip("TONTINE_REQUIRE_POSTGRES", "PostgreSQL tests need TONTINE_TEST_DATABASE_URL")
    url = sa.make_url(base)
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    name = f"{url.database or 'test'}_migrations_{worker}_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def site(empty_database: str, tmp_path: Path, federation_key_pem: str) -> Iterator[Any]:
    """Every installed plugin enabled, on the empty database; not migrated yet."""
    from tontine import create_app

    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "config.toml").write_text('name = "Migrations"\nlocale = "en"\n')
    app = create_app(
        folder,
        {
            "PLUGINS": all_plugins(),
            "PAYMENT_PROVIDERS": [],
            "DATABASE_URL": empty_database,
            "SECRET_KEY": "test",
            "FEDERATION_KEY": federation_key_pem,
            "JOBS_IN_PROCESS": False,
        },
    )
    yield app
    from tontine.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def foreign_tables(app: Any) -> set[str]:
    """Tables of models from packages this site does not enable (e.g. a test's own plugin)."""
    from tontine.db import Base

    roots = {"tontine"} | {
        getattr(plugin, "__name__", "").split(".")[0]
        for plugin in app.extensions["tontine"].pm.get_plugins()
    }
    return {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if mapper.class_.__module__.split(".")[0] not in roots
    }


def differences(app: Any) -> list[Any]:
    from tontine.db import Base, db

    import_every_model(app)
    skip = foreign_tables(app)

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name not in skip

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        return compare_metadata(context, Base.metadata)


def table_names(app: Any) -> set[str]:
    from tontine.db import db

    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_create_exactly_the_models(site: Any) -> None:
    from tontine.migrate import upgrade

    upgrade(site)
    assert differences(site) == []


def test_every_model_table_is_made_by_a_migration(site: Any) -> None:
    from tontine.db import Base
    from tontine.migrate import upgrade

    upgrade(site)
    import_every_model(site)
    assert set(Base.metadata.tables) - foreign_tables(site) <= table_names(site)


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(site: Any) -> None:
    from tontine.migrate import current_heads, downgrade, upgrade

    upgrade(site)
    heads = current_heads(site)
    created = table_names(site)
    downgrade(site, "base")
    assert table_names(site) == set()
    upgrade(site)
    assert current_heads(site) == heads
    assert table_names(site) == created
    assert differences(site) == []


def test_upgrading_twice_changes_nothing(site: Any) -> None:
    from tontine.migrate import current_heads, upgrade

    upgrade(site)
    heads = current_heads(site)
    upgrade(site)
    assert current_heads(site) == heads


def test_every_plugin_branch_is_labelled_and_depends_on_the_core(site: Any) -> None:
    from alembic.script import ScriptDirectory

    from tontine.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(site))
    for base in scripts.get_bases():
        revision = scripts.get_revision(base)
        assert revision.branch_labels, f"revision {base} has no branch label"
        if "core" not in revision.branch_labels:
            depends = revision.dependencies or ()
            depends = (depends,) if isinstance(depends, str) else tuple(depends)
            assert "0001_core" in depends, f"{base} ({revision.branch_labels}) must depend on 0001_core"
