"""Partial tracking codes and national IDs in the queue's search box: the first or the last digits of
either («2910» finds …002910). Index-backed: pattern-ops indexes on the value and on its reverse,
limited to open requests for the codes (the queue shows only those).

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.execute("CREATE INDEX ix_request_open_code_prefix ON request (tracking_code text_pattern_ops) "
               "WHERE status = 'open'")
    op.execute("CREATE INDEX ix_request_open_code_suffix ON request (reverse(tracking_code) text_pattern_ops) "
               "WHERE status = 'open'")
    op.execute("CREATE INDEX ix_member_national_id_prefix ON member (national_id text_pattern_ops)")
    op.execute("CREATE INDEX ix_member_national_id_suffix ON member (reverse(national_id) text_pattern_ops)")


def downgrade() -> None:
    for name in ("ix_member_national_id_suffix", "ix_member_national_id_prefix", "ix_request_open_code_suffix",
                 "ix_request_open_code_prefix"):
        op.execute(f"DROP INDEX {name}")
