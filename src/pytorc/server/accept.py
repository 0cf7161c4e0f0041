"""Greedy accept under uvloop: every connection waiting to be accepted is taken at once.

libuv (from 1.45, libuv#3696) accepts one connection per loop iteration. Under load an iteration
first serves every busy connection, so 1,000 runners connecting together were accepted about
ten a second: the last waited ~14 s for its first answer while the others worked
(`benchmarks/herd.py`). Here our own reader on the listening socket accepts until the queue is
empty, as asyncio's loop does, and hands each connection to uvloop's transports
(`connect_accepted_socket`), which stay as fast as before for everything after the accept.

It is installed by a uvicorn Server subclass, not by subclassing uvloop's Loop: a Python
subclass of that Cython class made every request 8-20% slower (each cpdef call then looks for
an override): `/ping` 1.0-1.14 ms against 0.81-1.07 ms, three interleaved pairs.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl as ssl_module
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

ACCEPT_BATCH = 1024
"""Connections accepted per readiness of the listening socket before the loop runs again."""
PAUSE_SECONDS = 1.0
"""After running out of file descriptors, how long to stop accepting (asyncio waits as long)."""
_OUT_OF_FILES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class GreedyServer:
    """The part of asyncio.Server uvicorn uses (close, wait_closed, sockets)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Any,
        ssl: ssl_module.SSLContext | None,
    ) -> None:
        self.loop, self.sock, self.factory, self.ssl = loop, sock, factory, ssl
        self.sockets = [sock]
        self.handshakes: set[asyncio.Task[Any]] = set()
        self.closed = False
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in _OUT_OF_FILES:
                    raise
                log.warning("cannot accept connections (%s); retrying in %s s", exc, PAUSE_SECONDS)
                self.loop.remove_reader(self.sock.fileno())
                self.loop.call_later(PAUSE_SECONDS, self._resume)
                return
            self._hand_over(conn)

    def _hand_over(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self.loop.create_task(self._connect(conn))
        self.handshakes.add(task)
        task.add_done_callback(self.handshakes.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.factory, conn, ssl=self.ssl)
        except OSError as exc:  # a client gone, or a bad TLS handshake (SSLError is an OSError)
            log.debug("connection dropped before it started: %s", exc)
            conn.close()

    def _resume(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.sock.fileno())

    async def wait_closed(self) -> None:
        if self.handshakes:
            await asyncio.wait(set(self.handshakes))


class GreedyAcceptServer(uvicorn.Server):
    """uvicorn's Server whose listening sockets are read by GreedyServer."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            await super().startup(sockets)
            return
        await super().startup(sockets=[])  # the lifespan and state, no listeners
        loop = asyncio.get_running_loop()
        config = self.config

        def create_protocol() -> asyncio.Protocol:  # as uvicorn's own startup makes them
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )

        self.servers = [GreedyServer(loop, s, create_protocol, config.ssl) for s in sockets]  # type: ignore[misc]
