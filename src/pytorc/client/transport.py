"""HTTP/1.1 keep-alive JSON transport written directly on sockets.

Measured on this project's 2-core machines against torc-server: a GET /ping round trip took
3.1 ms through httpx.Client and 0.8 ms through http.client, and importing httpx (which pulls in
its command-line tool, rich, click and pygments) cost ~0.19 s of every `torc` start. http.client
in turn loads ssl and the email package at import (~25 ms of a ~0.28 s command) and parses every
answer's headers with the email parser. What a JSON API client needs of HTTP/1.1 is small:
one request line and a few headers out; a status line, headers and a body framed by
Content-Length, chunked encoding or the connection's end back. That is all this module does.
ssl is imported only for an https URL. Each thread gets its own connection.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from pytorc.client.codec import encode

MAX_LINE = 65536  # longest status or header line accepted
MAX_HEADERS = 100


class ConnectFailure(OSError):
    """The server could not be reached at all: nothing was sent."""


class ServerClosed(ConnectionError):
    """The server closed the connection without answering."""


class ProtocolError(OSError):
    """The server's answer was not HTTP/1.x as this client reads it."""


class HttpStatus(Exception):
    """A streamed request's answer was not 200."""

    def __init__(self, status: int, reason: str, body: bytes) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.body = status, reason, body


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class Transport:
    """Sends JSON requests to one server over per-thread persistent connections."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        auth: tuple[str, str] | None = None,
        ca_cert: str | None = None,
    ) -> None:
        """`ca_cert`: a PEM file of the certificate authorities to trust for https (default:
        the system's, or SSL_CERT_FILE). http_proxy / https_proxy / no_proxy are honoured."""
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.timeout = timeout
        self.ca_cert = ca_cert
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        self.proxy = _proxy_for(parts.scheme, self.host)
        # Through a plain-http proxy the request line names the whole URL; else only the path.
        origin = f"http://{host}:{self.port}" if self.proxy and not self.https else ""
        self.prefix = origin + parts.path.rstrip("/")
        fixed = [f"Host: {host}:{self.port}", "Accept: application/json"]
        if self.proxy and self.proxy.authorization and not self.https:
            fixed.append(f"Proxy-Authorization: {self.proxy.authorization}")
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            fixed.append(f"Authorization: Basic {token}")
        self._fixed = "\r\n".join(fixed) + "\r\n"
        self._local = threading.local()
        self._all: list[_Connection] = []
        self._lock = threading.Lock()

    def _connect(self) -> _Connection:
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)
        try:
            address = (_address(host), port)  # bytes work; typeshed lists only str
            sock = socket.create_connection(address, timeout=self.timeout)  # type: ignore[arg-type]
        except OSError as exc:
            raise ConnectFailure(str(exc)) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.https:
            import ssl

            try:
                if self.proxy:
                    _tunnel(sock, self.host, self.port, self.proxy.authorization)
                context = ssl.create_default_context(cafile=self.ca_cert)
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except OSError as exc:  # the tunnel or handshake failed: no request was sent
                sock.close()
                raise ConnectFailure(str(exc)) from exc
        conn = _Connection(sock)
        with self._lock:
            self._all.append(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)

    def send(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any
    ) -> tuple[int, str, bytes]:
        """(status, reason, body bytes). ConnectFailure when nothing could be sent."""
        self._local.retry_after = None
        url = self.prefix + path
        if params:
            url += "?" + urllib.parse.urlencode(
                {k: _query_value(v) for k, v in params.items()}, doseq=True
            )
        head = f"{method} {url} HTTP/1.1\r\n{self._fixed}"
        if body is None:
            # A body-carrying method says its empty body's length, as proxies may require it.
            empty = "Content-Length: 0\r\n" if method in ("POST", "PUT", "PATCH") else ""
            message = (head + empty + "\r\n").encode("latin-1")
        else:
            data = encode(body)
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            message = head.encode("latin-1") + data
        for attempt in range(2):
            conn: _Connection | None = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self._local.conn = self._connect()
            try:
                conn.sock.sendall(message)
                status, reason, payload, keep, headers = _read_response(conn.file, method)
            except (ServerClosed, BrokenPipeError, ConnectionResetError):
                self._forget(conn)
                # The server dropped an idle kept-alive connection before reading this request:
                # it never arrived, so sending it once more on a new connection is safe.
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                self._forget(conn)
                raise
            if not keep:
                self._forget(conn)
            self._local.retry_after = _seconds(headers.get("retry-after"))
            return status, reason, payload
        raise AssertionError("unreachable")

    def stream(self, path: str, params: dict[str, Any] | None) -> Iterator[bytes]:
        """GET an answer that never ends (Server-Sent Events) on a connection of its own; its
        body's bytes as they arrive. HttpStatus if the answer is not 200."""
        url = self.prefix + path
        if params:
            url += "?" + urllib.parse.urlencode({k: _query_value(v) for k, v in params.items()})
        conn = self._connect()
        try:
            conn.sock.sendall(f"GET {url} HTTP/1.1\r\n{self._fixed}\r\n".encode("latin-1"))
            head = _read_head(conn.file)
            chunked = "chunked" in head.headers.get("transfer-encoding", "").lower()
            if head.status != 200:
                length = head.headers.get("content-length", "")
                body = (
                    _read_chunked(conn.file)
                    if chunked
                    else conn.file.read(int(length))
                    if length.isdigit()
                    else b""
                )
                raise HttpStatus(head.status, head.reason, body)
            if chunked:
                yield from _iter_chunks(conn.file)
            else:
                while data := conn.file.read1(65536):  # type: ignore[attr-defined]
                    yield data
        finally:
            self._forget_stream(conn)

    def _forget_stream(self, conn: _Connection) -> None:
        conn.close()
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)

    def retry_after(self) -> float | None:
        """The Retry-After of this thread's last answer, in seconds (None: it had none)."""
        return getattr(self._local, "retry_after", None)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class _Head(NamedTuple):
    status: int
    reason: str
    headers: dict[str, str]
    version: str


