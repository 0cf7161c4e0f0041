"""Greedy accept (server/accept.py): every connection waiting in the listen queue is accepted
in one turn of the loop, not one per turn as libuv does since 1.45 (which kept 1,000 runners
that connected together waiting up to 14 s for a first answer: benchmarks/herd.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from pytorc.server.accept import GreedyServer
from pytorc.server.main import _bind

_OPEN: list[asyncio.BaseTransport] = []


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        _OPEN.append(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


def test_one_turn_accepts_every_waiting_connection_and_they_all_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches: list[int] = []  # connections accepted by each call of the listening socket's reader
    accept, hand_over = GreedyServer._accept, GreedyServer._hand_over

    def counting_accept(self: GreedyServer) -> None:
        batches.append(0)
        accept(self)

    def counting_hand_over(self: GreedyServer, conn: socket.socket) -> None:
        batches[-1] += 1
        hand_over(self, conn)

    monkeypatch.setattr(GreedyServer, "_accept", counting_accept)
    monkeypatch.setattr(GreedyServer, "_hand_over", counting_hand_over)
    loop = uvloop.new_event_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(300)]
    try:
        server = GreedyServer(loop, listener, _Echo, None)
        loop.run_until_complete(asyncio.sleep(0.05))
        assert batches[0] == 300  # the whole queue in the first turn
        for i, client in enumerate(clients):
            client.sendall(b"%d;" % i)
        loop.run_until_complete(asyncio.sleep(0.2))
        for i, client in enumerate(clients):
            client.settimeout(10)
            assert client.recv(64) == b"%d;" % i
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        for client in clients:
            client.close()
        for transport in _OPEN:
            transport.close()
        loop.run_until_complete(asyncio.sleep(0.05))
        listener.close()
        loop.close()


def test_the_listening_socket_gives_asyncio_connections_tcp_nodelay() -> None:
    """asyncio sets TCP_NODELAY only on sockets whose proto is TCP; a socket made with proto 0
    left Nagle on, and every answer of `--event-loop asyncio` waited ~40 ms for a delayed ACK."""
    listener = _bind("127.0.0.1", 0)
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def serve_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        client = socket.create_connection(listener.getsockname())
        try:
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.01)
        finally:
            client.close()
            server.close()
            await server.wait_closed()

    asyncio.run(serve_one())
    assert seen and seen[0] != 0
