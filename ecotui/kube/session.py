"""A live connection to one cluster: the real implementation of `ecotui.kube.session_api.SessionAPI`.

`start()` checks the API server with GET /version (raising the mapped EcotuiError), then runs one informer
per kind of the cockpit (nodes and namespaces cluster-wide, pods and events in `namespace` or all). Every
other kind of the registry (`ecotui.kinds`) gets its informer when a view first asks for its snapshot, and
loses it when nothing has asked for `idle_stop` seconds. Watch paths come from the registry (any API group).
Every request goes through the client, whose write gate refuses writes while the profile is read-only.

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
from typing import Any, Callable

import httpx
import msgspec

from ecotui.kinds.registry import by_id
from ecotui.kinds.spec import KindSpec
from .auth import Authenticator
from .client import KubeClient
from .informer import Informer, Timing, next_version
from .kubeconfig import KubeConfig
from .models import Event, EventList, NodeDetail, PodDetail, PodDetailList
from .render import event_time_key
from .store import Connection, ConnState, Snapshot
from .writegate import WriteGate

# worst state wins; an informer still making its first request (events, started after the pods) does not turn
# a live header into "connecting"
_SEVERITY = {ConnState.CONNECTING: -1, ConnState.LIVE: 0, ConnState.RECONNECTING: 2, ConnState.STALE: 3,
             ConnState.ERROR: 4}
CORE_KINDS = ("nodes", "namespaces", "pods", "events")  # the cockpit's: started by start(), never stopped
AFTER_PODS = ("events",)  # started once the first pod list is complete (or PODS_FIRST_WAIT has passed): on a
PODS_FIRST_WAIT = 5.0     # big cluster the events LIST competes with the pods LIST for the API server, and
AFTER_PODS_DELAY = 0.3    # for this event loop: the UI draws the complete pods table first
GC_PAUSE_MAX = 30.0  # the cyclic GC is paused during the first sync, at most this long
IDLE_STOP = 120.0  # seconds without a snapshot() call before an on-demand informer is stopped


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
                 gate: WriteGate | None = None, timing: Timing = Timing(), events_limit: int = 5000,
                 freeze_gc_after: int | None = 2000, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time, health_interval: float = 1.0,
                 idle_stop: float = IDLE_STOP, monotonic: Callable[[], float] = time.monotonic) -> None:
        resolved = kubeconfig.resolve(context)
        self.context: str = resolved.context.name
        self.server: str = resolved.cluster.server
        self.namespace: str | None = namespace
        self.server_version = ""  # gitVersion from GET /version, e.g. "v1.31.2-eks-..."
        self.gate = gate if gate is not None else WriteGate(self.context)
        self.auth = Authenticator(resolved.user, resolved.cluster, clock=clock)
        self.client = KubeClient(resolved.cluster, self.auth, transport=transport, gate=self.gate)
        self._timing, self._events_limit, self._clock = timing, events_limit, clock
        self._freeze_gc_after, self._frozen = freeze_gc_after, False
        self._trim_at: float | None = None
        self._health_interval = health_interval
        self._idle_stop, self._monotonic = idle_stop, monotonic
        self._informers: dict[str, Informer[Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._needed: dict[str, float] = {}  # on-demand kind -> when a snapshot of it was last asked for
        self._helpers: list[asyncio.Task[None]] = []  # health monitor, deferred start
        self._started = False
        self._created = clock()
        self._own_version = next_version()
        self._last_conn: Connection | None = None
        self._gc_paused_at: float | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        info: _VersionInfo = await self.client.get("/version", _VersionInfo)
        self.server_version = info.gitVersion
        self._started = True
        if self._freeze_gc_after is not None and gc.isenabled():
            gc.disable()  # no cyclic GC passes over the growing caches during the first LIST (~0.1-0.2 s at
            self._gc_paused_at = self._monotonic()  # 13k pods); the freeze after it turns it on again
        for kind in CORE_KINDS:
            if kind not in AFTER_PODS:
                self._start_kind(kind)
        self._helpers = [asyncio.create_task(self._start_after_pods(), name="ecotui-session-after-pods"),
                         asyncio.create_task(self._watch_health(), name="ecotui-session-health")]
        self._own_version = next_version()

    async def stop(self) -> None:
        self._started = False
        if self._gc_paused_at is not None:
            self._gc_paused_at = None
            gc.enable()
        tasks = [*self._tasks.values(), *self._helpers]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._helpers = []
        await self.client.aclose()

    def _start_kind(self, kind: str) -> None:
        spec = by_id(kind)
        inf: Informer[Any] = Informer(
            self.client, kind, spec.path(self.namespace), spec.list_type, spec.item_type,
            namespaced=spec.namespaced, initial_rv=spec.initial_rv, timing=self._timing, clock=self._clock,
            max_items=self._events_limit if spec.max_items else None, order_key=spec.order_key,
            convert=spec.convert)
        self._informers[kind] = inf
        self._tasks[kind] = asyncio.create_task(inf.run(), name=f"ecotui-informer-{kind}")

    async def _start_after_pods(self) -> None:
        """Start AFTER_PODS once the pods are listed: the pods table first, the events pane right after."""
        pods = self._informers["pods"]
        deadline = self._monotonic() + PODS_FIRST_WAIT
        while not pods.synced and pods.connection.state is not ConnState.ERROR and self._monotonic() < deadline:
            await asyncio.sleep(0.05)
        if pods.synced:
            await asyncio.sleep(AFTER_PODS_DELAY)
        for kind in AFTER_PODS:
            if kind not in self._tasks:
                self._start_kind(kind)

    async def _stop_kind(self, kind: str, forget: bool = False) -> None:
        task = self._tasks.pop(kind, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if forget:
            self._informers.pop(kind, None)
            self._needed.pop(kind, None)
            self._own_version = next_version()

    async def _watch_health(self) -> None:
        """Once a second: notice time-based changes (RECONNECTING -> STALE), stop informers nothing needs,
        and freeze the GC after the first big sync."""
        while True:
            conn = self.connection
            if conn != self._last_conn:
                self._last_conn = conn
                self._own_version = next_version()
            now = self._monotonic()
            for kind, last in list(self._needed.items()):
                if now - last > self._idle_stop:
                    await self._stop_kind(kind, forget=True)
            if not self._frozen and self._freeze_gc_after is not None and self._informers \
                    and all(self._informers[k].synced for k in CORE_KINDS if k in self._informers):
                self._frozen = True
                if sum(len(i) for i in self._informers.values()) >= self._freeze_gc_after:
                    gc.collect()
                    gc.freeze()
                    if release_heap is not None:
                        release_heap()
                        self._trim_at = time.monotonic() + TRIM_AGAIN_AFTER
            if self._gc_paused_at is not None and (self._frozen or now - self._gc_paused_at > GC_PAUSE_MAX):
                self._gc_paused_at = None
                gc.enable()
            if self._trim_at is not None and time.monotonic() >= self._trim_at and release_heap is not None:
                self._trim_at = None
                release_heap()
            await asyncio.sleep(self._health_interval)

    # ---- SessionAPI ---------------------------------------------------------------------------

    def snapshot(self, kind: str) -> Snapshot[Any]:
        """The latest snapshot of a kind of the registry; the first call for a kind starts its informer."""
        inf = self._informers.get(kind)
        if kind not in CORE_KINDS:
            if inf is None and self._started:
                by_id(kind)  # KeyError for a kind the registry does not know
                self._start_kind(kind)
                inf = self._informers[kind]
            self._needed[kind] = self._monotonic()
        return inf.snapshot() if inf is not None else Snapshot(kind)

    def kind_connection(self, kind: str) -> Connection:
        """The connection state of one kind's informer (a view shows it: e.g. 403 on secrets)."""
        inf = self._informers.get(kind)
        return inf.connection if inf is not None else Connection(ConnState.CONNECTING, self._created)

    @property
    def running_kinds(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    @property
    def informers(self) -> dict[str, Informer[Any]]:
        return dict(self._informers)

    @property
    def connection(self) -> Connection:
        """The cockpit's kinds, worst state wins (a view's own kind is shown by `kind_connection`)."""
        conns = [i.connection for k, i in self._informers.items() if k in CORE_KINDS]
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
        for kind in list(self._tasks):  # restart the namespace-scoped informers
            if by_id(kind).namespaced:
                await self._stop_kind(kind)
                self._start_kind(kind)
        self._own_version = next_version()

    async def relist(self) -> None:
        """Drop every cache and LIST + WATCH again from scratch (the `refresh` action)."""
        for kind in list(self._tasks):
            await self._stop_kind(kind)
            self._start_kind(kind)
        self._own_version = next_version()

    # ---- fresh reads for describe (the caches keep only what the tables show) ------------------

    async def get_object(self, spec: KindSpec, namespace: str | None, name: str) -> Any:
        """GET one object, decoded as the kind's `detail_type` (plain dicts unless the kind says otherwise)."""
        return await self.client.get(spec.object_path(namespace, name), spec.detail_type)

    async def object_events(self, kind: str, namespace: str | None, name: str) -> list[Event]:
        """Events whose involvedObject is this object, newest first (a fresh LIST, not the cache)."""
        sel = f"involvedObject.kind={kind}" + (f",involvedObject.namespace={namespace}" if namespace else "") \
            + f",involvedObject.name={name}"
        items, _ = await self.client.list(by_id("events").path(namespace), EventList,
                                          params={"fieldSelector": sel})
        return sorted(items, key=event_time_key, reverse=True)

    async def pod_events(self, namespace: str, name: str) -> list[Event]:
        """Events about this pod, newest first."""
        return await self.object_events("Pod", namespace, name)

    async def get_pod(self, namespace: str, name: str) -> PodDetail:
        """GET one pod with everything `describe` shows."""
        return await self.client.get(by_id("pods").object_path(namespace, name), PodDetail)

    async def get_node(self, name: str) -> NodeDetail:
        """GET one node with everything `describe` shows."""
        return await self.client.get(by_id("nodes").object_path(None, name), NodeDetail)

    async def node_pods(self, name: str) -> list[PodDetail]:
        """The pods scheduled on a node, in all namespaces (LIST with fieldSelector spec.nodeName)."""
        items, _ = await self.client.list("/api/v1/pods", PodDetailList,
                                          params={"fieldSelector": f"spec.nodeName={name}"})
        return items

    async def node_events(self, name: str) -> list[Event]:
        """Events about a node (all namespaces), newest first."""
        return await self.object_events("Node", None, name)
