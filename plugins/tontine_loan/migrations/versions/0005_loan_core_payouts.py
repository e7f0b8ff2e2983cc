"""withdrawals are core payouts now: drop loan_withdrawals

A lender's withdrawal is a core ``Payout`` from their balance (``supporter_id``), paid
by the site's payment provider; the plugin's hand-marked table is no longer used.

Revision ID: 0005_loan
Revises: 0004_loan
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_loan"
down_revision = "0004_loan"
branch_labels = None
depends_on = "0002_supporter_payouts"


def upgrade() -> None:
    with op.batch_alter_table("loan_withdrawals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_withdrawals_user_id"))
        batch_op.drop_index(batch_op.f("ix_loan_withdrawals_state"))
    op.drop_table("loan_withdrawals")


def downgrade() -> None:
    op.create_table(
        "loan_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_withdrawals_amount_positive")),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_loan_withdrawals_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_loan_withdrawals_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_withdrawals")),
    )
    with op.batch_alter_table("loan_withdrawals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_withdrawals_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_withdrawals_user_id"), ["user_id"], unique=False)

