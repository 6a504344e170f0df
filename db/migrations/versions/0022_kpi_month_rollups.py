"""Jalali-month rollups beside the daily ones, and a monthly histogram of cycle times.

A year of KPIs summed the daily rollups row by row (365 days x 31 provinces x every stage) and
sorted every completed request of the year for the cycle-time percentiles: 2.1 s at 5M requests.

- Month level: `kpi_visit_month`, `kpi_request_month`, `kpi_month`, `kpi_visit_hours_month` hold
  the same sums as their daily tables per Jalali month (`month` is the month's first Gregorian
  day, `jalali_month_start(day)`). A statement trigger on each daily table adds the month deltas of
  the delta rows the fact triggers insert there (base rows, delta_id = 0, are what the rebuild and
  the compaction write: those are already counted). A period sums its whole months from the month
  table and its partial months at either end from the daily table, so any period reads exact sums.
- `kpi_cycle_month`: completed requests per province, Jalali month closed, type and whole hour of
  process time. The percentiles of the cycle time find the hour that holds each rank from it and
  read only the requests of that hour, in order, from `ix_request_completed_hours`.

`kpi_rebuild()` and `kpi_compact()` keep their names and grants: the previous definitions become
`kpi_rebuild_days()` / `kpi_compact_days()` and the new ones call them first, then do the months.

Revision ID: 0022
Revises: 0021
"""
import importlib.util
from pathlib import Path

import jdatetime
import sqlalchemy as sa
from alembic import op

from db import roles

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _load(name: str, module: str):
    spec = importlib.util.spec_from_file_location(module, Path(__file__).with_name(name))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


r7 = _load("0007_kpi_rollups.py", "kpi_rollups_0007")

# daily table -> (month table, its keys with `day` replaced by `month`, value columns)
MONTHLY: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "kpi_visit_day": ("kpi_visit_month", ("province_id", "month", "type_code", "stage_code"),
                      ("decisions", "verdicts", "met", "returns")),
    "kpi_request_day": ("kpi_request_month", ("province_id", "month", "type_code", "status"), ("closed", "met", "hours")),
    "kpi_day": ("kpi_month", ("province_id", "month"), r7.ROLLUP_COLUMNS["kpi_day"][1]),
    "kpi_visit_hours": ("kpi_visit_hours_month", ("province_id", "actor_id", "month", "hour"),
                        ("decisions", "verdicts", "met")),
}
CYCLE = "kpi_cycle_month"
CYCLE_KEYS = ("province_id", "month", "type_code", "hour")
HOUR_OF = "least(floor({col}), 32000)::smallint"  # as 0009's: the index expression must match
TYPES = {"province_id": sa.SmallInteger(), "month": sa.Date(), "type_code": sa.Text(), "stage_code": sa.Text(),
         "status": sa.Text(), "actor_id": sa.BigInteger(), "hour": sa.SmallInteger()}
WIDE = {"hours": sa.Numeric(16, 4), "payments_amount": sa.BigInteger(), "renewals_amount": sa.BigInteger()}
FIRST_YEAR, LAST_YEAR = 1300, 1600


def _month_starts() -> str:
    """Every Jalali month's first day from FIRST_YEAR to LAST_YEAR, as a date[] literal."""
    days = [jdatetime.date(y, m, 1).togregorian().isoformat()
            for y in range(FIRST_YEAR, LAST_YEAR + 1) for m in range(1, 13)]
    return "'{" + ",".join(days) + "}'::date[]"


