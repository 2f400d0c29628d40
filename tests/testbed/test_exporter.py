"""The EcoTrack app-metrics exporter: valid exposition, counter/histogram invariants, incident effects."""
import json
import math
import re
from collections import defaultdict

import httpx
from aiohttp.test_utils import TestServer

from testbed.exporter import Simulator, make_app
from testbed.incident import SERVICES

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
RUNBOOK = ("http_requests_total", "http_request_duration_seconds_bucket", "jvm_memory_used_bytes",
           "jvm_memory_max_bytes", "hikaricp_connections_active", "hikaricp_connections_max")


def parse_exposition(text: str) -> dict[tuple, float]:
    """Strict parser for Prometheus text format 0.0.4; asserts on anything malformed."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[tuple, float] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert re.fullmatch(_NAME, name) and typ in ("counter", "gauge", "histogram", "summary", "untyped")
            assert name not in types, f"duplicate TYPE {name}"
            types[name] = typ
            continue
        if line.startswith("# HELP "):
            continue
        m = _SAMPLE.fullmatch(line)
        assert m, f"malformed sample line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name.endswith(("_bucket", "_sum", "_count")) else name
        assert family in types or name in types, f"sample before TYPE: {line}"
        v = float(value)  # raises on garbage
        key = (name, tuple(_PAIR.findall(labels or "")))
        assert key not in samples, f"duplicate series {line}"
        samples[key] = v
    return samples


def series(samples, name, **want):
    """[(labels, value)] of metric `name` whose labels include `want`."""
    return [(dict(k[1]), v) for k, v in samples.items()
            if k[0] == name and all(dict(k[1]).get(a) == b for a, b in want.items())]


class Clock:
    def __init__(self, t=1_800_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


def totals(samples):
    """(app, is_5xx) -> requests."""
    out = defaultdict(float)
    for labels, v in series(samples, "http_requests_total"):
        out[(labels["app"], labels["status"].startswith("5"))] += v
    return out


def test_exposition_is_valid_and_complete(tmp_path):
    sim = Simulator(tmp_path, seed=1, clock=Clock())
    samples = parse_exposition(sim.render())
    names = {k[0] for k in samples}
    for n in RUNBOOK:
        assert n in names
    for app in SERVICES:
        reqs = series(samples, "http_requests_total", app=app)
        assert reqs and all(lb["namespace"] == "ecotrack" and {"method", "uri", "status"} <= set(lb) for lb, _ in reqs)
        assert any(lb["status"].startswith("5") for lb, _ in reqs), f"no 5xx series for {app}"
        used = series(samples, "jvm_memory_used_bytes", app=app, area="heap")
        maxes = dict((lb["id"], v) for lb, v in series(samples, "jvm_memory_max_bytes", app=app, area="heap"))
        assert used and all(0 < v <= maxes[lb["id"]] for lb, v in used)
        act = series(samples, "hikaricp_connections_active", app=app, pool="HikariPool-1")[0][1]
        mx = series(samples, "hikaricp_connections_max", app=app, pool="HikariPool-1")[0][1]
        assert 0 <= act <= mx and mx > 0


def test_histograms_cumulative_and_consistent(tmp_path):
    clock = Clock()
    sim = Simulator(tmp_path, seed=2, clock=clock)
    clock.t += 120
    samples = parse_exposition(sim.render())
    checked = 0
    for labels, count in series(samples, "http_request_duration_seconds_count"):
        buckets = {lb["le"]: v for lb, v in series(samples, "http_request_duration_seconds_bucket", **labels)}
        les = sorted(buckets, key=lambda s: math.inf if s == "+Inf" else float(s))
        assert les[0] == "0.005" and les[-1] == "+Inf" and "10.0" in les
        values = [buckets[le] for le in les]
        assert values == sorted(values), f"not cumulative: {labels}"
        assert buckets["+Inf"] == count
        [(_, requests)] = series(samples, "http_requests_total", **labels)
        assert requests == count
        s = series(samples, "http_request_duration_seconds_sum", **labels)[0][1]
        assert (count == 0) == (s == 0) and s <= count * 10.5
        checked += 1
    assert checked >= 50


def test_counters_increase_with_wall_clock_not_scrapes(tmp_path):
    clock = Clock()
    sim = Simulator(tmp_path, seed=3, clock=clock)
    a = totals(parse_exposition(sim.render()))
    b = totals(parse_exposition(sim.render()))  # same second: nothing new
    assert a == b
    clock.t += 60
    c = totals(parse_exposition(sim.render()))
    for app in SERVICES:
        assert c[(app, False)] > a[(app, False)]
        assert c[(app, True)] >= a[(app, True)]
    # one scrape after 60 s vs. 60 one-second scrapes: same order of magnitude of requests
    sim2 = Simulator(tmp_path, seed=3, clock=(clock2 := Clock()))
    start = totals(parse_exposition(sim2.render()))
    for _ in range(60):
        clock2.t += 1
        sim2.render()
    end = totals(parse_exposition(sim2.render()))
    for app in SERVICES:
        d1, d2 = c[(app, False)] - a[(app, False)], end[(app, False)] - start[(app, False)]
        assert 0.7 < d1 / d2 < 1.4, (app, d1, d2)


def _share_5xx(before, after, app):
    bad = after[(app, True)] - before[(app, True)]
    good = after[(app, False)] - before[(app, False)]
    return bad / (bad + good)


def test_error_spike_raises_5xx_share_for_target_only(tmp_path):
    clock = Clock()
    sim = Simulator(tmp_path, seed=4, clock=clock)
    t0 = totals(parse_exposition(sim.render()))
    clock.t += 300
    t1 = totals(parse_exposition(sim.render()))
    (tmp_path / "incident.json").write_text(json.dumps({"name": "error-spike", "target": "payment-service",
                                                        "since": clock.t}))
    clock.t += 300
    t2 = totals(parse_exposition(sim.render()))
    assert _share_5xx(t0, t1, "payment-service") < 0.03
    assert 0.2 < _share_5xx(t1, t2, "payment-service") < 0.45
    for app in SERVICES:
        if app != "payment-service":
            assert _share_5xx(t1, t2, app) < 0.03, app


def _p95(before, after, app):
    deltas = defaultdict(float)
    for (name, labels), v in after.items():
        lb = dict(labels)
        if name == "http_request_duration_seconds_bucket" and lb["app"] == app:
            deltas[lb["le"]] += v - before[(name, labels)]
    les = sorted(deltas, key=lambda s: math.inf if s == "+Inf" else float(s))
    total = deltas["+Inf"]
    return next(float(le) for le in les if deltas[le] >= 0.95 * total)


def test_latency_spike_and_future_or_other_incidents(tmp_path):
    clock = Clock()
    sim = Simulator(tmp_path, seed=5, clock=clock)
    s0 = parse_exposition(sim.render())
    (tmp_path / "incident.json").write_text(json.dumps({"name": "latency-spike", "target": None, "since": clock.t}))
    clock.t += 120
    s1 = parse_exposition(sim.render())
    for app in SERVICES:
        assert _p95(s0, s1, app) >= 2.5, app  # 2-5 s latencies dominate
    (tmp_path / "incident.json").write_text(json.dumps({"name": "crashloop", "target": None, "since": clock.t}))
    clock.t += 120
    s2 = parse_exposition(sim.render())
    for app in SERVICES:
        assert _p95(s1, s2, app) <= 1.0, app  # other incident names do not touch metrics
    (tmp_path / "incident.json").write_text(json.dumps({"name": "error-spike", "target": None, "since": clock.t + 1e6}))
    clock.t += 120
    t2, t3 = totals(s2), totals(parse_exposition(sim.render()))
    assert all(_share_5xx(t2, t3, app) < 0.03 for app in SERVICES)  # not active yet


async def test_http_endpoint(tmp_path):
    server = TestServer(make_app(Simulator(tmp_path, seed=6)), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url(""))) as c:
            r = await c.get("/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
            samples = parse_exposition(r.text)
            assert any(k[0] == "http_requests_total" for k in samples)
    finally:
        await server.close()
