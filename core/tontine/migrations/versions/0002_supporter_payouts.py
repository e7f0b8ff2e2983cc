"""supporter payouts: a payout comes from a project's escrow or a supporter's balance

Revision ID: 0002_supporter_payouts
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_supporter_payouts"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ONE_SOURCE = "(project_id IS NULL) <> (supporter_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("supporter_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payouts_supporter_id_users"), "users", ["supporter_id"], ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_payouts_supporter_id"), ["supporter_id"], unique=False)
        batch_op.create_check_constraint("one_source", ONE_SOURCE)


def downgrade() -> None:
    # Supporter payouts have no project: they cannot survive the older schema.
    op.execute("DELETE FROM payouts WHERE project_id IS NULL")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payouts_one_source"), type_="check")
        batch_op.drop_index(batch_op.f("ix_payouts_supporter_id"))
        batch_op.drop_constraint(batch_op.f("fk_payouts_supporter_id_users"), type_="foreignkey")
        batch_op.drop_column("supporter_id")
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
