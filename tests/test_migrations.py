"""The schema comes only from migrations, and they go down and up again cleanly."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.engine import make_engine
from db.migrate import downgrade, upgrade
from db.models import Base
from domain.processes import PROCESSES
from tests.conftest import create_database, drop_database


def tables(engine):
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_downgrade_upgrade_on_a_fresh_database(pg_server_url):
    name = f"mig_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name)
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert set(Base.metadata.tables) <= tables(engine)
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM province")).scalar() == 31
            assert c.execute(sa.text("SELECT count(*) FROM request_type")).scalar() == len(PROCESSES)
        downgrade(engine)
        assert tables(engine) <= {"alembic_version"}
        upgrade(engine)
        assert set(Base.metadata.tables) <= tables(engine)
    finally:
        engine.dispose()
        drop_database(pg_server_url, name)


def test_models_and_migrations_agree(engine):
    """Autogenerate finds nothing to add: the migrations build exactly what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Alembic cannot compare expression indexes (it reflects their SQL text differently from how the
    # model renders it) and reports them as removed and re-added; their existence is checked below.
    expression_indexes = {"ix_member_name_fts"}
    diff = [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in expression_indexes)]
    assert diff == []
    with engine.connect() as conn:
        have = set(conn.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")))
    assert expression_indexes <= have


def test_event_and_audit_tables_refuse_updates_and_deletes_even_to_their_owner(db, owner_engine):
    """The app role has no such privilege (tests/test_db_roles.py); the triggers stop the owner too,
    also in replica mode (they are ENABLE ALWAYS)."""
    import pytest
    with db.begin() as c:
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('x', 'y')"))
    for stmt in ("UPDATE audit_event SET action = 'z'", "DELETE FROM audit_event", "TRUNCATE audit_event"):
        for replica in (False, True):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with owner_engine.begin() as c:
                    if replica:
                        c.execute(sa.text("SET LOCAL session_replication_role = replica"))
                    c.execute(sa.text(stmt))


# Values near every edge of the pattern CHECKs: lengths around their bounds, letters, Persian and
# Arabic digits, a trailing newline (which a careless `$` would let through), hyphens.
_CHECK_VALUES = st.text(alphabet="0123456789afAFz-۱٣ \n", max_size=70) | st.sampled_from(
    ["0" * 9, "0" * 10, "0" * 11, "1" * 14, "1" * 15, "BR0000000001", "ab-12", "a" * 40, "a" * 41, "f" * 64,
     "f" * 65, "0123456789\n"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_CHECK_VALUES)
def test_cheaper_checks_accept_exactly_what_the_patterns_accepted(engine, value):
    """Migration 0011 swapped bounded-repetition regexes for length tests: same values in and out."""
    from importlib import import_module

    checks = import_module("db.migrations.versions.0011_cheaper_checks_and_event_indexes").CHECKS
    with engine.connect() as c:
        for _, name, old, new in checks:
            column = old.split(" ", 1)[0]
            sql = f"SELECT ({old.replace(column, ':v', 1)}) IS TRUE, ({new.replace(column, ':v')}) IS TRUE"
            was, now = c.execute(sa.text(sql), {"v": value}).one()
            assert was == now, (name, value)


def test_the_database_enforces_the_cheaper_checks(engine):
    with engine.connect() as c:
        defs = dict(c.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conname = ANY(:n)"),
            {"n": ["ck_request_tracking_code", "ck_payment_bank_reference", "ck_member_national_id_digits"]}).all())
    assert len(defs) == 3
    assert all("length(" in d and "{" not in d for d in defs.values()), defs
