"""Public handles: given with an account's first project, unique, ascii, gone on erasure."""

from __future__ import annotations

from typing import Any

import pytest

from tontine.accounts.services import ensure_handle, erase_account, handle_base


@pytest.fixture(params=["sqlite", "postgres"])
def handles_app(request: pytest.FixtureRequest, site: Any) -> Any:
    app = site(database=request.param)
    with app.app_context():
        yield app


def owner(make_user: Any, name: str) -> Any:
    return make_user(name=name, roles=("supporter", "project_owner"))


def test_owners_get_unique_handles_from_their_names(handles_app, make_user, make_project) -> None:  # type: ignore[no-untyped-def]
    first, second, third = (owner(make_user, "Marie Curie") for _ in range(3))
    supporter = make_user(name="Marie Curie")
    for user in (first, second, third):
        make_project(owner=user, funding_model="plain")
    assert [first.handle, second.handle, third.handle] == [
        "marie_curie",
        "marie_curie2",
        "marie_curie3",
    ]
    assert supporter.handle is None  # only owners are public
    make_project(owner=first, funding_model="plain")
    assert first.handle == "marie_curie"  # a second project keeps the handle


@pytest.mark.parametrize(
    "name,expected",
    [
        ("Zoë Ångström", "zoe_angstrom"),
        ("  Jean-Luc   O'Neil! ", "jean_luc_o_neil"),
        ("ÉCOLE 42", "ecole_42"),
        ("x" * 40, "x" * 30),
        ("李小龍", ""),
        ("___", ""),
    ],
)
def test_handle_base_is_a_short_ascii_slug(name: str, expected: str) -> None:
    assert handle_base(name) == expected


def test_names_without_latin_letters_and_reserved_names(app, make_user) -> None:  # type: ignore[no-untyped-def]
    nameless = owner(make_user, "李小龍")
    assert ensure_handle(nameless) == f"owner{nameless.id}"
    assert ensure_handle(owner(make_user, "Admin")) == "admin2"
    long_a, long_b = owner(make_user, "y" * 80), owner(make_user, "y" * 80)
    assert ensure_handle(long_a) == "y" * 30
    assert ensure_handle(long_b) == "y" * 29 + "2"


def test_erasure_clears_the_handle(app, make_user, make_project) -> None:  # type: ignore[no-untyped-def]
    marie = owner(make_user, "Marie Curie")
    make_project(owner=marie, funding_model="plain")
    assert marie.handle == "marie_curie"
    erase_account(marie, marie)
    assert marie.handle is None


def test_a_handle_taken_meanwhile_is_skipped(handles_app, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another transaction took the name between the check and the write: take the next."""
    from tontine.accounts import services

    first = owner(make_user, "Marie Curie")
    assert ensure_handle(first) == "marie_curie"
    real = services._free_handle
    answers = iter(["marie_curie"])  # what a concurrent check would have answered
    monkeypatch.setattr(services, "_free_handle", lambda base: next(answers, None) or real(base))
    second = owner(make_user, "Marie Curie")
    assert ensure_handle(second) == "marie_curie2"
    from tontine.db import db

    db.session.expire_all()
    assert second.handle == "marie_curie2" and first.handle == "marie_curie"


def test_the_migration_gives_existing_owners_handles(app, make_user, make_project) -> None:  # type: ignore[no-untyped-def]
    """Owners from before handles existed get one on upgrade; erased ones and supporters not."""
    from sqlalchemy import text

    from tontine.db import db
    from tontine.migrate import downgrade, upgrade

    owners = [owner(make_user, "Marie Curie") for _ in range(2)]
    erased = owner(make_user, "Ada Lovelace")
    supporter = make_user(name="Paul Langevin")
    for user in (*owners, erased):
        make_project(owner=user, funding_model="plain")
    erase_account(erased, erased)
    db.session.remove()
    downgrade(app, "0002_supporter_payouts")
    with db.engine.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(users)"))]
    assert "handle" not in columns
    upgrade(app)
    with db.engine.connect() as conn:
        handles = dict(conn.execute(text("SELECT id, handle FROM users")).all())
    assert [handles[u.id] for u in owners] == ["marie_curie", "marie_curie2"]
    assert handles[erased.id] is None and handles[supporter.id] is None


def test_demo_project_owners_have_handles(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from tontine.accounts import services
    from tontine.accounts.models import User
    from tontine.db import db
    from tontine.demo import load_demo_data
    from tontine.projects.models import Project

    monkeypatch.setattr(services, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    with make_app().app_context():
        load_demo_data()
        owners = db.session.scalars(
            select(User).where(User.id.in_(select(Project.owner_id))).order_by(User.id)
        ).all()
        assert owners and all(u.handle for u in owners)
        assert len({u.handle for u in owners}) == len(owners)
