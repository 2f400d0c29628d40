"""ForwardManager on fakes (a WebSocket port-forward server and TCP backends on 127.0.0.1, a fake API with
watches): start/views, concurrent connections, self-healing, pod targets that fail, stop/restart/remove/close."""
from __future__ import annotations

import asyncio
import socket

import pytest
import pytest_asyncio

from ecotui.forward.manager import ForwardManager
from ecotui.forward.model import ForwardSpec, ForwardState, Target
from ecotui.forward.resolve import ForwardError
from forward_fakes import Backend, FakeKube, FakeStreams, http_get


@pytest_asyncio.fixture
async def env():
    streams = await FakeStreams().start()
    backends = {n: await Backend(n).start() for n in ("web-a", "web-b", "web-c")}
    kube = FakeKube(streams)
    kube.add_pod("web-a", backends["web-a"].addr, ready_at="2026-01-01T00:00:01Z")
    kube.add_pod("web-b", backends["web-b"].addr, ready_at="2026-01-01T00:00:05Z")
    mgr = ForwardManager(kube, "ctx", clock=lambda: 1000.0)
    try:
        yield mgr, kube, backends
    finally:
        await mgr.close()
        await kube.client.aclose()
        await streams.stop()
        for b in backends.values():
            await b.stop()


def svc(port: int | str = 80, local_port: int = 0) -> ForwardSpec:
    return ForwardSpec("ctx", Target("service", "ns", "web"), port, local_port)


def port_of(view) -> int:
    return int(view.local.rsplit(":", 1)[1])


