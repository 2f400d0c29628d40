"""Top as pure computation (no I/O, no textual): usage against allocatable, requests and limits.

Node rows: CPU and memory usage against allocatable (`kubectl top nodes`: CPU% = usage / allocatable, both
truncated to whole percents), the requests and limits of the node's non-terminated pods summed as
`kubectl describe node` "Allocated resources" does (`alloc.pod_requests_limits`), and the pod count against
the node's allocatable pods. Pod rows: every pod the usage source reports (`kubectl top pods -A`), its usage
against its requests and limits, per container too; sorted by cpu or memory, highest first (ties by
namespace/name). Formatting follows kubectl: CPU in millicores (rounded up), memory in Mi (rounded down).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ecotui.metrics.alloc import NodeAlloc, PodAlloc
from ecotui.metrics.usage import PodUsage, UsageSnapshot

SORTS = ("cpu", "memory")


@dataclass(frozen=True)
class NodeRow:
    name: str
    cpu: float | None                  # usage, cores
    memory: float | None               # usage, bytes
    cpu_alloc: float | None            # allocatable
    mem_alloc: float | None
    req_cpu: float = 0.0
    req_mem: float = 0.0
    lim_cpu: float = 0.0
    lim_mem: float = 0.0
    pods: int = 0                      # non-terminated pods on the node
    pod_capacity: int | None = None

    @property
    def cpu_pct(self) -> int | None:
        return cpu_pct(self.cpu, self.cpu_alloc)

    @property
    def mem_pct(self) -> int | None:
        return pct(self.memory, self.mem_alloc)


@dataclass(frozen=True)
class ContainerRow:
    name: str
    cpu: float | None
    memory: float | None
    req_cpu: float | None = None
    req_mem: float | None = None
    lim_cpu: float | None = None
    lim_mem: float | None = None


@dataclass(frozen=True, slots=True)
class PodRow:
    namespace: str
    name: str
    node: str
    cpu: float | None
    memory: float | None
    req_cpu: float | None = None       # None: no request for that resource (or the pod spec is unknown)
    req_mem: float | None = None
    lim_cpu: float | None = None
    lim_mem: float | None = None
    usage: PodUsage | None = None      # for the per-container breakdown (`containers()`), made on demand
    alloc: PodAlloc | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def containers(self) -> tuple[ContainerRow, ...]:
        """Per container: its usage against its own requests and limits (only for the pod shown in detail)."""
        if self.usage is None:
            return ()
        by_name = {c.name: c for c in self.alloc.containers} if self.alloc is not None else {}
        out = []
        for c in self.usage.containers:
            s = by_name.get(c.name)
            out.append(ContainerRow(c.name, c.cpu, c.memory, s.req_cpu if s else None, s.req_mem if s else None,
                                    s.lim_cpu if s else None, s.lim_mem if s else None))
        return tuple(out)


def pct(value: float | None, of: float | None, scale: float = 1.0) -> int | None:
    """Whole percent, truncated like kubectl (`int64(float)`) of both sides in whole units rounded up (kubectl
    divides `MilliValue()`s for CPU: scale 1000, `Value()`s — bytes — for memory); None when unknown or 0."""
    if value is None or of is None or math.isnan(value) or math.isnan(of):
        return None
    a, b = math.ceil(round(value * scale, 6)), math.ceil(round(of * scale, 6))
    return int(a / b * 100) if b else None


def cpu_pct(value: float | None, of: float | None) -> int | None:
    return pct(value, of, 1000.0)


def fmt_cpu(cores: float | None) -> str:
    """kubectl top's CPU: millicores rounded up ("227m"); "—" when unknown."""
    if cores is None or math.isnan(cores):
        return "—"
    return f"{math.ceil(round(cores * 1000, 6))}m"


def fmt_mem(b: float | None) -> str:
    """kubectl top's memory: whole Mi rounded down ("1037Mi"); Gi above 10 Gi for width."""
    if b is None or math.isnan(b):
        return "—"
    mi = int(b // 2**20)
    return f"{mi}Mi" if mi < 10 * 1024 else f"{b / 2**30:.1f}Gi"


def fmt_pct(p: int | None) -> str:
    return "—" if p is None else f"{p}%"


def bar(p: int | None, width: int) -> str:
    """A text bar of `width` cells for a percentage (capped at 100 %)."""
    if width <= 0:
        return ""
    if p is None:
        return "·" * width
    filled = min(width, max(0, round(min(p, 100) / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def node_rows(usage: UsageSnapshot, nodes: Mapping[str, NodeAlloc], pods: Mapping[str, PodAlloc]) -> list[NodeRow]:
    """One row per node known to either side (usage or the node list), by name."""
    req: dict[str, list[float]] = {}
    count: dict[str, int] = {}
    for p in pods.values():
        if not p.node or p.terminated:
            continue
        acc = req.setdefault(p.node, [0.0, 0.0, 0.0, 0.0])
        acc[0] += p.req_cpu
        acc[1] += p.req_mem
        acc[2] += p.lim_cpu
        acc[3] += p.lim_mem
        count[p.node] = count.get(p.node, 0) + 1
    rows = []
    for name in sorted(set(usage.nodes) | set(nodes)):
        u = usage.nodes.get(name)
        a = nodes.get(name)
        r = req.get(name, [0.0, 0.0, 0.0, 0.0])
        rows.append(NodeRow(name, u.cpu if u else None, u.memory if u else None,
                            a.cpu if a else None, a.memory if a else None, r[0], r[1], r[2], r[3],
                            count.get(name, 0), a.pods if a else None))
    return rows


def pod_row(u: PodUsage, a: PodAlloc | None) -> PodRow:
    if a is None:
        return PodRow(u.namespace, u.name, "", u.cpu, u.memory, usage=u)
    hr, hl = a.has_req, a.has_lim
    return PodRow(u.namespace, u.name, a.node, u.cpu, u.memory, a.req_cpu if hr[0] else None,
                  a.req_mem if hr[1] else None, a.lim_cpu if hl[0] else None, a.lim_mem if hl[1] else None, u, a)


def sort_key(row: PodRow, by: str) -> tuple[float, str]:
    """Highest first, unknown last, then namespace/name (what `kubectl top pods --sort-by` shows)."""
    v = row.cpu if by == "cpu" else row.memory
    return (-(v if v is not None and not math.isnan(v) else -1.0), row.key)


def pod_rows(usage: UsageSnapshot, pods: Mapping[str, PodAlloc], by: str = "cpu") -> list[PodRow]:
    rows = [pod_row(u, pods.get(k)) for k, u in usage.pods.items()]
    rows.sort(key=lambda r: sort_key(r, by))
    return rows


def allocated(pods: Mapping[str, PodAlloc], node: str) -> tuple[float, float, float, float]:
    """(cpu requests, memory requests, cpu limits, memory limits) of the node's non-terminated pods."""
    out = [0.0, 0.0, 0.0, 0.0]
    for p in pods.values():
        if p.node == node and not p.terminated:
            out[0] += p.req_cpu
            out[1] += p.req_mem
            out[2] += p.lim_cpu
            out[3] += p.lim_mem
    return out[0], out[1], out[2], out[3]
