"""Requests, limits and allocatable: what top compares usage against (data side, no textual).

The cockpit's cached pods and nodes are slim (no resources, no allocatable: `kube/models.py`), so top keeps
its own two informers while something visible needs them: every pod (all namespaces) reduced at decode time
to a compact `PodAlloc` (its requests and limits already summed, per container too), every node to a
`NodeAlloc` (allocatable, else capacity, as `kubectl describe node` does). LIST once + WATCH: O(changes).

A pod's requests and limits follow kubectl's resource helpers (`k8s.io/component-helpers/resource`
`PodRequests`/`PodLimits` as `kubectl describe node` calls them): the sum of the app containers; restartable
(sidecar, restartPolicy Always) init containers are added to that sum; a plain init container counts as
itself plus the sidecars declared before it, and the pod takes the max of that and the sum; pod-level
`spec.resources` (cpu, memory, hugepages-*) replace the aggregate where set; `spec.overhead` is added to
requests, and to limits only where a non-zero limit exists. (In-place resize status resources are not read.)
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec

from ecotui.kube.describe import parse_quantity
from ecotui.kube.models import ListMeta
from ecotui.kube.store import Connection, ConnState, Snapshot

_S = dict(frozen=True, gc=False, omit_defaults=True)
RESOURCES = ("cpu", "memory")


class _Meta(msgspec.Struct, **_S):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""


class _Res(msgspec.Struct, **_S):
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}


class _Ctr(msgspec.Struct, **_S):
    name: str = ""
    restartPolicy: str = ""
    resources: _Res = _Res()


class _PodSpec(msgspec.Struct, **_S):
    nodeName: str = ""
    containers: tuple[_Ctr, ...] = ()
    initContainers: tuple[_Ctr, ...] = ()
    resources: _Res | None = None
    overhead: dict[str, str] = {}


class _PodStatus(msgspec.Struct, **_S):
    phase: str = ""


class WirePod(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    spec: _PodSpec = _PodSpec()
    status: _PodStatus = _PodStatus()


class WirePodList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[WirePod] = []


class _NodeStatus(msgspec.Struct, **_S):
    capacity: dict[str, str] = {}
    allocatable: dict[str, str] = {}


class WireNode(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    status: _NodeStatus = _NodeStatus()


class WireNodeList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[WireNode] = []


# ---- what is cached ---------------------------------------------------------------------------

class ContainerAlloc(msgspec.Struct, **_S):
    name: str
    req_cpu: float | None = None      # cores; None = not set
    req_mem: float | None = None      # bytes
    lim_cpu: float | None = None
    lim_mem: float | None = None


class PodAlloc(msgspec.Struct, **_S):
    metadata: _Meta
    node: str = ""
    phase: str = ""
    req_cpu: float = 0.0
    req_mem: float = 0.0
    lim_cpu: float = 0.0
    lim_mem: float = 0.0
    has_req: tuple[bool, bool] = (False, False)   # (cpu, memory) requested at all
    has_lim: tuple[bool, bool] = (False, False)
    containers: tuple[ContainerAlloc, ...] = ()

    @property
    def terminated(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


class NodeAlloc(msgspec.Struct, **_S):
    metadata: _Meta
    cpu: float | None = None          # allocatable cores (capacity when allocatable is empty)
    memory: float | None = None       # allocatable bytes
    pods: int | None = None           # allocatable pods


def _qty(raw: Mapping[str, str], name: str) -> float | None:
    v = raw.get(name)
    return parse_quantity(v) if v is not None else None


def _add(acc: dict[str, float], res: Mapping[str, str]) -> None:
    for k, v in res.items():
        n = parse_quantity(v)
        if n is not None:
            acc[k] = acc.get(k, 0.0) + n


def _max_into(acc: dict[str, float], other: Mapping[str, float]) -> None:
    for k, v in other.items():
        if v > acc.get(k, float("-inf")):
            acc[k] = v


def _supported_pod_level(name: str) -> bool:
    return name in ("cpu", "memory") or name.startswith("hugepages-")


def aggregate(spec: Any, attr: str) -> dict[str, float]:
    """`AggregateContainerRequests`/`Limits` of component-helpers (attr: "requests" | "limits")."""
    total: dict[str, float] = {}
    for c in spec.containers:
        _add(total, getattr(c.resources, attr))
    sidecars: dict[str, float] = {}
    init_max: dict[str, float] = {}
    for c in spec.initContainers:
        own = getattr(c.resources, attr)
        if c.restartPolicy == "Always":
            _add(total, own)
            _add(sidecars, own)
            this = dict(sidecars)
        else:
            this = {}
            _add(this, own)
            for k, v in sidecars.items():
                this[k] = this.get(k, 0.0) + v
        _max_into(init_max, this)
    _max_into(total, init_max)
    return total


def pod_requests_limits(spec: Any) -> tuple[dict[str, float], dict[str, float]]:
    """(requests, limits) of a pod spec, as `kubectl describe node` computes them."""
    reqs = aggregate(spec, "requests")
    lims = aggregate(spec, "limits")
    pr = spec.resources
    if pr is not None:
        if any(_supported_pod_level(k) for k in pr.requests):
            for k, v in pr.requests.items():
                n = parse_quantity(v)
                if _supported_pod_level(k) and n is not None:
                    reqs[k] = n
        if any(_supported_pod_level(k) for k in (*pr.requests, *pr.limits)):
            for k, v in pr.limits.items():
                n = parse_quantity(v)
                if _supported_pod_level(k) and n is not None:
                    lims[k] = n
    for k, v in spec.overhead.items():
        n = parse_quantity(v)
        if n is None:
            continue
        reqs[k] = reqs.get(k, 0.0) + n
        if lims.get(k):
            lims[k] += n
    return reqs, lims


def to_pod_alloc(p: WirePod) -> PodAlloc:
    reqs, lims = pod_requests_limits(p.spec)
    ctrs = tuple(ContainerAlloc(c.name, _qty(c.resources.requests, "cpu"), _qty(c.resources.requests, "memory"),
                                _qty(c.resources.limits, "cpu"), _qty(c.resources.limits, "memory"))
                 for c in p.spec.containers)
    return PodAlloc(p.metadata, p.spec.nodeName, p.status.phase,
                    reqs.get("cpu", 0.0), reqs.get("memory", 0.0), lims.get("cpu", 0.0), lims.get("memory", 0.0),
                    ("cpu" in reqs, "memory" in reqs), ("cpu" in lims, "memory" in lims), ctrs)


def to_node_alloc(n: WireNode) -> NodeAlloc:
    src = n.status.allocatable or n.status.capacity
    pods = _qty(src, "pods")
    return NodeAlloc(n.metadata, _qty(src, "cpu"), _qty(src, "memory"), int(pods) if pods is not None else None)


class AllocSource:
    """The two informers (pods cluster-wide, nodes), started by `start()` and cancelled by `stop()`.
    `client` is the session's KubeClient; None (a fake session) gives empty, never-synced snapshots."""

    def __init__(self, client: Any | None) -> None:
        self.client = client
        self._informers: dict[str, Any] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if self._tasks or self.client is None:
            return
        from ecotui.kube.informer import Informer
        self._informers = {
            "pods": Informer(self.client, "top-pods", "/api/v1/pods", WirePodList, WirePod, namespaced=True,
                             initial_rv="", convert=to_pod_alloc),
            "nodes": Informer(self.client, "top-nodes", "/api/v1/nodes", WireNodeList, WireNode, namespaced=False,
                              initial_rv="0", convert=to_node_alloc),
        }
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(inf.run(), name=f"ecotui-{inf.kind}") for inf in self._informers.values()]

    def cancel(self) -> list[asyncio.Task[None]]:
        """Stop the informers now (synchronously: a `start()` right after starts afresh); returns their tasks."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        self._informers = {}
        return tasks

    async def stop(self) -> None:
        tasks = self.cancel()
        for t in tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    def pods(self) -> Snapshot[PodAlloc]:
        inf = self._informers.get("pods")
        return inf.snapshot() if inf is not None else Snapshot("top-pods")

    def nodes(self) -> Snapshot[NodeAlloc]:
        inf = self._informers.get("nodes")
        return inf.snapshot() if inf is not None else Snapshot("top-nodes")

    def connection(self) -> Connection:
        """The worse of the two informers' states (a 403 on a cluster-wide pod list shows here)."""
        conns = [inf.connection for inf in self._informers.values()]
        for c in conns:
            if c.state is ConnState.ERROR:
                return c
        return conns[0] if conns else Connection(ConnState.CONNECTING, 0.0, "")
