"""`make serve`: production. Checks what production refuses, migrates, starts WORKERS Streamlit
processes on loopback ports and nginx in front of them (TLS, sticky sessions, security headers, the
published releases cached), then watches them: a process that dies is started again.

Settings (environment, else .streamlit/secrets.toml): APP_MODE=production, COOKIE_KEY, DATABASE_URL
(else the embedded server), TLS_CERT and TLS_KEY (PEM files), WORKERS (2), APP_PORT (8601: the
first process; the others follow), HTTPS_PORT (8443), HTTP_PORT (8080: redirects to HTTPS),
BIND (0.0.0.0), RUN_DIR (.data/serve), STATS_CACHE (10m).

    python -m deploy.serve              # check, migrate, start, watch
    python -m deploy.serve --check      # only the checks
    python -m deploy.serve selfsigned DIR   # a self-signed certificate for a trial (not for the public)
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

# The Content-Security-Policy Streamlit works under: its bundle evaluates code and injects styles,
# components are same-origin frames, the session is a websocket to the same host.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' wss: ws:; "
       "frame-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'self'")


@dataclass(frozen=True)
class ServeConfig:
    workers: int
    app_port: int
    https_port: int
    http_port: int
    bind: str
    tls_cert: Path | None
    tls_key: Path | None
    run_dir: Path
    stats_cache: str

    @property
    def ports(self) -> list[int]:
        return [self.app_port + i for i in range(self.workers)]


def config_from_settings() -> ServeConfig:
    from db.engine import setting

    cert, key = setting("TLS_CERT"), setting("TLS_KEY")
    return ServeConfig(
        workers=int(setting("WORKERS", "2")), app_port=int(setting("APP_PORT", "8601")),
        https_port=int(setting("HTTPS_PORT", "8443")), http_port=int(setting("HTTP_PORT", "8080")),
        bind=setting("BIND", "0.0.0.0"), tls_cert=Path(cert) if cert else None, tls_key=Path(key) if key else None,
        run_dir=Path(setting("RUN_DIR", str(ROOT / ".data" / "serve"))), stats_cache=setting("STATS_CACHE", "10m"))


def config_problems(cfg: ServeConfig) -> list[str]:
    from db.engine import setting
    from logic.production import config_problems as app_problems

    problems = app_problems(setting("APP_MODE"), setting("COOKIE_KEY"))
    if not 1 <= cfg.workers <= 64:
        problems.append("WORKERS باید از ۱ تا ۶۴ باشد.")
    for name, path in (("TLS_CERT", cfg.tls_cert), ("TLS_KEY", cfg.tls_key)):
        if path is None or not path.is_file():
            problems.append(f"پروندهٔ {name} (گواهی TLS) داده نشده یا پیدا نشد.")
    if os.geteuid() == 0:
        # nginx's workers run as `nobody` and keep the cache and temporary files in RUN_DIR.
        blocked = [p for p in [*reversed(cfg.run_dir.resolve().parents)] if p.exists() and not p.stat().st_mode & 0o001]
        if blocked:
            problems.append(f"پوشهٔ {blocked[0]} برای کاربر nobody (کارگرهای nginx) گذرپذیر نیست؛ RUN_DIR را جای دیگری بگذارید.")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        problems.append("nginx نصب نیست (apt-get install nginx).")
    return problems


def render(cfg: ServeConfig) -> Path:
    """Write nginx.conf and headers.conf into RUN_DIR and return the former."""
    for sub in ("tmp", "cache"):
        (cfg.run_dir / sub).mkdir(parents=True, exist_ok=True)
    ids = range(1, cfg.workers + 1)
    upstreams = []
    for i, port in zip(ids, cfg.ports):
        lines = [f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"]
        lines += [f"        server 127.0.0.1:{other} backup;" for other in cfg.ports if other != port]
        upstreams.append(f"    upstream app_{i} {{\n" + "\n".join(lines) + "\n    }")
    share = 100 / cfg.workers
    split = [f"        {share:.2f}% app_{i};" for i in ids][:-1] + [f"        * app_{cfg.workers};"]
    values = {
        "RUN_DIR": str(cfg.run_dir), "BIND": cfg.bind, "HTTP_PORT": str(cfg.http_port),
        "HTTPS_PORT": str(cfg.https_port), "TLS_CERT": str(cfg.tls_cert), "TLS_KEY": str(cfg.tls_key),
        "STATS_CACHE": cfg.stats_cache, "UPSTREAMS": "\n".join(upstreams),
        "ROUTE_BY_COOKIE": "\n".join(f'        "{i}" app_{i};' for i in ids),
        "SPLIT": "\n".join(split),
        # $upstream_addr lists every process tried; the last one answered.
        "ROUTE_BY_ADDR": "\n".join(f'        "~127\\.0\\.0\\.1:{port}$" {i};' for i, port in zip(ids, cfg.ports)),
        "CSP": CSP,
    }
    for name in ("nginx.conf", "headers.conf"):
        text = (HERE / f"{name}.template").read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        (cfg.run_dir / name).write_text(text)
    if os.geteuid() == 0:  # nginx's workers drop to `nobody`: they write the cache and temp files
        import pwd

        nobody = pwd.getpwnam("nobody")
        for sub in ("tmp", "cache"):
            for path in [cfg.run_dir / sub, *(cfg.run_dir / sub).rglob("*")]:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return cfg.run_dir / "nginx.conf"


def _nginx() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def worker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(base or os.environ)
    env["APP_MODE"] = "production"
    return env


def streamlit_cookie_secret(cookie_key: str) -> str:
    """One secret for Streamlit's own cookies (XSRF) in every process, derived from COOKIE_KEY: a
    session that moves to another process keeps a valid token."""
    return hmac.new(cookie_key.encode(), b"streamlit-cookie-secret", hashlib.sha256).hexdigest()


def start_worker(port: int, env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    from db.engine import setting

    log = open(log_dir / f"app-{port}.log", "ab")
    cmd = [sys.executable, "-m", "streamlit", "run", str(HERE / "asgi.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false", "--runner.postScriptGC", "false",
           "--client.showErrorDetails", "none", "--browser.gatherUsageStats", "false",
           "--global.developmentMode", "false"]
    # Streamlit takes its cookie secret only from the environment or its config file.
    env = {**env, "STREAMLIT_SERVER_COOKIE_SECRET": streamlit_cookie_secret(setting("COOKIE_KEY") or "")}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(port):
        if proc.poll() is not None:
            raise RuntimeError(f"app process on port {port} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"app process on port {port} did not answer its health check in {timeout:.0f} s")
        time.sleep(0.2)


def selfsigned(out: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for a trial or a test; the public site needs a real one."""
    out.mkdir(parents=True, exist_ok=True)
    cert, key = out / "cert.pem", out / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


