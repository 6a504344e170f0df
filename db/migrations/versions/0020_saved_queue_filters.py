"""Saved queue filters: each member of staff keeps named sets of the queue's view, filters and sort
(`saved_queue_filter`), which come back at every sign-in.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from db import roles

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.create_table(
        "saved_queue_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("filters", JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 60", name=op.f("ck_saved_queue_filter_name")),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"], ondelete="CASCADE",
                                name=op.f("fk_saved_queue_filter_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_queue_filter")),
        sa.UniqueConstraint("staff_user_id", "name", name=op.f("uq_saved_queue_filter_staff_user_id_name")),
    )
    roles.apply(op.get_bind())  # the app role's rights on the new table (db/roles.py)


def downgrade() -> None:
    op.drop_table("saved_queue_filter")
