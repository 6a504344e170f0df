"""Store when each running clock turns "at risk", so SLA status is a plain comparison in SQL.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request", sa.Column("stage_risk_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("request", sa.Column("risk_at", sa.DateTime(timezone=True), nullable=True))
    # Rows from before this revision: at risk from the deadline itself until recomputed.
    op.execute("UPDATE request SET stage_risk_at = stage_due_at, risk_at = due_at WHERE stage_due_at IS NOT NULL")
    op.create_check_constraint(
        "risk_before_due", "request",
        "(stage_due_at IS NULL) = (stage_risk_at IS NULL) AND stage_risk_at <= stage_due_at "
        "AND (due_at IS NULL) = (risk_at IS NULL) AND risk_at <= due_at")


def downgrade() -> None:
    op.drop_constraint("risk_before_due", "request", type_="check")
    op.drop_column("request", "risk_at")
    op.drop_column("request", "stage_risk_at")
