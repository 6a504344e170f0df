"""The app role (what the services connect as) cannot rewrite history, even by the usual back doors:
no UPDATE/DELETE on the event and audit tables, no TRUNCATE anywhere, no replica mode, no disabling a
trigger; and its privileges are exactly those db.roles lists."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from db.roles import APP_GRANTS, APP_ROLE, GUARD_TRIGGERS

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def refused(engine: sa.Engine, *statements: str) -> str:
    """Run `statements` in one transaction as `engine`'s role; return the error text (it must fail)."""
    with pytest.raises(sa.exc.DBAPIError) as err:
        with engine.begin() as c:
            for stmt in statements:
                c.execute(sa.text(stmt))
    return str(err.value.orig)


@pytest.fixture
def events(db, owner_engine):
    with db.begin() as c:
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('x', 'y')"))
    return db


def test_the_app_role_is_a_plain_role_that_owns_nothing(engine):
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT current_user")).scalar() == APP_ROLE
        role = c.execute(sa.text("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                                 "FROM pg_roles WHERE rolname = current_user")).one()
        assert not any(role)
        owned = c.execute(sa.text("SELECT count(*) FROM pg_class WHERE relowner = "
                                  "(SELECT oid FROM pg_roles WHERE rolname = current_user)")).scalar()
        assert owned == 0


@pytest.mark.parametrize("table", ["audit_event", "request_event", "record_change", "validity_change"])
def test_history_cannot_be_updated_or_deleted_by_the_app(events, table):
    for stmt in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        assert "permission denied" in refused(events, stmt)


def test_replica_mode_is_no_way_around_it(events):
    """The done-when of the issue: UPDATE on audit_event fails even after SET session_replication_role."""
    assert "permission denied to set parameter" in refused(events, "SET session_replication_role = replica")
    assert "permission denied" in refused(events, "SET LOCAL session_replication_role = replica",
                                          "UPDATE audit_event SET action = 'changed'")
    with events.connect() as c:
        assert c.execute(sa.text("SELECT action FROM audit_event")).scalar() == "x"


def test_no_table_can_be_truncated_by_the_app(engine):
    with engine.connect() as c:
        tables = c.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars().all()
    assert "audit_event" in tables
    for table in tables:
        assert "permission denied" in refused(engine, f"TRUNCATE {table}"), table


def test_no_trigger_can_be_disabled_by_the_app(engine):
    for table, names in GUARD_TRIGGERS.items():
        for name in names:
            assert "must be owner" in refused(engine, f'ALTER TABLE {table} DISABLE TRIGGER "{name}"')
    assert "must be owner" in refused(engine, "ALTER TABLE audit_event DISABLE TRIGGER ALL")


def test_the_guard_triggers_fire_in_replica_mode_too(engine):
    with engine.connect() as c:
        states = dict(c.execute(sa.text("SELECT tgname, tgenabled FROM pg_trigger WHERE tgname = ANY(:n)"),
                                {"n": [n for names in GUARD_TRIGGERS.values() for n in names]}).all())
    assert states == {n: "A" for names in GUARD_TRIGGERS.values() for n in names}


def test_privileges_are_exactly_the_listed_ones_for_every_table(engine):
    """A new table must be listed in db.roles.APP_GRANTS with what the app needs of it."""
    with engine.connect() as c:
        tables = c.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars().all()
        have = {t: tuple(p for p in PRIVILEGES if c.execute(
            sa.text("SELECT has_table_privilege(current_user, :t, :p)"), {"t": t, "p": p}).scalar()) for t in tables}
    assert set(tables) == set(APP_GRANTS), "list every table in db.roles.APP_GRANTS"
    assert have == {t: APP_GRANTS[t] for t in tables}


def test_the_app_cannot_write_the_rollups_itself_but_can_have_them_rebuilt(db):
    assert "permission denied" in refused(db, "DELETE FROM kpi_day")
    with db.begin() as c:
        c.execute(sa.text("SELECT kpi_rebuild()"))  # runs as the owner (SECURITY DEFINER)
        assert c.execute(sa.text("SELECT dirty FROM kpi_state")).scalar() is False