def _read_head(file: BinaryIO) -> _Head:
    """The status line and headers of the final answer (1xx answers skipped)."""
    while True:
        line = file.readline(MAX_LINE + 1)
        if not line:
            raise ServerClosed("the server closed the connection without answering")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
        headers = _read_headers(file)
        if int(code) >= 200:
            return _Head(int(code), reason, headers, version)


def _read_response(file: BinaryIO, method: str) -> tuple[int, str, bytes, bool, dict[str, str]]:
    """(status, reason, body, whether the connection stays open, headers); 1xx skipped."""
    status, reason, headers, version = _read_head(file)
    tokens = headers.get("connection", "").lower()
    keep = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    if method == "HEAD" or status in (204, 304):
        return status, reason, b"", keep, headers
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, reason, _read_chunked(file), keep, headers
    length = headers.get("content-length")
    if length is None:  # the body runs to the end of the connection
        return status, reason, file.read(), False, headers
    if not length.isdigit():
        raise ProtocolError(f"bad Content-Length: {length!r}")
    body = file.read(int(length))
    if len(body) < int(length):
        raise ServerClosed(f"the answer ended after {len(body)} of {length} bytes")
    return status, reason, body, keep, headers


def _read_headers(file: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = file.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ServerClosed("the server closed the connection within the headers")
        if len(line) > MAX_LINE:
            raise ProtocolError("a header line longer than 64 KiB")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"not a header line: {line[:80]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise ProtocolError(f"more than {MAX_HEADERS} header lines")


def _read_chunked(file: BinaryIO) -> bytes:
    return b"".join(_iter_chunks(file))


def _iter_chunks(file: BinaryIO) -> Iterator[bytes]:
    """A chunked body's chunks as they arrive."""
    while True:
        line = file.readline(MAX_LINE + 1)
        if not line:
            raise ServerClosed("the answer ended inside its chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line: {line[:80]!r}") from None
        if size == 0:
            _read_headers(file)  # trailers, if any, then the blank line
            return
        chunk = file.read(size)
        if len(chunk) < size or file.read(2) != b"\r\n":
            raise ServerClosed("the answer ended inside a chunk")
        yield chunk


class Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from user:password@ in the URL


def _proxy_for(scheme: str, host: str) -> Proxy | None:
    """The proxy the environment names for this scheme and host (None: connect directly)."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None  # urllib.request costs ~25 ms of start-up to import: only when needed
    import urllib.request

    url = urllib.request.getproxies().get(scheme)
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        return None
    authorization = None
    if parts.username is not None:
        secret = (
            f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        )
        authorization = "Basic " + base64.b64encode(secret.encode()).decode()
    return Proxy(parts.hostname, parts.port or 80, authorization)


def _tunnel(sock: socket.socket, host: str, port: int, authorization: str | None) -> None:
    """Ask the proxy for a TCP tunnel to host:port (CONNECT), for TLS end to end."""
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if authorization:
        lines.append(f"Proxy-Authorization: {authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk or len(answer) > MAX_LINE:
            raise ProtocolError("the proxy closed the connection during CONNECT")
        answer += chunk
    first = answer.split(b"\r\n", 1)[0]
    status = first.split()
    if len(status) < 2 or status[1] != b"200":
        raise ProtocolError(f"the proxy refused CONNECT: {first.decode('latin-1')}")


def _address(host: str) -> str | bytes:
    """The host as getaddrinfo takes it: an ASCII name as bytes, which spares every command
    the import of the IDNA codec (~1-2 ms) that a str host costs; others as they are."""
    return host.encode() if host.isascii() else host


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
    except OSError:
        return False
    finally:
        transport.close()
    return status == 200


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is not used by torc-server and is ignored."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())
