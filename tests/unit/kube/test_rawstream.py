"""Log streams over ecotui's bare HTTP/1.1 reader (ecotui/kube/rawstream.py), against a real socket server on
127.0.0.1: chunk framing split anywhere, the KubeClient's error mapping
(403 → ForbiddenError, 401 → credentials reloaded once, a connection lost mid-body → ConnectError), and the
bodies without chunking. The TLS side is the testbed's API server (tests/e2e/test_kube_logs_e2e.py)."""
from __future__ import annotations

import asyncio
import json
import random

import pytest

from ecotui.errors import ConnectError, ForbiddenError
from ecotui.kube import rawstream
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo

PATH = "/api/v1/namespaces/n/pods/p/log"


class Server:
    """Answers every connection with `script(request_head, writer)`; records the request heads."""

    def __init__(self, script) -> None:
        self.script = script
        self.heads: list[str] = []
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                self.heads.append(head)
                await self.script(head, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def client(url: str, token: str = "t") -> KubeClient:
    cluster = ClusterInfo(name="local", server=url)
    c = KubeClient(cluster, Authenticator(UserInfo(name="u", token=token), cluster))
    assert c._raw_logs()  # no transport, no proxy: the raw reader serves log streams
    return c


def chunked(payload: bytes, sizes: list[int]) -> bytes:
    out, i = [], 0
    for n in sizes:
        if i >= len(payload):
            break
        part = payload[i:i + n]
        out.append(b"%x;ext=1\r\n" % len(part) + part + b"\r\n")
        i += n
    if i < len(payload):
        out.append(b"%x\r\n" % (len(payload) - i) + payload[i:] + b"\r\n")
    return b"".join(out) + b"0\r\n\r\n"


async def lines_of(url: str, **kw) -> list[bytes]:
    c = client(url)
    try:
        return [ln async for b in c.stream_line_batches(PATH, params={"follow": "true", "timestamps": "true"}, **kw)
                for ln in b]
    finally:
        await c.aclose()


@pytest.mark.parametrize("seed", range(6))
async def test_chunk_framing_split_anywhere_gives_the_exact_lines(seed):
    rnd = random.Random(seed)
    payload = b"".join(b"line %d %s\n" % (i, b"x" * rnd.randrange(0, 300)) for i in range(400))
    wire = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked(payload, [rnd.choice([1, 7, 100, 4000]) for _ in range(5000)]))

    async def script(head, writer):
        i = 0
        for _ in range(100_000):  # bounded: writes the wire in random pieces
            if i >= len(wire):
                break
            n = rnd.choice([1, 2, 5, 64, 1000, 9000])
            writer.write(wire[i:i + n])
            i += n
            if rnd.random() < 0.05:
                await writer.drain()
                await asyncio.sleep(0)
        await writer.drain()

    srv = Server(script)
    async with srv as url:
        got = await lines_of(url)
    assert got == payload.split(b"\n")[:-1]
    head = srv.heads[0]
    assert head.startswith(f"GET {PATH}?follow=true&timestamps=true HTTP/1.1\r\n")
    assert "Authorization: Bearer t\r\n" in head and "Host: 127.0.0.1:" in head


async def test_forbidden_maps_to_forbidden_error_with_the_api_message():
    async def script(head, writer):
        body = json.dumps({"kind": "Status", "message": 'pods "p" is forbidden: cannot get pods/log',
                           "reason": "Forbidden", "code": 403}).encode()
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
        await writer.drain()

    async with Server(script) as url:
        with pytest.raises(ForbiddenError, match="cannot get pods/log"):
            await lines_of(url)


async def test_401_reloads_the_credentials_once(monkeypatch):
    async def script(head, writer):
        if "Bearer fresh" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
        else:
            writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    srv = Server(script)
    async with srv as url:
        c = client(url, token="stale")
        reloads = []

        async def reload(creds):
            reloads.append(creds)
            return type(creds)(authorization="Bearer fresh")
        monkeypatch.setattr(c.auth, "reload", reload)
        monkeypatch.setattr(type(c.auth), "refreshable", property(lambda self: True))
        try:
            got = [ln async for b in c.stream_line_batches(PATH, follow=False) for ln in b]
        finally:
            await c.aclose()
    assert got == [b"hello"] and len(reloads) == 1 and len(srv.heads) == 2


async def test_connection_lost_mid_body_is_a_connect_error():
    async def script(head, writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n40\r\nhalf a ch")
        await writer.drain()

    async with Server(script) as url:
        c = client(url)
        got: list[bytes] = []
        try:
            with pytest.raises(ConnectError, match="lost"):
                async for b in c.stream_line_batches(PATH):
                    got.extend(b)
        finally:
            await c.aclose()
    assert got == [b"first"]


@pytest.mark.parametrize("framing", ["length", "eof"])
async def test_bodies_without_chunking(framing):
    payload = b"a\nb\nlast"

    async def script(head, writer):
        hdr = b"Content-Length: %d\r\n" % len(payload) if framing == "length" else b""
        writer.write(b"HTTP/1.1 200 OK\r\n" + hdr + b"\r\n" + payload + (b"ignored" if framing == "length" else b""))
        await writer.drain()

    async with Server(script) as url:
        assert await lines_of(url) == [b"a", b"b", b"last"]


async def test_not_http_is_a_clear_error():
    async def script(head, writer):
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()

    async with Server(script) as url:
        with pytest.raises(ConnectError, match="not an HTTP/1.1 answer"):
            await lines_of(url)


def test_proxy_from_the_environment_sends_the_stream_through_httpx(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert rawstream.proxy_applies("https://eks.example.com")
    monkeypatch.setenv("NO_PROXY", ".example.com")
    assert not rawstream.proxy_applies("https://eks.example.com")
    cluster = ClusterInfo(name="c", server="https://k8s.example.org", proxy_url="http://p:1")
    assert not KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster))._raw_logs()
