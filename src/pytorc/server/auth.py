"""HTTP Basic authentication against an htpasswd file of bcrypt hashes.

bcrypt is slow on purpose (~0.2 s at cost 12), so a verified answer, good or bad, is cached for
`credential_cache_ttl_secs` under a keyed hash of the user and password (the password itself is
never kept): a runner's thousands of requests, or a storm of wrong passwords, cost one bcrypt
each. Reloading the file (POST /admin/reload-auth) empties the cache.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from pytorc.server.errors_http import error_body

CACHE_LIMIT = 100_000  # entries; past it the cache starts over (a flood of distinct guesses)
FAILURE_LIMIT = 10  # wrong passwords per user per window before bcrypt is no longer tried
FAILURE_WINDOW_SECONDS = 60.0


class AuthFileError(ValueError):
    """The htpasswd file cannot be read or holds a line pytorc cannot use."""


def read_htpasswd(path: Path) -> dict[str, bytes]:
    """user -> bcrypt hash, from `user:hash` lines (# comments and blank lines skipped)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise AuthFileError(f"cannot read auth file {path}: {exc.strerror}") from None
    users: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise AuthFileError(f"{path}:{number}: not a `user:bcrypt-hash` line")
        users[user] = hashed.encode()
    return users


class Credentials:
    """The users of the auth file and a cache of verified passwords; thread-safe."""

    def __init__(self, path: Path | None, ttl_seconds: float) -> None:
        self.path, self.ttl = path, ttl_seconds
        self._key = os.urandom(32)  # keys the cache's hashes; never leaves this process
        self._lock = threading.Lock()
        self._cache: dict[bytes, tuple[bool, float]] = {}
        self._failures: dict[str, list[float]] = {}  # user -> times of recent wrong passwords
        self.users: dict[str, bytes] = {}
        self.reload()

    def reload(self) -> int:
        """Reread the file; how many users it holds."""
        users = read_htpasswd(self.path) if self.path is not None else {}
        with self._lock:
            self.users, self._cache, self._failures = users, {}, {}
        return len(users)

    def _cache_key(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()

    def cached(self, user: str, password: str) -> bool | None:
        """The cached answer for these credentials, or None if there is none (yet)."""
        with self._lock:
            found = self._cache.get(self._cache_key(user, password))
        return found[0] if found is not None and found[1] > time.monotonic() else None

    def verify(self, user: str, password: str) -> bool:
        """Check with bcrypt (slow) and cache the answer. A user with FAILURE_LIMIT wrong
        passwords in the window is refused without a check until the window passes (a
        password already verified still works: it is answered from the cache)."""
        import bcrypt

        now = time.monotonic()
        with self._lock:
            hashed = self.users.get(user)
            recent = [t for t in self._failures.get(user, []) if now - t < FAILURE_WINDOW_SECONDS]
            self._failures[user] = recent
        if len(recent) >= FAILURE_LIMIT:
            return False
        good = hashed is not None and bcrypt.checkpw(password.encode(), hashed)
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache = {}
            self._cache[self._cache_key(user, password)] = (good, now + self.ttl)
            if not good and hashed is not None:
                self._failures.setdefault(user, []).append(now)
        return good


def basic_credentials(header: bytes) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` value; None if it is not one."""
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        user, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class BasicAuth:
    """ASGI middleware: a request's user is set in scope["state"]["user"]; with `required`,
    a request without valid credentials is answered 401. Wrong credentials are a 401 even when
    authentication is optional (a client that sends them expects them to count)."""

    def __init__(self, app: ASGIApp, credentials: Credentials, required: bool) -> None:
        self.app, self.credentials, self.required = app, credentials, required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        given = basic_credentials(header) if header is not None else None
        if given is None:
            if self.required or header is not None:
                await _unauthorized(send, "authentication required: HTTP Basic credentials")
                return
        elif not await _verify(self.credentials, *given):
            await _unauthorized(send, "wrong user or password")
            return
        scope.setdefault("state", {})["user"] = given[0] if given else None
        await self.app(scope, receive, send)


_BCRYPT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torc-bcrypt")


async def _verify(credentials: Credentials, user: str, password: str) -> bool:
    """From the cache, else on a thread of its own: bcrypt would stall the event loop, and on
    the shared pool a storm of wrong passwords would starve the routes that run there."""
    known = credentials.cached(user, password)
    if known is not None:
        return known
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_BCRYPT, credentials.verify, user, password)


async def _unauthorized(send: Send, message: str) -> None:
    body = json.dumps(error_body(401, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Basic realm="torc"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
