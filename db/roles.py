"""The two database roles and what the app role may do.

The owner role is whichever role runs the migrations (`MIGRATION_DATABASE_URL`): it creates and
owns every table, function and sequence. The app role (`APP_ROLE`, what `DATABASE_URL` names) is a
plain login role: not a superuser, owner of nothing, so it can neither `SET session_replication_role`
nor `ALTER TABLE … DISABLE TRIGGER`, and it holds only the table privileges in `APP_GRANTS`: never
TRUNCATE, and no UPDATE or DELETE on the event, audit and history tables.

`apply(conn)` makes the grants match this module; migration 0016 and every restore call it, and a
later migration that adds a table should too (until it does, the default privileges give a new
table SELECT, INSERT, UPDATE and DELETE, and tests/test_db_roles.py fails until the table is listed).
"""
from __future__ import annotations

import sqlalchemy as sa

from db.engine import APP_ROLE

__all__ = ["APP_ROLE", "APP_GRANTS", "GUARD_TRIGGERS", "apply", "truncate", "truncate_sql"]

READ = ("SELECT",)
APPEND = ("SELECT", "INSERT")
WRITE = ("SELECT", "INSERT", "UPDATE")
FULL = ("SELECT", "INSERT", "UPDATE", "DELETE")

# Table -> the privileges the app needs. Anything written only by migrations is READ; the KPI rollups
# are written by their triggers and kpi_rebuild()/kpi_compact(), which run as the owner (DEFINER).
APP_GRANTS: dict[str, tuple[str, ...]] = {
    "alembic_version": READ,
    "province": READ, "request_type": READ, "request_stage": READ,
    "province_setting": ("SELECT", "UPDATE"), "discount_rule": WRITE, "holiday": FULL, "staff_user": WRITE,
    # Members and their details arrive with the national portal's submissions, through the app's
    # connection (bench/load_bench.py plays the portal); the app's screens then correct them.
    "member": WRITE, "education": WRITE, "contact": WRITE, "address": WRITE, "family_member": WRITE,
    "work_licence": WRITE, "blob": WRITE, "document": WRITE,
    "request": WRITE, "stage_visit": WRITE,
    "request_event": APPEND, "audit_event": APPEND, "record_change": APPEND, "validity_change": APPEND,
    "fee_tariff": WRITE, "fee_assessment": WRITE, "payment": APPEND,
    "stat_release": FULL,
    "kpi_state": READ, "kpi_visit_hours": READ, "kpi_visit_day": READ, "kpi_request_day": READ,
    "kpi_day": READ, "kpi_open_day": READ, "kpi_licence_day": READ,
    "kpi_visit_month": READ, "kpi_request_month": READ, "kpi_month": READ, "kpi_visit_hours_month": READ,
    "kpi_cycle_month": READ,
    "audit_chain_head": READ,
    # Sign-in (0017): sessions are issued, touched and revoked; throttle rows come and go.
    "staff_session": WRITE, "login_throttle": FULL,
    "blob_preview": APPEND,  # a large scan's screen copy (0018), made once
    "saved_queue_filter": FULL,  # a person's own named queue filters (0020): saved and deleted
    "member_name_word": READ,  # the name search's words (0021), kept by a trigger from member's names
}
DEFAULT_GRANT = FULL  # a table not listed above (see the module docstring)

# Functions that write what the app may not: they run with the owner's rights, with a fixed search_path.
# The app calls kpi_rebuild() and kpi_compact() (they TRUNCATE and DELETE rollups); the rest are triggers.
DEFINER_FUNCTIONS = ("proname LIKE 'kpi\\_%' OR proname LIKE 'audit\\_event\\_chain%' "
                     "OR proname = 'member_name_word_sync'")
APP_CALLS = ("kpi_rebuild", "kpi_compact")

