"""user handles: the public name of an account that owns projects

Revision ID: 0003_user_handles
Revises: 0002_supporter_payouts

Existing project owners (not erased) get a handle, by the rule of
``tontine.accounts.services.ensure_handle`` (copied here: a migration does not change when
the application's code does).
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0003_user_handles"
down_revision = "0002_supporter_payouts"
branch_labels = None
depends_on = None

HANDLE_MAX = 30
RESERVED = {
    "admin", "administrator", "root", "tontine", "actor", "instance", "moderator", "staff",
    "support", "system", "inbox", "outbox", "webmaster", "postmaster", "abuse", "security",
}


def _base(display_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:HANDLE_MAX].rstrip("_")


def upgrade() -> None:
    # Plain ALTERs, no batch copy: SQLite cannot drop ``users`` while rows refer to it.
    op.add_column("users", sa.Column("handle", sa.String(length=30), nullable=True))
    op.create_index(op.f("ix_users_handle"), "users", ["handle"], unique=True)

    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("display_name", sa.String),
        sa.column("handle", sa.String),
        sa.column("erased_at", sa.DateTime),
    )
    projects = sa.table("projects", sa.column("owner_id", sa.Integer))
    conn = op.get_bind()
    owners = conn.execute(
        sa.select(users.c.id, users.c.display_name)
        .where(users.c.erased_at.is_(None))
        .where(users.c.id.in_(sa.select(projects.c.owner_id).where(projects.c.owner_id.is_not(None))))
        .order_by(users.c.id)
    ).all()
    taken = set(RESERVED)
    for user_id, display_name in owners:
        base = _base(display_name or "") or f"owner{user_id}"
        number = 1
        while True:
            suffix = "" if number == 1 else str(number)
            candidate = base[: HANDLE_MAX - len(suffix)] + suffix
            if candidate not in taken:
                break
            number += 1
        taken.add(candidate)
        conn.execute(users.update().where(users.c.id == user_id).values(handle=candidate))


def downgrade() -> None:
    op.drop_index(op.f("ix_users_handle"), table_name="users")
    op.drop_column("users", "handle")  # SQLite >= 3.35 drops a column in place
