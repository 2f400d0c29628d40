"""Simulated application metrics for the five EcoTrack services, in Prometheus text exposition format.

    python -m testbed.exporter --host 127.0.0.1 --port 29100 --state-dir DIR [--seed N]

GET /metrics serves http_requests_total, http_request_duration_seconds (histogram), jvm_memory_used_bytes,
jvm_memory_max_bytes, hikaricp_connections_{active,idle,pending,max}, all labelled app=<service>, namespace="ecotrack".
The simulation advances in whole wall-clock seconds (catching up at scrape time), so rates do not depend on how often
it is scraped. DIR/incident.json (see testbed/incident.py) switches error-spike / latency-spike on for a target.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path
from typing import Callable

from aiohttp import web

from .incident import NAMESPACE, SERVICES, Incident, IncidentReader
from .serve import serve_loopback

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CATCH_UP_TICKS = 600  # gaps longer than this are simulated as one aggregate step
MiB = 1024 * 1024
# app -> (requests/s, [(method, uri, success status, median latency s, share of traffic)])
APPS: dict[str, tuple[float, list[tuple[str, str, str, float, float]]]] = {
    "user-service": (12.0, [("GET", "/api/users/{id}", "200", 0.012, 0.55), ("GET", "/api/users", "200", 0.030, 0.2),
                            ("POST", "/api/auth/login", "200", 0.080, 0.25)]),
    "product-service": (20.0, [("GET", "/api/products", "200", 0.025, 0.5),
                               ("GET", "/api/products/{id}", "200", 0.010, 0.45),
                               ("PUT", "/api/products/{id}", "200", 0.045, 0.05)]),
    "order-service": (8.0, [("POST", "/api/orders", "201", 0.120, 0.35),
                            ("GET", "/api/orders/{id}", "200", 0.020, 0.45),
                            ("GET", "/api/orders", "200", 0.060, 0.2)]),
    "payment-service": (5.0, [("POST", "/api/payments", "201", 0.250, 0.6),
                              ("GET", "/api/payments/{id}", "200", 0.018, 0.4)]),
    "notification-service": (3.0, [("POST", "/api/notifications", "202", 0.040, 0.8),
                                   ("GET", "/api/notifications", "200", 0.015, 0.2)]),
}
NORMAL_MIX = {"ok": 0.959, "400": 0.015, "401": 0.008, "404": 0.013, "500": 0.004, "503": 0.001}
ERROR_SPIKE_MIX = {"ok": 0.66, "400": 0.015, "401": 0.008, "404": 0.017, "500": 0.24, "503": 0.06}
HEAP = (("G1 Eden Space", 256 * MiB), ("G1 Old Gen", 512 * MiB), ("G1 Survivor Space", 32 * MiB))
NONHEAP = (("Metaspace", 256 * MiB), ("CodeCache", 240 * MiB))
POOL_MAX = 10
assert tuple(APPS) == SERVICES


class Simulator:
    """All simulated state; `render()` advances to the clock and returns the exposition text."""

    def __init__(self, state_dir: str | Path | None = None, seed: int | None = None,
                 clock: Callable[[], float] = time.time):
        self.clock = clock
        self.rng = random.Random(seed)
        self.incidents = IncidentReader(state_dir, clock=clock) if state_dir is not None else None
        self.series: dict[tuple[str, str, str, str], list] = {}  # (app, method, uri, status) -> [count, sum, buckets]
        for app, (_, endpoints) in APPS.items():
            for method, uri, ok, _, _ in endpoints:
                for status in NORMAL_MIX:
                    key = (app, method, uri, ok if status == "ok" else status)
                    self.series[key] = [0, 0.0, [0] * (len(BUCKETS) + 1)]
        self.active = {app: 2 for app in APPS}
        self.phase = {app: self.rng.random() for app in APPS}
        self.tick = int(self.clock())
        self._step(self.rng.randint(300, 900), None)  # pretend the apps have been up for 5-15 minutes

    def incident(self) -> Incident | None:
        return self.incidents.current() if self.incidents else None

    def advance(self) -> None:
        now = int(self.clock())
        ticks = now - self.tick
        if ticks <= 0:
            return
        inc = self.incident()
        if ticks > CATCH_UP_TICKS:
            self._step(ticks, inc)
        else:
            for _ in range(ticks):
                self._step(1, inc)
        self.tick = now

    def _draw(self, expected: float) -> int:
        """Integer count with the given mean (random rounding): stable rates, integer counters."""
        return int(expected + self.rng.random())

    def _latency(self, base: float, status: str, spiking: bool) -> float:
        if spiking:
            if self.rng.random() < 0.9:
                return self.rng.uniform(2.0, 5.0)
            return self.rng.lognormvariate(math.log(1.2), 0.4)
        if status == "503":
            return self.rng.uniform(0.001, 0.01)
        if status == "500":
            return self.rng.lognormvariate(math.log(base * 3), 0.6)
        return self.rng.lognormvariate(math.log(base), 0.5)

    def _step(self, dt: int, inc: Incident | None) -> None:
        for app, (rps, endpoints) in APPS.items():
            erroring = inc is not None and inc.name == "error-spike" and inc.hits(app)
            slow = inc is not None and inc.name == "latency-spike" and inc.hits(app)
            mix = ERROR_SPIKE_MIX if erroring else NORMAL_MIX
            load = max(0.3, self.rng.gauss(1.0, 0.1))  # per-tick traffic noise
            total, lat_sum = 0, 0.0
            for method, uri, ok, base, share in endpoints:
                for status, p in mix.items():
                    code = ok if status == "ok" else status
                    n = self._draw(rps * share * p * load * dt)
                    if n:
                        s = self._observe((app, method, uri, code), n, base, code, slow)
                        total, lat_sum = total + n, lat_sum + s
            in_flight = (lat_sum / dt) if dt else 0.0  # Little's law: arrivals/s * mean latency
            target = min(POOL_MAX, int(in_flight * 1.5 + self.rng.random() * 2.5))
            self.active[app] = max(0, min(POOL_MAX, (self.active[app] + target + 1) // 2))

    def _observe(self, key: tuple[str, str, str, str], n: int, base: float, status: str, slow: bool) -> float:
        """Add n requests: sample a few latencies (more for long steps) and spread the n requests over them."""
        entry = self.series[key]
        k = min(n, 8 if n < 64 else 200)
        added = 0.0
        for j in range(k):
            weight = n // k + (1 if j < n % k else 0)
            d = self._latency(base, status, slow)
            entry[2][next((i for i, le in enumerate(BUCKETS) if d <= le), len(BUCKETS))] += weight
            added += d * weight
        entry[0] += n
        entry[1] += added
        return added

    def _memory(self, app: str, now: float) -> list[tuple[str, str, float, int]]:
        ph = self.phase[app]
        eden_cycle = ((now / (20 + 15 * ph)) + ph) % 1.0  # young GC every 20-35 s
        old_cycle = ((now / (900 + 600 * ph)) + ph) % 1.0  # mixed GC every 15-25 min
        out = []
        for ident, mx in HEAP:
            frac = {"G1 Eden Space": 0.05 + 0.9 * eden_cycle, "G1 Old Gen": 0.3 + 0.4 * old_cycle,
                    "G1 Survivor Space": 0.2 + 0.3 * ((now / 31 + ph) % 1.0)}[ident]
            out.append(("heap", ident, mx * frac * (1 + self.rng.uniform(-0.01, 0.01)), mx))
        for ident, mx in NONHEAP:
            frac = 0.36 + 0.02 * ph if ident == "Metaspace" else 0.12 + 0.03 * ph
            out.append(("nonheap", ident, mx * frac, mx))
        return out

    def render(self) -> str:
        self.advance()
        now = self.clock()
        out: list[str] = []
        add = out.append
        add("# HELP http_requests_total Total HTTP requests handled.\n# TYPE http_requests_total counter\n")
        for (app, method, uri, status), (count, _, _) in self.series.items():
            add(f"http_requests_total{{{_labels(app, method=method, uri=uri, status=status)}}} {count}\n")
        add("# HELP http_request_duration_seconds HTTP request latency.\n"
            "# TYPE http_request_duration_seconds histogram\n")
        for (app, method, uri, status), (count, total, buckets) in self.series.items():
            lbl = _labels(app, method=method, uri=uri, status=status)
            cum = 0
            for le, c in zip((*map(repr, BUCKETS), "+Inf"), buckets):
                cum += c
                add(f'http_request_duration_seconds_bucket{{{lbl},le="{le}"}} {cum}\n')
            add(f"http_request_duration_seconds_sum{{{lbl}}} {total!r}\n")
            add(f"http_request_duration_seconds_count{{{lbl}}} {count}\n")
        mem = {app: self._memory(app, now) for app in APPS}
        for name, idx, help_ in (("jvm_memory_used_bytes", 2, "Used JVM memory."),
                                 ("jvm_memory_max_bytes", 3, "Maximum JVM memory.")):
            add(f"# HELP {name} {help_}\n# TYPE {name} gauge\n")
            for app, rows in mem.items():
                for row in rows:
                    add(f"{name}{{{_labels(app, area=row[0], id=row[1])}}} {float(round(row[idx]))!r}\n")
        pool = {}
        for app in APPS:
            act = self.active[app]
            pending = max(0, int(act * 1.5) - POOL_MAX) if act >= POOL_MAX else 0
            pool[app] = {"active": act, "idle": POOL_MAX - act, "pending": pending, "max": POOL_MAX}
        for kind in ("active", "idle", "pending", "max"):
            name = f"hikaricp_connections_{kind}"
            add(f"# HELP {name} Hikari pool connections ({kind}).\n# TYPE {name} gauge\n")
            for app in APPS:
                add(f'{name}{{{_labels(app, pool="HikariPool-1")}}} {float(pool[app][kind])!r}\n')
        return "".join(out)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(app: str, **extra: str) -> str:
    pairs = {"app": app, "namespace": NAMESPACE, **extra}
    return ",".join(f'{k}="{_esc(v)}"' for k, v in pairs.items())


SIM = web.AppKey("sim", Simulator)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SIM].render().encode()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _index(request: web.Request) -> web.Response:
    return web.Response(text="ecotrack testbed exporter: metrics at /metrics\n")


def make_app(sim: Simulator) -> web.Application:
    app = web.Application()
    app[SIM] = sim
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/", _index)
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.exporter", description="EcoTrack app-metrics exporter")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=29100)
    ap.add_argument("--state-dir", required=True, help="directory holding incident.json")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args(argv)
    return serve_loopback("testbed.exporter", make_app(Simulator(a.state_dir, seed=a.seed)), a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
