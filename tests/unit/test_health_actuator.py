"""ecotui.health.actuator: Spring's health JSON (3.x components, 2.0 details, 1.x top level, composites), DOWN
with 503 is a result, everything else one ERROR line (refused, timeout, non-JSON, 404 text, huge bodies)."""
from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from ecotui.health.actuator import DOWN, ERROR, UP, UNKNOWN, fetch_health, parse_health, severity

SPRING_UP = {"status": "UP", "components": {
    "db": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}},
    "diskSpace": {"status": "UP", "details": {"total": 1, "free": 1, "threshold": 1, "exists": True}},
    "ping": {"status": "UP"}, "redis": {"status": "UP", "details": {"version": "7.2.4"}}}}
SPRING_DOWN = {"status": "DOWN", "components": {
    "db": {"status": "DOWN", "details": {"database": "PostgreSQL", "error": "Connection refused: postgres:5432"}},
    "ping": {"status": "UP"}}}


def client(handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def run(coro):
    return asyncio.run(coro)


def test_parse_spring3_components_in_order_with_details():
    status, comps = parse_health(SPRING_UP)
    assert status == UP
    assert [c.name for c in comps] == ["db", "diskSpace", "ping", "redis"]
    assert all(c.status == UP for c in comps)
    assert "database=PostgreSQL" in comps[0].detail


def test_parse_down_puts_the_error_first():
    status, comps = parse_health(SPRING_DOWN)
    assert status == DOWN
    db = comps[0]
    assert db.status == DOWN and db.detail.startswith("Connection refused: postgres:5432")


def test_parse_spring2_details_and_spring1_top_level_and_composites():
    s2 = parse_health({"status": "UP", "details": {"db": {"status": "UP"}}})
    assert s2 == ("UP", s2[1]) and [c.name for c in s2[1]] == ["db"]
    s1 = parse_health({"status": "DOWN", "db": {"status": "DOWN"}, "diskSpace": {"status": "UP", "free": 3}})
    assert s1 is not None and {c.name: c.status for c in s1[1]} == {"db": "DOWN", "diskSpace": "UP"}
    comp = parse_health({"status": "DOWN", "components": {"db": {"status": "DOWN", "components": {
        "primary": {"status": "UP"}, "replica": {"status": "DOWN"}}}}})
    assert comp is not None and comp[1][0].detail == "replica DOWN"
    nested = parse_health({"status": {"code": "up"}})
    assert nested == (UP, ())


def test_parse_refuses_what_is_not_health():
    assert parse_health([1, 2]) is None
    assert parse_health({"hello": "world"}) is None
    assert parse_health({"status": 3}) is None
    assert "\x1b" not in parse_health({"status": "weird\x1b[31m"})[0]


def test_component_without_status_is_unknown_and_hostile_names_inert():
    _s, comps = parse_health({"status": "UP", "components": {"x\x1b[2J": {"details": {"a": 1}}}})
    assert comps[0].status == UNKNOWN and "\x1b" not in comps[0].name


def test_severity():
    assert severity("UP") == "ok" and severity("DOWN") == "critical"
    assert severity("UNKNOWN") == severity("ERROR") == severity("OUT_OF_SERVICE") == "warning"


def test_fetch_up_and_latency():
    async def go():
        async with client(lambda r: httpx.Response(200, json=SPRING_UP)) as c:
            return await fetch_health(c, "http://127.0.0.1:1/actuator/health")
    res = run(go())
    assert res.status == UP and res.http_status == 200 and res.error == ""
    assert res.latency_ms is not None and res.latency_ms >= 0
    assert len(res.components) == 4


def test_fetch_503_with_down_body_is_down_not_error():
    async def go():
        async with client(lambda r: httpx.Response(503, json=SPRING_DOWN)) as c:
            return await fetch_health(c, "http://127.0.0.1:1/actuator/health")
    res = run(go())
    assert res.status == DOWN and res.http_status == 503 and res.error == ""


@pytest.mark.parametrize("resp,expect", [
    (httpx.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"}), "HTTP 200 but not JSON"),
    (httpx.Response(404, text="Not Found"), "HTTP 404: Not Found"),
    (httpx.Response(200, json={"ok": True}), "JSON without a status"),
    (httpx.Response(500, text="boom\x1b[31m\nline2"), "HTTP 500: boom"),
])
def test_fetch_errors_are_one_line(resp, expect):
    async def go():
        async with client(lambda r: resp) as c:
            return await fetch_health(c, "http://127.0.0.1:1/actuator/health")
    res = run(go())
    assert res.status == ERROR and expect in res.error
    assert "\n" not in res.error and "\x1b" not in res.error


def test_fetch_refused_on_a_real_closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def go():
        async with httpx.AsyncClient(trust_env=False) as c:
            return await fetch_health(c, f"http://127.0.0.1:{port}/actuator/health", timeout=2)
    res = run(go())
    assert res.status == ERROR and res.error == f"connection refused (http://127.0.0.1:{port}/actuator/health)"


def test_fetch_timeout_on_a_silent_server():
    async def go():
        started = asyncio.Event()

        async def silent(reader, writer):
            started.set()
            await asyncio.sleep(3)
            writer.close()
        srv = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(trust_env=False) as c:
                return await fetch_health(c, f"http://127.0.0.1:{port}/actuator/health", timeout=0.5)
        finally:
            srv.close()
    res = run(go())
    assert res.status == ERROR and res.error.startswith("timed out after 0.5s")


def test_fetch_huge_body_is_refused():
    big = b"x" * ((1 << 20) + 10)

    async def go():
        async with client(lambda r: httpx.Response(200, content=big)) as c:
            return await fetch_health(c, "http://127.0.0.1:1/actuator/health")
    res = run(go())
    assert res.status == ERROR and "larger than 1 MB" in res.error


def test_fetch_sends_the_actuator_accept_header():
    seen = []

    def handler(r):
        seen.append(r.headers["accept"])
        return httpx.Response(200, content=json.dumps({"status": "UP"}).encode())

    async def go():
        async with client(handler) as c:
            return await fetch_health(c, "http://127.0.0.1:1/x")
    assert run(go()).status == UP
    assert "application/vnd.spring-boot.actuator.v3+json" in seen[0]
