"""The audit log is a hash chain: `python -m db.audit_chain verify` says ok for what the services
wrote, and names the first broken link after someone with more rights than the app changed it."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from db import audit_chain
from db.engine import make_engine
from db.migrate import upgrade
from domain.reference import TEHRAN_ID
from logic import holidays
from tests.conftest import create_database, drop_database
from tests.factories import make_staff


def owner_sql(owner_engine: sa.Engine, *statements: str) -> None:
    """What an owner (here the superuser) can do behind the app's back: switch the guard off and edit."""
    with owner_engine.begin() as c:
        c.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        for stmt in statements:
            c.execute(sa.text(stmt))
        c.execute(sa.text("ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_append_only"))


@pytest.fixture
def logged(db):
    """Five audit events written by a service, as the app role."""
    admin = make_staff(db, "admin.chain", ["admin"], TEHRAN_ID)
    for day in range(1, 6):
        holidays.add_closure(db, admin, f"1405/09/0{day}", f"تعطیلی {day}", province_id=TEHRAN_ID)
    return db


def ids(engine: sa.Engine) -> list[int]:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT id FROM audit_event ORDER BY id")).scalars().all()


def test_an_empty_log_verifies(db):
    assert str(audit_chain.verify(db)) == "ok, 0 rows"


def test_what_a_service_wrote_verifies(logged):
    result = audit_chain.verify(logged)
    assert (result.rows, result.broken) == (5, None)
    assert str(result) == "ok, 5 rows"
    with logged.connect() as c:
        rows = c.execute(sa.text("SELECT id, prev_hash, row_hash FROM audit_event ORDER BY id")).all()
    assert bytes(rows[0].prev_hash) == audit_chain.GENESIS
    assert all(bytes(b.prev_hash) == bytes(a.row_hash) for a, b in zip(rows, rows[1:]))


def test_a_changed_row_is_the_first_broken_link(logged, owner_engine):
    third = ids(logged)[2]
    owner_sql(owner_engine, f"UPDATE audit_event SET data = data || '{{\"day\": \"2026-01-01\"}}' WHERE id = {third}")
    broken = audit_chain.verify(logged, batch=2).broken
    assert (broken.id, broken.what) == (third, "row_hash")
    assert broken.expected != broken.found


def test_a_changed_row_with_its_hash_recomputed_breaks_the_next_link(logged, owner_engine):
    owner_sql(owner_engine, "UPDATE audit_event SET action = 'nothing_happened', row_hash = audit_event_hash("
                            "prev_hash, id, at, actor_id, province_id, 'nothing_happened', entity, entity_id, data) "
                            f"WHERE id = {ids(logged)[1]}")
    broken = audit_chain.verify(logged).broken
    assert (broken.id, broken.what) == (ids(logged)[2], "prev_hash")


def test_removed_rows_are_noticed_in_the_middle_and_at_the_end(logged, owner_engine):
    _, second, third, _, last = ids(logged)
    owner_sql(owner_engine, f"DELETE FROM audit_event WHERE id = {last}")
    broken = audit_chain.verify(logged).broken
    assert (broken.id, broken.what) == (last, "head")
    owner_sql(owner_engine, f"DELETE FROM audit_event WHERE id = {second}")
    broken = audit_chain.verify(logged).broken
    assert (broken.id, broken.what) == (third, "prev_hash")


def test_concurrent_writers_make_one_chain(db):
    def write(n: int) -> None:
        for i in range(15):
            with db.begin() as c:
                c.execute(sa.text("INSERT INTO audit_event (action, entity, data) VALUES ('t', 'w', :d)"),
                          {"d": f'{{"writer": {n}, "i": {i}}}'})
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert str(audit_chain.verify(db)) == "ok, 60 rows"
    assert ids(db) == list(range(1, 61))  # ids are taken in chain order, one each


def test_many_rows_in_one_statement_and_statements_in_one_transaction_chain_in_order(db):
    with db.begin() as c:
        c.execute(sa.text("INSERT INTO audit_event (action, entity, data) "
                          "SELECT 'bulk', 'x', jsonb_build_object('i', g) FROM generate_series(1, 50) g"))
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('single', 'x')"))
    with db.begin() as c:
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('next', 'x'), ('next', 'y')"))
    assert str(audit_chain.verify(db, batch=7)) == "ok, 53 rows"


def test_the_command_prints_ok_or_the_broken_id_and_exits_accordingly(logged, owner_engine, db_url, capsys):
    assert audit_chain.main(["verify", "--database-url", db_url]) == 0
    assert capsys.readouterr().out == "audit chain: ok, 5 rows\n"
    fourth = ids(logged)[3]
    owner_sql(owner_engine, f"UPDATE audit_event SET entity_id = '999' WHERE id = {fourth}")
    assert audit_chain.main(["verify", "--database-url", db_url]) == 1
    assert capsys.readouterr().out.startswith(f"audit chain: broken at id {fourth}: row_hash expected ")


def test_the_migration_chains_the_rows_already_there(pg_server_url):
    name = f"chain_{uuid.uuid4().hex[:8]}"
    engine = make_engine(create_database(pg_server_url, name))
    try:
        upgrade(engine, "0015")
        with engine.begin() as c:
            for i in range(3):
                c.execute(sa.text("INSERT INTO audit_event (action, entity, data) VALUES ('old', 'e', :d)"),
                          {"d": f'{{"i": {i}}}'})
        upgrade(engine)
        assert str(audit_chain.verify(engine)) == "ok, 3 rows"
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('new', 'e')"))
        assert str(audit_chain.verify(engine)) == "ok, 4 rows"
    finally:
        engine.dispose()
        drop_database(pg_server_url, name)
