"""Names are found with or without their half-space (ZWNJ).

PostgreSQL's parser keeps a ZWNJ inside a word, so «علی‌اکبر» was one word that «علیاکبر» and
«علی اکبر» did not begin. The index now holds each name's words split at its ZWNJs and joined
without them; the search leaves a typed ZWNJ out (logic.members.name_tsquery).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NAME = "first_name || ' ' || last_name"


def _recreate(expression: str) -> None:
    op.drop_index("ix_member_name_fts", table_name="member")
    op.create_index("ix_member_name_fts", "member", [sa.text(expression)], postgresql_using="gin")


def upgrade() -> None:
    _recreate(f"to_tsvector('simple', replace({NAME}, chr(8204), ' ') || ' ' || replace({NAME}, chr(8204), ''))")


def downgrade() -> None:
    _recreate(f"to_tsvector('simple', {NAME})")
