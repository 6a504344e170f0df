"""Append-only guards, frozen published releases, and reference data.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from db.reference import sync_reference_data

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("request_event", "audit_event")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION refuse_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")
    op.execute("""
        CREATE FUNCTION refuse_published_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status = 'published' THEN
                RAISE EXCEPTION 'published release % is frozen', OLD.id USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$;
    """)
    op.execute("CREATE TRIGGER stat_release_frozen BEFORE UPDATE OR DELETE ON stat_release "
               "FOR EACH ROW EXECUTE FUNCTION refuse_published_change()")
    sync_reference_data(op.get_bind())


def downgrade() -> None:
    op.execute("DROP TRIGGER stat_release_frozen ON stat_release")
    op.execute("DROP FUNCTION refuse_published_change()")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION refuse_change()")
    # Reference rows go with their tables in 0001's downgrade.
