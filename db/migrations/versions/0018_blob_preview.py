"""A scaled-down copy of each large scanned image (`blob_preview`), made once and shown on screen
instead of the original, which is only downloaded: a 40-megapixel scan is not decoded on every view.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

from db import roles

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.create_table(
        "blob_preview",
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blob.sha256", ondelete="CASCADE"), primary_key=True),
        sa.Column("mime", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("mime IN ('image/jpeg', 'image/png')", name=op.f("ck_blob_preview_mime")),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_blob_preview_size")),
    )
    roles.apply(op.get_bind())  # the app role's rights on the new tables (db/roles.py)


def downgrade() -> None:
    op.drop_table("blob_preview")
