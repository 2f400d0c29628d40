"""PromClient against a mock transport: envelopes, values as strings (NaN/Inf), and every failure kind."""
from __future__ import annotations

import asyncio
import json
import math

import httpx
import pytest

from ecotui.metrics.prom import PromClient, PromConfig, PromError


def _client(handler) -> PromClient:
    return PromClient(PromConfig("http://127.0.0.1:9", token="tok", headers=(("X-Scope-OrgID", "t1"),)),
                      transport=httpx.MockTransport(handler))


def run(coro):
    return asyncio.run(coro)


def test_vector_values_and_request_shape():
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen["method"], seen["path"] = req.method, req.url.path
        seen["auth"], seen["org"] = req.headers.get("authorization"), req.headers.get("x-scope-orgid")
        seen["form"] = dict(x.split("=", 1) for x in req.content.decode().split("&"))
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"app": "a"}, "value": [1700000000.5, "0.25"]},
            {"metric": {"app": "b"}, "value": [1700000000.5, "NaN"]},
            {"metric": {"app": "c"}, "value": [1700000000.5, "+Inf"]}]}})

    async def go():
        async with _client(handler) as c:
            return await c.query("up", timeout=3)

    res = run(go())
    assert seen["method"] == "POST" and seen["path"] == "/api/v1/query"
    assert seen["auth"] == "Bearer tok" and seen["org"] == "t1"
    assert seen["form"]["timeout"] == "3s"
    assert [s.labels["app"] for s in res.samples] == ["a", "b", "c"]
    assert res.samples[0].value == 0.25 and math.isnan(res.samples[1].value) and res.samples[2].value == math.inf


def test_matrix():
    def handler(req):
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1, "1"], [2, "2"]]}]}})

    async def go():
        async with _client(handler) as c:
            return await c.query_range("up", 0, 60, 15)

    res = run(go())
    assert res.series[0].points == ((1.0, 1.0), (2.0, 2.0))


@pytest.mark.parametrize("status,body,kind,text", [
    (400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 5: unexpected"}, "query",
     "parse error at char 5"),
    (422, {"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"}, "query",
     "many-to-many"),
    (503, {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"},
     "timeout", "timed out"),
    (401, None, "auth", "401"),
    (502, None, "http", "502"),
    (200, None, "malformed", "malformed"),
])
def test_errors(status, body, kind, text):
    def handler(req):
        return httpx.Response(status, content=json.dumps(body).encode() if body else b"<html>bad gateway</html>")

    async def go():
        async with _client(handler) as c:
            await c.query("x")

    with pytest.raises(PromError) as ei:
        run(go())
    assert ei.value.kind == kind and text in ei.value.message


def test_unreachable_and_timeout():
    def refuse(req):
        raise httpx.ConnectError("connection refused")

    def slow(req):
        raise httpx.ReadTimeout("timed out")

    async def go(h):
        async with _client(h) as c:
            await c.query("x")

    with pytest.raises(PromError) as ei:
        run(go(refuse))
    assert ei.value.kind == "unreachable" and "127.0.0.1:9" in ei.value.message
    with pytest.raises(PromError) as ei:
        run(go(slow))
    assert ei.value.kind == "timeout"


def test_malformed_result():
    def handler(req):
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": "nope"}]}})

    async def go():
        async with _client(handler) as c:
            await c.query("x")

    with pytest.raises(PromError) as ei:
        run(go())
    assert ei.value.kind == "malformed"
