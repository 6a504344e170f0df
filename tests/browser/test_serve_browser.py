"""`make serve` for real: deploy/serve.py starts two app processes behind nginx (TLS, sticky
sessions, security headers, the published releases cached) over the test database. An expert
signs in and decides through the proxy; the process holding the session is killed; the expert is
signed in again on the other process, decides again, and nothing is lost."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from domain.jalali import now_tehran
from domain.reference import TEHRAN_ID
from tests.browser.conftest import _free_port, open_page, tick_and_approve
from tests.conftest import ROOT, wipe
from tests.factories import add_document, file_request, make_member, make_staff, tiny_pdf, tiny_png

pytestmark = pytest.mark.browser

PASSWORD = "Proxy#Test-1404x"  # not the demo password: production refuses that


def _https(url: str):
    """GET through the proxy (its certificate is self-signed): (status, headers, body)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        # The first /stats/ is rendered by an app process, which on a busy machine took over 5 s.
        with urllib.request.urlopen(url, timeout=60, context=ctx) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _wait(check, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served(engine, owner_engine, db_url, owner_url, tmp_path_factory):
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (apt-get install nginx); the proxy tests are required in CI")
        pytest.skip("nginx is not installed")
    wipe(owner_engine)
    make_staff(engine, "chief", ["admin"], None, "مدیر سامانه", password=PASSWORD)
    make_staff(engine, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا محمدی", password=PASSWORD)
    now = now_tehran()
    cases = [file_request(engine, make_member(engine, TEHRAN_ID, first_name="علی", last_name=f"کریمی{i}"),
                          "new_membership", submitted_at=now - timedelta(days=3 - i)) for i in range(2)]
    for case in cases:
        add_document(engine, case.request_id, tiny_png(), "image/png", "national_card")
        add_document(engine, case.request_id, tiny_pdf("Degree"), "application/pdf", "degree")

    tmp = tmp_path_factory.mktemp("serve")
    # nginx's workers (user nobody when the tests run as root) must reach RUN_DIR; pytest's own
    # temporary folders are private to the user.
    run_dir = tempfile.mkdtemp(prefix="nezam-serve-")
    os.chmod(run_dir, 0o755)
    env = {**os.environ, "DATABASE_URL": db_url, "MIGRATION_DATABASE_URL": owner_url, "APP_MODE": "production", "COOKIE_KEY": secrets.token_hex(32),
           "WORKERS": "2", "APP_PORT": str(_free_port_pair()), "HTTPS_PORT": str(_free_port()),
           "HTTP_PORT": str(_free_port()), "BIND": "127.0.0.1", "RUN_DIR": run_dir}
    cert = subprocess.run([sys.executable, "-m", "deploy.serve", "selfsigned", str(tmp / "tls")], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True).stdout
    env.update(line.split("=", 1) for line in cert.split())
    env.pop("APPTEST", None)
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "deploy.serve"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"https://127.0.0.1:{env['HTTPS_PORT']}"
    try:
        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"deploy.serve exited: {(tmp / 'serve.log').read_text()}")
            return _https(f"{url}/healthz")[0] == 200

        _wait(up, "the proxy")
        yield {"url": url, "env": env, "cases": cases, "ports": [int(env["APP_PORT"]), int(env["APP_PORT"]) + 1]}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _free_port_pair() -> int:
    """A port p with p + 1 free too (serve gives the processes consecutive ports)."""
    import socket

    while True:
        p = _free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
                return p
            except OSError:
                continue


def test_the_proxy_answers_with_the_headers_a_government_site_needs(served):
    status, headers, body = _https(f"{served['url']}/healthz")
    assert (status, body) == (200, b"ok")
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Server"] == "nginx"  # no version
    # Plain HTTP is sent to HTTPS.
    req = urllib.request.Request(f"http://127.0.0.1:{served['env']['HTTP_PORT']}/queue")
    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(_NoRedirect).open(req, timeout=5)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == f"https://127.0.0.1:{served['env']['HTTPS_PORT']}/queue"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_published_statistics_are_served_from_the_proxy_cache(served):
    first = _https(f"{served['url']}/stats/")
    second = _https(f"{served['url']}/stats/")
    assert first[0] == second[0] == 200
    assert "آمار منتشرشده" in first[2].decode()
    assert (first[1]["X-Cache-Status"], second[1]["X-Cache-Status"]) == ("MISS", "HIT")
    assert _https(f"{served['url']}/stats/999999")[0] == 404


def _decided(engine, request_id: int) -> str:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT stage_code FROM request WHERE id = :i"), {"i": request_id}).scalar_one()


def _approve(page, url: str, tracking_code: str) -> None:
    page.goto(f"{url}/request?code={tracking_code}")
    expect(page.locator(".st-key-req-approve button")).to_be_visible()
    tick_and_approve(page)


def test_a_killed_app_process_costs_a_sign_in_and_nothing_else(served, browser, engine):
    url, first, second = served["url"], *served["cases"]
    context = browser.new_context(ignore_https_errors=True, locale="fa-IR", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(url)
        page.get_by_label("نام کاربری").fill("tehran.expert")
        page.get_by_label("گذرواژه").fill(PASSWORD)
        page.get_by_role("button", name="ورود").click()
        page.get_by_role("button", name="خروج").wait_for()
        _wait(lambda: any(c["name"] == "nezam_backoffice_session" for c in context.cookies()), "the login cookie")
        _approve(page, url, first.tracking_code)
        assert _decided(engine, first.request_id) == "final_review"

        # The process that holds this session (the route cookie names it) dies.
        route = {c["name"]: c["value"] for c in context.cookies()}["nezam_route"]
        dead = served["ports"][int(route) - 1]
        pids = subprocess.run(["pgrep", "-f", f"deploy/asgi.py --server.port {dead} "], capture_output=True,
                              text=True).stdout.split()
        assert pids, "the app process was not found"
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)

        # The browser reconnects through the proxy to the other process and is signed in again there.
        page.goto(f"{url}/queue")
        open_page(page, "کارتابل")
        _wait(lambda: {c["name"]: c["value"] for c in context.cookies()}["nezam_route"] != route,
              "the route cookie to follow the session to the live process", timeout=30)
        _approve(page, url, second.tracking_code)
        assert (_decided(engine, first.request_id), _decided(engine, second.request_id)) == \
            ("final_review", "final_review")
        with engine.connect() as c:
            events = c.execute(sa.text("SELECT count(*) FROM request_event WHERE action = 'approve'")).scalar_one()
        assert events == 2

        # serve.py starts the dead process again.
        _wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{dead}/_stcore/health", timeout=2).status == 200,
              "the killed process to be started again", timeout=60)
    finally:
        context.close()


def test_the_production_check_refuses_demo_mode_and_a_weak_key(served):
    env = {**served["env"], "APP_MODE": "demo", "COOKIE_KEY": "a" * 40}
    out = subprocess.run([sys.executable, "-m", "deploy.serve", "--check"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "APP_MODE=production" in out.stderr
    assert re.search("COOKIE_KEY", out.stderr)
