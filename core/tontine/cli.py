"""The ``tontine`` command: Flask's CLI family, plus the site's own commands.

``tontine --instance instances/dreams init`` creates ``var/``, generates what is missing and
migrates; it is idempotent. Plugins add commands through ``register_commands``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from tontine.plugins import collect, installed_plugins

REPO = Path(__file__).resolve().parents[2]


def _make_app() -> Any:
    from tontine import create_app

    return create_app()


def _set_instance(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ["TONTINE_INSTANCE"] = str(Path(value).resolve())


class TontineGroup(FlaskGroup):
    """Adds the commands that enabled plugins register."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except Exception:  # noqa: BLE001 - no loadable app (bad instance): only the core commands
            return {}
        return {cmd.name: cmd for cmd in collect(app.extensions["tontine"].pm, "register_commands")}

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        return command or self._plugin_commands(ctx).get(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands(ctx)))


@click.group(cls=TontineGroup, create_app=_make_app, add_version_option=False, load_dotenv=False)
@click.option(
    "--instance",
    metavar="PATH",
    expose_value=False,
    is_eager=True,
    callback=_set_instance,
    help="Instance folder (default: $TONTINE_INSTANCE or instances/dreams).",
)
def main() -> None:
    """Run and manage a Tontine site."""


@main.command()
@with_appcontext
def init() -> None:
    """Create var/, generate missing secrets and migrate (safe to run again)."""
    from tontine.migrate import upgrade

    Path(current_app.config["VAR_PATH"], "uploads").mkdir(parents=True, exist_ok=True)
    upgrade(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"{current_app.config['NAME']}: ready in {current_app.instance_path}")


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("target", default="heads")
@with_appcontext
def db_upgrade(target: str) -> None:
    """Apply migrations up to TARGET (default: every branch's head)."""
    from tontine.migrate import upgrade

    upgrade(current_app._get_current_object(), target)  # type: ignore[attr-defined]


@db.command("downgrade")
@click.argument("target")
@with_appcontext
def db_downgrade(target: str) -> None:
    """Revert migrations down to TARGET (e.g. ``base`` or ``gift@base``)."""
    from tontine.migrate import downgrade

    downgrade(current_app._get_current_object(), target)  # type: ignore[attr-defined]


@main.command("demo-data")
@with_appcontext
def demo_data() -> None:
    """Load the instance's demo data (loading it twice changes nothing)."""
    from tontine.demo import load_demo_data

    summary = load_demo_data()
    click.echo(summary)


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Admin")
@click.password_option()
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator account (or grant the role to an existing one)."""
    from tontine.accounts.services import ensure_admin

    user = ensure_admin(email=email, display_name=name, password=password)
    click.echo(f"admin: {user.email}")


@main.command()
@with_appcontext
def plugins() -> None:
    """List installed plugins and which this instance enables."""
    enabled = set(current_app.config["PLUGINS"])
    for name, ep in sorted(installed_plugins().items()):
        mark = "enabled " if name in enabled else "disabled"
        click.echo(f"{mark}  {name:12} {ep.value}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=None, type=int, help="gunicorn workers (1 with SQLite).")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the site with gunicorn (deploy/gunicorn.conf.py)."""
    from tontine import create_app
    from tontine.db import db, is_sqlite

    os.environ.setdefault("TONTINE_BASE_URL", f"http://{host}:{port}")
    app = create_app()
    with app.app_context():
        sqlite = is_sqlite(db.engine)
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    args = [gunicorn, "-c", str(REPO / "deploy" / "gunicorn.conf.py"), "--bind", f"{host}:{port}"]
    if sqlite:
        args += ["--workers", "1"]
    elif workers:
        args += ["--workers", str(workers)]
    args += ["--chdir", str(REPO / "deploy"), "wsgi:app"]
    os.execv(args[0], args)


@main.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@with_appcontext
def worker(once: bool) -> None:
    """Run background jobs (any number of workers may run, on any machine)."""
    import threading

    from tontine.jobs.services import run_pending, work_forever

    if once:
        click.echo(f"ran {run_pending()} job(s)")
        return
    stop = threading.Event()
    try:
        work_forever(current_app._get_current_object(), stop)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        stop.set()
