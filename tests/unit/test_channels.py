"""Channel streams (ecotui.kube.channels) against a small WebSocket server on 127.0.0.1: framing, negotiated
protocol, credentials, handshake errors as one line, the write gate, the end of a stream."""
from __future__ import annotations

import asyncio
import socket

import pytest
import pytest_asyncio

from ecotui.errors import AuthError, ConnectError, ForbiddenError, ReadOnlyError
from ecotui.kube.auth import Authenticator
from ecotui.kube.channels import StreamClosed, open_stream, ws_url
from ecotui.kube.client import HttpStatusError, KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from ecotui.kube.writegate import WriteGate
from forward_fakes import Backend, FakeStreams

PF = "/api/v1/namespaces/ns/pods/web-1/portforward"


@pytest_asyncio.fixture
async def fake():
    backend = await Backend("web-1", mode="echo").start()
    srv = await FakeStreams(pods={"ns/web-1": {8080: backend.addr}}).start()
    try:
        yield srv
    finally:
        await srv.stop()
        await backend.stop()


async def test_echo_roundtrip_protocol_and_credentials(fake):
    fake.protocols = ("v5.channel.k8s.io", "v4.channel.k8s.io")
    client = fake.client()
    async with await client.open_stream("/echo", [("a", "1")], ["v5.channel.k8s.io", "v4.channel.k8s.io"]) as s:
        assert s.protocol == "v5.channel.k8s.io"
        await s.send(0, b"hello")
        assert await s.recv() == (0, b"hello")
        await s.send(3, memoryview(b"xyz"))
        assert await s.recv() == (3, b"xyz")
        await s.close_channel(0)
        assert await s.recv() == (255, b"\x00")
    assert fake.auth_seen == ["Bearer good"]
    assert fake.paths == ["/echo?a=1"]
    await client.aclose()


async def test_v4_negotiated_and_close_channel_refused(fake):
    client = fake.client()
    s = await open_stream(client, "/echo", [], ["v5.channel.k8s.io", "v4.channel.k8s.io"])
    assert s.protocol == "v4.channel.k8s.io"
    with pytest.raises(ValueError, match="v5"):
        await s.close_channel(0)
    await s.close()
    assert s.closed
    with pytest.raises(StreamClosed):
        await s.send(0, b"x")


async def test_portforward_frames_and_end_of_stream(fake):
    client = fake.client()
    s = await open_stream(client, PF, [("ports", "8080")], ["v4.channel.k8s.io"])
    assert await s.recv() == (0, (8080).to_bytes(2, "little"))
    assert await s.recv() == (1, (8080).to_bytes(2, "little"))
    await s.send(0, b"ping")
    assert await s.recv() == (0, b"ping")
    await s.close()
    s2 = await open_stream(client, PF.replace("web-1", "web-1"), [("ports", "9999")], ["v4.channel.k8s.io"])
    frames = [await s2.recv() for _ in range(3)]
    assert frames[2] == (1, b"no forward found for port 9999 in pod web-1")
    with pytest.raises(StreamClosed) as ei:
        await s2.recv()
    assert ei.value.clean
    await client.aclose()


async def test_handshake_errors_are_one_line(fake):
    fake.forbidden.add("ns/secret")
    fake.pods["ns/secret"] = {}
    client = fake.client()
    with pytest.raises(ForbiddenError) as fe:
        await open_stream(client, "/api/v1/namespaces/ns/pods/secret/portforward", [("ports", "1")],
                          ["v4.channel.k8s.io"])
    assert "forbidden" in fe.value.message and "pods/portforward" in fe.value.message
    assert "\n" not in fe.value.message
    with pytest.raises(HttpStatusError) as nf:
        await open_stream(client, "/api/v1/namespaces/ns/pods/gone/portforward", [("ports", "1")],
                          ["v4.channel.k8s.io"])
    assert nf.value.status == 404 and 'pods "gone" not found' in nf.value.message
    bad = fake.client(token="wrong")
    with pytest.raises(AuthError) as ae:
        await open_stream(bad, PF, [("ports", "8080")], ["v4.channel.k8s.io"])
    assert "401" in ae.value.message and "\n" not in ae.value.message
    await client.aclose()
    await bad.aclose()


async def test_401_reloads_a_token_file_once(fake, tmp_path):
    tf = tmp_path / "token"
    tf.write_text("stale")
    cluster = ClusterInfo(name="fake", server=fake.url)
    client = KubeClient(cluster, Authenticator(UserInfo(name="u", token_file=str(tf)), cluster))
    await client.auth.credentials()  # cached: "stale"
    tf.write_text("good")
    s = await open_stream(client, PF, [("ports", "8080")], ["v4.channel.k8s.io"])
    await s.close()
    assert fake.auth_seen == ["Bearer stale", "Bearer good"]
    await client.aclose()


async def test_refused_and_timeout_name_the_server(fake):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cluster = ClusterInfo(name="x", server=f"http://127.0.0.1:{port}")
    client = KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster))
    with pytest.raises(ConnectError) as ce:
        await open_stream(client, PF, [("ports", "8080")], ["v4.channel.k8s.io"])
    assert f"127.0.0.1:{port}" in ce.value.message and "refused" in ce.value.message
    fake.handshake_delay = 1.0
    slow = fake.client()
    with pytest.raises(ConnectError) as te:
        await open_stream(slow, PF, [("ports", "8080")], ["v4.channel.k8s.io"], open_timeout=0.2)
    assert "in time" in te.value.message and fake.url.split("//")[1] in te.value.message
    await asyncio.sleep(0)
    await client.aclose()
    await slow.aclose()


async def test_gate_refuses_exec_but_not_portforward_in_readonly(fake):
    cluster = ClusterInfo(name="fake", server=fake.url)
    client = KubeClient(cluster, Authenticator(UserInfo(name="u", token="good"), cluster),
                        gate=WriteGate("ctx", readonly=True))
    with pytest.raises(ReadOnlyError):
        await open_stream(client, "/api/v1/namespaces/ns/pods/web-1/exec", [("command", "sh")],
                          ["v5.channel.k8s.io"])
    assert fake.accepted == 0 and fake.paths == []  # nothing sent
    s = await open_stream(client, PF, [("ports", "8080")], ["v4.channel.k8s.io"])
    await s.close()
    await client.aclose()


def test_ws_url_keeps_prefix_and_scheme():
    assert ws_url("https://h:6443/prefix/", "/api/v1/x", [("ports", "80"), ("ports", "81")]) == \
        "wss://h:6443/prefix/api/v1/x?ports=80&ports=81"
    assert ws_url("http://127.0.0.1:1", "/a", []) == "ws://127.0.0.1:1/a"
