"""Render every failure as the wire's ErrorResponse; bad input is a 4xx, faults a 500."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pytorc.errors import TorcError

log = logging.getLogger(__name__)


def error_body(status: int, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if details is not None:
        error["details"] = details
    return {"error": error, "errorNum": status, "errorMessage": message, "code": status}


def error_response(
    status: int, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, details), status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    parts, details = [], []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg')}")
        details.append(
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
        )
    return "invalid request: " + "; ".join(parts[:10]), details


def install(app: FastAPI) -> None:
    @app.exception_handler(TorcError)
    async def torc_error(_: Request, exc: TorcError) -> JSONResponse:
        return error_response(exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe_validation(exc)
        return error_response(422, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Keep the exception's headers: a 405 must say which methods are allowed.
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(sqlite3.IntegrityError)
    async def integrity_error(_: Request, exc: sqlite3.IntegrityError) -> JSONResponse:
        text = str(exc)
        if "FOREIGN KEY" in text:
            return error_response(422, "a referenced record does not exist")
        return error_response(409, f"conflicts with a stored record: {text}")

    @app.exception_handler(OverflowError)
    async def overflow_error(_: Request, exc: OverflowError) -> JSONResponse:
        return error_response(422, f"a number is out of range: {exc}")

    @app.exception_handler(Exception)
    async def server_fault(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal server error: {type(exc).__name__}")
