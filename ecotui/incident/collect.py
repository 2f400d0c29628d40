"""The collector that writes the open incident's timeline: every `interval` seconds it reads the action journal,
LISTs the affected namespaces' events and (when the context has Prometheus) evaluates the affected services'
key-metric panels, turns them into entries (`incident.timeline`) and hands them to `IncidentStore.add_entries`
(de-dup by key, time order, one atomic write only when something is new). Entries live in the incident file, so
events the API server has expired (1 h by default) stay on the timeline.

Per pass and affected namespace: three event LISTs (fieldSelector `type=Warning`, `reason=ScalingReplicaSet`,
`reason=SuccessfulRescale`), plus one HPA LIST when a rescale event is there (to know what each HPA scales). No
textual; the UI runs `run()` as a task while an incident is open and shows `last_error`.

A failure never raises: it becomes `last_error` (one line), and the entries of the sources that did answer are
stored anyway. Events and metrics are read only while the workspace is the incident's context (after a context
switch the journal is still read; `last_error` says why the rest is not).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from ecotui.errors import EcotuiError
from ecotui.incident.model import Incident, TimelineEntry
from ecotui.incident.timeline import event_entries, journal_entries, metric_entries, metric_levels
from ecotui.metrics.keymetrics import KeyMetrics
from ecotui.metrics.levels import Level
from ecotui.metrics.panels import PanelConfigError, parse_metrics
from ecotui.textsafe import one_line

EVENT_SELECTORS = ("type=Warning", "reason=ScalingReplicaSet", "reason=SuccessfulRescale")
HPA_PATH = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
PAGE_LIMIT = 500
MAX_PAGES = 20                      # 10,000 events of one kind per namespace and pass at most
JOURNAL_LIMIT = 20000               # journal lines read per pass (the journal reads at most its last 4 MiB)


class StoreLike(Protocol):
    """The slice of `IncidentStore` the collector uses."""

    @property
    def current(self) -> Incident | None: ...

    def add_entries(self, entries: Any) -> int: ...


class JournalLike(Protocol):
    def read(self, limit: int = 1000) -> list[dict[str, Any]]: ...


def _line(where: str, exc: BaseException) -> str:
    msg = exc.message if isinstance(exc, EcotuiError) else f"{type(exc).__name__}: {exc}"
    return one_line(f"{where}: {msg}", 300)


async def list_all(api: Any, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """A paged LIST as dicts (bounded: MAX_PAGES pages of PAGE_LIMIT)."""
    items: list[dict[str, Any]] = []
    token = ""
    for _ in range(MAX_PAGES):
        q = dict(params, limit=str(PAGE_LIMIT))
        if token:
            q["continue"] = token
        body = await api.get(path, params=q)
        if not isinstance(body, dict):
            break
        items.extend(i for i in body.get("items") or () if isinstance(i, dict))
        token = str((body.get("metadata") or {}).get("continue") or "")
        if not token:
            break
    return items


class TimelineCollector:
    def __init__(self, store: StoreLike, workspace: Any, journal: JournalLike, interval: float = 5.0, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.workspace, self.journal = store, workspace, journal
        self.interval, self.clock = interval, clock
        self.last_error = ""
        self.passes = 0                 # collect_once calls that ran on an open incident
        self.added = 0                  # entries added over all passes
        self._stop = asyncio.Event()
        self._km: KeyMetrics | None = None
        self._km_for: tuple[Any, tuple[str, ...]] | None = None

    # ---- sources -------------------------------------------------------------------------------------------

    async def _events(self, inc: Incident, errors: list[str]) -> list[TimelineEntry]:
        api = self.workspace.api
        out: list[TimelineEntry] = []
        for ns in inc.namespaces:
            path = f"/api/v1/namespaces/{ns}/events"
            events: list[dict[str, Any]] = []
            for sel in EVENT_SELECTORS:
                try:
                    events.extend(await list_all(api, path, {"fieldSelector": sel}))
                except Exception as exc:  # noqa: BLE001 - one line, the other sources go on
                    errors.append(_line(f"events of {ns} ({sel})", exc))
            targets: dict[tuple[str, str], str] = {}
            if any(e.get("reason") == "SuccessfulRescale" for e in events):
                try:
                    for h in await list_all(api, HPA_PATH.format(ns=ns), {}):
                        ref = (h.get("spec") or {}).get("scaleTargetRef") or {}
                        name = (h.get("metadata") or {}).get("name")
                        if isinstance(name, str) and isinstance(ref.get("name"), str):
                            targets[(ns, name)] = ref["name"]
                except Exception as exc:  # noqa: BLE001
                    errors.append(_line(f"horizontalpodautoscalers of {ns}", exc))
            out.extend(event_entries(events, inc, targets))
        return out

    def _keymetrics(self, inc: Incident) -> KeyMetrics | None:
        """The key metrics of the affected services, or None (no Prometheus, or none of them configured)."""
        ws = self.workspace
        profile = getattr(ws, "profile", None)
        if profile is None or not (profile.prometheus_url or profile.prometheus.url):
            return None
        services = tuple(inc.services)
        if self._km is not None and self._km_for == (profile.metrics, services):
            return self._km
        try:
            config = parse_metrics(profile.metrics)
        except PanelConfigError as exc:
            raise EcotuiError(f"metrics config: {exc}") from None
        chosen = tuple(s for s in config.services if s in services)
        if not chosen:
            return None
        self._km = KeyMetrics(replace(config, services=chosen), lambda: ws.prometheus, context=profile.context,
                              clock=self.clock)
        self._km_for = (profile.metrics, services)
        return self._km

    async def _metrics(self, inc: Incident, errors: list[str]) -> list[TimelineEntry]:
        try:
            km = self._keymetrics(inc)
            if km is None:
                return []
            snap = await km.refresh(ranges=False)
        except Exception as exc:  # noqa: BLE001
            errors.append(_line("key metrics", exc))
            return []
        if snap.message:
            errors.append(one_line(f"key metrics: {snap.message}", 300))
            return []
        readings = []
        failed: list[str] = []
        for svc in snap.services:
            for panel in km.config.panels_for(svc):
                r = snap.reading(svc, panel.id)
                readings.append((svc, panel.id, panel.title, r.level.value, r.text))
                if r.level in (Level.ERROR, Level.UNREACHABLE) and not failed:
                    failed.append(one_line(f"key metrics: {svc} {panel.title}: {r.error or r.text}", 300))
        errors.extend(failed)
        return metric_entries(readings, metric_levels(inc.entries), snap.at or self.clock())

    # ---- passes --------------------------------------------------------------------------------------------

    async def collect_once(self) -> int:
        """One pass: the entries added to the open incident (0 when there is none, or nothing new)."""
        errors: list[str] = []
        try:
            refresh = getattr(self.store, "refresh", None)
            if refresh is not None:
                refresh()
            inc = self.store.current
            if inc is None or not inc.open:
                return 0
            self.passes += 1
            try:
                records = await asyncio.to_thread(self.journal.read, JOURNAL_LIMIT)
            except Exception as exc:  # noqa: BLE001
                errors.append(_line("journal", exc))
                records = []
            entries = journal_entries(records, inc)
            ws_context = getattr(getattr(self.workspace, "profile", None), "context", inc.context)
            if ws_context == inc.context:
                entries += await self._events(inc, errors)
                entries += await self._metrics(inc, errors)
            else:   # the user switched context: this workspace's cluster is not the incident's
                errors.append(one_line(f"events and metrics not read: the incident is on context {inc.context!r}, "
                                       f"the current one is {ws_context!r}", 300))
            added = self.store.add_entries(entries) if entries else 0
            self.added += added
            return added
        except Exception as exc:  # noqa: BLE001 - never raise: the UI shows the line
            errors.append(_line("incident timeline", exc))
            return 0
        finally:
            self.last_error = "; ".join(errors)

    async def run(self) -> None:
        """Collect every `interval` seconds until `stop()` or until no incident is open (then return)."""
        self._stop.clear()
        while not self._stop.is_set():
            await self.collect_once()
            inc = self.store.current
            if inc is None or not inc.open:
                return
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()

    async def aclose(self) -> None:
        """Stop and release the Prometheus client's use (the workspace owns and closes the client itself)."""
        self.stop()
        self._km = None
