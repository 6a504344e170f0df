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
rows whose relevant columns changed, so a note on a closed request moves nothing. The triggers only
INSERT delta rows (never update a shared row), so concurrent decisions do not queue or deadlock
on rollup rows; readers sum all rows of a key, and `kpi_compact()` folds deltas into one base row
per key (the KPI services call it once enough deltas have piled up).

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


# --- what each rollup holds -----------------------------------------------------------------------
# table -> (key columns, value columns). Rows with delta_id = 0 are the compacted base (one per key);
# the triggers only ever INSERT delta rows (delta_id from kpi_delta_seq), so concurrent decisions
# never wait for each other on a rollup row and cannot deadlock there. Readers sum every row of a
# key; kpi_compact() folds the deltas into the base from time to time.

ROLLUP_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kpi_visit_day": (("province_id", "day", "type_code", "stage_code"), ("decisions", "verdicts", "met", "returns")),
    "kpi_request_day": (("province_id", "day", "type_code", "status"), ("closed", "met", "hours")),
    "kpi_day": (("province_id", "day"), ("visit_verdicts", "visit_met", "requests_closed", "requests_met", "payments",
                                         "payments_amount", "renewals_paid", "renewals_amount", "transfers_out",
                                         "transfers_in", "licences_issued", "licences_renewed")),
    "kpi_licence_day": (("province_id", "day", "type_code", "field", "grade"), ("n",)),
    "kpi_open_day": (("province_id", "type_code", "stage_code", "due_day", "risk_day"), ("n",)),
}
ROLLUPS = tuple(ROLLUP_COLUMNS)


def rollup_insert(table: str, keys: list[str], values: list[str], source: str, mode: str) -> str:
    """INSERT ... SELECT of a rollup's rows grouped by key. `keys` and `values` are select
    expressions in the order of ROLLUP_COLUMNS[table]; mode 'delta' (triggers) adds delta rows,
    mode 'base' (rebuild) adds to the base rows."""
    key_cols, value_cols = ROLLUP_COLUMNS[table]
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    nonzero = " OR ".join(f"({v}) <> 0" for v in values)
    delta = "nextval('kpi_delta_seq')" if mode == "delta" else "0"
    sql = (f"INSERT INTO {table} AS k ({', '.join(key_cols)}, delta_id, {', '.join(value_cols)}) "
           f"SELECT {', '.join(keys)}, {delta}, {', '.join(values)} FROM {source} GROUP BY {group} HAVING {nonzero}")
    if mode == "base":
        sql += (f" ORDER BY {group} ON CONFLICT ({', '.join(key_cols)}, delta_id) DO UPDATE SET "
                + ", ".join(f"{v} = k.{v} + EXCLUDED.{v}" for v in value_cols))
    return sql


def _day(col: str) -> str:
    return TEHRAN_DAY.format(col=col)


def _signed(cond: str) -> str:
    return f"sum(CASE WHEN {cond} THEN sign ELSE 0 END)"


# --- stage visits -------------------------------------------------------------------------------

VISIT_SOURCES = _sources(
    "stage_visit",
    "x.province_id, x.left_at, x.type_code, x.stage_code, x.met, x.outcome",
    "(o.province_id, o.left_at, o.type_code, o.stage_code, o.met, o.outcome) IS DISTINCT FROM "
    "(n.province_id, n.left_at, n.type_code, n.stage_code, n.met, n.outcome)",
    "x.left_at IS NOT NULL",
)


