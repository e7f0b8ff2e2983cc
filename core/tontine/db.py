"""Database access: one declarative base, the session, and the unit of work.

Services own transactions (``with unit_of_work():``); views never commit and plugins never
commit. Writes that must not race (funding a project, claiming a reward) run inside a unit of
work: on PostgreSQL they take row locks (``lock_row``); on SQLite the unit of work opens
``BEGIN IMMEDIATE`` so writers are serialized by the database itself.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event, exc, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base for every model in core and plugins (naive UTC datetimes)."""

    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

_in_unit = contextvars.ContextVar("tontine_unit_of_work", default=False)
_after_commit: contextvars.ContextVar[list[Callable[[], Any]] | None] = contextvars.ContextVar(
    "tontine_after_commit", default=None
)


@contextmanager
def unit_of_work() -> Iterator[Any]:
    """One database transaction for a service call; nested calls join the outer one.

    Anything a view read before is rolled back first so that the transaction starts here
    (SQLite then starts it with ``BEGIN IMMEDIATE``). Callbacks registered with
    ``after_commit`` run once the transaction is committed.
    """
    if _in_unit.get():
        yield db.session
        return
    session = db.session
    session.rollback()
    callbacks: list[Callable[[], Any]] = []
    token = _in_unit.set(True)
    cb_token = _after_commit.set(callbacks)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _in_unit.reset(token)
        _after_commit.reset(cb_token)
    for callback in callbacks:
        callback()


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` after the current unit of work commits (at once outside one)."""
    callbacks = _after_commit.get()
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


M = TypeVar("M")


def lock_row(model: type[M], ident: Any) -> M | None:
    """Load a row for update: a row lock on PostgreSQL, the write lock already held on SQLite.

    PostgreSQL takes ``FOR NO KEY UPDATE``: lockers still exclude each other, but rows that
    merely reference this one (a foreign key's ``KEY SHARE`` lock, e.g. inserting a
    contribution of this supporter) neither block it nor deadlock with it.
    """
    return db.session.scalars(
        select(model).where(model.id == ident)  # type: ignore[attr-defined]
        .with_for_update(of=model, key_share=True)
    ).one_or_none()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` inside units of work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _in_unit.get() else "BEGIN")


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle longer than ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout: about ten extra round trips per gift. A
    connection handed back a moment ago is alive; one idle for long may have been closed by
    the server, a proxy or a restart. A failed ping raises ``DisconnectionError`` so the pool
    replaces that connection and the caller never sees it (SQLAlchemy's pessimistic recipe).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["tontine_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("tontine_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # fresh from connect, or back in the pool a moment ago
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:
            record.info.pop("tontine_idle_since", None)
            raise exc.DisconnectionError(str(error)) from error


def enum_column(enum_cls: type, length: int) -> Enum:
    """A portable string column storing an enum's *values* (readable in SQL and reports)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


#: Below this many rows a plain INSERT beats COPY's set-up (a gift's two or three postings).
COPY_THRESHOLD = 64


def insert_rows(table: Any, rows: list[dict[str, Any]], *, returning_ids: bool = False) -> list[int]:
    """Insert many rows at once, without ORM bookkeeping; with ``returning_ids``, their new ids.

    The ledger's postings and transactions and a loan's repayments and their parts come by
    the thousand. On PostgreSQL they are streamed with ``COPY`` on the session's own
    connection (same transaction), the database's bulk path (from ``COPY_THRESHOLD`` rows on): the ids are taken from the
    primary key's sequence first, in one query, and the columns' Python-side defaults
    (``created_at``) are filled in here since ``COPY`` does not know them. Elsewhere they go
    as one executemany (``RETURNING`` the ids in the rows' order when asked).
    """
    if not rows:
        return []
    from operator import itemgetter

    from sqlalchemy import insert, text

    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        if not returning_ids:
            connection.execute(insert(table), rows)
            return []
        (key,) = table.primary_key.columns
        statement = insert(table).returning(key, sort_by_parameter_order=True)
        return list(connection.execute(statement, rows).scalars())
    columns = list(rows[0])
    constants: dict[str, Any] = {}
    makers: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in columns or default is None or column.primary_key:
            continue
        if default.is_scalar:
            constants[column.name] = default.arg
        elif default.is_callable:
            makers[column.name] = default.arg
    ids: list[int] = []
    if returning_ids:
        (key,) = table.primary_key.columns
        ids = list(
            connection.execute(
                text("SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :n)"),
                {"table": table.name, "column": key.name, "n": len(rows)},
            ).scalars()
        )
    names = ([key.name] if returning_ids else []) + columns + list(constants) + list(makers)
    values = itemgetter(*columns)
    fixed = tuple(constants.values())
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
        f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    ) as copy:
        for index, row in enumerate(rows):
            picked = values(row)
            line = (picked,) if len(columns) == 1 else picked
            if returning_ids:
                line = (ids[index], *line)
            if fixed or makers:
                line = (*line, *fixed, *(make(None) for make in makers.values()))
            copy.write_row(line)
    return ids
