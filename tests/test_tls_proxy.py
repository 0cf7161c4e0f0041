"""TLS on the server (--tls-cert/--tls-key) with certificate verification in the client
(--ca-cert, TORC_CA_CERT, SSL_CERT_FILE), and the client through an HTTP proxy (http_proxy,
https_proxy with CONNECT, no_proxy)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import TORC, cli_env
from helpers import SERVER, clean_env, wait_until
from pytorc.client.api import TorcClient


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_url(
    certificate: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    cert, key = certificate
    workdir = tmp_path_factory.mktemp("tls-server")
    proc = subprocess.Popen(
        [
            SERVER,
            "run",
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--database",
            ":memory:",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=workdir,
        env=clean_env(workdir),
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip().split("=")[1]
    url = f"https://127.0.0.1:{port}/torc-service/v1"
    with TorcClient(url, ca_cert=str(cert)) as client:
        wait_until(client.ping, timeout=20, what="the https server")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    proc.stdout.close()


def _torc(url: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TORC), "--url", url, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(cwd, **env),
    )


def test_the_client_verifies_the_servers_certificate(
    tls_url: str, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    cert = str(certificate[0])
    assert _torc(tls_url, "--ca-cert", cert, "workflows", "list", cwd=tmp_path).returncode == 0
    assert _torc(tls_url, "workflows", "list", cwd=tmp_path, TORC_CA_CERT=cert).returncode == 0
    assert _torc(tls_url, "workflows", "list", cwd=tmp_path, SSL_CERT_FILE=cert).returncode == 0
    untrusted = _torc(tls_url, "workflows", "list", cwd=tmp_path)
    assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_tls_needs_both_files(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    done = subprocess.run(
        [SERVER, "run", "--port", "0", "--tls-cert", str(certificate[0])],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env=clean_env(tmp_path),
    )
    assert done.returncode == 2 and "needs both --tls-cert and --tls-key" in done.stderr


class Proxy:
    """A minimal forward proxy: one request per connection (absolute-form URLs rewritten to
    paths), and CONNECT tunnels. `seen` lists the request lines it got."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            head += chunk
        first, _, rest = head.partition(b"\r\n")
        method, target, version = first.decode().split()
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(client, upstream)
            return
        address, _, path = target.removeprefix("http://").partition("/")
        host, port = address.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        upstream.sendall(f"{method} /{path} {version}\r\n".encode() + rest)
        _pipe(client, upstream)

    def close(self) -> None:
        self.listener.close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=copy, args=(a, b), daemon=True)
    other.start()
    copy(b, a)
    other.join(timeout=10)
    a.close()
    b.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy()
    yield running
    running.close()


def test_the_client_goes_through_the_proxy_the_environment_names(
    server: object, proxy: Proxy, tmp_path: Path
) -> None:
    url = server.url  # type: ignore[attr-defined]
    through = f"http://127.0.0.1:{proxy.port}"
    done = _torc(url, "workflows", "list", cwd=tmp_path, http_proxy=through, no_proxy="")
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("GET http://127.0.0.1:") for line in proxy.seen), proxy.seen
    proxy.seen.clear()
    direct = _torc(url, "workflows", "list", cwd=tmp_path, http_proxy=through, no_proxy="127.0.0.1")
    assert direct.returncode == 0 and proxy.seen == []


def test_https_goes_through_a_connect_tunnel(
    tls_url: str, certificate: tuple[Path, Path], proxy: Proxy, tmp_path: Path
) -> None:
    done = _torc(
        tls_url,
        "--ca-cert",
        str(certificate[0]),
        "workflows",
        "list",
        cwd=tmp_path,
        https_proxy=f"http://127.0.0.1:{proxy.port}",
        no_proxy="",
    )
    assert done.returncode == 0, done.stderr
    assert proxy.seen and proxy.seen[0].startswith("CONNECT 127.0.0.1:")
