"""KeyMetrics against a mock Prometheus: values by level, every failure spelled out (never zero), concurrency
bounded, sparklines from range queries at a width-fitting step and refreshed less often."""
from __future__ import annotations

import asyncio
import math
import re
import time
import urllib.parse

import httpx

from ecotui.metrics.keymetrics import KeyMetrics
from ecotui.metrics.levels import Level
from ecotui.metrics.panels import parse_metrics
from ecotui.metrics.prom import PromClient, PromConfig, PromError

T = 1_700_000_000.0


def vector(*values: str, app: str = "") -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"i": str(i), **({"app": app} if app else {})}, "value": [T, v]} for i, v in enumerate(values)]}}


def apps_of(q: str) -> list[str]:
    """The services a grid query asks for (`app=~"a|b"`), else [] for a per-service query."""
    m = re.search(r'app=~"([^"]*)"', q)
    return m.group(1).split("|") if m else []


def per_app(q: str, fn) -> httpx.Response:
    """Answer a grid query with fn(app) per service (None = no series) and a per-service one with fn(its app)."""
    apps = apps_of(q)
    if not apps:
        m = re.search(r'app="([^"]*)"', q)
        apps, labelled = [m.group(1) if m else ""], False
    else:
        labelled = True
    result = []
    for a in apps:
        for v in fn(a) or ():
            result.append({"metric": {"app": a} if labelled else {}, "value": [T, v]})
    return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})


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
    asked: list[str] = []

    async def answer(path, form):
        q = form["query"]
        if path.endswith("query_range"):
            step = float(form["step"])
            assert abs(step - 1800 / 10) < 1e-6      # 30 min over 10 columns
            start = float(form["start"])
            series = [{"metric": {"app": a} if apps_of(q) else {},
                       "values": [[start + 60 * i, str(i / 100)] for i in range(30)]} for a in (apps_of(q) or ["x"])]
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": series}})
        asked.append(q)
        if "5.." in q:      # a: critical, b: no series at all
            return per_app(q, lambda a: ["0.2"] if a == "a-service" else None)
        if "histogram_quantile" in q:
            return per_app(q, lambda a: ["NaN"])             # no traffic
        if "jvm" in q:
            return httpx.Response(422, json={"status": "error", "errorType": "execution",
                                             "error": "many-to-many matching"})
        if "hikaricp" in q:
            return per_app(q, lambda a: ["0.5", "0.97"])     # several series: the worst
        return per_app(q, lambda a: ["0.5"])

    k = km(answer)
    snap = asyncio.run(k.refresh())
    a, b = "a-service", "b-service"
    assert snap.reading(a, "err").level is Level.CRIT and snap.reading(a, "err").text == "20.0 %"
    assert snap.reading(b, "err").level is Level.NODATA and snap.reading(b, "err").text == "no data"
    assert snap.reading(a, "p95").level is Level.NODATA and snap.reading(a, "p95").value is None
    for svc in (a, b):
        heap = snap.reading(svc, "heap")
        assert heap.level is Level.ERROR and heap.text == "error" and heap.error == "many-to-many matching"
    assert snap.reading(a, "pool").level is Level.CRIT and "2 series" in snap.reading(a, "pool").error
    assert snap.reading(a, "rps").value == 0.5 and len(snap.reading(b, "rps").history) == 10
    # one grid query per panel for every service at once: 5 instant + 5 range
    assert snap.requests == 10 and k.cells == 10 and all(apps_of(q) == [a, b] for q in asked)


def test_a_service_with_its_own_query_is_asked_alone_with_its_thresholds():
    asked: list[str] = []

    async def answer(path, form):
        q = form["query"]
        if path.endswith("query_range"):
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": []}})
        asked.append(q)
        if q == "custom":
            return httpx.Response(200, json=vector("0.03"))
        return per_app(q, lambda a: ["0.03"])

    k = km(answer, services_overrides={"b-service": {"panels": [{"id": "err", "query": "custom"},
                                                                  {"id": "p95", "critical": 0.01}]}})
    snap = asyncio.run(k.refresh(ranges=False))
    errs = [q for q in asked if "5.." in q]
    assert "custom" in asked and len(errs) == 1 and 'app="a-service"' in errs[0]   # the only one left: alone
    assert sum(1 for q in asked if apps_of(q) == ["a-service", "b-service"]) == 4     # rps, p95, heap, pool
    assert snap.reading("b-service", "err").level is Level.WARN        # 3 % of the override's query
    assert snap.reading("b-service", "p95").level is Level.CRIT        # shared grid query, its own threshold
    assert snap.reading("a-service", "p95").level is Level.OK


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
    assert snap.requests <= 4


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
    assert n1 == 10 and n2 - n1 == 5       # the second pass: instant queries only (ranges every 30 s)


def test_a_failed_range_keeps_the_old_sparkline():
    calls = {"n": 0}

    async def answer(path, form):
        if path.endswith("query_range"):
            calls["n"] += 1
            if calls["n"] > 5:
                return httpx.Response(503, json={"status": "error", "errorType": "timeout", "error": "slow"})
            apps = apps_of(form["query"])
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"app": a}, "values": [[T - 10, "1"]]} for a in apps]}})
        return per_app(form["query"], lambda a: ["1"])

    k = km(answer)

    async def go():
        await k.refresh()
        return await k.refresh(ranges=True)

    snap = asyncio.run(go())
    hist = snap.reading("a-service", "rps").history
    assert len(hist) == 10 and hist[-1] == 1.0 and math.isnan(hist[0])


def test_a_prometheus_query_timeout_is_not_prometheus_down():
    """A 503 errorType timeout is Prometheus answering: the other queries of the pass are still asked and
    their cells show their own results (only transport failures short-circuit the pass)."""
    asked: list[str] = []

    async def answer(path, form):
        asked.append(form["query"])
        if len(asked) == 1:
            return httpx.Response(503, json={"status": "error", "errorType": "timeout", "error": "query timed out"})
        return per_app(form["query"], lambda a: ["1"])

    k = km(answer, concurrency=1)
    snap = asyncio.run(k.refresh(ranges=False))
    texts = [r.text for r in snap.cells.values()]
    assert len(asked) == 5                                   # every instant query of the grid was sent
    assert "timeout" in texts and any(t not in ("timeout", "unreachable") for t in texts)
    assert sum(t == "timeout" for t in texts) < len(texts)
