"""create_app(settings): the FastAPI application serving /torc-service/v1."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from pytorc import __version__
from pytorc.config import ServerSettings
from pytorc.server import errors_http
from pytorc.server.access import AccessControl
from pytorc.server.admission import Admission
from pytorc.server.auth import BasicAuth, Credentials
from pytorc.server.body_limit import BodyLimit
from pytorc.server.browser_guard import BrowserGuard
from pytorc.server.db.connection import Database
from pytorc.server.fast_path import ExchangeFastPath
from pytorc.server.routes import ROUTERS
from pytorc.server.routes.common import RAW_BODY_MODELS
from pytorc.server.services import dead_runners, sweep

BASE_PATH = "/torc-service/v1"
log = logging.getLogger(__name__)


def create_app(
    settings: ServerSettings, db: Database, credentials: Credentials | None = None
) -> FastAPI:
    """The app over an open database; the caller owns the database's lifetime. With
    `credentials` (the auth file's users) every request passes HTTP Basic authentication."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:
            await _warm_up(app)
        settle_garbage_collector()
        tasks = [
            asyncio.create_task(sweep.run_forever(db, settings.completion_check_interval_secs))
        ]
        if settings.dead_runner_timeout_secs > 0:
            timeout = settings.dead_runner_timeout_secs
            tasks.append(asyncio.create_task(dead_runners.run_forever(db, timeout)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="torc-service",
        version=__version__,
        description="pytorc: the Torc workflow API (wire-compatible with torc-client 0.35.0).",
        openapi_url=f"{BASE_PATH}/openapi.json",
        docs_url=f"{BASE_PATH}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.credentials = credentials
    errors_http.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=BASE_PATH)
    _document_raw_bodies(app)
    # Starlette wraps each middleware added later around those added before: the fast path,
    # added first, stays innermost, behind the body limit and whatever is added after it.
    # Without it a chain of 200 took 3-18% longer, 2,000 jobs 1-3% (benchmarks/tricks.py).
    app.add_middleware(ExchangeFastPath, db=db, base_path=BASE_PATH, api=app)
    if settings.enforce_access_control:  # inside the body limit: it may read the body
        app.add_middleware(AccessControl, db=db, base_path=BASE_PATH, admins=settings.admin_users)
    bulk_limit = int(settings.max_request_body_mb * 1024 * 1024)
    app.add_middleware(BodyLimit, bulk_limit=bulk_limit)
    app.add_middleware(BrowserGuard)
    if credentials is not None:  # nothing is read before the caller is known
        app.add_middleware(BasicAuth, credentials=credentials, required=settings.require_auth)
    # Outermost: a saturated server sheds a request before any work (bcrypt included).
    app.add_middleware(Admission, limit=settings.max_in_flight_requests)
    return app


async def _warm_up(app: FastAPI) -> None:
    """Build now what would otherwise be built on the first request to each group of routes.

    FastAPI prepares a router's routes when a request first reaches it (~5 ms a route), and
    anyio its worker threads on first use, so a fresh server answered each of a client's first
    calls 35-100 ms late (~0.3 s over one `torc run`). One matching pass over every router and
    one call on the thread pool, before the server accepts connections, pay that up front.
    """
    scope = {"type": "http", "method": "GET", "path": f"{BASE_PATH}/ping", "root_path": ""}
    for route in app.router.routes:
        route.matches({**scope, "headers": [], "query_string": b""})
    await run_in_threadpool(lambda: None)


def settle_garbage_collector() -> None:
    """Move everything built so far out of the collector's sight, then (re)enable it.

    What exists once the app is ready lives as long as the server. Frozen, it is no longer
    walked by full collections, which otherwise cost ~90 ms each, a pause any request could
    land in.
    """
    gc.freeze()  # with main()'s gc.disable(): start-up 194 ms (19%) faster (tricks.py)
    gc.enable()


def _document_raw_bodies(app: FastAPI) -> None:
    """Add the schemas of bodies that routes parse themselves to the OpenAPI components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in RAW_BODY_MODELS:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in body.pop("$defs", {}).items():
                components.setdefault(name, sub)
            components.setdefault(model.__name__, body)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
