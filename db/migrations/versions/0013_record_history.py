"""The member record's history: what each completed request changed, naming the request.

`record_change` holds one row per change a request made to a member's record (admission, the old
membership registered, a province move, a card issued, a rank, a licence issued or renewed);
append-only like the events. A work licence names the request that issued it. The rating's committee
is a role of its own (`rating_committee`), and the second chart of an existing rating a type of its
own; the stage names and checklists of `domain.processes` are synced again (the seed's names, the
legacy chart's «شماره ثنا»).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from db.reference import sync_reference_data
from domain.outcomes import CHANGE_KINDS_FA
from domain.roles import ALL_ROLES

OLD_ROLES = ('expert', 'final_reviewer', 'head', 'central_expert', 'finance', 'committee', 'manager', 'board', 'admin')


def _role_checks(roles) -> None:
    listed = ", ".join(repr(r) for r in roles)
    op.drop_constraint(op.f("ck_staff_user_roles"), "staff_user", type_="check")
    op.create_check_constraint(op.f("ck_staff_user_roles"), "staff_user",
                               f"cardinality(roles) >= 1 AND roles <@ ARRAY[{listed}]::text[]")
    op.drop_constraint(op.f("ck_request_stage_role"), "request_stage", type_="check")
    op.create_check_constraint(op.f("ck_request_stage_role"), "request_stage",
                               f"role IS NULL OR role = ANY(ARRAY[{listed}])")

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("work_licence", sa.Column("request_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_work_licence_request_id_request"), "work_licence", "request",
                          ["request_id"], ["id"])
    op.create_index("ix_work_licence_request_id", "work_licence", ["request_id"],
                    postgresql_where=sa.text("request_id IS NOT NULL"))
    kinds = ", ".join(repr(k) for k in CHANGE_KINDS_FA)
    op.create_table(
        "record_change",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("member_id", sa.BigInteger(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request_id", sa.BigInteger(), sa.ForeignKey("request.id"), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("province_id", sa.SmallInteger(), sa.ForeignKey("province.id"), nullable=False),
        sa.Column("licence_id", sa.BigInteger(), sa.ForeignKey("work_licence.id"), nullable=True),
        sa.Column("details", JSONB(), server_default="{}", nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_record_change_kind")),
    )
    op.create_index("ix_record_change_member_at", "record_change", ["member_id", "at"])
    op.create_index("ix_record_change_request_id", "record_change", ["request_id"])
    op.create_index("ix_record_change_kind_at", "record_change", ["kind", "at"],
                    postgresql_include=["province_id", "licence_id"])
    op.execute("CREATE TRIGGER record_change_append_only BEFORE UPDATE OR DELETE ON record_change "
               "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    op.execute("CREATE TRIGGER record_change_no_truncate BEFORE TRUNCATE ON record_change "
               "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")
    _role_checks(ALL_ROLES)
    sync_reference_data(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM request_stage WHERE role = 'rating_committee'")  # rows of the new type go with it
    _role_checks(OLD_ROLES)
    op.drop_table("record_change")
    op.drop_index("ix_work_licence_request_id", table_name="work_licence")
    op.drop_constraint(op.f("fk_work_licence_request_id_request"), "work_licence", type_="foreignkey")
    op.drop_column("work_licence", "request_id")
