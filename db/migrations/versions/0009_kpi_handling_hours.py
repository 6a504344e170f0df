"""Per-person handling hours as a rollup, so the experts' exact median reads a few rows, not a month.

The median handling time per staff member is not additive, and a month of decisions in a large
province is hundreds of thousands of stage visits: sorting them all per page view does not fit a
300 ms budget at national scale. `kpi_visit_hours` counts finished visits per (province, person,
Tehran day, whole hour of handling time). The KPI service sums a period's rows per person and hour
(decisions, verdicts and met are sums too), finds the hour holding the middle decision(s), and
reads only the visits of that person, hour and period, in order, from `ix_stage_visit_hours`. The
median is therefore the same number percentile_cont gives over every visit, from a few thousand
index entries.

The rollup is kept like the others of 0007: statement triggers insert delta rows in the deciding
transaction, `kpi_rebuild()` recomputes it after a bulk load, `kpi_compact()` folds deltas.

Revision ID: 0009
Revises: 0008
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _load_0007():
    path = Path(__file__).with_name("0007_kpi_rollups.py")
    spec = importlib.util.spec_from_file_location("kpi_rollups_0007", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


r7 = _load_0007()

TABLE = "kpi_visit_hours"
KEYS = ("province_id", "actor_id", "day", "hour")
VALUES = ("decisions", "verdicts", "met")
# The hour of handling time a visit falls in; the same expression is the index's, so the planner
# matches it. Capped to stay a smallint whatever the data.
HOUR_OF = "least(floor({col}), 32000)::smallint"

HOURS_SOURCES = r7._sources(
    "stage_visit",
    "x.province_id, x.actor_id, x.left_at, x.hours_used, x.met",
    "(o.province_id, o.actor_id, o.left_at, o.hours_used, o.met) IS DISTINCT FROM "
    "(n.province_id, n.actor_id, n.left_at, n.hours_used, n.met)",
    "x.left_at IS NOT NULL AND x.actor_id IS NOT NULL",
)


def _insert(source: str, mode: str) -> str:
    """Like 0007's rollup_insert, for this table."""
    keys = ["province_id", "actor_id", r7._day("left_at"), HOUR_OF.format(col="hours_used")]
    values = ["sum(sign)", r7._signed("met IS NOT NULL"), r7._signed("met")]
    delta = "nextval('kpi_delta_seq')" if mode == "delta" else "0"
    sql = (f"INSERT INTO {TABLE} AS k ({', '.join(KEYS)}, delta_id, {', '.join(VALUES)}) "
           f"SELECT {', '.join(keys)}, {delta}, {', '.join(values)} FROM {source} GROUP BY 1, 2, 3, 4 "
           f"HAVING " + " OR ".join(f"({v}) <> 0" for v in values))
    if mode == "base":
        sql += (f" ORDER BY 1, 2, 3, 4 ON CONFLICT ({', '.join(KEYS)}, delta_id) DO UPDATE SET "
                + ", ".join(f"{v} = k.{v} + EXCLUDED.{v}" for v in VALUES))
    return sql


def hours_statements(src: str, mode: str) -> list[str]:
    return [_insert(f"({src}) s", mode)]


def _compact() -> str:
    k, v = ", ".join(KEYS), ", ".join(VALUES)
    return (f"WITH moved AS (DELETE FROM {TABLE} WHERE delta_id > 0 RETURNING {k}, {v}) "
            f"INSERT INTO {TABLE} AS k ({k}, delta_id, {v}) "
            f"SELECT {k}, 0, {', '.join(f'sum({x})' for x in VALUES)} FROM moved GROUP BY {k} ORDER BY {k} "
            f"ON CONFLICT ({k}, delta_id) DO UPDATE SET " + ", ".join(f"{x} = k.{x} + EXCLUDED.{x}" for x in VALUES))


def _functions(with_hours: bool) -> list[str]:
    """kpi_stage_visit_apply(), kpi_rebuild() and kpi_compact() as 0007 wrote them, plus this
    rollup when `with_hours`."""
    visit_parts = dict(r7.FACTS)["stage_visit"] + (((HOURS_SOURCES, hours_statements),) if with_hours else ())
    rollups = r7.ROLLUPS + ((TABLE,) if with_hours else ())
    body = [stmt for table, parts in r7.FACTS
            for sources, statements in (visit_parts if table == "stage_visit" else parts)
            for stmt in statements(sources["BASE"], "base")]
    compact = [r7._compact_statement(t) for t in r7.ROLLUPS] + ([_compact()] if with_hours else [])
    sep = ";\n        "
    return [
        "DROP FUNCTION kpi_stage_visit_apply() CASCADE",
        r7._trigger_function("stage_visit", visit_parts),
        *(f"CREATE TRIGGER kpi_stage_visit_{name.lower()} AFTER {name} ON stage_visit REFERENCING {refs} "
          f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_stage_visit_apply()"
          for name, refs in (("INSERT", "NEW TABLE AS kpi_new"), ("UPDATE", "OLD TABLE AS kpi_old NEW TABLE AS kpi_new"),
                             ("DELETE", "OLD TABLE AS kpi_old"))),
        "DROP FUNCTION kpi_rebuild()",
        "DROP FUNCTION kpi_compact()",
        f"""
    CREATE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE upto bigint;
    BEGIN
        LOCK TABLE kpi_state IN EXCLUSIVE MODE;
        -- Every rollup row is derived; a rebuild starts from nothing (deltas included).
        TRUNCATE {', '.join(rollups)};
        SELECT last_value INTO upto FROM kpi_delta_seq;
        {sep.join(body)};
        UPDATE kpi_state SET dirty = false, rebuilt_at = now(), compacted_upto = upto WHERE id = 1;
    END
    $fn$""",
        f"""
    CREATE FUNCTION kpi_compact() RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE upto bigint;
    BEGIN
        SELECT last_value INTO upto FROM kpi_delta_seq;
        {sep.join(compact)};
        UPDATE kpi_state SET compacted_upto = greatest(compacted_upto, upto) WHERE id = 1;
    END
    $fn$""",
    ]


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("province_id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("actor_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date(), primary_key=True, autoincrement=False),
        sa.Column("hour", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("delta_id", sa.BigInteger(), primary_key=True, autoincrement=False, server_default="0"),
        *[sa.Column(v, sa.Integer(), server_default="0", nullable=False) for v in VALUES])
    op.create_index(f"ix_{TABLE}_delta_id", TABLE, ["delta_id"], postgresql_where=sa.text("delta_id > 0"))
    # A person's visits of one handling hour in a period, in hours order within the index range.
    op.create_index("ix_stage_visit_hours", "stage_visit",
                    ["actor_id", sa.text(f"({HOUR_OF.format(col='hours_used')})"), "left_at"],
                    postgresql_include=["province_id", "hours_used"],
                    postgresql_where=sa.text("left_at IS NOT NULL AND actor_id IS NOT NULL"))
    for statement in _functions(with_hours=True):
        op.execute(statement)
    op.execute("UPDATE kpi_state SET dirty = true WHERE id = 1")  # the new rollup is filled by the next rebuild


def downgrade() -> None:
    for statement in _functions(with_hours=False):
        op.execute(statement)
    op.drop_index("ix_stage_visit_hours", table_name="stage_visit")
    op.drop_table(TABLE)
