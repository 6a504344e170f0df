"""Test database: a fresh PostgreSQL database per test run, migrated to head.

`TEST_DATABASE_URL` names a server (its database is used only to create and drop the test
database); with none, the embedded server under `.data/pg-test` is used. The server's superuser
creates and migrates the database (`owner_url`, `owner_engine`: the owner role, which also wipes it);
the services under test connect as the app role (`db_url`, `engine`), so its grants are exercised.
"""
from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db.engine import DATA_DIR, embedded_url, make_engine, normalize_url, role_url
from db.migrate import upgrade
from db.roles import APP_ROLE, truncate

# Tables the tests fill; reference tables (province, settings, process definitions) stay.
DATA_TABLES = (
    "payment", "fee_assessment", "validity_change", "record_change", "stage_visit", "request_event", "document",
    "education", "contact", "address", "family_member", "work_licence", "request", "blob_preview", "blob",
    "member_name_word", "member", "audit_event", "stat_release", "fee_tariff", "holiday", "staff_session",
    "login_throttle", "saved_queue_filter", "staff_user",
)  # emptying audit_event restarts its hash chain (db.roles.truncate_sql)


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_url(url)
    # `make test` runs two worker processes: one starts (and, the first time, initialises and tunes,
    # which restarts it) the embedded server while the other waits, instead of connecting to it
    # mid-restart.
    pgdata = DATA_DIR / "pg-test"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with open(pgdata.parent / "pg-test.start-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return embedded_url(pgdata)


def create_database(base_url: str, name: str) -> str:
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, name: str) -> None:
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return server_url()


@pytest.fixture(scope="session")
def owner_url(pg_server_url):
    """The test database as its owner (the server's superuser), which created and migrated it."""
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def db_url(owner_url):
    """The test database as the app role: what the services and pages connect as."""
    return role_url(owner_url, APP_ROLE)


@pytest.fixture(scope="session")
def owner_engine(owner_url):
    eng = make_engine(owner_url, pool_size=2, max_overflow=4)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def engine(db_url):
    eng = make_engine(db_url, pool_size=40, max_overflow=10)
    yield eng
    eng.dispose()


def wipe(owner_engine: sa.Engine) -> None:
    """Empty the data tables; only the owner can (TRUNCATE, with the append-only guards off for it)."""
    with owner_engine.begin() as conn:
        truncate(conn, DATA_TABLES)
        conn.execute(sa.text("UPDATE province_setting SET workdays = '{5,6,0,1,2}', opens = '07:30', "
                             "closes = '14:30', renewal_window_days = 60, finance_approval_required = true"))


@pytest.fixture
def db(engine, owner_engine):
    """A clean database (reference data only) for one test, as the app role."""
    wipe(owner_engine)
    yield engine


ROOT = Path(__file__).resolve().parent.parent


# --- shared worlds ---

from domain.reference import ISFAHAN_ID, TEHRAN_ID  # noqa: E402
from tests.factories import HOLIDAYS, MASHHAD_ID, make_staff  # noqa: E402


@pytest.fixture
def kpi_world(db):
    with db.begin() as c:
        for day, pid in HOLIDAYS:
            c.execute(sa.text("INSERT INTO holiday (day, province_id, name_fa) VALUES (:d, :p, 'تعطیل آزمون')"),
                      {"d": day, "p": pid})
        # Isfahan works Saturday to Thursday, 08:00-15:30; Mashhad has no finance approval.
        c.execute(sa.text("UPDATE province_setting SET workdays = '{5,6,0,1,2,3}', opens = '08:00', "
                          "closes = '15:30' WHERE province_id = :p"), {"p": ISFAHAN_ID})
        c.execute(sa.text("UPDATE province_setting SET finance_approval_required = false WHERE province_id = :p"),
                  {"p": MASHHAD_ID})
    staff = {"central": make_staff(db, "central.expert", ["central_expert"], None),
             "central.manager": make_staff(db, "central.manager", ["manager"], None)}
    for pid, prefix in ((TEHRAN_ID, "t"), (ISFAHAN_ID, "i"), (MASHHAD_ID, "m")):
        staff[f"{prefix}.expert"] = make_staff(db, f"{prefix}.expert", ["expert"], pid)
        staff[f"{prefix}.expert2"] = make_staff(db, f"{prefix}.expert2", ["expert", "final_reviewer"], pid)
        staff[f"{prefix}.final"] = make_staff(db, f"{prefix}.final", ["final_reviewer"], pid)
        for role in ("head", "finance", "committee", "manager"):
            staff[f"{prefix}.{role}"] = make_staff(db, f"{prefix}.{role}", [role], pid)
        staff[f"{prefix}.rating"] = make_staff(db, f"{prefix}.rating", ["rating_committee"], pid)
    return staff
