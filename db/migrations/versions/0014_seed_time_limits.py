"""Time limits exactly as seed 002 gives them.

A stage the chart gives no time has no limit (`request_stage.limit_days` NULL while its clock still
measures the time used; its visits have no `limit_hours` or due time and no verdict), a process
without a total has none (`request_type.total_limit_days` NULL: not judged for SLA compliance), and
«کمتر از ۱ روز» is half a working day, so `limit_days` becomes numeric. The limits of
`domain.processes` are synced again.

Written so that it also runs after a 0001 that already creates these columns this way (a new
database syncs the current processes at 0002).

Revision ID: 0014
Revises: 0013
"""
from alembic import op

from db.reference import sync_reference_data

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE request_type ALTER COLUMN total_limit_days DROP NOT NULL")
    op.execute("ALTER TABLE request_stage DROP CONSTRAINT IF EXISTS ck_request_stage_limit_iff_clock")
    op.execute("ALTER TABLE request_stage DROP CONSTRAINT IF EXISTS ck_request_stage_limit_only_when_clock")
    op.execute("ALTER TABLE request_stage ALTER COLUMN limit_days TYPE numeric(4, 2)")
    op.execute("ALTER TABLE request_stage ADD CONSTRAINT ck_request_stage_limit_only_when_clock "
               "CHECK (clock_runs OR limit_days IS NULL)")
    op.execute("ALTER TABLE stage_visit ALTER COLUMN limit_hours DROP NOT NULL")
    sync_reference_data(op.get_bind())


def downgrade() -> None:
    # The earlier limits come back with 0013's code; here only the columns' shape returns.
    op.execute("ALTER TABLE request_stage DROP CONSTRAINT ck_request_stage_limit_only_when_clock")
    op.execute("UPDATE request_stage SET limit_days = ceil(limit_days) WHERE limit_days IS NOT NULL")
    op.execute("ALTER TABLE request_stage ALTER COLUMN limit_days TYPE integer")
