"""The wire level of Kubernetes logs: the timestamps=true prefix and KubeClient.stream_lines (chunking, cut lines,
invalid UTF-8 stays bytes, errors mapped)."""
from __future__ import annotations

import httpx
import pytest

from ecotui.errors import ForbiddenError
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import CUT_MARKER, KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from ecotui.kube.writegate import WriteGate
from ecotui.logs.kube_stream import parse_ts, rfc3339_seconds
from ecotui.logs.model import NS

T0 = 1_800_000_000  # 2027-01-15T08:00:00Z


def client_for(handler, *, readonly: bool = False) -> KubeClient:
    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    gate = WriteGate("mock", readonly=readonly)
    return KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster),
                      transport=httpx.MockTransport(handler), gate=gate)


@pytest.mark.parametrize("wire, ts, rest", [
    (b"2027-01-15T08:00:00.123456789Z hello", T0 * NS + 123456789, b"hello"),
    (b"2027-01-15T08:00:00.5Z x y", T0 * NS + 500_000_000, b"x y"),
    (b"2027-01-15T08:00:00Z ", T0 * NS, b""),
    (b"2027-01-15T10:00:00.000000001+02:00 tz", T0 * NS + 1, b"tz"),
    (b"2027-01-15T03:00:00-05:00 tz", T0 * NS, b"tz"),
    (b"2027-01-15T08:00:00.1234567891Z more digits", T0 * NS + 123456789, b"more digits"),
])
def test_parse_ts(wire, ts, rest):
    assert parse_ts(wire) == (ts, rest)
    assert parse_ts(wire) == (ts, rest)  # again: the second is cached (the kubelet's 9-digit UTC fast path)


@pytest.mark.parametrize("wire", [b"no timestamp here", b"", b"2027-13-45T99:00:00Z bad date",
                                  b"2027-01-15T08:00:00.1X zone", b"2027-01-15T08:00:00Z"])
def test_parse_ts_without_prefix_keeps_the_line(wire):
    assert parse_ts(wire) == (0, wire)


def test_since_time_is_floored_to_the_second():
    assert rfc3339_seconds(T0 * NS + 999_999_999) == "2027-01-15T08:00:00Z"


async def test_stream_lines_splits_chunks_cuts_huge_lines_and_keeps_bytes():
    wire = (b"one\n" + b"\xff\xfebad utf8\n" + b"A" * 250 + b"\n" + b"two\n" + b"B" * 90 + b"\n"
            + b"last without newline")
    seen: list[httpx.Request] = []

    async def body():
        for i in range(0, len(wire), 7):
            yield wire[i:i + 7]

    def handler(request):
        seen.append(request)
        return httpx.Response(200, content=body())

    client = client_for(handler, readonly=True)  # a GET passes a read-only gate
    try:
        got = [ln async for ln in client.stream_lines("/api/v1/namespaces/n/pods/p/log",
                                                      params={"follow": "true"}, max_line=100)]
    finally:
        await client.aclose()
    assert got == [b"one", b"\xff\xfebad utf8", b"A" * 100 + CUT_MARKER, b"two", b"B" * 90,
                   b"last without newline"]
    assert seen[0].url.params["follow"] == "true"
    assert seen[0].extensions["timeout"]["read"] is None  # a quiet container is not a timeout


async def test_stream_lines_maps_http_errors():
    def handler(request):
        return httpx.Response(403, json={"kind": "Status", "message": 'pods "p" is forbidden: cannot get pods/log',
                                         "reason": "Forbidden", "code": 403})

    client = client_for(handler)
    try:
        with pytest.raises(ForbiddenError, match="pods/log"):
            async for _ in client.stream_lines("/api/v1/namespaces/n/pods/p/log"):
                pass
    finally:
        await client.aclose()


@pytest.mark.parametrize("seed", range(8))
async def test_stream_line_batches_any_chunking_gives_the_same_lines(seed):
    import random

    rnd = random.Random(seed)
    parts = [b"x" * rnd.choice([0, 1, 5, 40, 99, 100, 101, 250]) + bytes([65 + i % 26]) for i in range(60)]
    wire = b"\n".join(parts) + (b"\n" if seed % 2 else b"tail" * 30)

    def cut(ln: bytes) -> bytes:
        return ln if len(ln) <= 100 else ln[:100] + CUT_MARKER

    *whole, last = wire.split(b"\n")
    want = [cut(ln) for ln in whole] + ([cut(last)] if last else [])

    async def body():
        i = 0
        for _ in range(10_000):  # bounded
            if i >= len(wire):
                break
            n = rnd.choice([1, 2, 3, 7, 64, 150, 400])
            yield wire[i:i + n]
            i += n

    client = client_for(lambda request: httpx.Response(200, content=body()), readonly=True)
    try:
        batches = [b async for b in client.stream_line_batches("/api/v1/namespaces/n/pods/p/log", max_line=100)]
    finally:
        await client.aclose()
    assert all(batches) and [ln for b in batches for ln in b] == want
