"""The client's HTTP/1.1 framing, against servers that answer the ways uvicorn never does.

torc-server (uvicorn) always answers with Content-Length; a proxy in front of it may chunk an
answer, close the connection instead of framing it, or drop an idle kept-alive connection.
Each test here is a small real server on a socket that does one of those.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytorc.client.transport import ConnectFailure, ProtocolError, Transport

Handler = Callable[[socket.socket, bytes], None]


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += conn.recv(65536)
    return head + b"\r\n\r\n" + rest


@contextmanager
def _server(handlers: list[Handler]) -> Iterator[tuple[str, list[bytes]]]:
    """Serve one request per handler, in order, each on whatever connection it arrives on."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[bytes] = []

    def serve() -> None:
        conn: socket.socket | None = None
        for handler in handlers:
            while True:
                if conn is None:
                    conn, _ = listener.accept()
                request = _read_request(conn)
                if request:
                    break
                conn.close()  # the client gave up on this connection: take the next one
                conn = None
            seen.append(request)
            handler(conn, request)
            if conn.fileno() == -1:
                conn = None
        if conn is not None:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/torc-service/v1", seen
    finally:
        listener.close()
        thread.join(timeout=5)


def _answer(raw: bytes, close: bool = False) -> Handler:
    def handle(conn: socket.socket, request: bytes) -> None:
        conn.sendall(raw)
        if close:
            conn.close()

    return handle


def test_a_request_carries_its_method_path_query_headers_and_json_body() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    with _server([_answer(ok)]) as (url, seen):
        transport = Transport(url, timeout=5, auth=("ann", "pw"))
        status, _, body = transport.send("POST", "/jobs", {"limit": 3, "flag": True}, {"a": 1})
        transport.close()
    assert (status, body) == (200, b"{}")
    head, _, sent = seen[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /torc-service/v1/jobs?limit=3&flag=true HTTP/1.1"
    assert "Content-Type: application/json" in lines
    assert "Authorization: Basic YW5uOnB3" in lines
    assert sent == b'{"a":1}'


def test_a_post_without_a_body_says_so_and_a_get_sends_no_length() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with _server([_answer(ok), _answer(ok)]) as (url, seen):
        transport = Transport(url, timeout=5)
        assert transport.send("POST", "/init", None, None) == (200, "OK", b"")
        assert transport.send("GET", "/ping", None, None) == (200, "OK", b"")
        transport.close()
    assert b"\r\nContent-Length: 0\r\n" in seen[0]
    assert b"Content-Length" not in seen[1]


def test_chunked_answers_and_answers_framed_by_closing_are_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\n[1, \r\n3\r\n2]\n\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    unframed = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[3]"
    with _server([_answer(chunked), _answer(unframed, close=True)]) as (url, _):
        transport = Transport(url, timeout=5)
        assert transport.send("GET", "/a", None, None) == (200, "OK", b"[1, 2]\n")
        assert transport.send("GET", "/b", None, None) == (200, "OK", b"[3]")
        transport.close()


def test_one_connection_carries_many_requests() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"
    accepted: list[int] = []

    def counting(conn: socket.socket, request: bytes) -> None:
        accepted.append(conn.fileno())
        conn.sendall(ok)

    with _server([counting] * 5) as (url, _):
        transport = Transport(url, timeout=5)
        for _ in range(5):
            assert transport.send("GET", "/ping", None, None)[0] == 200
        transport.close()
    assert len(set(accepted)) == 1


def test_a_kept_alive_connection_the_server_dropped_is_replaced_once() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def drop(conn: socket.socket, request: bytes) -> None:
        conn.close()  # as a server closing an idle connection the moment a request arrives

    with _server([_answer(ok), drop, _answer(ok)]) as (url, seen):
        transport = Transport(url, timeout=5)
        assert transport.send("GET", "/one", None, None)[2] == b"ok"
        assert transport.send("POST", "/two", None, {"x": 1})[2] == b"ok"
        transport.close()
    assert [r.split(b" ")[1] for r in seen] == [b"/torc-service/v1/one"] + [
        b"/torc-service/v1/two"
    ] * 2


def test_an_answer_cut_short_or_not_http_is_an_error_not_a_hang() -> None:
    short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    with (
        _server([_answer(short, close=True)]) as (url, _),
        pytest.raises(ConnectionError, match="3 of 10 bytes"),
    ):
        Transport(url, timeout=5).send("GET", "/x", None, None)
    with (
        _server([_answer(b"SSH-2.0-OpenSSH\r\n\r\n", close=True)]) as (url, _),
        pytest.raises(ProtocolError, match="status line"),
    ):
        Transport(url, timeout=5).send("GET", "/x", None, None)


def test_nobody_listening_is_a_connect_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailure):
        Transport(f"http://127.0.0.1:{port}/x", timeout=2).send("GET", "/ping", None, None)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_verifies_the_server_certificate_and_speaks_through_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    make_cert += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    make_cert += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        make_cert,
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = context.wrap_socket(socket.create_server(("127.0.0.1", 0)), server_side=True)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except (ssl.SSLError, OSError):
                continue  # the client refused our certificate
            _read_request(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}/torc-service/v1"
    with pytest.raises(ConnectFailure, match="CERTIFICATE_VERIFY_FAILED"):
        Transport(url, timeout=5).send("GET", "/ping", None, None)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust our own certificate
    trusting = Transport(url, timeout=5)
    try:
        assert trusting.send("GET", "/ping", None, None) == (200, "OK", b"true")
    finally:
        trusting.close()
    thread.join(timeout=5)
    listener.close()
