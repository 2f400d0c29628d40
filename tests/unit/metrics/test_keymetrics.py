"""KeyMetrics against a mock Prometheus: values by level, every failure spelled out (never zero), concurrency
bounded, sparklines from range queries at a width-fitting step and refreshed less often."""
from __future__ import annotations

import asyncio
import math
import time
import urllib.parse

import httpx

from ecotui.metrics.keymetrics import KeyMetrics
from ecotui.metrics.levels import Level
from ecotui.metrics.panels import parse_metrics
from ecotui.metrics.prom import PromClient, PromConfig, PromError

T = 1_700_000_000.0


def vector(*values: str) -> dict:
    return {"status": "success", "data": {"resultType": "vector",
                                          "result": [{"metric": {"i": str(i)}, "value": [T, v]} for i, v in enumerate(values)]}}


def client(answer) -> PromClient:
    async def handler(req: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(req.content.decode()))
        return await answer(req.url.path, form)
    return PromClient(PromConfig("http://127.0.0.1:9"), transport=httpx.MockTransport(handler))


def km(answer, **raw) -> KeyMetrics:
    c = client(answer)
    k = KeyMetrics(parse_metrics({"services": ["a-service", "b-service"], **raw}), lambda: c, clock=lambda: T)
    k.columns = 10
    return k


def test_values_levels_and_failures_per_cell():
    async def answer(path, form):
        q = form["query"]
        if path.endswith("query_range"):
            step = float(form["step"])
            assert abs(step - 1800 / 10) < 1e-6      # 30 min over 10 columns
            start = float(form["start"])
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": [[start + 60 * i, str(i / 100)] for i in range(30)]}]}})
        if 'app="a-service"' in q and "5.." in q:
            return httpx.Response(200, json=vector("0.2"))             # critical
        if 'app="b-service"' in q and "5.." in q:
            return httpx.Response(200, json=vector())                  # no data
        if "histogram_quantile" in q:
            return httpx.Response(200, json=vector("NaN"))             # no traffic
        if "jvm" in q and 'a-service' in q:
            return httpx.Response(422, json={"status": "error", "errorType": "execution", "error": "many-to-many matching"})
        if "hikaricp" in q:
            return httpx.Response(200, json=vector("0.5", "0.97"))     # several series: the worst
        return httpx.Response(200, json=vector("0.5"))

    k = km(answer)
    snap = asyncio.run(k.refresh())
    a, b = "a-service", "b-service"
    assert snap.reading(a, "err").level is Level.CRIT and snap.reading(a, "err").text == "20.0 %"
    assert snap.reading(b, "err").level is Level.NODATA and snap.reading(b, "err").text == "no data"
    assert snap.reading(a, "p95").level is Level.NODATA and snap.reading(a, "p95").value is None
    heap = snap.reading(a, "heap")
    assert heap.level is Level.ERROR and heap.text == "error" and heap.error == "many-to-many matching"
    assert snap.reading(a, "pool").level is Level.CRIT and "2 series" in snap.reading(a, "pool").error
    assert len(snap.reading(a, "rps").history) == 10 and snap.requests == 20 and k.cells == 10


def test_unreachable_and_timeout_are_not_zero():
    async def refused(path, form):
        raise httpx.ConnectError("connection refused")
    snap = asyncio.run(km(refused).refresh())
    assert {r.level for r in snap.cells.values()} == {Level.UNREACHABLE}
    assert {r.text for r in snap.cells.values()} == {"unreachable"} and all(r.value is None for r in snap.cells.values())

    async def slow(path, form):
        await asyncio.sleep(5)
        return httpx.Response(200, json=vector("1"))
    k = km(slow, timeout_s=0.2, concurrency=4)
    t0 = time.monotonic()
    snap = asyncio.run(asyncio.wait_for(k.refresh(), 8))
    assert {r.text for r in snap.cells.values()} == {"timeout"}
    assert time.monotonic() - t0 < 3.0          # one wave of timeouts; the rest of the pass is not sent
    assert snap.requests == 4


def test_no_prometheus_or_bad_credentials_say_so():
    k = KeyMetrics(parse_metrics(None), lambda: None, context="prod")
    snap = asyncio.run(k.refresh())
    assert "no Prometheus configured for context prod" in snap.message
    assert {r.level for r in snap.cells.values()} == {Level.OFF}

    def broken():
        raise PromError("config", "prometheus: cannot read the token file /x: No such file")
    snap = asyncio.run(KeyMetrics(parse_metrics(None), broken).refresh())
    assert "cannot read the token file" in snap.message


def test_concurrency_bounded_and_ranges_less_often():
    inflight = peak = 0
    paths: list[str] = []

    async def answer(path, form):
        nonlocal inflight, peak
        paths.append(path)
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.01)
        inflight -= 1
        if path.endswith("query_range"):
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": []}})
        return httpx.Response(200, json=vector("1"))

    k = km(answer, concurrency=3)

    async def go():
        await k.refresh()
        n1 = len(paths)
        await k.refresh()
        return n1, len(paths)

    n1, n2 = asyncio.run(go())
    assert peak <= 3
    assert n1 == 20 and n2 - n1 == 10      # the second pass: instant queries only (ranges every 30 s)


def test_a_failed_range_keeps_the_old_sparkline():
    calls = {"n": 0}

    async def answer(path, form):
        if path.endswith("query_range"):
            calls["n"] += 1
            if calls["n"] > 10:
                return httpx.Response(503, json={"status": "error", "errorType": "timeout", "error": "slow"})
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": [[T - 10, "1"]]}]}})
        return httpx.Response(200, json=vector("1"))

    k = km(answer)

    async def go():
        await k.refresh()
        return await k.refresh(ranges=True)

    snap = asyncio.run(go())
    hist = snap.reading("a-service", "rps").history
    assert len(hist) == 10 and hist[-1] == 1.0 and math.isnan(hist[0])
