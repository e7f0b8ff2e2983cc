"""federation: received activities keep their change until the worker applies it

Revision ID: 0002_received_pending
Revises: 0001_federation
Create Date: 2026-11-26 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_received_pending"
down_revision = "0001_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("federation_received_activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending", sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index(
            "ix_federation_received_activities_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("pending IS NOT NULL"),
            sqlite_where=sa.text("pending IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_received_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_federation_received_activities_pending")
        batch_op.drop_column("pending")
