"""Pooled connections: a connection the server dropped while idle is replaced, unseen.

On PostgreSQL the pool pings only connections idle longer than ``DB_PING_IDLE_SECONDS``
(not every checkout); a signed-in request loads its user and roles in one query.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from tontine.accounts.models import User
from tontine.accounts.services import load_user
from tontine.db import db


def _terminate_app_connections(app) -> int:
    """Kill the site's pooled connections from another session, as a server restart would."""
    url = sa.make_url(app.config["DATABASE_URL"])
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return len(conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all())
    finally:
        admin.dispose()


def test_postgres_site_survives_dropped_connections(make_app, make_user, login, form_post):
    app = make_app(database="postgres", DB_PING_IDLE_SECONDS=0)
    with app.app_context():
        assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
        user = make_user(name="Eve", roles=("supporter", "project_owner"))
        client = app.test_client()
        login(client, user)
        assert client.get("/account/").status_code == 200
        db.session.remove()  # between requests every connection is back in the pool
        assert _terminate_app_connections(app) >= 1

        page = client.get("/account/")
        assert page.status_code == 200
        assert "Eve" in page.get_data(as_text=True) and "Project owner" in page.get_data(as_text=True)

        db.session.remove()
        _terminate_app_connections(app)
        response = form_post(client, "/account/", data={"display_name": "Eve Martin", "locale": "fr"})
        assert response.status_code == 302
        db.session.remove()
        _terminate_app_connections(app)
        assert db.session.get(User, user.id).display_name == "Eve Martin"


def test_sqlite_site_keeps_pre_ping(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping") is True


def test_signed_in_user_and_roles_load_in_one_query(db_app, make_user):
    user = make_user(roles=("supporter", "project_owner"))
    ident = user.get_id()
    db.session.remove()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        loaded = load_user(ident)
        roles = {assignment.role.value for assignment in loaded.roles}
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert roles == {"supporter", "project_owner"}
    assert len(statements) == 1
    assert load_user(ident.split(":")[0] + ":stale-stamp") is None
