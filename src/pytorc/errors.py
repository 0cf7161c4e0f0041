"""The exception tree shared by server, client and CLI.

TorcError -> NotFound 404 | Conflict 409 | InvalidInput 422 | PayloadTooLarge 413
          | ApiError (client side: any status)

Each exception carries the HTTP status the server answers with; one handler renders them all as
the wire's ErrorResponse body. Bad input is always a 4xx.
"""

from __future__ import annotations


class TorcError(Exception):
    """Base of every error pytorc raises on purpose."""

    status = 500


class NotFound(TorcError):
    status = 404

    def __init__(self, kind: str, id: int | str) -> None:
        super().__init__(f"{kind} {id} does not exist")


class Conflict(TorcError):
    """The request is valid but clashes with the stored state (e.g. completing a job twice)."""

    status = 409


class InvalidInput(TorcError):
    """A value or state transition the caller can fix."""

    status = 422


class PayloadTooLarge(TorcError):
    status = 413


class ApiError(TorcError):
    """An error answer received by the HTTP client."""

    def __init__(self, status: int, message: str, in_transit: bool = False) -> None:
        super().__init__(message)
        self.status = status
        # The request was sent but its answer never came: the server may have applied it.
        self.in_transit = in_transit
