"""HTTP/1.1 keep-alive JSON transport on the standard library's http.client.

Measured on this project's 2-core machines against torc-server: a GET /ping round trip took
3.1 ms through httpx.Client and 0.8 ms through http.client, and importing httpx (which pulls in
its command-line tool, rich, click and pygments) cost ~0.19 s of every `torc` start. The runner
makes one request per batch of jobs and the CLI a handful per command, so both paid for it.
Each thread gets its own connection (http.client connections are not thread-safe).
"""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.parse
from typing import Any

from pytorc.client.codec import encode


class ConnectFailure(OSError):
    """The server could not be reached at all: nothing was sent."""


class Transport:
    """Sends JSON requests to one server over per-thread persistent connections."""

    def __init__(self, base_url: str, timeout: float, auth: tuple[str, str] | None = None) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = kind(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def send(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any
    ) -> tuple[int, str, bytes]:
        """(status, reason, body bytes). ConnectFailure when nothing could be sent."""
        url = self.prefix + path
        if params:
            url += "?" + urllib.parse.urlencode(
                {k: _query_value(v) for k, v in params.items()}, doseq=True
            )
        data = None if body is None else encode(body)
        for attempt in range(2):
            conn = self._connection()
            reused = conn.sock is not None
            if not reused:
                try:
                    conn.connect()
                except OSError as exc:
                    conn.close()
                    raise ConnectFailure(str(exc)) from exc
            try:
                conn.request(method, url, body=data, headers=self.headers)
                response = conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                # The server dropped an idle kept-alive connection before reading this request:
                # it never arrived, so sending it once more on a new connection is safe.
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if response.will_close:
                conn.close()
            return response.status, response.reason, payload
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [_query_value(v) for v in value]
    return value


def ping(url: str, timeout: float = 1.0) -> bool:
    """Does a torc-server answer /ping at `url`?"""
    try:
        transport = Transport(url, timeout)
    except ValueError:
        return False
    try:
        status, _, _ = transport.send("GET", "/ping", None, None)
    except (OSError, http.client.HTTPException):
        return False
    finally:
        transport.close()
    return status == 200
