"""Server-side login sessions and the shared login throttle.

`staff_session` replaces `staff_user.sessions_revoked_at`: each login is a row (its cookie carries
the token, the row its HMAC), checked on every page run for revocation, idle and absolute timeouts.
`login_throttle` counts recent failed logins per typed username and for all of them together, so
every app process behind the load balancer throttles the same way. Sessions cannot be carried over
(an old cookie holds no session token): after this migration everyone signs in again.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

from db import roles

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_session",
        sa.Column("id", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.CheckConstraint("octet_length(id) = 32", name=op.f("ck_staff_session_id_length")),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], name=op.f("fk_staff_session_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
    )
    op.create_index("ix_staff_session_user_id", "staff_session", ["user_id"],
                    postgresql_where=sa.text("revoked_at IS NULL"))
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", TZ, nullable=False),
        sa.Column("last_failed_at", TZ, nullable=False),
        sa.CheckConstraint("failures >= 1", name=op.f("ck_login_throttle_failures")),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_login_throttle")),
    )
    op.drop_column("staff_user", "sessions_revoked_at")
    roles.apply(op.get_bind())  # the app role's rights on the new tables (db/roles.py)


def downgrade() -> None:
    op.add_column("staff_user", sa.Column("sessions_revoked_at", TZ, nullable=True))
    op.drop_table("login_throttle")
    op.drop_index("ix_staff_session_user_id", table_name="staff_session")
    op.drop_table("staff_session")
