"""Shared pieces of the benchmarks: a PostgreSQL instance, seeding, gunicorn, the load generator.

Every benchmark serves through the production entry (``deploy/wsgi.py`` with
``deploy/gunicorn.conf.py``) on PostgreSQL, and measures with a load generator running in a
separate process (``bench/load.py``), so that what is compared side by side in one run is
the same machine under the same conditions.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark password"


def pg_base_url() -> sa.URL:
    return sa.make_url(
        os.environ.get("TONTINE_BENCH_DATABASE_URL")
        or os.environ.get("TONTINE_TEST_DATABASE_URL")
        or DEFAULT_PG
    )


def fresh_database(name: str) -> str:
    """Drop and create ``name`` on the benchmark server; returns its URL."""
    base = pg_base_url()
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """A temporary instance folder on its own PostgreSQL database, migrated."""

    def __init__(self, name: str, plugins: tuple[str, ...] = ("gift", "sandbox", "manual", "balance")):
        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix=f"tontine-bench-{name}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = fresh_database(f"tontine_bench_{name}")
        (self.folder / "config.toml").write_text(
            f'name = "Bench {name}"\n'
            f'plugins = {json.dumps(list(plugins))}\n'
            'payment_providers = ["sandbox"]\n'
            'locale = "en"\nlocales = ["en", "fr"]\ncurrency = "EUR"\n'
            'login_rate_limit = "100000 per minute"\n'
            "jobs_in_process = false\n"
            "[sandbox]\nwebhook_delay_seconds = 0\n"
        )
        self.env = {
            **os.environ,
            "TONTINE_INSTANCE": str(self.folder),
            "TONTINE_DATABASE_URL": self.database_url,
            "TONTINE_BASE_URL": self.url,
            "TONTINE_ENV": "development",
        }
        run([str(BIN / "tontine"), "init"], env=self.env)

    def app(self) -> Any:
        from tontine import create_app

        return create_app(self.folder, {"DATABASE_URL": self.database_url, "BASE_URL": self.url})


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def seed_projects(site: Site, count: int, **terms: Any) -> list[int]:
    """``count`` open gift projects, inserted in bulk (services would take minutes for 10,000)."""
    from argon2 import PasswordHasher

    from tontine.accounts.models import Role, RoleAssignment, User
    from tontine.db import db, utcnow
    from tontine.projects.models import Person, Project

    app = site.app()
    now = utcnow()
    with app.app_context():
        owner = User(
            email="owner@bench.example", password_hash=PasswordHasher().hash(PASSWORD),
            display_name="Bench Owner", security_stamp="bench",
        )
        owner.roles = [RoleAssignment(role=Role.SUPPORTER), RoleAssignment(role=Role.PROJECT_OWNER)]
        db.session.add(owner)
        db.session.flush()
        categories = ["food", "education", "health", "culture", "environment", "crafts"]
        places = ["Lyon", "Dakar", "Rennes", "Abidjan", "Marseille", "Lomé", "Lille", "Bamako"]
        ids: list[int] = []
        batch = 1000
        for start in range(0, count, batch):
            n = min(batch, count - start)
            people = db.session.execute(
                sa.insert(Person.__table__).returning(Person.__table__.c.id),
                [
                    {"user_id": owner.id, "name": f"Dreamer {start + i}", "town": places[(start + i) % 8],
                     "country": "FR", "consent_publish": True, "consent_federate": True}
                    for i in range(n)
                ],
            ).scalars().all()
            rows = [
                {
                    "owner_id": owner.id, "person_id": person_id,
                    "title": f"Dream number {start + i}: a {categories[(start + i) % 6]} project",
                    "summary": "A realistic summary of what the money will do.",
                    "story": "A story of a few paragraphs. " * 20,
                    "place": places[(start + i) % 8], "country": "FR",
                    "category": categories[(start + i) % 6],
                    "goal_amount": 100_000 + 500 * ((start + i) % 40), "currency": "EUR",
                    "deadline": now + timedelta(days=30 + (start + i) % 30),
                    "funding_model": "gift", "terms": {"mode": "keep_it_all", **terms},
                    "state": "open", "opened_at": now, "created_at": now, "updated_at": now,
                    "featured": (start + i) % 97 == 0,
                }
                for i, person_id in enumerate(people)
            ]
            ids += db.session.execute(
                sa.insert(Project.__table__).returning(Project.__table__.c.id), rows
            ).scalars().all()
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    return ids


@contextmanager
def gunicorn(
    site_env: dict[str, str], port: int, app: str = "wsgi:app", chdir: Path = REPO / "deploy",
    workers: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with deploy/gunicorn.conf.py; ``app``/``chdir`` swap in the bare endpoint."""
    env = dict(site_env)
    if workers:  # otherwise deploy/gunicorn.conf.py decides (2 x CPUs + 1)
        env["TONTINE_WORKERS"] = str(workers)
    args = [
        str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null",
        "--chdir", str(chdir), app,
    ]
    # Kept after the run (delete=False) so that a failed start can be read.
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", proc, Path(log.name))
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up:\n{log.read_text()[-3000:]}")


def load(url: str, seconds: float = 10, concurrency: int = 8, processes: int = 2) -> dict[str, Any]:
    """Run bench/load.py in its own process against ``url``; returns its figures."""
    done = run([
        sys.executable, str(BENCH / "load.py"), url, "--seconds", str(seconds),
        "--concurrency", str(concurrency), "--processes", str(processes),
    ])
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    with sa.create_engine(pg_base_url()).connect() as conn:
        pg = conn.exec_driver_sql("SHOW server_version").scalar()
    return (
        f"{os.cpu_count()} CPU ({cpu}){mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, PostgreSQL {pg}"
    )


def table(title: str, rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [title, ""]
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def record(name: str, data: dict[str, Any]) -> None:
    """Keep the figures in bench/results/<name>.json (git-ignored) for docs/performance.md."""
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    data = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **data}
    (out / f"{name}.json").write_text(json.dumps(data, indent=2))
