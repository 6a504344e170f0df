"""Fee assessments: immutable in the database itself, indexed for "is this tariff used?", and their
'fee_assessed' event no longer counts as a transition (it does not bump the request's version).

- `fee_assessment` rows refuse DELETE, and UPDATE of anything but finance's mark (finance_status,
  finance_by, finance_at): a correction is a new version with a reason.
- `ix_fee_assessment_tariff_id` and a GIN index on `lines` (jsonb_path_ops): the tariff screen asks
  whether any assessment used a tariff row or one of its years (`lines @> '[{"year": 1403}]'`).
- `uq_request_event_transition` excludes 'fee_assessed': the expert's assessment is recorded at the
  request's current version, so the open form stays valid for approving.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_NOTES = "action NOT IN ('comment', 'document_verdict', 'deadline_recomputed')"
NEW_NOTES = "action NOT IN ('comment', 'document_verdict', 'deadline_recomputed', 'fee_assessed')"


def upgrade() -> None:
    op.drop_index("uq_request_event_transition", table_name="request_event")
    op.create_index("uq_request_event_transition", "request_event", ["request_id", "version"], unique=True,
                    postgresql_where=sa.text(NEW_NOTES))
    op.create_index("ix_fee_assessment_tariff_id", "fee_assessment", ["tariff_id"])
    op.create_index("ix_fee_assessment_lines", "fee_assessment", ["lines"], postgresql_using="gin",
                    postgresql_ops={"lines": "jsonb_path_ops"})
    op.execute("""
        CREATE FUNCTION fee_assessment_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'fee assessment % is immutable', OLD.id USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF (NEW.id, NEW.request_id, NEW.version, NEW.tariff_id, NEW.lines, NEW.prior_debt, NEW.total,
                NEW.years, NEW.new_valid_until, NEW.note, NEW.reason, NEW.created_by, NEW.created_at)
               IS DISTINCT FROM
               (OLD.id, OLD.request_id, OLD.version, OLD.tariff_id, OLD.lines, OLD.prior_debt, OLD.total,
                OLD.years, OLD.new_valid_until, OLD.note, OLD.reason, OLD.created_by, OLD.created_at) THEN
                RAISE EXCEPTION 'fee assessment % is immutable: a correction is a new version', OLD.id
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$;
    """)
    op.execute("CREATE TRIGGER fee_assessment_immutable BEFORE UPDATE OR DELETE ON fee_assessment "
               "FOR EACH ROW EXECUTE FUNCTION fee_assessment_immutable()")


def downgrade() -> None:
    op.execute("DROP TRIGGER fee_assessment_immutable ON fee_assessment")
    op.execute("DROP FUNCTION fee_assessment_immutable()")
    op.drop_index("ix_fee_assessment_lines", table_name="fee_assessment")
    op.drop_index("ix_fee_assessment_tariff_id", table_name="fee_assessment")
    op.drop_index("uq_request_event_transition", table_name="request_event")
    op.create_index("uq_request_event_transition", "request_event", ["request_id", "version"], unique=True,
                    postgresql_where=sa.text(OLD_NOTES))
