"""Drop the stage-visit indexes nothing reads any more.

Since 0009 the experts' figures come from `kpi_visit_hours` and `ix_stage_visit_hours`; the other
KPI numbers come from the daily rollups. `ix_stage_visit_kpi`, `ix_stage_visit_actor_kpi` and
`ix_stage_visit_actor_left` served per-person and per-province scans of visits that no query makes
now; each one cost every decision an index insertion and a bulk load seconds of index building.
`ix_stage_visit_province_left` stays for reading a province's visits over time.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_stage_visit_kpi", table_name="stage_visit")
    op.drop_index("ix_stage_visit_actor_kpi", table_name="stage_visit")
    op.drop_index("ix_stage_visit_actor_left", table_name="stage_visit")


def downgrade() -> None:
    op.create_index("ix_stage_visit_actor_left", "stage_visit", ["actor_id", "left_at"])
    op.create_index("ix_stage_visit_actor_kpi", "stage_visit", ["actor_id", "left_at"],
                    postgresql_include=["province_id", "hours_used", "met"],
                    postgresql_where=sa.text("left_at IS NOT NULL"))
    op.create_index("ix_stage_visit_kpi", "stage_visit", ["province_id", "left_at"],
                    postgresql_include=["actor_id", "hours_used", "met"],
                    postgresql_where=sa.text("left_at IS NOT NULL"))
