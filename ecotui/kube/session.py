"""A live connection to one cluster: the real implementation of `ecotui.kube.session_api.SessionAPI`.

`start()` checks the API server with GET /version (raising the mapped EcotuiError), then runs one informer
per kind in background tasks: nodes and namespaces cluster-wide, pods and events in `namespace` (or all).

GC pauses: decoded objects are frozen msgspec structs with gc=False, but their lists still make a full
collection over a 10k-pod cache take ~30 ms. After the first complete sync, if the caches hold at least
`freeze_gc_after` objects, we call `gc.freeze()` once: everything alive then moves to the permanent generation
and the cyclic GC stops traversing it (research/clients.md §1.2: 32 ms -> 0 ms). Refcounting still frees
those objects when they are replaced; the cost is that reference cycles already present at that moment are
never collected, a bounded one-off. Objects decoded later are few (watch events) and untracked.

Memory: the LIST pages (a few MB of JSON each) are freed once decoded, but glibc keeps such freed heap
memory mapped; right after that first sync (and once more a few seconds later, when the UI has built its
rows) `malloc_trim(0)` hands it back to the OS (~10 MB of RSS at 13k pods). Only where glibc provides it.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

import httpx
import msgspec

from .auth import Authenticator
from .client import KubeClient
from .informer import Informer, Timing, next_version
from .kubeconfig import KubeConfig
from .models import (Event, EventList, Namespace, NamespaceList, Node, NodeDetail, NodeList, Pod, PodDetail,
                     PodDetailList, PodList)
from .session_api import Kind
from .store import Connection, ConnState, Snapshot

_SEVERITY = {ConnState.LIVE: 0, ConnState.CONNECTING: 1, ConnState.RECONNECTING: 2, ConnState.STALE: 3,
             ConnState.ERROR: 4}


def event_time_key(ev: Event) -> str:
    """When an event last happened, as a sortable "YYYY-MM-DDTHH:MM:SS" string ("" if unknown)."""
    t = (ev.series.lastObservedTime if ev.series else None) or ev.lastTimestamp or ev.eventTime \
        or ev.metadata.creationTimestamp or ""
    return t[:19]


@dataclass(frozen=True)
class _KindSpec:
    resource: str
    list_type: type
    item_type: type
    scoped: bool  # follows the session's namespace
    initial_rv: str


_KINDS: dict[str, _KindSpec] = {
    "nodes": _KindSpec("nodes", NodeList, Node, False, "0"),
    "namespaces": _KindSpec("namespaces", NamespaceList, Namespace, False, "0"),
    "pods": _KindSpec("pods", PodList, Pod, True, ""),  # paged consistent read: flat memory on big clusters
    "events": _KindSpec("events", EventList, Event, True, ""),
}


def _malloc_trim() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: fn(0) and None


release_heap = _malloc_trim()  # None where unavailable
TRIM_AGAIN_AFTER = 2.0  # seconds after the first sync: the UI has built its rows by then


class _VersionInfo(msgspec.Struct):
    gitVersion: str = ""


class ClusterSession:
    """Implements SessionAPI. Construct before the UI starts: a bad context or certificate raises
    KubeconfigError here. Call `stop()` when done (also after a failed `start()`)."""

    def __init__(self, kubeconfig: KubeConfig, context: str | None = None, namespace: str | None = None, *,
                 timing: Timing = Timing(), events_limit: int = 5000, freeze_gc_after: int | None = 2000,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Callable[[], float] = time.time,
                 health_interval: float = 1.0) -> None:
        resolved = kubeconfig.resolve(context)
        self.context: str = resolved.context.name
        self.server: str = resolved.cluster.server
        self.namespace: str | None = namespace
        self.server_version = ""  # gitVersion from GET /version, e.g. "v1.31.2-eks-..."
        self.auth = Authenticator(resolved.user, resolved.cluster, clock=clock)
        self.client = KubeClient(resolved.cluster, self.auth, transport=transport)
        self._timing, self._events_limit, self._clock = timing, events_limit, clock
        self._freeze_gc_after, self._frozen = freeze_gc_after, False
        self._trim_at: float | None = None
        self._health_interval = health_interval
        self._informers: dict[str, Informer[Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._monitor: asyncio.Task[None] | None = None
        self._created = clock()
        self._own_version = next_version()
        self._last_conn: Connection | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        info = await self.client.get("/version", _VersionInfo)
        self.server_version = info.gitVersion
        for kind in _KINDS:
            self._start_kind(kind)
        self._monitor = asyncio.create_task(self._watch_health(), name="ecotui-session-health")
        self._own_version = next_version()

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *([self._monitor] if self._monitor else [])]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._monitor = None
        await self.client.aclose()

    def _start_kind(self, kind: str) -> None:
        spec = _KINDS[kind]
        ns = self.namespace if spec.scoped else None
        path = f"/api/v1/namespaces/{quote(ns, safe='')}/{spec.resource}" if ns else f"/api/v1/{spec.resource}"
        inf: Informer[Any] = Informer(
            self.client, kind, path, spec.list_type, spec.item_type, namespaced=spec.scoped,
            initial_rv=spec.initial_rv, timing=self._timing, clock=self._clock,
            max_items=self._events_limit if kind == "events" else None,
            order_key=event_time_key if kind == "events" else None)
        self._informers[kind] = inf
        self._tasks[kind] = asyncio.create_task(inf.run(), name=f"ecotui-informer-{kind}")

    async def _stop_kind(self, kind: str) -> None:
        task = self._tasks.pop(kind, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _watch_health(self) -> None:
        """Once a second: notice time-based changes (RECONNECTING -> STALE) and freeze the GC after the
        first big sync."""
        while True:
            conn = self.connection
            if conn != self._last_conn:
                self._last_conn = conn
                self._own_version = next_version()
            if not self._frozen and self._freeze_gc_after is not None and self._informers \
                    and all(i.synced for i in self._informers.values()):
                self._frozen = True
                if sum(len(i) for i in self._informers.values()) >= self._freeze_gc_after:
                    gc.collect()
                    gc.freeze()
                    if release_heap is not None:
                        release_heap()
                        self._trim_at = time.monotonic() + TRIM_AGAIN_AFTER
            if self._trim_at is not None and time.monotonic() >= self._trim_at and release_heap is not None:
                self._trim_at = None
                release_heap()
            await asyncio.sleep(self._health_interval)

    # ---- SessionAPI ---------------------------------------------------------------------------

    def snapshot(self, kind: Kind) -> Snapshot[Any]:
        inf = self._informers.get(kind)
        return inf.snapshot() if inf is not None else Snapshot(kind)

    @property
    def informers(self) -> dict[str, Informer[Any]]:
        return dict(self._informers)

    @property
    def connection(self) -> Connection:
        conns = [i.connection for i in self._informers.values()]
        if not conns:
            return Connection(ConnState.CONNECTING, self._created)
        worst = max(_SEVERITY[c.state] for c in conns)
        same = [c for c in conns if _SEVERITY[c.state] == worst]
        return Connection(same[0].state, min(c.since for c in same), next((c.message for c in same if c.message), ""))

    @property
    def version(self) -> int:
        return max([self._own_version, *(i.version for i in self._informers.values())])

    async def set_namespace(self, namespace: str | None) -> None:
        if namespace == self.namespace:
            return
        self.namespace = namespace
        if self._tasks:  # started: restart the namespace-scoped informers
            for kind, spec in _KINDS.items():
                if spec.scoped:
                    await self._stop_kind(kind)
                    self._start_kind(kind)
        self._own_version = next_version()

    async def pod_events(self, namespace: str, name: str) -> list[Event]:
        """Events about this pod, newest first (a fresh GET, not the cache)."""
        selector = f"involvedObject.kind=Pod,involvedObject.namespace={namespace},involvedObject.name={name}"
        items, _ = await self.client.list(f"/api/v1/namespaces/{quote(namespace, safe='')}/events", EventList,
                                          params={"fieldSelector": selector})
        return sorted(items, key=event_time_key, reverse=True)

    # ---- describe: fresh, full objects (the caches keep only what the tables show) -------------

    async def get_pod(self, namespace: str, name: str) -> PodDetail:
        """GET one pod with everything `describe` shows."""
        return await self.client.get(f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}",
                                     PodDetail)

    async def get_node(self, name: str) -> NodeDetail:
        """GET one node with everything `describe` shows."""
        return await self.client.get(f"/api/v1/nodes/{quote(name, safe='')}", NodeDetail)

    async def node_pods(self, name: str) -> list[PodDetail]:
        """The pods scheduled on a node, in all namespaces (LIST with fieldSelector spec.nodeName)."""
        items, _ = await self.client.list("/api/v1/pods", PodDetailList,
                                          params={"fieldSelector": f"spec.nodeName={name}"})
        return items

    async def node_events(self, name: str) -> list[Event]:
        """Events about a node (all namespaces), newest first."""
        selector = f"involvedObject.kind=Node,involvedObject.name={name}"
        items, _ = await self.client.list("/api/v1/events", EventList, params={"fieldSelector": selector})
        return sorted(items, key=event_time_key, reverse=True)