def visit_statements(src: str, mode: str) -> list[str]:
    return [
        rollup_insert("kpi_visit_day", ["province_id", _day("left_at"), "type_code", "stage_code"],
                      ["sum(sign)", _signed("met IS NOT NULL"), _signed("met"), _signed("outcome = 'return'")],
                      f"({src}) s", mode),
        rollup_insert("kpi_day", ["province_id", _day("left_at")],
                      [_signed("met IS NOT NULL"), _signed("met")] + ["0"] * 10, f"({src}) s", mode),
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


def request_statements(src: str, mode: str) -> list[str]:
    completed = "status = 'completed' AND type_code = "
    per_day = (f"(SELECT province_id, {_day('closed_at')} AS day, sign AS closed, "
               f"CASE WHEN met_sla THEN sign ELSE 0 END AS met, "
               f"CASE WHEN {completed}'transfer' THEN sign ELSE 0 END AS t_out, 0 AS t_in, "
               f"CASE WHEN {completed}'licence_issue' THEN sign ELSE 0 END AS issued, "
               f"CASE WHEN {completed}'licence_renewal' THEN sign ELSE 0 END AS renewed FROM ({src}) s "
               f"UNION ALL "
               f"SELECT p.id, {_day('closed_at')}, 0, 0, 0, sign, 0, 0 "
               f"FROM ({src}) s JOIN province p ON p.id::text = s.destination "
               f"WHERE s.type_code = 'transfer' AND s.status = 'completed') u")
    return [
        rollup_insert("kpi_request_day", ["province_id", _day("closed_at"), "type_code", "status"],
                      ["sum(sign)", _signed("met_sla"), "sum(sign * process_hours_used)"], f"({src}) s", mode),
        rollup_insert("kpi_day", ["province_id", "day"],
                      ["0", "0", "sum(closed)", "sum(met)", "0", "0", "0", "0", "sum(t_out)", "sum(t_in)",
                       "sum(issued)", "sum(renewed)"], per_day, mode),
        rollup_insert("kpi_licence_day", ["s.province_id", _day("s.closed_at"), "s.type_code", "m.field",
                                          "coalesce(m.grade, 0)"], ["sum(sign)"],
                      f"({src}) s JOIN member m ON m.id = s.member_id "
                      f"WHERE s.status = 'completed' AND s.type_code IN ('licence_issue', 'licence_renewal')", mode),
    ]


# Open requests by the day of their stage deadline and of their at-risk moment ('infinity' when
# the clock is stopped: returned to the member, or the member's own stage): the backlog's sizes and
# ages without reading every open request.
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


def open_statements(src: str, mode: str) -> list[str]:
    return [rollup_insert("kpi_open_day", ["province_id", "type_code", "stage_code", "due_day", "risk_day"],
                          ["sum(sign)"], f"({src}) s", mode)]


# --- payments -----------------------------------------------------------------------------------

PAYMENT_SOURCES = _sources(
    "payment",
    "x.request_id, x.paid_at, x.amount",
    "(o.request_id, o.paid_at, o.amount) IS DISTINCT FROM (n.request_id, n.paid_at, n.amount)",
    "true",
)


def payment_statements(src: str, mode: str) -> list[str]:
    renewal = "r.type_code = 'membership_renewal'"
    return [rollup_insert(
        "kpi_day", ["r.province_id", _day("s.paid_at")],
        ["0", "0", "0", "0", "sum(sign)", "sum(sign * s.amount)", f"sum(CASE WHEN {renewal} THEN sign ELSE 0 END)",
         f"sum(CASE WHEN {renewal} THEN sign * s.amount ELSE 0 END)", "0", "0", "0", "0"],
        f"({src}) s JOIN request r ON r.id = s.request_id", mode)]


FACTS = (  # table, ((sources, statements), ...)
    ("stage_visit", ((VISIT_SOURCES, visit_statements),)),
    ("request", ((REQUEST_SOURCES, request_statements), (OPEN_SOURCES, open_statements))),
    ("payment", ((PAYMENT_SOURCES, payment_statements),)),
)


def _trigger_function(table: str, parts) -> str:
    branches = []
    for op_name in ("INSERT", "UPDATE", "DELETE"):
        body = ";\n            ".join(stmt for sources, statements in parts
                                      for stmt in statements(sources[op_name], "delta"))
        branches.append(f"{'IF' if op_name == 'INSERT' else 'ELSIF'} TG_OP = '{op_name}' THEN\n            {body};")
    return f"""
    CREATE FUNCTION kpi_{table}_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        {chr(10).join(branches)}
        END IF;
        RETURN NULL;
    END
    $fn$"""


def _compact_statement(table: str) -> str:
    keys, values = ROLLUP_COLUMNS[table]
    k, v = ", ".join(keys), ", ".join(values)
    return (f"WITH moved AS (DELETE FROM {table} WHERE delta_id > 0 RETURNING {k}, {v}) "
            f"INSERT INTO {table} AS k ({k}, delta_id, {v}) "
            f"SELECT {k}, 0, {', '.join(f'sum({x})' for x in values)} FROM moved GROUP BY {k} ORDER BY {k} "
            f"ON CONFLICT ({k}, delta_id) DO UPDATE SET " + ", ".join(f"{x} = k.{x} + EXCLUDED.{x}" for x in values))


def _rebuild_function() -> str:
    body = ";\n        ".join(stmt for _, parts in FACTS for sources, statements in parts
                              for stmt in statements(sources["BASE"], "base"))
    compact = ";\n        ".join(_compact_statement(t) for t in ROLLUPS)
    return f"""
    CREATE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE upto bigint;
    BEGIN
        LOCK TABLE kpi_state IN EXCLUSIVE MODE;
        -- Every rollup row is derived; a rebuild starts from nothing (deltas included).
        TRUNCATE {', '.join(ROLLUPS)};
        SELECT last_value INTO upto FROM kpi_delta_seq;
        {body};
        UPDATE kpi_state SET dirty = false, rebuilt_at = now(), compacted_upto = upto WHERE id = 1;
    END
    $fn$;
    CREATE FUNCTION kpi_compact() RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE upto bigint;
    BEGIN
        SELECT last_value INTO upto FROM kpi_delta_seq;
        {compact};
        UPDATE kpi_state SET compacted_upto = greatest(compacted_upto, upto) WHERE id = 1;
    END
    $fn$"""


def upgrade() -> None:
    op.create_table(
        "kpi_state",
        sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("dirty", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compacted_upto", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_kpi_state_single_row")),
    )
    op.execute("CREATE SEQUENCE kpi_delta_seq")
    types = {"province_id": sa.SmallInteger(), "day": sa.Date(), "type_code": sa.Text(), "stage_code": sa.Text(),
             "status": sa.Text(), "field": sa.Text(), "grade": sa.SmallInteger(), "due_day": sa.Date(),
             "risk_day": sa.Date()}
    wide = {"hours": sa.Numeric(16, 4), "payments_amount": sa.BigInteger(), "renewals_amount": sa.BigInteger()}
    for table, (keys, values) in ROLLUP_COLUMNS.items():
        op.create_table(
            table,
            *[sa.Column(k, types[k], primary_key=True, autoincrement=False) for k in keys],
            # 0: the compacted row of the key; otherwise a delta row added by a trigger.
            sa.Column("delta_id", sa.BigInteger(), primary_key=True, autoincrement=False, server_default="0"),
            *[sa.Column(v, wide.get(v, sa.Integer()), server_default="0", nullable=False) for v in values])
        op.create_index(f"ix_{table}_delta_id", table, ["delta_id"], postgresql_where=sa.text("delta_id > 0"))

    # Covering indexes: the KPI queries read them without visiting the table.
    op.create_index("ix_request_open_due_all", "request", ["stage_due_at"], postgresql_include=["stage_risk_at", "province_id"],
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
    op.execute("DROP FUNCTION kpi_compact()")
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
    for table in (*ROLLUPS, "kpi_state"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE kpi_delta_seq")
