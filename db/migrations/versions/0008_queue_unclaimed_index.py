"""The group queue's own index: open, unclaimed requests of a province in due order.

The group view, "next task" and their counts read it: the stage pairs and the four-eyes check are
tested on its included columns, so a page of the most urgent unclaimed work touches the heap only
for the rows it shows, however many requests are claimed or closed around them.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_request_unclaimed", "request", ["province_id", "stage_due_at", "id"],
                    postgresql_include=["type_code", "stage_code", "initial_reviewer_id", "stage_risk_at"],
                    postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_request_unclaimed", table_name="request")
