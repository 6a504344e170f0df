"""Membership numbers are drawn from a sequence when the head approves a new member.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE membership_no_seq START 1")


def downgrade() -> None:
    op.execute("DROP SEQUENCE membership_no_seq")
