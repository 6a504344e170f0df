"""The production entry point: the Streamlit app (app.py) plus the few plain HTTP routes the
reverse proxy needs. Each app process runs `streamlit run deploy/asgi.py` (see deploy/serve.py).

- /stats/ and /stats/<id>: the published releases as HTML; frozen data, so nginx caches them;
- /_stcore/health: Streamlit's own health check, which nginx and the operator probe.
"""
from __future__ import annotations

import functools
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route
from streamlit.starlette import App

ROOT = Path(__file__).resolve().parent.parent
# How long the proxy and browsers may keep a release page. A correction is a new release, so an
# old page stays true; only the index gains a line, hence its shorter life.
RELEASE_MAX_AGE = 3600
INDEX_MAX_AGE = 60


@functools.cache
def _engine():
    from db.engine import database_url, make_engine

    return make_engine(database_url(), pool_size=2, max_overflow=2)


def _index() -> str:
    from db.engine import session_scope
    from logic import releases as rel
    from ui.public_html import index_html

    with session_scope(_engine()) as s:
        return index_html(rel.published_releases(s))


def _release(release_id: int) -> str | None:
    from db.engine import session_scope
    from domain.errors import NotFound
    from logic import releases as rel
    from ui.public_html import release_html

    with session_scope(_engine()) as s:
        try:
            return release_html(rel.published_summary(s, release_id), rel.published_snapshot(s, release_id))
        except NotFound:
            return None


async def stats_index(request: Request) -> HTMLResponse:
    html = await run_in_threadpool(_index)
    return HTMLResponse(html, headers={"Cache-Control": f"public, max-age={INDEX_MAX_AGE}"})


async def stats_release(request: Request) -> HTMLResponse:
    html = await run_in_threadpool(_release, request.path_params["release_id"])
    if html is None:
        return HTMLResponse("<!doctype html><html lang=\"fa\" dir=\"rtl\"><meta charset=\"utf-8\">"
                            "<p>این انتشار پیدا نشد.</p></html>", status_code=404)
    return HTMLResponse(html, headers={"Cache-Control": f"public, max-age={RELEASE_MAX_AGE}"})


async def stats_root(request: Request) -> RedirectResponse:
    return RedirectResponse("/stats/", status_code=308)


app = App(str(ROOT / "app.py"), routes=[
    Route("/stats", stats_root),
    Route("/stats/", stats_index),
    Route("/stats/{release_id:int}", stats_release),
])
