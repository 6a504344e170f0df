"""KPI rollups maintained by the database, and covering indexes for the KPI queries.

Daily rollups (a day is a Tehran calendar day, so every Jalali period is a whole number of them):

- `kpi_visit_day`   finished stage visits per (province, day left, type, stage): decisions,
                    verdicts (met or missed; returns are pauses), met, returns;
- `kpi_request_day` closed requests per (province, day closed, type, status): count, met, hours;
- `kpi_day`         per (province, day): the monthly trends (visit and request compliance),
                    payments and renewals (count, Rial), transfers out and in;
- `kpi_licence_day` completed work-licence issues and renewals per (province, day, type, the
                    member's field and grade at completion);
- `kpi_open_day`    open requests per (province, type, stage, day of the stage deadline, day it
                    turns at risk), 'infinity' for stopped clocks: the backlog without reading every
                    open request.

Statement-level AFTER triggers with transition tables keep them exact in the same transaction
as the change (a decision is in the numbers as soon as it commits). UPDATE triggers only count
rows whose relevant columns changed, so a note on a closed request moves nothing.

Bulk loads in `session_replication_role = replica` (the demo loader, pg_restore-like) skip
ordinary triggers; an ALWAYS trigger then only marks `kpi_state.dirty`, and `kpi_rebuild()`
recomputes every rollup from the fact tables (the KPI services call it when the flag is set).
TRUNCATE of a fact table marks the flag too.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TEHRAN_DAY = "(({col}) AT TIME ZONE 'Asia/Tehran')::date"


def _sources(table: str, columns: str, changed: str, where: str) -> dict[str, str]:
    """The rows whose contribution is added (+1) or taken away (-1), per trigger operation.

    `columns` is a select list over alias `x`; `changed` compares aliases `o` and `n`."""
    def side(rel: str, alias: str, sign: str, join: str = "") -> str:
        cols = columns.replace("x.", f"{alias}.")
        cond = where.replace("x.", f"{alias}.")
        return f"SELECT {cols}, {sign} AS sign FROM {rel} {alias} {join} WHERE {cond}"
    return {
        "INSERT": side("kpi_new", "n", "1"),
        "DELETE": side("kpi_old", "o", "-1"),
        "UPDATE": (side("kpi_new", "n", "1", f"JOIN kpi_old o ON o.id = n.id") + f" AND ({changed})"
                   + " UNION ALL "
                   + side("kpi_old", "o", "-1", f"JOIN kpi_new n ON n.id = o.id") + f" AND ({changed})"),
        "BASE": side(table, "x", "1"),
    }


# --- stage visits -------------------------------------------------------------------------------

VISIT_SOURCES = _sources(
    "stage_visit",
    "x.province_id, x.left_at, x.type_code, x.stage_code, x.met, x.outcome",
    "(o.province_id, o.left_at, o.type_code, o.stage_code, o.met, o.outcome) IS DISTINCT FROM "
    "(n.province_id, n.left_at, n.type_code, n.stage_code, n.met, n.outcome)",
    "x.left_at IS NOT NULL",
)


def visit_statements(src: str) -> list[str]:
    day = TEHRAN_DAY.format(col="left_at")
    return [
        f"""INSERT INTO kpi_visit_day AS k (province_id, day, type_code, stage_code, decisions, verdicts, met, returns)
        SELECT province_id, {day}, type_code, stage_code, sum(sign),
               sum(CASE WHEN met IS NOT NULL THEN sign ELSE 0 END), sum(CASE WHEN met THEN sign ELSE 0 END),
               sum(CASE WHEN outcome = 'return' THEN sign ELSE 0 END)
        FROM ({src}) s GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (province_id, day, type_code, stage_code) DO UPDATE SET
            decisions = k.decisions + EXCLUDED.decisions, verdicts = k.verdicts + EXCLUDED.verdicts,
            met = k.met + EXCLUDED.met, returns = k.returns + EXCLUDED.returns""",
        f"""INSERT INTO kpi_day AS k (province_id, day, visit_verdicts, visit_met)
        SELECT province_id, {day}, sum(CASE WHEN met IS NOT NULL THEN sign ELSE 0 END),
               sum(CASE WHEN met THEN sign ELSE 0 END)
        FROM ({src}) s GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (province_id, day) DO UPDATE SET
            visit_verdicts = k.visit_verdicts + EXCLUDED.visit_verdicts, visit_met = k.visit_met + EXCLUDED.visit_met""",
    ]


# --- requests -----------------------------------------------------------------------------------

REQUEST_SOURCES = _sources(
    "request",
    "x.province_id, x.closed_at, x.type_code, x.status, x.met_sla, x.process_hours_used, x.member_id, "
    "x.data->>'destination_province' AS destination",
    "(o.province_id, o.closed_at, o.type_code, o.status, o.met_sla, o.process_hours_used, o.member_id, "
    "o.data->'destination_province') IS DISTINCT FROM (n.province_id, n.closed_at, n.type_code, n.status, "
    "n.met_sla, n.process_hours_used, n.member_id, n.data->'destination_province')",
    "x.closed_at IS NOT NULL",
)


def request_statements(src: str) -> list[str]:
    day = TEHRAN_DAY.format(col="closed_at")
    return [
        f"""INSERT INTO kpi_request_day AS k (province_id, day, type_code, status, closed, met, hours)
        SELECT province_id, {day}, type_code, status, sum(sign), sum(CASE WHEN met_sla THEN sign ELSE 0 END),
               sum(sign * process_hours_used)
        FROM ({src}) s GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (province_id, day, type_code, status) DO UPDATE SET
            closed = k.closed + EXCLUDED.closed, met = k.met + EXCLUDED.met, hours = k.hours + EXCLUDED.hours""",
        f"""INSERT INTO kpi_day AS k (province_id, day, requests_closed, requests_met, transfers_out, transfers_in,
                                     licences_issued, licences_renewed)
        SELECT province_id, day, sum(closed), sum(met), sum(t_out), sum(t_in), sum(issued), sum(renewed) FROM (
            SELECT province_id, {day} AS day, sign AS closed, CASE WHEN met_sla THEN sign ELSE 0 END AS met,
                   CASE WHEN type_code = 'transfer' AND status = 'completed' THEN sign ELSE 0 END AS t_out,
                   0 AS t_in,
                   CASE WHEN type_code = 'licence_issue' AND status = 'completed' THEN sign ELSE 0 END AS issued,
                   CASE WHEN type_code = 'licence_renewal' AND status = 'completed' THEN sign ELSE 0 END AS renewed
            FROM ({src}) s
            UNION ALL
            SELECT p.id, {day}, 0, 0, 0, sign, 0, 0
            FROM ({src}) s JOIN province p ON p.id::text = s.destination
            WHERE s.type_code = 'transfer' AND s.status = 'completed'
        ) u GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (province_id, day) DO UPDATE SET
            requests_closed = k.requests_closed + EXCLUDED.requests_closed,
            requests_met = k.requests_met + EXCLUDED.requests_met,
            transfers_out = k.transfers_out + EXCLUDED.transfers_out,
            transfers_in = k.transfers_in + EXCLUDED.transfers_in,
            licences_issued = k.licences_issued + EXCLUDED.licences_issued,
            licences_renewed = k.licences_renewed + EXCLUDED.licences_renewed""",
        f"""INSERT INTO kpi_licence_day AS k (province_id, day, type_code, field, grade, n)
        SELECT s.province_id, {day}, s.type_code, m.field, coalesce(m.grade, 0), sum(sign)
        FROM ({src}) s JOIN member m ON m.id = s.member_id
        WHERE s.status = 'completed' AND s.type_code IN ('licence_issue', 'licence_renewal')
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (province_id, day, type_code, field, grade) DO UPDATE SET n = k.n + EXCLUDED.n""",
    ]


# Open requests by the day of their stage deadline ('infinity' when the clock is stopped: returned to
# the member, or the member's own stage): the backlog's sizes and ages without reading every row.
OPEN_SOURCES = _sources(
    "request",
    "x.province_id, x.type_code, x.stage_code, CASE WHEN x.status = 'open' AND x.stage_due_at IS NOT NULL "
    "THEN (x.stage_due_at AT TIME ZONE 'Asia/Tehran')::date ELSE 'infinity'::date END AS due_day, "
    "CASE WHEN x.status = 'open' AND x.stage_risk_at IS NOT NULL "
    "THEN (x.stage_risk_at AT TIME ZONE 'Asia/Tehran')::date ELSE 'infinity'::date END AS risk_day",
    "(o.province_id, o.type_code, o.stage_code, o.status, o.stage_due_at, o.stage_risk_at) IS DISTINCT FROM "
    "(n.province_id, n.type_code, n.stage_code, n.status, n.stage_due_at, n.stage_risk_at)",
    "x.status IN ('open', 'returned')",
)


def open_statements(src: str) -> list[str]:
    return [
        f"""INSERT INTO kpi_open_day AS k (province_id, type_code, stage_code, due_day, risk_day, n)
        SELECT province_id, type_code, stage_code, due_day, risk_day, sum(sign)
        FROM ({src}) s GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (province_id, type_code, stage_code, due_day, risk_day) DO UPDATE SET n = k.n + EXCLUDED.n""",
    ]


# --- payments -----------------------------------------------------------------------------------

PAYMENT_SOURCES = _sources(
    "payment",
    "x.request_id, x.paid_at, x.amount",
    "(o.request_id, o.paid_at, o.amount) IS DISTINCT FROM (n.request_id, n.paid_at, n.amount)",
    "true",
)


def payment_statements(src: str) -> list[str]:
    day = TEHRAN_DAY.format(col="s.paid_at")
    return [
        f"""INSERT INTO kpi_day AS k (province_id, day, payments, payments_amount, renewals_paid, renewals_amount)
        SELECT r.province_id, {day}, sum(sign), sum(sign * s.amount),
               sum(CASE WHEN r.type_code = 'membership_renewal' THEN sign ELSE 0 END),
               sum(CASE WHEN r.type_code = 'membership_renewal' THEN sign * s.amount ELSE 0 END)
        FROM ({src}) s JOIN request r ON r.id = s.request_id
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (province_id, day) DO UPDATE SET
            payments = k.payments + EXCLUDED.payments, payments_amount = k.payments_amount + EXCLUDED.payments_amount,
            renewals_paid = k.renewals_paid + EXCLUDED.renewals_paid,
            renewals_amount = k.renewals_amount + EXCLUDED.renewals_amount""",
    ]


FACTS = (  # table, ((sources, statements), ...)
    ("stage_visit", ((VISIT_SOURCES, visit_statements),)),
    ("request", ((REQUEST_SOURCES, request_statements), (OPEN_SOURCES, open_statements))),
    ("payment", ((PAYMENT_SOURCES, payment_statements),)),
)
ROLLUPS = ("kpi_visit_day", "kpi_request_day", "kpi_day", "kpi_licence_day", "kpi_open_day")


def _trigger_function(table: str, parts) -> str:
    branches = []
    for op_name in ("INSERT", "UPDATE", "DELETE"):
        body = ";\n            ".join(stmt for sources, statements in parts for stmt in statements(sources[op_name]))
        branches.append(f"{'IF' if op_name == 'INSERT' else 'ELSIF'} TG_OP = '{op_name}' THEN\n            {body};")
    return f"""
    CREATE FUNCTION kpi_{table}_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        {chr(10).join(branches)}
        END IF;
        RETURN NULL;
    END
    $fn$"""


def _rebuild_function() -> str:
    body = ";\n        ".join(stmt for _, parts in FACTS for sources, statements in parts
                              for stmt in statements(sources["BASE"]))
    return f"""
    CREATE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
        LOCK TABLE kpi_state IN EXCLUSIVE MODE;
        TRUNCATE {', '.join(ROLLUPS)};
        {body};
        UPDATE kpi_state SET dirty = false, rebuilt_at = now() WHERE id = 1;
    END
    $fn$"""


def upgrade() -> None:
    op.create_table(
        "kpi_state",
        sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("dirty", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_kpi_state_single_row")),
    )
    day_key = [sa.Column("province_id", sa.SmallInteger(), primary_key=True, autoincrement=False),
               sa.Column("day", sa.Date(), primary_key=True)]

    def counts(*names: str) -> list[sa.Column]:
        return [sa.Column(n, sa.Integer(), server_default="0", nullable=False) for n in names]

    op.create_table(
        "kpi_visit_day", *[c.copy() for c in day_key],
        sa.Column("type_code", sa.Text(), primary_key=True), sa.Column("stage_code", sa.Text(), primary_key=True),
        *counts("decisions", "verdicts", "met", "returns"))
    op.create_table(
        "kpi_request_day", *[c.copy() for c in day_key],
        sa.Column("type_code", sa.Text(), primary_key=True), sa.Column("status", sa.Text(), primary_key=True),
        *counts("closed", "met"),
        sa.Column("hours", sa.Numeric(16, 4), server_default="0", nullable=False))
    op.create_table(
        "kpi_day", *[c.copy() for c in day_key],
        *counts("visit_verdicts", "visit_met", "requests_closed", "requests_met", "payments"),
        sa.Column("payments_amount", sa.BigInteger(), server_default="0", nullable=False),
        *counts("renewals_paid"),
        sa.Column("renewals_amount", sa.BigInteger(), server_default="0", nullable=False),
        *counts("transfers_out", "transfers_in", "licences_issued", "licences_renewed"))
    op.create_table(
        "kpi_open_day",
        sa.Column("province_id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("type_code", sa.Text(), primary_key=True), sa.Column("stage_code", sa.Text(), primary_key=True),
        sa.Column("due_day", sa.Date(), primary_key=True), sa.Column("risk_day", sa.Date(), primary_key=True),
        *counts("n"))
    op.create_table(
        "kpi_licence_day", *[c.copy() for c in day_key],
        sa.Column("type_code", sa.Text(), primary_key=True), sa.Column("field", sa.Text(), primary_key=True),
        sa.Column("grade", sa.SmallInteger(), primary_key=True, autoincrement=False),
        *counts("n"))

    # Covering indexes: the KPI queries read them without visiting the table.
    op.create_index("ix_request_open_due_all", "request", ["stage_due_at"], postgresql_include=["stage_risk_at"],
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_request_open_risk", "request", ["province_id", "type_code", "stage_code", "stage_risk_at"],
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_request_open_used", "request", ["province_id"],
                    postgresql_include=["type_code", "stage_code", "stage_hours_used", "id"],
                    postgresql_where=sa.text("status = 'open' AND stage_hours_used > 0"))
    op.create_index("ix_request_open_claims", "request", ["province_id", "assignee_id"],
                    postgresql_where=sa.text("status = 'open' AND assignee_id IS NOT NULL"))
    op.create_index("ix_request_completed_kpi", "request", ["province_id", "closed_at"],
                    postgresql_include=["type_code", "process_hours_used"],
                    postgresql_where=sa.text("status = 'completed'"))
    op.create_index("ix_request_transfer_in", "request",
                    [sa.text("(data->>'destination_province')"), "closed_at"],
                    postgresql_where=sa.text("type_code = 'transfer' AND status = 'completed'"))
    op.create_index("ix_stage_visit_kpi", "stage_visit", ["province_id", "left_at"],
                    postgresql_include=["actor_id", "hours_used", "met"],
                    postgresql_where=sa.text("left_at IS NOT NULL"))
    op.create_index("ix_stage_visit_actor_kpi", "stage_visit", ["actor_id", "left_at"],
                    postgresql_include=["province_id", "hours_used", "met"],
                    postgresql_where=sa.text("left_at IS NOT NULL"))
    op.create_index("ix_member_province_joined", "member", ["province_id", "joined_on"])
    op.create_index("ix_member_active_kpi", "member", ["id"], postgresql_include=["province_id", "field", "grade"],
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_work_licence_member_valid", "work_licence", ["member_id", "expires_on"],
                    postgresql_include=["issued_on"], postgresql_where=sa.text("kind = 'work'"))

    op.execute("""
    CREATE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        -- Ordinary triggers keep the rollups; they do not run in replica mode (bulk loads) nor
        -- for TRUNCATE: then the rollups are rebuilt from the facts before they are next read.
        IF TG_OP = 'TRUNCATE' OR current_setting('session_replication_role') <> 'origin' THEN
            UPDATE kpi_state SET dirty = true WHERE id = 1 AND NOT dirty;
        END IF;
        RETURN NULL;
    END
    $fn$""")
    for table, parts in FACTS:
        op.execute(_trigger_function(table, parts))
        for op_name, refs in (("INSERT", "NEW TABLE AS kpi_new"), ("UPDATE", "OLD TABLE AS kpi_old NEW TABLE AS kpi_new"),
                              ("DELETE", "OLD TABLE AS kpi_old")):
            op.execute(f"CREATE TRIGGER kpi_{table}_{op_name.lower()} AFTER {op_name} ON {table} "
                       f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION kpi_{table}_apply()")
        op.execute(f"CREATE TRIGGER kpi_{table}_bulk AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_dirty()")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER kpi_{table}_bulk")
    op.execute(_rebuild_function())
    op.execute("INSERT INTO kpi_state (id, dirty) VALUES (1, true)")
    op.execute("SELECT kpi_rebuild()")


def downgrade() -> None:
    op.execute("DROP FUNCTION kpi_rebuild()")
    for table, _ in FACTS:
        for op_name in ("insert", "update", "delete", "bulk"):
            op.execute(f"DROP TRIGGER kpi_{table}_{op_name} ON {table}")
        op.execute(f"DROP FUNCTION kpi_{table}_apply()")
    op.execute("DROP FUNCTION kpi_mark_dirty()")
    for name, table in (("ix_work_licence_member_valid", "work_licence"), ("ix_member_province_joined", "member"),
                        ("ix_member_active_kpi", "member"),
                        ("ix_stage_visit_actor_kpi", "stage_visit"), ("ix_stage_visit_kpi", "stage_visit"),
                        ("ix_request_transfer_in", "request"), ("ix_request_open_risk", "request"),
                        ("ix_request_completed_kpi", "request"), ("ix_request_open_claims", "request"),
                        ("ix_request_open_used", "request"), ("ix_request_open_due_all", "request")):
        op.drop_index(name, table_name=table)
    for table in ("kpi_licence_day", "kpi_open_day", "kpi_day", "kpi_request_day", "kpi_visit_day", "kpi_state"):
        op.drop_table(table)
