"""Evaluating the key-metric grid: every (service, panel) query at once through the context's Prometheus.

`KeyMetrics(config, prom)`; `await km.refresh()` runs the instant queries of the whole grid concurrently — one
grid query per panel for the services that share it (split by the service label), one query per other cell —
(at most `config.concurrency` in flight, each with `config.timeout_s`), and — every `range_refresh_s` — the
range queries behind the sparklines (`range_minutes` back, step = range / `columns`). It returns (and keeps in
`snapshot`) an immutable `GridSnapshot`: one `Reading` per cell whose `history` is the sparkline's values.
Failures become readings — "no data", "error" (Prometheus's own text in `error`), "unreachable", "timeout" —
never a zero. A failed range query keeps the previous sparkline. No textual here; the screen calls `refresh`
from a `Refresher` so runs never overlap.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..textsafe import one_line
from .history import resample
from .levels import Level, Reading
from .panels import MetricsConfig, Panel, format_value
from .prom import PromClient, PromError, PromResult

Key = tuple[str, str]   # (service, panel id)


@dataclass(frozen=True)
class GridSnapshot:
    services: tuple[str, ...] = ()
    columns: tuple[Panel, ...] = ()
    cells: Mapping[Key, Reading] = field(default_factory=dict)
    at: float = 0.0                  # unix seconds of the refresh
    message: str = ""                # grid-wide state ("no Prometheus configured for …"), else ""
    refreshes: int = 0
    requests: int = 0                # the client's requests so far
    elapsed_s: float = 0.0           # the last refresh's wall time

    def reading(self, service: str, panel_id: str) -> Reading:
        return self.cells.get((service, panel_id), Reading(Level.LOADING, text="…"))


def error_reading(exc: BaseException, at: float) -> Reading:
    """A failure as a reading: unreachable / timeout / error, the full line in `error`."""
    if isinstance(exc, PromError):
        if exc.kind == "unreachable":
            return Reading(Level.UNREACHABLE, text="unreachable", error=exc.message, at=at)
        if exc.kind == "timeout":
            return Reading(Level.UNREACHABLE, text="timeout", error=exc.message, at=at)
        label = {"query": "error", "auth": "auth error", "config": "config error"}.get(exc.kind, "error")
        return Reading(Level.ERROR, text=label, error=exc.message, at=at)
    if isinstance(exc, asyncio.TimeoutError):
        return Reading(Level.UNREACHABLE, text="timeout", error="prometheus: no answer in time", at=at)
    return Reading(Level.ERROR, text="error", error=one_line(f"{type(exc).__name__}: {exc}", 200), at=at)


def transport_failure(exc: BaseException) -> bool:
    """Prometheus cannot be reached (connection failed, or no HTTP answer in time): the rest of a pass need not
    ask. Prometheus's own timeout (a 503 with errorType timeout: status != 0) is a live server answering —
    the other queries may well succeed."""
    if isinstance(exc, PromError):
        return exc.kind == "unreachable" or (exc.kind == "timeout" and exc.status == 0)
    return isinstance(exc, asyncio.TimeoutError)


def instant_reading(result: PromResult, panel: Panel, at: float) -> Reading:
    """An instant result → a reading. Several series: the worst one (the panel should aggregate to one)."""
    values = [s.value for s in result.samples]
    if not values:
        return Reading(Level.NODATA, text="no data", at=at)
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Reading(Level.NODATA, text="no data", error="the query returned NaN", at=at)
    value = min(finite) if panel.below else max(finite)
    note = f"{len(values)} series, the worst shown" if len(values) > 1 else ""
    return Reading(panel.thresholds.level(value), value, format_value(value, panel.unit), error=note, at=at)


def range_values(result: PromResult, panel: Panel, start: float, end: float, n: int) -> tuple[float, ...]:
    """A matrix → n sparkline values (the worst series per bucket when several)."""
    if not result.series:
        return ()
    cols = [resample(s.points, start, end, n) for s in result.series]
    if len(cols) == 1:
        return tuple(cols[0])
    pick = min if panel.below else max
    out = []
    for vals in zip(*cols):
        finite = [v for v in vals if math.isfinite(v)]
        out.append(pick(finite) if finite else math.nan)
    return tuple(out)


class KeyMetrics:
    def __init__(self, config: MetricsConfig, prom: Callable[[], PromClient | None], *,
                 context: str = "", clock: Callable[[], float] = time.time) -> None:
        self.config, self._prom, self.context, self.clock = config, prom, context, clock
        self.columns = 60                    # sparkline width (points per range query)
        self.snapshot = GridSnapshot(config.services, config.columns)
        self._spark: dict[Key, tuple[float, ...]] = {}
        self._last_range = -math.inf
        self.range_columns = 0               # the width the sparklines were last asked at (0: not yet)

    def want_ranges(self) -> None:
        """Refresh the sparklines on the next pass too (a manual refresh)."""
        self._last_range = -math.inf

    @property
    def cells(self) -> int:
        """How many panels the grid refreshes (the benchmark reports it)."""
        return sum(len(self.config.panels_for(s)) for s in self.config.services)

    def _client(self) -> tuple[PromClient | None, str]:
        try:
            client = self._prom()
        except PromError as exc:
            return None, exc.message
        if client is None:
            where = f" for context {self.context}" if self.context else ""
            return None, f"no Prometheus configured{where} (set prometheus_url in the config)"
        return client, ""

    async def refresh(self, *, ranges: bool | None = None) -> GridSnapshot:
        """One pass over the grid. `ranges`: None = when due, True/False = force/skip the sparklines."""
        t0 = time.monotonic()
        now = self.clock()
        cfg = self.config
        client, why = self._client()
        if client is None:
            off = {(s, p.id): Reading(Level.OFF, text="off", error=why, at=now)
                   for s in cfg.services for p in cfg.panels_for(s)}
            self.snapshot = GridSnapshot(cfg.services, cfg.columns, off, now, why, self.snapshot.refreshes + 1)
            return self.snapshot
        due = ranges if ranges is not None else time.monotonic() - self._last_range >= cfg.range_refresh_s
        if due:
            self._last_range = time.monotonic()
            self.range_columns = max(2, self.columns)
        sem = asyncio.Semaphore(cfg.concurrency)
        down: list[BaseException] = []   # once Prometheus is unreachable / timing out, the rest of this pass
                                         # says so without asking (a dead Prometheus costs one timeout per pass)
        end = now
        start = end - cfg.range_minutes * 60
        n = max(2, self.columns)

        async def ask(expr: str, ranged: bool) -> PromResult | BaseException:
            async with sem:
                if down:
                    return down[0]
                try:
                    call = (client.query_range(expr, start, end, (end - start) / n, timeout=cfg.timeout_s) if ranged
                            else client.query(expr, timeout=cfg.timeout_s))
                    return await asyncio.wait_for(call, cfg.timeout_s + 1.5)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a reading
                    if transport_failure(exc):
                        down.append(exc)
                    return exc

        grouped, alone = cfg.grid_groups()
        exprs = [cfg.grid_expr(p, svcs) for p, svcs in grouped] + [cfg.expr(p, s) for s, p in alone]
        jobs = [ask(e, False) for e in exprs] + ([ask(e, True) for e in exprs] if due else [])
        results = await asyncio.gather(*jobs)
        inst, rng = results[:len(exprs)], results[len(exprs):]
        cells: dict[Key, Reading] = {}
        label = cfg.service_label
        for i, (col, svcs) in enumerate(grouped):
            res, got = inst[i], rng[i] if due else None
            by_svc = _split(res, label, svcs) if isinstance(res, PromResult) else {}
            for s in svcs:
                panel = cfg.panel(s, col.id) or col
                cells[(s, col.id)] = (instant_reading(by_svc.get(s, _EMPTY), panel, now) if isinstance(res, PromResult)
                                      else error_reading(res, self.clock()))
                if isinstance(got, PromResult):
                    sub = PromResult("matrix", series=tuple(x for x in got.series if x.labels.get(label) == s))
                    self._spark[(s, col.id)] = range_values(sub, panel, start, end, n)
        for j, (s, p) in enumerate(alone, start=len(grouped)):
            res, got = inst[j], rng[j] if due else None
            cells[(s, p.id)] = (instant_reading(res, p, now) if isinstance(res, PromResult)
                                else error_reading(res, self.clock()))
            if isinstance(got, PromResult):
                self._spark[(s, p.id)] = range_values(got, p, start, end, n)
        for k, r in cells.items():
            hist = self._spark.get(k, ())
            if hist:
                cells[k] = Reading(r.level, r.value, r.text, r.error, r.at, hist)
        self.snapshot = GridSnapshot(cfg.services, cfg.columns, cells, now, "", self.snapshot.refreshes + 1,
                                     client.stats.requests, time.monotonic() - t0)
        return self.snapshot


_EMPTY = PromResult("vector")


def _split(res: PromResult, label: str, services: tuple[str, ...]) -> dict[str, PromResult]:
    """A grid query's vector → one vector per service (by the service label)."""
    out: dict[str, list[Any]] = {s: [] for s in services}
    for sample in res.samples:
        svc = sample.labels.get(label)
        if svc in out:
            out[svc].append(sample)
    return {s: PromResult(res.kind, samples=tuple(v)) for s, v in out.items()}
