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


# ---- credentials from the context's settings (prom_config) ----------------------------------------------------

def _auth_sent(cfg: PromConfig) -> str | None:
    seen: dict[str, str | None] = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen["auth"] = req.headers.get("authorization")
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    async def go():
        async with PromClient(cfg, transport=httpx.MockTransport(handler)) as c:
            await c.query("up")
    run(go())
    return seen["auth"]


def test_bearer_token_from_a_file(tmp_path):
    from ecotui.metrics.prom import prom_config
    from ecotui.workspace import PromSettings
    (tmp_path / "token").write_text("s3cr3t-token\n")
    cfg = prom_config(PromSettings("http://127.0.0.1:9", token_file=str(tmp_path / "token"), user="ignored",
                                   password_file=None))
    assert cfg is not None and cfg.token == "s3cr3t-token"          # stripped of its newline
    assert _auth_sent(cfg) == "Bearer s3cr3t-token"                  # bearer wins over a user


def test_basic_auth_from_user_and_password_file(tmp_path):
    import base64

    from ecotui.metrics.prom import prom_config
    from ecotui.workspace import PromSettings
    (tmp_path / "pw").write_text("pa:ss\n")
    cfg = prom_config(PromSettings("http://127.0.0.1:9", user="grafana", password_file=str(tmp_path / "pw"),
                                   headers=(("X-Scope-OrgID", "t1"),)))
    assert cfg is not None and cfg.headers == (("X-Scope-OrgID", "t1"),)
    assert _auth_sent(cfg) == "Basic " + base64.b64encode(b"grafana:pa:ss").decode()
    assert prom_config(PromSettings(None, token_file="/nonexistent")) is None       # no URL: no client


@pytest.mark.parametrize("field", ["token_file", "password_file"])
def test_an_unreadable_secret_file_is_a_config_error(tmp_path, field):
    from ecotui.metrics.prom import prom_config
    from ecotui.workspace import PromSettings
    missing = str(tmp_path / "nope")
    with pytest.raises(PromError) as ei:
        prom_config(PromSettings("http://127.0.0.1:9", user="u", **{field: missing}))
    assert ei.value.kind == "config" and missing in ei.value.message
    assert "\n" not in ei.value.message


def test_a_big_response_is_decoded_off_the_event_loop(monkeypatch):
    import threading

    from ecotui.metrics import prom
    threads: list[int] = []
    real = prom.decode_body

    def spy(*a):
        threads.append(threading.get_ident())
        return real(*a)
    monkeypatch.setattr(prom, "decode_body", spy)
    big = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"namespace": "ns", "pod": f"pod-{i:05d}", "container": "app"}, "value": [1700000000, "0.1"]}
        for i in range(4000)]}}
    small = {"status": "success", "data": {"resultType": "vector", "result": []}}

    async def go():
        loop_thread = threading.get_ident()
        answers = iter([big, small])

        def handler(req: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=next(answers))
        async with PromClient(PromConfig("http://127.0.0.1:9"), transport=httpx.MockTransport(handler)) as c:
            r1 = await c.query("big")
            r2 = await c.query("small")
        return loop_thread, r1, r2

    loop_thread, r1, r2 = run(go())
    assert len(r1.samples) == 4000 and r2.samples == ()
    assert len(json.dumps(big)) > prom.BIG_BODY
    assert threads[0] != loop_thread and threads[1] == loop_thread


def test_the_workspace_remembers_an_unreadable_secret_for_a_while(tmp_path, monkeypatch):
    """The cockpit asks `workspace.prometheus` every second: a bad token file is not read again each time."""
    from ecotui import workspace as wsmod
    from ecotui.kube.writegate import WriteGate
    from ecotui.ops.api import NoAPI
    reads: list[str] = []
    real = wsmod.prom_config

    def counting(settings):
        reads.append(settings.token_file)
        return real(settings)
    monkeypatch.setattr(wsmod, "prom_config", counting)
    token = tmp_path / "token"
    profile = wsmod.Profile("ctx", prometheus=wsmod.PromSettings("http://127.0.0.1:9", token_file=str(token)))
    ws = wsmod.Workspace(profile, object(), WriteGate("ctx", False), NoAPI("ctx"))  # type: ignore[arg-type]
    now = [100.0]
    ws._clock = lambda: now[0]
    for _ in range(5):
        with pytest.raises(PromError) as ei:
            ws.prometheus
        assert ei.value.kind == "config"
    assert len(reads) == 1
    token.write_text("tok\n")
    now[0] += wsmod.PROM_RETRY_S + 0.1                  # later: read again, and now it works
    client = ws.prometheus
    assert client is not None and client.config.token == "tok" and len(reads) == 2
    assert ws.prometheus is client and len(reads) == 2
