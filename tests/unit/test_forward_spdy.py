"""The SPDY tunnel (kubectl's transport, ecotui.forward.spdy + wsraw) against a hand-made fake on 127.0.0.1:
framing and header compression, frames cut anywhere, half-close, error text, pings, session loss, and the
manager choosing it (or the v4 fallback)."""
from __future__ import annotations

import asyncio
import hashlib

import pytest
import pytest_asyncio

from ecotui.forward.manager import ForwardManager
from ecotui.forward.model import ForwardSpec, ForwardState, Target
from ecotui.forward.resolve import ForwardError
from ecotui.forward.spdy import DICTIONARY, TUNNEL_PROTOCOL, SpdyTunnel
from ecotui.forward.tunnel import Counters
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from forward_fakes import Backend, FakeKube, FakeStreams, http_get
from spdy_fake import FakeSpdy, random_bytes, sink_then_answer

PF = "/api/v1/namespaces/ns/pods/web-a/portforward"


def test_dictionary_is_spdy3s():
    assert len(DICTIONARY) == 1423
    assert hashlib.sha256(DICTIONARY).hexdigest() == "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"


@pytest_asyncio.fixture
async def spdy():
    echo = await Backend("echo", mode="echo").start()
    half = await asyncio.start_server(sink_then_answer, "127.0.0.1", 0)
    fake = await FakeSpdy(backends={8080: echo.addr, 7000: half.sockets[0].getsockname()[:2]}).start()
    cluster = ClusterInfo(name="spdy", server=fake.url)
    client = KubeClient(cluster, Authenticator(UserInfo(name="u", token="good"), cluster))
    try:
        yield fake, client
    finally:
        await client.aclose()
        await fake.stop()
        await echo.stop()
        half.close()


async def tunnel(client) -> SpdyTunnel:
    stream = await client.open_stream(PF, [], [TUNNEL_PROTOCOL])
    assert stream.protocol == TUNNEL_PROTOCOL
    return SpdyTunnel(stream, "web-a")


async def through(t: SpdyTunnel, port: int, payload: bytes, counters: Counters, *, half_close: bool = False):
    """A local connection relayed by t.forward; returns (what the local client read, forward's result)."""
    got: asyncio.Future = asyncio.get_running_loop().create_future()

    async def on(r, w):
        res = await t.forward(port, r, w, counters)
        w.close()
        got.set_result(res)
    srv = await asyncio.start_server(on, "127.0.0.1", 0)
    r, w = await asyncio.open_connection(*srv.sockets[0].getsockname()[:2])
    w.write(payload)
    if half_close:
        w.write_eof()
        data = await asyncio.wait_for(r.read(), 5)
    else:
        data = await asyncio.wait_for(r.readexactly(len(payload)), 5)
        w.close()
    result = await asyncio.wait_for(got, 5)
    srv.close()
    return data, result


@pytest.mark.parametrize("chunk", [0, 1, 7, 9000])
async def test_relay_with_frames_cut_anywhere(spdy, chunk):
    fake, client = spdy
    fake.chunk = chunk
    t = await tunnel(client)
    c = Counters()
    payload = random_bytes(3000 if chunk == 1 else 400_000)
    data, result = await through(t, 8080, payload, c)
    assert data == payload and result == ""
    assert c.bytes_in == len(payload) == c.bytes_out
    h = fake.syn_headers
    assert [x["streamtype"] for x in h] == ["error", "data"] and h[0]["port"] == "8080"
    assert h[0]["requestid"] == h[1]["requestid"]
    await asyncio.sleep(0.05)
    assert sorted(fake.resets) == [1, 3]          # both streams reset at the end, like kubectl
    data2, _ = await through(t, 8080, b"again", Counters())   # a second pair on the same session
    assert data2 == b"again" and fake.sessions == 1 and fake.syn_headers[2]["requestid"] == "1"
    await t.close()


