"""The local side of a forward (ecotui.forward.tunnel): binding with one-line errors, and the pump between a TCP
connection and a v4 port-forward stream (fake server and echo backend on 127.0.0.1)."""
from __future__ import annotations

import asyncio
import os
import socket

import pytest
import pytest_asyncio

from ecotui.forward.resolve import ForwardError
from ecotui.forward.tunnel import Counters, bind, local_text, pump
from ecotui.kube.client import is_loopback
from forward_fakes import Backend, FakeStreams

PF = "/api/v1/namespaces/ns/pods/echo/portforward"


@pytest_asyncio.fixture
async def fake():
    backend = await Backend("echo", mode="echo").start()
    srv = await FakeStreams(pods={"ns/echo": {8080: backend.addr}}).start()
    client = srv.client()
    try:
        yield srv, client
    finally:
        await client.aclose()
        await srv.stop()
        await backend.stop()


def test_bind_free_port_and_errors():
    s = bind("127.0.0.1", 0)
    try:
        port = s.getsockname()[1]
        assert local_text(s) == f"127.0.0.1:{port}"
        with pytest.raises(ForwardError) as e:
            bind("127.0.0.1", port)
        assert e.value.message == f"127.0.0.1:{port} is in use (another program listens there)"
        assert "another local port" in e.value.hint
    finally:
        s.close()
    with pytest.raises(ForwardError, match="not a valid local port"):
        bind("127.0.0.1", 70000)
    with pytest.raises(ForwardError, match="that address is not on this machine"):
        bind("192.0.2.1", 0)             # TEST-NET: never on this machine, nothing is bound
    if os.geteuid() != 0:
        with pytest.raises(ForwardError, match="permission denied"):
            bind("127.0.0.1", 80)


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.3.2.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


async def _pair(srv, client, port: int):
    """A local TCP pair: (our side's reader/writer handed to pump, the 'user' socket)."""
    lsock = socket.create_server(("127.0.0.1", 0))
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    async def on(r, w):
        accepted.set_result((r, w))
    server = await asyncio.start_server(on, sock=lsock)
    user_r, user_w = await asyncio.open_connection(*lsock.getsockname())
    reader, writer = await accepted
    stream = await client.open_stream(PF, [("ports", str(port))], ["v4.channel.k8s.io"])
    return server, stream, reader, writer, user_r, user_w


async def test_pump_relays_both_ways_and_counts(fake):
    srv, client = fake
    server, stream, reader, writer, user_r, user_w = await _pair(srv, client, 8080)
    c = Counters()
    task = asyncio.ensure_future(pump(stream, 8080, reader, writer, c, linger=0.2))
    payload = os.urandom(300_000)
    user_w.write(payload)
    await user_w.drain()
    got = await asyncio.wait_for(user_r.readexactly(len(payload)), 5)
    assert got == payload
    assert c.bytes_out == len(payload) and c.bytes_in == len(payload) and c.ticks >= 2
    user_w.close()                       # local EOF: relayed until quiet for `linger`, then ended
    assert await asyncio.wait_for(task, 3) == ""
    writer.close()
    server.close()


async def test_pump_returns_the_error_channel_text(fake):
    srv, client = fake
    server, stream, reader, writer, user_r, user_w = await _pair(srv, client, 9999)
    err = await asyncio.wait_for(pump(stream, 9999, reader, writer, Counters()), 5)
    assert err == "no forward found for port 9999 in pod echo"
    writer.close()
    user_w.close()
    server.close()


async def test_pump_checks_the_port_header(fake):
    srv, client = fake
    srv.wrong_port_header = True
    server, stream, reader, writer, user_r, user_w = await _pair(srv, client, 8080)
    err = await asyncio.wait_for(pump(stream, 8080, reader, writer, Counters()), 5)
    assert err == "the port-forward stream announced port 8081 on channel 0, not 8080"
    writer.close()
    user_w.close()
    server.close()