# Triggers that guard data: ENABLE ALWAYS, so `session_replication_role = replica` does not skip them.
GUARD_TRIGGERS: dict[str, tuple[str, ...]] = {
    "request_event": ("request_event_append_only", "request_event_no_truncate"),
    "audit_event": ("audit_event_append_only", "audit_event_no_truncate", "audit_event_chain",
                    "audit_event_chain_head"),
    "record_change": ("record_change_append_only", "record_change_no_truncate"),
    "fee_assessment": ("fee_assessment_immutable",),
    "stat_release": ("stat_release_frozen",),
}
TRUNCATE_GUARDS = {t: tuple(n for n in names if n.endswith("_no_truncate")) for t, names in GUARD_TRIGGERS.items()}


def _q(conn: sa.Connection, sql: str, **params):
    return conn.execute(sa.text(sql), params)


def create_app_role(conn: sa.Connection) -> None:
    """The app role, cluster-wide, if it is missing. Several databases may be migrated at once on one
    server (the tests), so a concurrent creation counts as done."""
    _q(conn, f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")


def apply(conn: sa.Connection) -> None:
    """Make the app role's rights in this database (its current schema) match this module."""
    create_app_role(conn)
    schema = _q(conn, "SELECT current_schema()").scalar()
    s = f'"{schema}"'
    if _q(conn, "SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = :s",
          s=schema).scalar():
        _q(conn, f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC")  # PostgreSQL < 15 lets everyone create tables
    _q(conn, f"GRANT USAGE ON SCHEMA {s} TO {APP_ROLE}")
    _q(conn, f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {APP_ROLE}")
    for table in _q(conn, "SELECT tablename FROM pg_tables WHERE schemaname = :s", s=schema).scalars():
        privileges = APP_GRANTS.get(table, DEFAULT_GRANT)
        if privileges:
            _q(conn, f'GRANT {", ".join(privileges)} ON {s}."{table}" TO {APP_ROLE}')
    # Sequences: nextval for the ids of the rows the app inserts, last_value for the KPI compaction.
    _q(conn, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {APP_ROLE}")
    _q(conn, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {APP_ROLE}")
    _q(conn, f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {', '.join(DEFAULT_GRANT)} ON TABLES TO {APP_ROLE}")
    _q(conn, f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}")
    functions = _q(conn, f"SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = CAST(:s AS regnamespace) "
                         f"AND ({DEFINER_FUNCTIONS})", s=schema).scalars().all()
    for fn in functions:
        _q(conn, f"ALTER FUNCTION {fn} SECURITY DEFINER SET search_path = {s}, pg_temp")
        _q(conn, f"REVOKE EXECUTE ON FUNCTION {fn} FROM PUBLIC")
        if fn.split("(")[0].split(".")[-1] in APP_CALLS:
            _q(conn, f"GRANT EXECUTE ON FUNCTION {fn} TO {APP_ROLE}")
    for table, names in GUARD_TRIGGERS.items():
        for name in names:
            if _q(conn, "SELECT 1 FROM pg_trigger WHERE tgname = :n AND tgrelid = to_regclass(:t)",
                  n=name, t=f"{s}.{table}").scalar():
                _q(conn, f'ALTER TABLE {s}."{table}" ENABLE ALWAYS TRIGGER "{name}"')


def truncate_sql(tables, options: str = "RESTART IDENTITY CASCADE") -> list[str]:
    """The statements that TRUNCATE `tables` as the owner inside one transaction: the append-only
    tables' TRUNCATE guards off for exactly that statement (ENABLE ALWAYS triggers fire even in
    replica mode), and the audit chain restarted when `audit_event` is emptied. For the test wipe and
    the demo loader's bulk load; the app role has no TRUNCATE privilege at all."""
    from db.audit_chain import RESET_HEAD

    guards = [(t, n) for t in tables for n in TRUNCATE_GUARDS.get(t, ())]
    return ([f'ALTER TABLE "{t}" DISABLE TRIGGER "{n}"' for t, n in guards]
            + [f"TRUNCATE {', '.join(tables)} {options}"]
            + [f'ALTER TABLE "{t}" ENABLE ALWAYS TRIGGER "{n}"' for t, n in guards]
            + ([RESET_HEAD] if "audit_event" in tables else []))


def truncate(conn: sa.Connection, tables) -> None:
    for statement in truncate_sql(tables):
        _q(conn, statement)
