"""create_app(settings): the FastAPI application serving /torc-service/v1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pytorc import __version__
from pytorc.config import ServerSettings
from pytorc.server import errors_http
from pytorc.server.body_limit import BodyLimit
from pytorc.server.db.connection import Database
from pytorc.server.routes import ROUTERS
from pytorc.server.services import sweep

BASE_PATH = "/torc-service/v1"
log = logging.getLogger(__name__)


def create_app(settings: ServerSettings, db: Database) -> FastAPI:
    """The app over an open database; the caller owns the database's lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep.run_forever(db, settings.completion_check_interval_secs))
        try:
            yield
        finally:
            task.cancel()
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
    errors_http.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=BASE_PATH)
    bulk_limit = int(settings.max_request_body_mb * 1024 * 1024)
    app.add_middleware(BodyLimit, bulk_limit=bulk_limit)
    return app
