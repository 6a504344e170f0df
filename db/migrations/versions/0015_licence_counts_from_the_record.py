"""Licences issued and renewed are counted from the member record's history rows.

Until now `kpi_day.licences_issued / licences_renewed` and `kpi_licence_day` counted completed
licence-issue and licence-renewal requests. Since 0013 every licence a request issues or renews
leaves a `record_change` row (`licence_issued`, `licence_renewed`) naming the licence and the
province at the time, so the rollups now count those rows: a licence the analytics count is a
licence on a member's record, with the licence's own field and grade. Only work licences count
(Article 32 renewals are renewals of another licence). `record_change` is append-only, so its
trigger only handles INSERT; bulk loads mark the rollups dirty as for the other fact tables, and
`kpi_rebuild()` recomputes them from these rows.

Revision ID: 0015
Revises: 0014
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _load(name: str, module: str):
    spec = importlib.util.spec_from_file_location(module, Path(__file__).with_name(name))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


r7 = _load("0007_kpi_rollups.py", "kpi_rollups_0007")
r9 = _load("0009_kpi_handling_hours.py", "kpi_hours_0009")
_day, _signed, rollup_insert = r7._day, r7._signed, r7.rollup_insert

KINDS = "('licence_issued', 'licence_renewed')"


def request_statements(src: str, mode: str) -> list[str]:
    """0007's request rollups without the licence counts (closed requests, transfers out and in).
    `kpi_day.requests_closed` now counts the closed requests judged against a process total (those
    with a verdict, since 0014 a type without a total has none), the denominator of the trend."""
    completed = "status = 'completed' AND type_code = "
    per_day = (f"(SELECT province_id, {_day('closed_at')} AS day, "
               f"CASE WHEN met_sla IS NOT NULL THEN sign ELSE 0 END AS closed, "
               f"CASE WHEN met_sla THEN sign ELSE 0 END AS met, "
               f"CASE WHEN {completed}'transfer' THEN sign ELSE 0 END AS t_out, 0 AS t_in FROM ({src}) s "
               f"UNION ALL "
               f"SELECT p.id, {_day('closed_at')}, 0, 0, 0, sign "
               f"FROM ({src}) s JOIN province p ON p.id::text = s.destination "
               f"WHERE s.type_code = 'transfer' AND s.status = 'completed') u")
    return [
        rollup_insert("kpi_request_day", ["province_id", _day("closed_at"), "type_code", "status"],
                      ["sum(sign)", _signed("met_sla"), "sum(sign * process_hours_used)"], f"({src}) s", mode),
        rollup_insert("kpi_day", ["province_id", "day"],
                      ["0", "0", "sum(closed)", "sum(met)", "0", "0", "0", "0", "sum(t_out)", "sum(t_in)", "0", "0"],
                      per_day, mode),
    ]


# A record row of a work licence issued or renewed, with the licence's field and grade.
RECORD_SOURCES = {
    "INSERT": "SELECT n.province_id, n.at, n.kind, n.licence_id, 1 AS sign FROM kpi_new n "
              f"WHERE n.kind IN {KINDS}",
    "BASE": f"SELECT x.province_id, x.at, x.kind, x.licence_id, 1 AS sign FROM record_change x WHERE x.kind IN {KINDS}",
}


def record_statements(src: str, mode: str) -> list[str]:
    joined = f"({src}) s JOIN work_licence wl ON wl.id = s.licence_id AND wl.kind = 'work'"
    return [
        rollup_insert("kpi_day", ["s.province_id", _day("s.at")],
                      ["0"] * 10 + [_signed("s.kind = 'licence_issued'"), _signed("s.kind = 'licence_renewed'")],
                      joined, mode),
        rollup_insert("kpi_licence_day",
                      ["s.province_id", _day("s.at"),
                       "CASE WHEN s.kind = 'licence_issued' THEN 'licence_issue' ELSE 'licence_renewal' END",
                       "wl.field", "coalesce(wl.grade, 0)"],
                      ["sum(sign)"], joined, mode),
    ]


def _facts(from_record: bool):
    """Every fact table's (sources, statements), as the rebuild reads them."""
    out = []
    for table, parts in r7.FACTS:
        if table == "stage_visit":
            parts = parts + ((r9.HOURS_SOURCES, r9.hours_statements),)
        if table == "request" and from_record:
            parts = ((r7.REQUEST_SOURCES, request_statements),) + tuple(p for p in parts
                                                                         if p[1] is not r7.request_statements)
        out.append((table, parts))
    if from_record:
        out.append(("record_change", ((RECORD_SOURCES, record_statements),)))
    return out


def _request_trigger(parts) -> list[str]:
    return [
        "DROP FUNCTION kpi_request_apply() CASCADE",
        r7._trigger_function("request", parts),
        *(f"CREATE TRIGGER kpi_request_{name.lower()} AFTER {name} ON request REFERENCING {refs} "
          f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_request_apply()"
          for name, refs in (("INSERT", "NEW TABLE AS kpi_new"), ("UPDATE", "OLD TABLE AS kpi_old NEW TABLE AS kpi_new"),
                             ("DELETE", "OLD TABLE AS kpi_old"))),
    ]


def _rebuild(facts) -> str:
    body = ";\n        ".join(stmt for _, parts in facts for sources, statements in parts
                              for stmt in statements(sources["BASE"], "base"))
    rollups = r7.ROLLUPS + (r9.TABLE,)
    return f"""
    CREATE OR REPLACE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE upto bigint;
    BEGIN
        LOCK TABLE kpi_state IN EXCLUSIVE MODE;
        -- Every rollup row is derived; a rebuild starts from nothing (deltas included).
        TRUNCATE {', '.join(rollups)};
        SELECT last_value INTO upto FROM kpi_delta_seq;
        {body};
        UPDATE kpi_state SET dirty = false, rebuilt_at = now(), compacted_upto = upto WHERE id = 1;
    END
    $fn$"""


def upgrade() -> None:
    facts = dict(_facts(from_record=True))
    for statement in _request_trigger(facts["request"]):
        op.execute(statement)
    inserts = ";\n            ".join(stmt for sources, statements in facts["record_change"]
                                     for stmt in statements(sources["INSERT"], "delta"))
    op.execute(f"""
    CREATE FUNCTION kpi_record_change_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
            {inserts};
        RETURN NULL;
    END
    $fn$""")
    op.execute("CREATE TRIGGER kpi_record_change_insert AFTER INSERT ON record_change REFERENCING NEW TABLE AS kpi_new "
               "FOR EACH STATEMENT EXECUTE FUNCTION kpi_record_change_apply()")
    op.execute("CREATE TRIGGER kpi_record_change_bulk AFTER INSERT ON record_change "
               "FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_dirty()")
    op.execute("ALTER TABLE record_change ENABLE ALWAYS TRIGGER kpi_record_change_bulk")
    op.execute(_rebuild(_facts(from_record=True)))
    op.execute("UPDATE kpi_state SET dirty = true WHERE id = 1")  # counted again from the rows at the next read


def downgrade() -> None:
    op.execute("DROP TRIGGER kpi_record_change_bulk ON record_change")
    op.execute("DROP TRIGGER kpi_record_change_insert ON record_change")
    op.execute("DROP FUNCTION kpi_record_change_apply()")
    for statement in _request_trigger(dict(_facts(from_record=False))["request"]):
        op.execute(statement)
    op.execute(_rebuild(_facts(from_record=False)))
    op.execute("UPDATE kpi_state SET dirty = true WHERE id = 1")
