"""Server-side revocation of login cookies; member name search and open-queue-by-date indexes.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("staff_user", "session_epoch")
    op.add_column("staff_user", sa.Column("sessions_revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_member_name_fts", "member",
                    [sa.text("to_tsvector('simple', first_name || ' ' || last_name)")], postgresql_using="gin")
    op.create_index("ix_request_open_submitted", "request", ["province_id", "submitted_at"],
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_request_open_submitted", table_name="request")
    op.drop_index("ix_member_name_fts", table_name="member")
    op.drop_column("staff_user", "sessions_revoked_at")
    op.add_column("staff_user", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