async def test_half_close_reaches_the_pod(spdy):
    fake, client = spdy
    t = await tunnel(client)
    payload = random_bytes(100_000)
    data, result = await through(t, 7000, payload, Counters(), half_close=True)
    assert data.decode() == hashlib.sha256(payload).hexdigest() and result == ""
    await t.close()


async def test_error_text_ping_and_session_loss(spdy):
    fake, client = spdy
    fake.ping_first = True
    t = await tunnel(client)
    why = await t.probe(9999, 2)
    assert why == "error forwarding port 9999 to pod web-a, uid : no forward found for port 9999"
    assert await t.probe(8080, 0.1) == ""
    assert fake.pongs == [(8).to_bytes(4, "big")]   # the server's ping answered
    _, result = await through(t, 9999, b"x", Counters(), half_close=True)
    assert "no forward found for port 9999" in result
    await fake.goaway_all()
    await asyncio.sleep(0.1)
    assert t.closed
    await t.close()


@pytest_asyncio.fixture
async def env():
    streams = await FakeStreams().start()
    spdy_srv = await FakeSpdy().start()
    backends = {n: await Backend(n).start() for n in ("web-a", "web-b")}
    kube = FakeKube(streams)
    kube.add_pod("web-a", backends["web-a"].addr, ready_at="2026-01-01T00:00:01Z")
    kube.add_pod("web-b", backends["web-b"].addr, ready_at="2026-01-01T00:00:05Z")
    kube.offer_spdy(spdy_srv)
    mgr = ForwardManager(kube, "ctx")
    try:
        yield mgr, kube, spdy_srv
    finally:
        await mgr.close()
        await kube.client.aclose()
        await kube.spdy_client.aclose()
        await spdy_srv.stop()
        await streams.stop()
        for b in backends.values():
            await b.stop()


async def test_manager_uses_one_spdy_session_and_heals(env):
    mgr, kube, spdy_srv = env
    fid = mgr.start(ForwardSpec("ctx", Target("service", "ns", "web"), 80))
    view = await mgr.wait_ready(fid)
    assert mgr.transport(fid) == "spdy"
    port = int(view.local.rsplit(":", 1)[1])
    got = await asyncio.gather(*[http_get(port) for _ in range(20)])
    assert all(g["pod"] == "web-a" for g in got) and spdy_srv.sessions == 1   # 20 connections, one session
    kube.delete_pod("web-a")
    await asyncio.wait_for(_until(lambda: mgr.view(fid).pod == "ns/web-b"), 5)
    assert (await http_get(port))["pod"] == "web-b" and mgr.view(fid).reconnects == 1
    await spdy_srv.goaway_all()                   # the session ends: the next connection opens another
    await asyncio.sleep(0.1)
    assert (await http_get(port))["pod"] == "web-b"
    assert spdy_srv.sessions == 3 and mgr.view(fid).state is ForwardState.ACTIVE


async def test_manager_spdy_port_error_and_v4_fallback(env):
    mgr, kube, spdy_srv = env
    fid = mgr.start(ForwardSpec("ctx", Target("pod", "ns", "web-a"), 9999))
    with pytest.raises(ForwardError, match="no forward found for port 9999"):
        await mgr.wait_ready(fid)
    spdy_srv.offer = False                        # an API server without the tunnel: a WebSocket per connection
    other = mgr.start(ForwardSpec("ctx", Target("pod", "ns", "web-b"), 8080))
    view = await mgr.wait_ready(other)
    assert mgr.transport(other) == "v4"
    assert (await http_get(int(view.local.rsplit(":", 1)[1])))["pod"] == "web-b"


async def _until(pred):
    while not pred():
        await asyncio.sleep(0.02)


async def test_keepalive_pings_on_an_idle_session(spdy, monkeypatch):
    import ecotui.forward.spdy as spdy_mod
    monkeypatch.setattr(spdy_mod, "PING_EVERY", 0.05)
    fake, client = spdy
    t = await tunnel(client)
    await asyncio.sleep(0.3)
    assert len(fake.pongs) >= 2 and all(int.from_bytes(p, "big") % 2 == 1 for p in fake.pongs)  # client ids: odd
    await t.close()
