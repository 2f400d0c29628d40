"""The health grid's data: every configured service's `/actuator/health`, checked concurrently, each through a
managed port-forward to `svc/NAME` (the settings' port, `http` by default) that is started on demand and kept
for the next run (the forwards pane lists them, named `health NAME`).

    grid = HealthGrid(settings, manager, context)
    await grid.run()            # every service at once; rows update as each answer arrives
    grid.rows, grid.version     # immutable rows in the configured order; +1 on every change (the UI polls it)
    await grid.aclose()

A forward that cannot start (no ready pod, 403, the Service has no such port) is the row's ERROR line, as is
a request that fails; a 503 with a DOWN body is DOWN, not an error.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import httpx

from ecotui.errors import EcotuiError
from ecotui.forward.model import ForwardSpec, ForwardState, ForwardView, Target
from ecotui.health.actuator import ERROR, Component, HealthResult, fetch_health
from ecotui.health.settings import HealthSettings
from ecotui.httpclient import AsyncClient
from ecotui.textsafe import one_line

PENDING = ""                    # a row not checked yet
MAX_PARALLEL = 8
READY_TIMEOUT = 10.0


class Forwards(Protocol):
    """The slice of `ecotui.forward.manager.ForwardManager` the grid uses."""

    def start(self, spec: ForwardSpec) -> str: ...

    async def wait_ready(self, id: str, timeout: float = 10.0) -> ForwardView: ...

    def restart(self, id: str) -> None: ...

    def views(self) -> list[ForwardView]: ...


@dataclass(frozen=True)
class HealthRow:
    service: str
    namespace: str
    status: str = PENDING                   # UP / DOWN / UNKNOWN / OUT_OF_SERVICE / ERROR, "" before the first check
    components: tuple[Component, ...] = ()
    latency_ms: float | None = None
    checked_at: float | None = None         # wall clock of the last finished check
    error: str = ""
    http_status: int | None = None
    pod: str | None = None                  # the pod the forward went to ("ns/name")
    url: str = ""                           # what was requested
    running: bool = False                   # a check is in flight

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)


def forward_spec(context: str, settings: HealthSettings, service: str) -> ForwardSpec:
    return ForwardSpec(context, Target("service", settings.namespace, service), settings.port, 0, "127.0.0.1",
                       f"health {service}")


class HealthGrid:
    def __init__(self, settings: HealthSettings, forwards: Forwards, context: str, *,
                 services: Sequence[str] | None = None, clock: Callable[[], float] = time.time,
                 client: httpx.AsyncClient | None = None, ready_timeout: float = READY_TIMEOUT) -> None:
        self.settings = settings
        self.forwards = forwards
        self.context = context
        self.services: tuple[str, ...] = tuple(services) if services else tuple(settings.services)
        self.clock = clock
        self.ready_timeout = ready_timeout
        self._own_client = client is None
        self._client = client or AsyncClient(trust_env=False, follow_redirects=False,
                                                   limits=httpx.Limits(max_connections=32,
                                                                       max_keepalive_connections=16))
        self._rows: dict[str, HealthRow] = {s: HealthRow(s, settings.namespace) for s in self.services}
        self.version = 0
        self.runs = 0
        self._lock = asyncio.Lock()

    @property
    def rows(self) -> tuple[HealthRow, ...]:
        return tuple(self._rows[s] for s in self.services)

    def row(self, service: str) -> HealthRow | None:
        return self._rows.get(service)

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def _set(self, row: HealthRow) -> None:
        if self._rows.get(row.service) != row:
            self._rows[row.service] = row
            self.version += 1

    async def run(self) -> tuple[HealthRow, ...]:
        """Check every service concurrently (a run already going: wait for it instead of starting another)."""
        if self._lock.locked():
            async with self._lock:
                return self.rows
        async with self._lock:
            self.runs += 1
            sem = asyncio.Semaphore(MAX_PARALLEL)

            async def one(service: str) -> None:
                async with sem:
                    await self.check(service)
            for s in self.services:
                self._set(replace(self._rows[s], running=True))
            await asyncio.gather(*(one(s) for s in self.services))
            return self.rows

    async def check(self, service: str) -> HealthRow:
        """One service: its forward (started or healed on demand), then GET the health path through it."""
        old = self._rows.get(service) or HealthRow(service, self.settings.namespace)
        try:
            view = await self._forward(service)
        except EcotuiError as exc:
            row = replace(old, status=ERROR, components=(), latency_ms=None, checked_at=self.clock(),
                          error=f"port-forward: {one_line(exc.message, 240)}", http_status=None, running=False)
            self._set(row)
            return row
        except Exception as exc:  # noqa: BLE001 - one line in the row, never a traceback
            row = replace(old, status=ERROR, components=(), latency_ms=None, checked_at=self.clock(),
                          error=f"port-forward: {type(exc).__name__}: {one_line(str(exc), 200)}", running=False)
            self._set(row)
            return row
        url = view.url + self.settings.path
        res: HealthResult = await fetch_health(self._client, url, timeout=self.settings.timeout_s)
        row = HealthRow(service, self.settings.namespace, res.status, res.components, res.latency_ms, self.clock(),
                        res.error, res.http_status, view.pod, url, False)
        self._set(row)
        return row

    async def _forward(self, service: str) -> ForwardView:
        spec = forward_spec(self.context, self.settings, service)
        existing = next((v for v in self.forwards.views() if v.spec == spec), None)
        if existing is not None and existing.state in (ForwardState.FAILED, ForwardState.STOPPED):
            self.forwards.restart(existing.id)
            fid = existing.id
        else:
            fid = self.forwards.start(spec)
        return await self.forwards.wait_ready(fid, self.ready_timeout)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


def component_names(rows: Sequence[HealthRow], seen: Sequence[str] = ()) -> list[str]:
    """The grid's component columns: the ones seen before (kept, so columns do not jump), then new ones in
    Spring's usual order (db, redis, diskSpace, ping first), then the rest as they appear."""
    order = ["db", "redis", "diskSpace", "ping"]
    names = list(seen)
    found: list[str] = []
    for r in rows:
        for c in r.components:
            if c.name not in names and c.name not in found:
                found.append(c.name)
    first = {n: i for i, n in enumerate(found)}
    found.sort(key=lambda n: (order.index(n) if n in order else len(order), first[n]))
    return names + found


def ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    return f"{s // 3600}h ago"


def summary(rows: Sequence[HealthRow]) -> dict[str, Any]:
    """Counts by status for the title line."""
    out: dict[str, Any] = {}
    for r in rows:
        key = r.status or "pending"
        out[key] = out.get(key, 0) + 1
    return out
