"""The app role and its grants, guard triggers that replica mode cannot skip, and the audit hash chain.

* `db.roles.apply`: the app role `nezam_app` (created if the server lacks it), its table privileges
  (no TRUNCATE anywhere, no UPDATE or DELETE on the event, audit and history tables), the KPI
  functions as SECURITY DEFINER (they keep rollups the app may only read), and the append-only,
  frozen and immutable triggers ENABLE ALWAYS.
* `audit_event.prev_hash / row_hash` and `audit_chain_head`: each row hashes the one before it
  (`db.audit_chain`); the rows already there are chained in id order here.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from db import roles
from db.audit_chain import GENESIS_SQL, HASH_FUNCTION, ROW_HASH

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CHAIN_TRIGGER = f"""
CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE head audit_chain_head; prev bytea;
BEGIN
    -- One chain: the head row's lock orders concurrent writers (held until they commit), and the id
    -- is taken under it, so id order is chain order whatever order the transactions started in. In
    -- REPEATABLE READ a head moved since the snapshot is a serialization failure, never a stale link.
    SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
    -- Rows this statement already added come after the head (it moves once per statement, below:
    -- moving it per row would leave one row version per insert for the next lock to walk).
    SELECT row_hash INTO prev FROM audit_event WHERE id > head.last_id ORDER BY id DESC LIMIT 1;
    NEW.id := nextval('audit_event_id_seq');
    NEW.prev_hash := coalesce(prev, head.last_hash);
    NEW.row_hash := {ROW_HASH.format(p='NEW.')};
    RETURN NEW;
END $$"""
HEAD_TRIGGER = """
CREATE FUNCTION audit_event_chain_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_chain_head h SET last_id = a.id, last_hash = a.row_hash
      FROM (SELECT id, row_hash FROM audit_chain_added ORDER BY id DESC LIMIT 1) a;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("prev_hash", sa.LargeBinary(), nullable=True))
    op.add_column("audit_event", sa.Column("row_hash", sa.LargeBinary(), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Boolean(), primary_key=True, server_default=sa.true()),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_audit_chain_head_one_row")),
    )
    op.execute(HASH_FUNCTION)
    op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    op.execute(f"""
        DO $$ DECLARE r record; prev bytea := {GENESIS_SQL}; last bigint := 0;
        BEGIN
            FOR r IN SELECT * FROM audit_event ORDER BY id LOOP
                UPDATE audit_event SET prev_hash = prev,
                       row_hash = audit_event_hash(prev, r.id, r.at, r.actor_id, r.province_id, r.action, r.entity,
                                                   r.entity_id, r.data)
                 WHERE id = r.id RETURNING row_hash INTO prev;
                last := r.id;
            END LOOP;
            INSERT INTO audit_chain_head (id, last_id, last_hash) VALUES (true, last, prev);
        END $$""")
    op.execute("ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_append_only")
    op.alter_column("audit_event", "prev_hash", nullable=False)
    op.alter_column("audit_event", "row_hash", nullable=False)
    # The trigger gives each row its id (from the same sequence): a column default would take a number too.
    op.execute("ALTER TABLE audit_event ALTER COLUMN id DROP DEFAULT")
    op.execute(CHAIN_TRIGGER)
    op.execute("CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event FOR EACH ROW "
               "EXECUTE FUNCTION audit_event_chain()")
    op.execute(HEAD_TRIGGER)
    op.execute("CREATE TRIGGER audit_event_chain_head AFTER INSERT ON audit_event REFERENCING NEW TABLE AS "
               "audit_chain_added FOR EACH STATEMENT EXECUTE FUNCTION audit_event_chain_head()")
    roles.apply(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    app = roles.APP_ROLE
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
    if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app}).scalar():
        op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {app}')
        op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {app}')
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON TABLES FROM {app}')
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON SEQUENCES FROM {app}')
        op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {app}')
    for fn in conn.execute(sa.text(f"SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = CAST(:s AS regnamespace) "
                                   f"AND proname LIKE 'kpi\\_%'"), {"s": schema}).scalars():
        op.execute(f"ALTER FUNCTION {fn} SECURITY INVOKER RESET search_path")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO PUBLIC")
    for table, names in roles.GUARD_TRIGGERS.items():
        for name in names:
            if not name.startswith("audit_event_chain"):
                op.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
    op.execute("DROP TRIGGER audit_event_chain_head ON audit_event")
    op.execute("DROP FUNCTION audit_event_chain_head()")
    op.execute("DROP TRIGGER audit_event_chain ON audit_event")
    op.execute("DROP FUNCTION audit_event_chain()")
    op.execute("ALTER TABLE audit_event ALTER COLUMN id SET DEFAULT nextval('audit_event_id_seq')")
    op.execute("DROP FUNCTION audit_event_hash(bytea, bigint, timestamptz, integer, smallint, text, text, text, jsonb)")
    op.drop_table("audit_chain_head")
    op.drop_column("audit_event", "row_hash")
    op.drop_column("audit_event", "prev_hash")