def _month_function() -> str:
    # A plain IMMUTABLE SQL function (not kpi_*: those become SECURITY DEFINER, which the planner
    # never inlines), so the array is folded into the plan once and each call is a binary search.
    starts = _month_starts()
    return (f"CREATE FUNCTION jalali_month_start(d date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"AS $$ SELECT ({starts})[width_bucket(d, {starts})] $$")


def _month_insert(day_table: str, source: str, delta: bool) -> str:
    month_table, keys, values = MONTHLY[day_table]
    select_keys = ["jalali_month_start(day)" if k == "month" else k for k in keys]
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    nonzero = " OR ".join(f"sum({v}) <> 0" for v in values)
    where = "WHERE delta_id > 0 " if delta else ""
    delta_id = "nextval('kpi_delta_seq')" if delta else "0"
    return (f"INSERT INTO {month_table} ({', '.join(keys)}, delta_id, {', '.join(values)}) "
            f"SELECT {', '.join(select_keys)}, {delta_id}, "
            f"{', '.join(f'sum({v})' for v in values)} FROM {source} {where}GROUP BY {group} HAVING {nonzero}")


def _cycle_insert(source: str, mode: str) -> str:
    keys = ["province_id", f"jalali_month_start({r7._day('closed_at')})", "type_code",
            HOUR_OF.format(col="process_hours_used")]
    delta = "nextval('kpi_delta_seq')" if mode == "delta" else "0"
    return (f"INSERT INTO {CYCLE} ({', '.join(CYCLE_KEYS)}, delta_id, n) "
            f"SELECT {', '.join(keys)}, {delta}, sum(sign) FROM ({source}) s GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0")


CYCLE_SOURCES = r7._sources(
    "request",
    "x.province_id, x.closed_at, x.type_code, x.process_hours_used",
    "(o.province_id, o.closed_at, o.type_code, o.status, o.process_hours_used) IS DISTINCT FROM "
    "(n.province_id, n.closed_at, n.type_code, n.status, n.process_hours_used)",
    "x.status = 'completed'",
)


def _compact(table: str, keys, values) -> str:
    k, v = ", ".join(keys), ", ".join(values)
    return (f"WITH moved AS (DELETE FROM {table} WHERE delta_id > 0 RETURNING {k}, {v}) "
            f"INSERT INTO {table} AS k ({k}, delta_id, {v}) "
            f"SELECT {k}, 0, {', '.join(f'sum({x})' for x in values)} FROM moved GROUP BY {k} ORDER BY {k} "
            f"ON CONFLICT ({k}, delta_id) DO UPDATE SET " + ", ".join(f"{x} = k.{x} + EXCLUDED.{x}" for x in values))


def upgrade() -> None:
    op.execute(_month_function())
    for month_table, keys, values in MONTHLY.values():
        op.create_table(
            month_table,
            *[sa.Column(k, TYPES[k], primary_key=True, autoincrement=False) for k in keys],
            sa.Column("delta_id", sa.BigInteger(), primary_key=True, autoincrement=False, server_default="0"),
            *[sa.Column(v, WIDE.get(v, sa.Integer()), server_default="0", nullable=False) for v in values])
        op.create_index(f"ix_{month_table}_delta_id", month_table, ["delta_id"], postgresql_where=sa.text("delta_id > 0"))
    op.create_table(
        CYCLE,
        *[sa.Column(k, TYPES[k], primary_key=True, autoincrement=False) for k in CYCLE_KEYS],
        sa.Column("delta_id", sa.BigInteger(), primary_key=True, autoincrement=False, server_default="0"),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False))
    op.create_index(f"ix_{CYCLE}_delta_id", CYCLE, ["delta_id"], postgresql_where=sa.text("delta_id > 0"))
    # The requests of one province, type and whole hour of process time in a period, read in order.
    op.create_index("ix_request_completed_hours", "request",
                    ["province_id", "type_code", sa.text(f"({HOUR_OF.format(col='process_hours_used')})"),
                     "closed_at"],
                    postgresql_include=["process_hours_used"], postgresql_where=sa.text("status = 'completed'"))

    for day_table in MONTHLY:
        month_table = MONTHLY[day_table][0]
        op.execute(f"""
        CREATE FUNCTION kpi_{month_table}_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            {_month_insert(day_table, 'kpi_new', delta=True)};
            RETURN NULL;
        END
        $fn$""")
        op.execute(f"CREATE TRIGGER kpi_{month_table}_insert AFTER INSERT ON {day_table} REFERENCING NEW TABLE AS kpi_new "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_{month_table}_apply()")
    branches = []
    for op_name in ("INSERT", "UPDATE", "DELETE"):
        branches.append(f"{'IF' if op_name == 'INSERT' else 'ELSIF'} TG_OP = '{op_name}' THEN\n"
                        f"            {_cycle_insert(CYCLE_SOURCES[op_name], 'delta')};")
    op.execute(f"""
    CREATE FUNCTION kpi_cycle_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        {chr(10).join(branches)}
        END IF;
        RETURN NULL;
    END
    $fn$""")
    for op_name, refs in (("INSERT", "NEW TABLE AS kpi_new"), ("UPDATE", "OLD TABLE AS kpi_old NEW TABLE AS kpi_new"),
                          ("DELETE", "OLD TABLE AS kpi_old")):
        op.execute(f"CREATE TRIGGER kpi_cycle_{op_name.lower()} AFTER {op_name} ON request REFERENCING {refs} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_cycle_apply()")

    month_tables = [m for m, _, _ in MONTHLY.values()] + [CYCLE]
    rebuild = ";\n        ".join([f"TRUNCATE {', '.join(month_tables)}"]
                                 + [_month_insert(d, d, delta=False) for d in MONTHLY]
                                 + [_cycle_insert(CYCLE_SOURCES["BASE"], "base")])
    compact = ";\n        ".join([_compact(m, k, v) for m, k, v in MONTHLY.values()]
                                 + [_compact(CYCLE, CYCLE_KEYS, ("n",))])
    op.execute("ALTER FUNCTION kpi_rebuild() RENAME TO kpi_rebuild_days")
    op.execute("ALTER FUNCTION kpi_compact() RENAME TO kpi_compact_days")
    op.execute(f"""
    CREATE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
        -- The daily rollups from the facts; the months from the days (and the cycle histogram from
        -- the completed requests).
        PERFORM kpi_rebuild_days();
        {rebuild};
    END
    $fn$""")
    op.execute(f"""
    CREATE FUNCTION kpi_compact() RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
        PERFORM kpi_compact_days();
        {compact};
    END
    $fn$""")
    op.execute("UPDATE kpi_state SET dirty = true WHERE id = 1")  # the new rollups are filled by the next rebuild
    roles.apply(op.get_bind())  # the app role's rights on the new tables and functions (db/roles.py)
    # The renamed functions kept the grant the app had on their old names: the app calls only the
    # wrappers (rebuilding the days alone would clear the dirty flag with the months stale).
    for fn in ("kpi_rebuild_days()", "kpi_compact_days()"):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {fn} FROM {roles.APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION kpi_rebuild()")
    op.execute("DROP FUNCTION kpi_compact()")
    op.execute("ALTER FUNCTION kpi_rebuild_days() RENAME TO kpi_rebuild")
    op.execute("ALTER FUNCTION kpi_compact_days() RENAME TO kpi_compact")
    for op_name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER kpi_cycle_{op_name} ON request")
    op.execute("DROP FUNCTION kpi_cycle_apply()")
    for day_table, (month_table, _, _) in MONTHLY.items():
        op.execute(f"DROP TRIGGER kpi_{month_table}_insert ON {day_table}")
        op.execute(f"DROP FUNCTION kpi_{month_table}_apply()")
    op.drop_index("ix_request_completed_hours", table_name="request")
    for table in [m for m, _, _ in MONTHLY.values()] + [CYCLE]:
        op.drop_table(table)
    op.execute("DROP FUNCTION jalali_month_start(date)")
    roles.apply(op.get_bind())
