"""Evaluating the key-metric grid: every (service, panel) query at once through the context's Prometheus.

`KeyMetrics(config, prom)`; `await km.refresh()` runs the instant queries of the whole grid concurrently
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
from collections.abc import Callable, Coroutine, Mapping
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
        sem = asyncio.Semaphore(cfg.concurrency)
        keys = [(s, p) for s in cfg.services for p in cfg.panels_for(s)]

        down: list[Reading] = []   # once Prometheus is unreachable / timing out, the rest of this pass says so
                                   # without asking (a dead Prometheus costs one timeout per pass, not 25)

        async def instant(svc: str, panel: Panel) -> Reading:
            async with sem:
                if down:
                    return down[0]
                try:
                    res = await asyncio.wait_for(client.query(cfg.expr(panel, svc), timeout=cfg.timeout_s),
                                                 cfg.timeout_s + 1.5)
                except Exception as exc:  # noqa: BLE001 - every failure is a reading
                    r = error_reading(exc, self.clock())
                    if r.level is Level.UNREACHABLE:
                        down.append(r)
                    return r
            return instant_reading(res, panel, now)

        async def spark(svc: str, panel: Panel) -> tuple[float, ...] | None:
            end = now
            start = end - cfg.range_minutes * 60
            n = max(2, self.columns)
            async with sem:
                if down:
                    return None
                try:
                    res = await asyncio.wait_for(
                        client.query_range(cfg.expr(panel, svc), start, end, (end - start) / n,
                                           timeout=cfg.timeout_s), cfg.timeout_s + 1.5)
                except Exception:  # noqa: BLE001 - the old sparkline stays
                    return None
            return range_values(res, panel, start, end, n)

        jobs: list[Coroutine[Any, Any, Any]] = [instant(s, p) for s, p in keys]
        if due:
            jobs += [spark(s, p) for s, p in keys]
            self._last_range = time.monotonic()
        results = await asyncio.gather(*jobs)
        readings = results[:len(keys)]
        if due:
            for (s, p), vals in zip(keys, results[len(keys):]):
                if vals is not None:
                    self._spark[(s, p.id)] = vals
        cells: dict[Key, Reading] = {}
        for (s, p), r in zip(keys, readings):
            assert isinstance(r, Reading)
            hist = self._spark.get((s, p.id), ())
            cells[(s, p.id)] = Reading(r.level, r.value, r.text, r.error, r.at, hist) if hist else r
        self.snapshot = GridSnapshot(cfg.services, cfg.columns, cells, now, "", self.snapshot.refreshes + 1,
                                     client.stats.requests, time.monotonic() - t0)
        return self.snapshot
