"""gift: reward tiers and claims

Revision ID: 0001_gift
Revises:
Create Date: 2026-11-26 06:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_gift"
down_revision = None
branch_labels = ("gift",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "gift_reward_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("min_amount > 0", name=op.f("ck_gift_reward_tiers_min_amount_positive")),
        sa.CheckConstraint(
            "quantity IS NULL OR quantity > 0", name=op.f("ck_gift_reward_tiers_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_gift_reward_tiers_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_reward_tiers")),
    )
    with op.batch_alter_table("gift_reward_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gift_reward_tiers_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "gift_reward_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(), nullable=True),
        sa.Column("fulfilled_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name=op.f("fk_gift_reward_claims_contribution_id_contributions"),
        ),
        sa.ForeignKeyConstraint(
            ["fulfilled_by"],
            ["users.id"],
            name=op.f("fk_gift_reward_claims_fulfilled_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["gift_reward_tiers.id"],
            name=op.f("fk_gift_reward_claims_tier_id_gift_reward_tiers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_reward_claims")),
        sa.UniqueConstraint("contribution_id", name=op.f("uq_gift_reward_claims_contribution_id")),
    )
    with op.batch_alter_table("gift_reward_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gift_reward_claims_tier_id"), ["tier_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gift_reward_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_reward_claims_tier_id"))
    op.drop_table("gift_reward_claims")
    with op.batch_alter_table("gift_reward_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_reward_tiers_project_id"))
    op.drop_table("gift_reward_tiers")