def _say(msg: str) -> None:
    print(f"serve: {msg}", flush=True)


def run(cfg: ServeConfig) -> int:
    problems = config_problems(cfg)
    if problems:
        for p in problems:
            print(f"serve: refused: {p}", file=sys.stderr)
        return 2
    _say("migrating")
    subprocess.run([sys.executable, "-m", "db.migrate", "upgrade"], cwd=ROOT, check=True, env=worker_env())
    from db.engine import database_url, make_engine
    from logic.production import database_problems

    engine = make_engine(database_url(), pool_size=1, max_overflow=0)
    try:
        problems = database_problems(engine)
    finally:
        engine.dispose()
    if problems:
        for p in problems:
            print(f"serve: refused: {p}", file=sys.stderr)
        return 2
    conf = render(cfg)
    test = subprocess.run([_nginx(), "-t", "-q", "-c", str(conf), "-p", str(cfg.run_dir)], capture_output=True, text=True)
    if test.returncode:
        print(f"serve: refused: nginx rejects {conf}:\n{test.stderr}", file=sys.stderr)
        return 2
    env = worker_env()
    workers = {port: start_worker(port, env, cfg.run_dir) for port in cfg.ports}
    for port, proc in workers.items():
        wait_healthy(port, proc)
    nginx = subprocess.Popen([_nginx(), "-c", str(conf), "-p", str(cfg.run_dir), "-g", "daemon off;"],
                             start_new_session=True)
    _say(f"{cfg.workers} app processes on {', '.join(map(str, cfg.ports))}; "
         f"https://{cfg.bind}:{cfg.https_port}/ (nginx, pid {nginx.pid})")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            if nginx.poll() is not None:
                print(f"serve: nginx exited with {nginx.returncode}", file=sys.stderr)
                return 1
            for port, proc in list(workers.items()):
                if proc.poll() is not None and not stopping:
                    _say(f"app process on {port} exited ({proc.returncode}); starting it again")
                    workers[port] = start_worker(port, env, cfg.run_dir)
            time.sleep(0.5)
    finally:
        for proc in [nginx, *workers.values()]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [nginx, *workers.values()]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    _say("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description="production: nginx and the app")
    parser.add_argument("--check", action="store_true", help="only check the configuration")
    sub = parser.add_subparsers(dest="command")
    ss = sub.add_parser("selfsigned", help="make a self-signed certificate")
    ss.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "selfsigned":
        cert, key = selfsigned(args.dir)
        print(f"TLS_CERT={cert}\nTLS_KEY={key}")
        return 0
    cfg = config_from_settings()
    if args.check:
        problems = config_problems(cfg)
        for p in problems:
            print(f"serve: refused: {p}", file=sys.stderr)
        return 2 if problems else 0
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
