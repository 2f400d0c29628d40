"""CPU and memory usage of nodes, pods and containers: metrics.k8s.io, else Prometheus (data side, no textual).

`read_metrics_api(client)` GETs `/apis/metrics.k8s.io/v1beta1/nodes` and `/pods` (what `kubectl top` reads)
through the workspace's KubeClient. When that API is not there (no metrics-server: 404, 503 from the
aggregator, forbidden …) `read_prometheus(prom)` asks the context's Prometheus for the kubelet's resource
metrics instead: `rate(container_cpu_usage_seconds_total[…])` and `container_memory_working_set_bytes`
by namespace/pod/container, and `node_cpu_usage_seconds_total` / `node_memory_working_set_bytes` by node
(summed from the containers when the node series are missing).

`UsageSource` polls while something visible holds it (`acquire()` / `release()`), at most once per metrics
resolution (the API's `window`, 15 s by default), never two polls at once (`Refresher`), and keeps a 30-minute
`SampleHistory` of every node's and pod's CPU and memory for the sparklines (one float32 array per sample,
recorded in a worker thread). What it hands out is an immutable `UsageSnapshot` whose `seq` moves only when new
figures arrived. Failures are readings too: `problem` ("metrics API not available: …") and `error`
(Prometheus's failure) — never zeros. A failed poll keeps the last figures, marked `stale` (with their `age`),
for up to STALE_KEEP; a first failure is retried at the normal pace, repeated ones back off. The requests/limits
informers (`AllocSource`) stop ALLOC_GRACE seconds after the last holder let go.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from types import MappingProxyType
from typing import Any

import msgspec

from ecotui.errors import EcotuiError
from ecotui.kube.describe import parse_quantity
from ecotui.metrics.alloc import AllocSource
from ecotui.metrics.history import SampleHistory
from ecotui.metrics.prom import PromClient, PromError, PromResult
from ecotui.metrics.refresh import Refresher
from ecotui.textsafe import one_line

METRICS_API = "/apis/metrics.k8s.io/v1beta1"
DEFAULT_RESOLUTION = 15.0       # metrics-server's default --metric-resolution
UNAVAILABLE_RETRY = 30.0        # neither source answered several times running: look again this often
BACKOFF_AFTER = 3               # consecutive failed polls before the retry backs off to UNAVAILABLE_RETRY
STALE_KEEP = 600.0              # the last figures stay (marked stale) this long after polls start failing
ALLOC_GRACE = 120.0             # requests/limits informers kept this long after the last holder let go
PROM_RATE_WINDOW = "1m"

_S = dict(frozen=True, gc=False, omit_defaults=True)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


# ---- wire structs (metrics.k8s.io/v1beta1) -------------------------------------------------------

class _Meta(msgspec.Struct, **_S):
    name: str = ""
    namespace: str = ""


class _CtrMetrics(msgspec.Struct, **_S):
    name: str = ""
    usage: dict[str, str] = {}


class _NodeMetrics(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    timestamp: str = ""
    window: str = ""
    usage: dict[str, str] = {}


class _PodMetrics(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    timestamp: str = ""
    window: str = ""
    containers: tuple[_CtrMetrics, ...] = ()


class _NodeMetricsList(msgspec.Struct, **_S):
    items: list[_NodeMetrics] = []


class _PodMetricsList(msgspec.Struct, **_S):
    items: list[_PodMetrics] = []


# ---- what crosses to the UI ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu: float | None          # cores
    memory: float | None       # bytes


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    cpu: float | None
    memory: float | None
    containers: tuple[ContainerUsage, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class NodeUsage:
    name: str
    cpu: float | None
    memory: float | None


@dataclass(frozen=True)
class Figures:
    """One read of one source."""

    source: str                                   # "metrics-server" | "prometheus"
    nodes: Mapping[str, NodeUsage]
    pods: Mapping[str, PodUsage]                   # "namespace/name" -> usage
    at: float                                     # unix seconds of the sample (newest timestamp)
    window: float                                 # seconds the figures average over


@dataclass(frozen=True)
class UsageSnapshot:
    source: str = ""                              # "" while nothing was read
    nodes: Mapping[str, NodeUsage] = field(default_factory=lambda: _EMPTY)
    pods: Mapping[str, PodUsage] = field(default_factory=lambda: _EMPTY)
    at: float = 0.0
    window: float = 0.0
    seq: int = 0                                  # moves whenever figures (or the problem lines) change
    problem: str = ""                             # "metrics API not available: …"
    note: str = ""                                # "using Prometheus"
    error: str = ""                               # the fallback failed too / no fallback configured
    polled: float = 0.0                           # unix seconds of the last poll
    stale: bool = False                           # the figures are the last good ones: the latest poll failed

    @property
    def loading(self) -> bool:
        return not self.polled

    @property
    def has_figures(self) -> bool:
        return bool(self.source)

    @property
    def age(self) -> float:
        """Seconds between the sample and the last poll (how old stale figures are)."""
        return max(0.0, self.polled - self.at) if self.source else 0.0


def parse_time(ts: str, _cache: dict[str, float] = {}) -> float:  # noqa: B006 - a deliberate memo
    """RFC 3339 -> unix seconds (0 if bad). metrics-server stamps most items alike: memoised (bounded)."""
    v = _cache.get(ts)
    if v is None:
        try:
            v = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            v = 0.0
        if len(_cache) > 4096:
            _cache.clear()
        _cache[ts] = v
    return v


def parse_duration(s: str) -> float:
    """A Go duration as metrics.k8s.io writes `window` ("14.987s", "1m0s", "500ms") -> seconds (0 if bad)."""
    total, num = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    i = 0
    try:
        while i < len(s):
            ch = s[i]
            if ch.isdigit() or ch == ".":
                num += ch
                i += 1
                continue
            unit = s[i:i + 2] if s[i:i + 2] in units else ch
            total += float(num) * units[unit]
            num, i = "", i + len(unit)
    except (KeyError, ValueError):
        return 0.0
    return total if not num else 0.0


def _q(raw: Mapping[str, str], name: str) -> float | None:
    v = raw.get(name)
    return parse_quantity(v) if v is not None else None


async def read_metrics_api(client: Any) -> Figures:
    """Both lists of metrics.k8s.io at once. Raises EcotuiError (the client's one-line errors). The bodies are
    fetched raw and decoded in a thread (10,000 pods: ~2 MB and ~0.1 s of Python, off the UI's loop)."""
    nodes_raw, pods_raw = await asyncio.gather(
        client.get(f"{METRICS_API}/nodes", msgspec.Raw), client.get(f"{METRICS_API}/pods", msgspec.Raw))
    return await asyncio.to_thread(decode_metrics, bytes(nodes_raw), bytes(pods_raw))


_decode_nodes = msgspec.json.Decoder(_NodeMetricsList).decode
_decode_pods = msgspec.json.Decoder(_PodMetricsList).decode


def decode_metrics(nodes_body: bytes, pods_body: bytes) -> Figures:
    try:
        nodes_raw, pods_raw = _decode_nodes(nodes_body), _decode_pods(pods_body)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise EcotuiError(f"metrics API: malformed response ({one_line(str(e), 120)})") from None
    at, window = 0.0, 0.0
    nodes: dict[str, NodeUsage] = {}
    for n in nodes_raw.items:
        nodes[n.metadata.name] = NodeUsage(n.metadata.name, _q(n.usage, "cpu"), _q(n.usage, "memory"))
        at = max(at, parse_time(n.timestamp))
        window = window or parse_duration(n.window)
    pods: dict[str, PodUsage] = {}
    for p in pods_raw.items:
        ctrs = tuple(ContainerUsage(c.name, _q(c.usage, "cpu"), _q(c.usage, "memory")) for c in p.containers)
        cpu = sum(c.cpu or 0.0 for c in ctrs) if any(c.cpu is not None for c in ctrs) else None
        mem = sum(c.memory or 0.0 for c in ctrs) if any(c.memory is not None for c in ctrs) else None
        pu = PodUsage(p.metadata.namespace, p.metadata.name, cpu, mem, ctrs)
        pods[pu.key] = pu
        at = max(at, parse_time(p.timestamp))
        window = window or parse_duration(p.window)
    return Figures("metrics-server", MappingProxyType(nodes), MappingProxyType(pods), at or time.time(),
                   window or DEFAULT_RESOLUTION)


# ---- Prometheus fallback ---------------------------------------------------------------------------------

_REAL = 'container!="",container!="POD"'
Q_POD_CPU = f"sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{{_REAL}}}[{PROM_RATE_WINDOW}]))"
Q_POD_MEM = f"sum by (namespace, pod, container) (container_memory_working_set_bytes{{{_REAL}}})"
Q_NODE_CPU = f"sum by (node) (rate(node_cpu_usage_seconds_total[{PROM_RATE_WINDOW}]))"
Q_NODE_MEM = "sum by (node) (node_memory_working_set_bytes)"
Q_NODE_CPU_FROM_CTR = (f"sum by (node) (rate(container_cpu_usage_seconds_total{{{_REAL},node!=\"\"}}"
                       f"[{PROM_RATE_WINDOW}]))")
Q_NODE_MEM_FROM_CTR = f"sum by (node) (container_memory_working_set_bytes{{{_REAL},node!=\"\"}})"


async def read_prometheus(prom: PromClient) -> Figures:
    """The same figures from Prometheus (kubelet /metrics/resource series). Raises PromError; a Prometheus
    without any container series is a PromError too ("no data"), never an empty, all-zero top."""
    pc, pm, nc, nm = await asyncio.gather(prom.query(Q_POD_CPU), prom.query(Q_POD_MEM),
                                          prom.query(Q_NODE_CPU), prom.query(Q_NODE_MEM))
    if not nc.samples and not nm.samples:
        nc, nm = await asyncio.gather(prom.query(Q_NODE_CPU_FROM_CTR), prom.query(Q_NODE_MEM_FROM_CTR))
    if not pc.samples and not pm.samples:
        raise PromError("query", "prometheus: no data for container_cpu_usage_seconds_total / "
                        "container_memory_working_set_bytes (is the kubelet's /metrics/resource scraped?)")
    return await asyncio.to_thread(aggregate_prometheus, pc, pm, nc, nm)


def aggregate_prometheus(pc: PromResult, pm: PromResult, nc: PromResult, nm: PromResult) -> Figures:
    """The four vectors → Figures (10,000+ samples: run in a thread, off the UI's loop)."""
    at = 0.0
    ctrs: dict[tuple[str, str], dict[str, list[float | None]]] = {}
    for which, res in ((0, pc), (1, pm)):
        for s in res.samples:
            ns, pod, ctr = s.labels.get("namespace", ""), s.labels.get("pod", ""), s.labels.get("container", "")
            if not pod:
                continue
            slot = ctrs.setdefault((ns, pod), {}).setdefault(ctr, [None, None])
            slot[which] = s.value
            at = max(at, s.ts)
    pods: dict[str, PodUsage] = {}
    for (ns, pod), by_ctr in ctrs.items():
        cs = tuple(ContainerUsage(name, v[0], v[1]) for name, v in sorted(by_ctr.items()))
        cpu = sum(c.cpu for c in cs if c.cpu is not None) if any(c.cpu is not None for c in cs) else None
        mem = sum(c.memory for c in cs if c.memory is not None) if any(c.memory is not None for c in cs) else None
        pods[f"{ns}/{pod}"] = PodUsage(ns, pod, cpu, mem, cs)
    nodes: dict[str, list[float | None]] = {}
    for which, res in ((0, nc), (1, nm)):
        for s in res.samples:
            name = s.labels.get("node", "")
            if name:
                nodes.setdefault(name, [None, None])[which] = s.value
    return Figures("prometheus", MappingProxyType({k: NodeUsage(k, v[0], v[1]) for k, v in nodes.items()}),
                   MappingProxyType(pods), at or time.time(), 60.0)


# ---- the poller ------------------------------------------------------------------------------------------

def _short(e: BaseException) -> str:
    msg = e.message if isinstance(e, EcotuiError) else (str(e) or type(e).__name__)
    return one_line(msg, 240)


class UsageSource:
    """Polls usage while held. `read_api` / `read_prom` are injectable (tests); by default the metrics API
    through `client` and the Prometheus client `prom()` returns (None: no Prometheus for this context)."""

    def __init__(self, client: Any | None, prom: Callable[[], PromClient | None] = lambda: None, *,
                 read_api: Callable[[], Any] | None = None, read_prom: Callable[[], Any] | None = None,
                 interval: float = DEFAULT_RESOLUTION, clock: Callable[[], float] = time.time,
                 alloc: AllocSource | None = None, alloc_grace: float = ALLOC_GRACE) -> None:
        self.client = client
        self._prom = prom
        self._custom_api = read_api is not None
        self._read_api = read_api or (lambda: read_metrics_api(client) if client is not None else _no_client())
        self._read_prom = read_prom
        self.interval = interval
        self.clock = clock
        self.alloc = alloc if alloc is not None else AllocSource(client)
        self.alloc_grace = alloc_grace
        self.cpu = SampleHistory()
        self.memory = SampleHistory()
        self._snap = UsageSnapshot()
        self._holders: set[int] = set()
        self._next_token = 0
        self._refresher: Refresher | None = None
        self._alloc_on_figures = False
        self._alloc_stop: asyncio.TimerHandle | None = None
        self._normal = interval          # the poll interval while figures come (the API's window)
        self.failures = 0                # consecutive failed polls
        self.polls = 0

    # ---- demand ----------------------------------------------------------------------------------------

    def acquire(self, alloc_now: bool = True) -> int:
        """Something visible needs usage: start (or resume) polling. Returns a token for `release`. The
        requests/limits informers start now (`alloc_now`, the top screen) or once usage figures exist (the
        cockpit's columns: no extra LIST of every pod on a cluster without metrics)."""
        self._next_token += 1
        self._holders.add(self._next_token)
        if self._alloc_stop is not None:
            self._alloc_stop.cancel()
            self._alloc_stop = None
        if self._refresher is None:
            self._refresher = Refresher(self.poll, self.interval)
            self._refresher.start()
        self._refresher.resume()
        if alloc_now or self._snap.has_figures:
            self.alloc.start()
        else:
            self._alloc_on_figures = True
        return self._next_token

    def release(self, token: int) -> None:
        """Let go; with no holder left polling pauses and the informers stop after `alloc_grace` seconds (a
        screen covered for a moment, or top reopened, does not LIST every pod again)."""
        self._holders.discard(token)
        if self._holders:
            return
        if self._refresher is not None:
            self._refresher.pause()
        if self._alloc_stop is None and self.alloc.running:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._alloc_stop = loop.call_later(self.alloc_grace, self._stop_alloc)

    def _stop_alloc(self) -> None:
        self._alloc_stop = None
        if not self._holders:
            self.alloc.cancel()

    def may_have_figures(self) -> bool:
        """Whether any source could answer (an API client, a test reader, or a configured Prometheus)."""
        if self.client is not None or self._custom_api or self._read_prom is not None:
            return True
        try:
            return self._prom() is not None
        except Exception:  # noqa: BLE001 - a bad credentials file: nothing to read from
            return False

    @property
    def active(self) -> bool:
        return bool(self._holders)

    def kick(self) -> None:
        if self._refresher is not None:
            self._refresher.kick()

    async def stop(self) -> None:
        ref, self._refresher = self._refresher, None
        if ref is not None:
            await ref.stop()
        if self._alloc_stop is not None:
            self._alloc_stop.cancel()
            self._alloc_stop = None
        await self.alloc.stop()

    # ---- reading ---------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> UsageSnapshot:
        return self._snap

    async def poll(self) -> None:
        """One read: the metrics API, else Prometheus. Turns every failure into the snapshot's lines."""
        self.polls += 1
        now = self.clock()
        problem = note = error = ""
        figures: Figures | None = None
        try:
            figures = await self._read_api()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure of the API is "not available", said in one line
            problem = f"metrics API not available: {_short(e)}"
        if figures is None:
            try:
                read_prom = self._read_prom
                if read_prom is None:
                    prom = self._prom()
                    if prom is not None:
                        def read_prom(p: PromClient = prom) -> Any:
                            return read_prometheus(p)
                if read_prom is None:
                    error = "no Prometheus configured for this context: no usage figures"
                else:
                    note = "using Prometheus"
                    figures = await read_prom()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - PromError (unreachable, timeout, query) or config
                error = _short(e)
        if figures is not None:
            self.failures = 0
            self._normal = (max(5.0, min(60.0, figures.window)) if figures.source == "metrics-server"
                            else self.interval)
            # 10,000 pods × 2 histories: done in a thread, like the decoding
            await asyncio.to_thread(self._record, figures)
        else:
            self.failures += 1
        if self._refresher is not None:
            # a first failure (a blip) is retried at the normal pace; only repeated ones back off
            self._refresher.interval = (self._normal if self.failures < BACKOFF_AFTER
                                        else max(self._normal, UNAVAILABLE_RETRY))
        self._publish(figures, problem, note, error, now)
        if figures is not None and self._alloc_on_figures and self._holders:
            self._alloc_on_figures = False
            self.alloc.start()

    def _record(self, f: Figures) -> None:
        nodes, pods = f.nodes.items(), f.pods.items()
        self.cpu.add_sample(f.at, chain(((("node", k), n.cpu) for k, n in nodes),
                                        ((("pod", k), p.cpu) for k, p in pods)))
        self.memory.add_sample(f.at, chain(((("node", k), n.memory) for k, n in nodes),
                                           ((("pod", k), p.memory) for k, p in pods)))

    def _publish(self, f: Figures | None, problem: str, note: str, error: str, now: float) -> None:
        old = self._snap
        if f is None:
            keep = bool(old.source) and now - old.at <= STALE_KEEP    # the last figures stay, marked stale
            changed = (old.problem, old.note, old.error, old.stale) != (problem, note, error, keep) or (
                not keep and old.source != "")
            if keep:
                self._snap = UsageSnapshot(old.source, old.nodes, old.pods, old.at, old.window,
                                           old.seq + changed, problem, note, error, now, stale=True)
            else:
                self._snap = UsageSnapshot(seq=old.seq + changed, problem=problem, note=note, error=error,
                                           polled=now)
            return
        new_sample = f.at > old.at or f.source != old.source or (old.problem, old.note, old.error, old.stale) != (
            problem, note, "", False)
        self._snap = UsageSnapshot(f.source, f.nodes, f.pods, f.at, f.window, old.seq + new_sample, problem, note,
                                   "", now)


async def _no_client() -> Figures:
    raise EcotuiError("this workspace has no Kubernetes API client")
