"""matched giving: one row per matched gift

Revision ID: 0001_matched
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_matched"
down_revision = None
branch_labels = ("matched",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "matched_gifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_matched_gifts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["contribution_id"], ["contributions.id"],
            name=op.f("fk_matched_gifts_contribution_id_contributions"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_matched_gifts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matched_gifts")),
        sa.UniqueConstraint("contribution_id", name=op.f("uq_matched_gifts_contribution_id")),
    )
    op.create_index(op.f("ix_matched_gifts_project_id"), "matched_gifts", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_matched_gifts_project_id"), table_name="matched_gifts")
    op.drop_table("matched_gifts")