async def until(pred, timeout: float = 5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if v := pred():
            return v
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_start_binds_now_and_serves_concurrent_connections(env):
    mgr, kube, backends = env
    v0 = mgr.version
    fid = mgr.start(svc())
    first = mgr.view(fid)
    assert first.state is ForwardState.STARTING and port_of(first) > 0 and first.warning == ""
    assert mgr.version > v0 and mgr.start(svc()) == fid
    view = await mgr.wait_ready(fid)
    assert view.state is ForwardState.ACTIVE and view.pod == "ns/web-a" and view.pod_port == 8080
    got = await asyncio.gather(*[http_get(port_of(view)) for _ in range(30)])
    assert all(g == {"status": "UP", "pod": "web-a"} for g in got)
    await until(lambda: mgr.view(fid).connections == 0)
    v = mgr.view(fid)
    assert v.total_connections == 30 and v.bytes_in > 30 * 50 and v.bytes_out > 30 * 20 and v.error == ""
    assert kube.watch_calls[0]["fieldSelector"] == "metadata.name=web-a"
    assert kube.watch_calls[0]["resourceVersion"] == kube.pods["web-a"]["metadata"]["resourceVersion"]


async def test_sequential_connections_use_spare_streams(env):
    mgr, kube, _ = env
    fid = mgr.start(svc())
    view = await mgr.wait_ready(fid)
    for _ in range(10):
        assert (await http_get(port_of(view)))["pod"] == "web-a"
    spares = mgr._fwds[fid].spares
    assert spares is not None and spares.hits >= 5     # most connections found a stream already open


async def test_pod_deleted_moves_to_another_pod(env):
    mgr, kube, backends = env
    fid = mgr.start(svc())
    view = await mgr.wait_ready(fid)
    assert (await http_get(port_of(view)))["pod"] == "web-a"
    kube.delete_pod("web-a")
    await until(lambda: mgr.view(fid).pod == "ns/web-b" and mgr.view(fid).state is ForwardState.ACTIVE)
    v = mgr.view(fid)
    assert v.reconnects == 1 and v.local == view.local
    assert (await http_get(port_of(view)))["pod"] == "web-b"


async def test_pod_becoming_unready_or_terminating_moves(env):
    mgr, kube, backends = env
    fid = mgr.start(svc())
    await mgr.wait_ready(fid)
    kube.modify_pod("web-a", ready=False)
    await until(lambda: mgr.view(fid).pod == "ns/web-b")
    kube.add_pod("web-c", backends["web-c"].addr, ready_at="2026-01-01T00:00:02Z")
    kube.modify_pod("web-b", deleting=True, ready_at="2026-01-01T00:00:05Z")
    await until(lambda: mgr.view(fid).pod == "ns/web-c")
    assert mgr.view(fid).reconnects == 2


async def test_handshake_not_found_heals_without_a_watch_event(env):
    mgr, kube, _ = env
    fid = mgr.start(svc())
    view = await mgr.wait_ready(fid)
    mgr._fwds[fid].spares.clear()
    kube.delete_pod("web-a", event=False)          # the watch never says so; the 404 on the upgrade does
    assert (await http_get(port_of(view)))["pod"] == "web-b"
    assert mgr.view(fid).pod == "ns/web-b" and mgr.view(fid).reconnects == 1


async def test_connections_wait_while_reconnecting(env):
    mgr, kube, backends = env
    fid = mgr.start(svc())
    view = await mgr.wait_ready(fid)
    kube.delete_pod("web-b")
    kube.delete_pod("web-a")                        # no pod left: RECONNECTING, retrying
    await until(lambda: mgr.view(fid).state is ForwardState.RECONNECTING)
    pending = asyncio.ensure_future(http_get(port_of(view), timeout=8))
    await asyncio.sleep(0.3)
    assert not pending.done()
    kube.add_pod("web-c", backends["web-c"].addr)
    assert (await pending)["pod"] == "web-c"
    assert mgr.view(fid).state is ForwardState.ACTIVE and "no pods found" not in mgr.view(fid).error


async def test_pod_target_fails_when_its_pod_is_deleted(env):
    mgr, kube, _ = env
    fid = mgr.start(ForwardSpec("ctx", Target("pod", "ns", "web-b"), "http"))
    view = await mgr.wait_ready(fid)
    assert view.pod == "ns/web-b"
    kube.modify_pod("web-b", ready=False)           # a pod target stays on its pod
    await asyncio.sleep(0.1)
    assert mgr.view(fid).state is ForwardState.ACTIVE
    kube.delete_pod("web-b")
    await until(lambda: mgr.view(fid).state is ForwardState.FAILED)
    assert mgr.view(fid).error == "pod ns/web-b was deleted"
    with pytest.raises(ForwardError, match="was deleted"):
        await mgr.wait_ready(fid, 1)
    with socket.create_server(("127.0.0.1", port_of(view))):   # FAILED released the port
        pass


async def test_start_errors_are_one_line(env):
    mgr, kube, _ = env
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(ForwardError) as e:
            mgr.start(svc(local_port=port))
        assert e.value.message == f"127.0.0.1:{port} is in use (another program listens there)"
    with pytest.raises(ForwardError, match="not an address here"):
        mgr.start(ForwardSpec("ctx", Target("service", "ns", "web"), 80, 0, "no.such.host.invalid"))
    fid = mgr.start(ForwardSpec("ctx", Target("pod", "ns", "web-a"), 9999))
    with pytest.raises(ForwardError) as e2:
        await mgr.wait_ready(fid)
    assert "no forward found for port 9999 in pod web-a" in e2.value.message
    assert mgr.view(fid).state is ForwardState.FAILED
    fid2 = mgr.start(svc(port=81))
    with pytest.raises(ForwardError, match="service web does not have a service port 81"):
        await mgr.wait_ready(fid2)


async def test_wrong_port_header_fails_the_probe(env):
    mgr, kube, _ = env
    kube.streams.wrong_port_header = True
    fid = mgr.start(svc())
    with pytest.raises(ForwardError, match="unexpected port-forward header"):
        await mgr.wait_ready(fid)


async def test_stop_restart_remove_close(env):
    mgr, kube, _ = env
    fid = mgr.start(svc())
    view = await mgr.wait_ready(fid)
    port = port_of(view)
    mgr.stop(fid)
    assert mgr.view(fid).state is ForwardState.STOPPED
    with socket.create_server(("127.0.0.1", port)):   # released at once
        pass
    with pytest.raises(ForwardError, match="stopped"):
        await mgr.wait_ready(fid, 1)
    mgr.restart(fid)
    again = await mgr.wait_ready(fid)
    assert port_of(again) == port and (await http_get(port))["pod"] == "web-a"
    mgr.stop(fid)
    assert mgr.start(svc()) == fid                    # the same spec again: the same forward, restarted
    await mgr.wait_ready(fid)
    other = mgr.start(ForwardSpec("ctx", Target("pod", "ns", "web-b"), 8080))
    await mgr.wait_ready(other)
    assert [v.id for v in mgr.views()] == [fid, other]
    mgr.remove(fid)
    assert [v.id for v in mgr.views()] == [other] and mgr.view(fid) is None
    await mgr.close()
    assert mgr.view(other).state is ForwardState.STOPPED
    with pytest.raises(OSError):
        await http_get(port_of(mgr.view(other)), timeout=1)
