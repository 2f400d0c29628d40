"""Table cells for pods, nodes and events: kubectl's column logic as pure functions.

Every function here is pure (no I/O, no clock: ``now`` is a float epoch passed in) so it can be
unit-tested with plain structs. Every text cell goes through ``textsafe`` so hostile bytes in names
or messages render inert. ``Cell.sort`` holds a value that sorts naturally for its column (seconds
for ages, ints for restarts and pod counts, tuples for ratios and IPs); within one column every
sort value has the same type. ``Cell.style`` is a semantic name ("ok", "warning", "critical",
"muted" or "") that the UI maps to theme colours.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from ecotui.kube.models import Container, ContainerStatus, Event, Node, Pod
from ecotui.textsafe import inert, one_line


class Cell(msgspec.Struct, frozen=True, gc=False):
    """One table cell. A frozen struct untracked by the cyclic GC: a 13k-row table holds ~100k of
    them, and (unlike a NamedTuple, which the GC never untracks) they cost full collections nothing."""

    text: str
    sort: Any
    style: str = ""


POD_COLUMNS: list[tuple[str, str]] = [
    ("namespace", "NAMESPACE"), ("name", "NAME"), ("ready", "READY"), ("status", "STATUS"),
    ("restarts", "RESTARTS"), ("age", "AGE"), ("node", "NODE"), ("ip", "IP"),
]
NODE_COLUMNS: list[tuple[str, str]] = [
    ("name", "NAME"), ("status", "STATUS"), ("nodegroup", "NODEGROUP"), ("zone", "ZONE"),
    ("instance", "INSTANCE"), ("version", "VERSION"), ("age", "AGE"), ("pods", "PODS"),
    ("pressure", "PRESSURE"),
]
# "namespace" is always produced; the UI hides it when one namespace is shown.
EVENT_COLUMNS: list[tuple[str, str]] = [
    ("namespace", "NAMESPACE"), ("last_seen", "LAST SEEN"), ("type", "TYPE"), ("reason", "REASON"),
    ("object", "OBJECT"), ("message", "MESSAGE"), ("count", "COUNT"),
]

MESSAGE_LIMIT = 400          # event messages longer than this are cut in the table (describe shows all)
NODE_UNREACHABLE_REASON = "NodeLost"
RECENT_RESTART_SECONDS = 24 * 3600   # older restarts are shown without a warning colour
_STYLE_RANK = {"critical": 0, "warning": 1, "": 2, "ok": 3, "muted": 4}

_CACHE_LIMIT = 65536   # memo sizes: plain dicts of atoms (functools.lru_cache's nodes are GC-tracked lists)
_cells: dict[tuple[Any, ...], Cell] = {}


def _shared(text: str, sort: Any, style: str = "") -> Cell:
    """One Cell object for every row showing the same (text, sort, style): namespaces, nodes, statuses,
    READY ratios, restart counts repeat across thousands of rows (saves ~3 MB at 13k pods)."""
    key = (text, sort, style)
    c = _cells.get(key)
    if c is None:
        if len(_cells) >= _CACHE_LIMIT:
            _cells.clear()
        c = _cells[key] = Cell(text, sort, style)
    return c

# ---- time -------------------------------------------------------------------------------------

_times: dict[str | None, float | None] = {}


def parse_time(ts: str | None) -> float | None:
    """RFC 3339 timestamp (``2024-05-01T10:00:00Z``, optional fraction/offset) -> epoch, or None."""
    try:
        return _times[ts]
    except KeyError:
        pass
    t: float | None = None
    if ts:
        try:
            t = datetime.fromisoformat(ts.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
        except ValueError:
            t = None
    if len(_times) >= _CACHE_LIMIT:
        _times.clear()
    _times[ts] = t
    return t


def human_age(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration``: 45s, 119s, 2m5s, 5m, 179m, 3h2m, 8h, 47h, 3d4h, 9d, 2y3d, 9y.

    Up to one second in the future counts as "0s" (clock skew); further is "<invalid>".
    """
    secs = int(seconds)                       # truncates toward zero, like Go's int(d.Seconds())
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d{h}h" if h else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age_cell(ts: str | None, now: float) -> Cell:
    """AGE cell: text like kubectl, sort = age in seconds (unknown sorts as -1)."""
    t = parse_time(ts)
    if t is None:
        return _shared("<unknown>", -1.0, "muted")
    return Cell(sys.intern(human_age(now - t)), now - t)


# ---- pods -------------------------------------------------------------------------------------

def _is_restartable_init(c: Container | None) -> bool:
    # Sidecar containers (initContainers with restartPolicy: Always, k8s >= 1.28).
    return c is not None and getattr(c, "restartPolicy", "") == "Always"


def _has_ready_condition(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def _initialized_true(pod: Pod) -> bool:
    return any(c.type == "Initialized" and c.status == "True" for c in pod.status.conditions)


def _terminated_reason(t: Any, prefix: str = "") -> str:
    if t.reason:
        return prefix + t.reason
    if t.signal:
        return f"{prefix}Signal:{t.signal}"
    return f"{prefix}ExitCode:{t.exitCode}"


def pod_summary(pod: Pod) -> tuple[str, int, int, int, float | None]:
    """kubectl ``printPod``: (status, ready containers, total containers, restarts, last restart epoch).

    Mirrors k8s pkg/printers/internalversion/printers.go (status.reason overrides the phase,
    SchedulingGated, Init:x/y and Init:<reason>, container waiting/terminated reasons, Signal:N /
    ExitCode:N, Completed-with-running -> Running/NotReady, Terminating, Unknown for NodeLost).
    """
    st = pod.status
    total = len(pod.spec.containers)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last: float | None = None
    sidecar_last: float | None = None

    reason = st.reason or st.phase
    for cond in st.conditions:
        if cond.type == "PodScheduled" and cond.reason == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.name: c for c in pod.spec.initContainers}
    total += sum(1 for c in pod.spec.initContainers if _is_restartable_init(c))

    initializing = False
    for i, cs in enumerate(st.initContainerStatuses):
        restarts += cs.restartCount
        finished = _last_finished(cs)
        if finished is not None and (last is None or finished > last):
            last = finished
        sidecar = _is_restartable_init(init_specs.get(cs.name))
        if sidecar:
            sidecar_restarts += cs.restartCount
            if finished is not None and (sidecar_last is None or finished > sidecar_last):
                sidecar_last = finished
        term, wait = cs.state.terminated, cs.state.waiting
        if term is not None and term.exitCode == 0:
            continue
        if sidecar and cs.started:
            if cs.ready:
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif wait is not None and wait.reason and wait.reason != "PodInitializing":
            reason = "Init:" + wait.reason
        else:
            reason = f"Init:{i}/{len(pod.spec.initContainers)}"
        initializing = True
        break

    if not initializing or _initialized_true(pod):
        restarts = sidecar_restarts
        last = sidecar_last
        has_running = False
        for cs in reversed(st.containerStatuses):
            restarts += cs.restartCount
            finished = _last_finished(cs)
            if finished is not None and (last is None or finished > last):
                last = finished
            wait, term = cs.state.waiting, cs.state.terminated
            if wait is not None and wait.reason:
                reason = wait.reason
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.ready and cs.state.running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready_condition(pod) else "NotReady"

    if pod.metadata.deletionTimestamp and st.reason == NODE_UNREACHABLE_REASON:
        reason = "Unknown"
    elif pod.metadata.deletionTimestamp and st.phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last


def _last_finished(cs: ContainerStatus) -> float | None:
    t = cs.lastState.terminated
    return parse_time(t.finishedAt) if t is not None else None


def pod_status(pod: Pod) -> str:
    """The STATUS column exactly as ``kubectl get pods`` prints it."""
    return pod_summary(pod)[0]


_CRITICAL_STATUSES = frozenset({
    "CrashLoopBackOff", "Error", "OOMKilled", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull",
    "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    "ContainerCannotRun", "StartError", "PreStartHookError", "PostStartHookError", "PreStopHookError",
    "Failed", "Unknown", "NotReady", "Evicted", "NodeLost", "DeadlineExceeded", "NodeAffinity",
    "OutOfcpu", "OutOfmemory", "OutOfpods", "UnexpectedAdmissionError", "ContainerStatusUnknown",
    "BackOff",
})
_WARNING_STATUSES = frozenset({
    "Pending", "ContainerCreating", "PodInitializing", "Terminating", "SchedulingGated",
    "Shutdown", "Preempting",
})


def status_style(status: str) -> str:
    """Semantic style for a pod STATUS string."""
    if status == "Running":
        return "ok"
    if status in ("Completed", "Succeeded", "ExitCode:0"):
        return "muted"
    if status in _CRITICAL_STATUSES:
        return "critical"
    if status.startswith(("ExitCode:", "Signal:")):
        return "critical"
    if status.startswith("Init:"):
        rest = status[5:]
        if rest[:1].isdigit():             # Init:1/3 is progress
            return "warning"
        return "critical" if rest not in _WARNING_STATUSES else "warning"
    return "warning"


_ips: dict[str, tuple[int, int]] = {}


def _ip_sort(ip: str) -> tuple[int, int]:
    try:
        return _ips[ip]
    except KeyError:
        pass
    key: tuple[int, int]
    try:  # IPv4 in C (13k pods at launch); anything else through the ipaddress parser
        key = (4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big"))
    except OSError:
        try:
            addr = ipaddress.ip_address(ip)
            key = (addr.version, int(addr))
        except ValueError:
            key = (0, 0)
    if len(_ips) >= _CACHE_LIMIT:
        _ips.clear()
    _ips[ip] = key
    return key


def pod_cells(pod: Pod, now: float) -> tuple[Cell, ...]:
    """One row in POD_COLUMNS order."""
    status, ready, total, restarts, last = pod_summary(pod)
    md = pod.metadata
    style = status_style(status)
    if status == "Running" and ready < total:
        style = "warning"                  # kubectl still says Running; we flag the unready containers
    ratio = ready / total if total else 1.0
    ready_style = "" if ready == total else (style if style in ("critical", "muted") else "warning")
    restarts_text = str(restarts)
    if restarts and last is not None:
        restarts_text = f"{restarts} ({human_age(now - last)} ago)"
    # Restarts matter when they are recent: none in the last day is not worth a colour.
    recent = last is None or now - last < RECENT_RESTART_SECONDS
    restarts_style = "" if restarts == 0 or not recent else ("critical" if restarts >= 5 else "warning")
    node = pod.spec.nodeName
    ip = pod.status.podIP
    return (
        _shared(inert(md.namespace), md.namespace),
        Cell(inert(md.name), md.name),
        _shared(f"{ready}/{total}", (ratio, ready, total), ready_style),
        _shared(inert(status), (_STYLE_RANK[style], status), style),
        (Cell if restarts else _shared)(restarts_text, restarts, restarts_style),
        age_cell(md.creationTimestamp, now),
        _shared(inert(node) if node else "<none>", node, "" if node else "muted"),
        Cell(inert(ip) if ip else "<none>", _ip_sort(ip), "" if ip else "muted"),
    )


def counted_on(pod: Pod) -> str:
    """The node this pod counts against in PODS ("" if none): non-terminated pods only."""
    node = pod.spec.nodeName
    return node if node and pod.status.phase not in ("Succeeded", "Failed") else ""


def pods_per_node(pods: Iterable[Pod]) -> dict[str, int]:
    """Non-terminated (not Succeeded/Failed) pods per node name, like ``kubectl describe node``."""
    counts: dict[str, int] = {}
    for p in pods:
        node = counted_on(p)
        if node:
            counts[node] = counts.get(node, 0) + 1
    return counts


# ---- nodes ------------------------------------------------------------------------------------

NODEGROUP_LABELS = ("eks.amazonaws.com/nodegroup", "alpha.eksctl.io/nodegroup-name", "karpenter.sh/nodepool")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def first_label(labels: dict[str, str], keys: Iterable[str]) -> str:
    for k in keys:
        v = labels.get(k)
        if v:
            return v
    return ""


def node_status(node: Node) -> str:
    """kubectl's STATUS for nodes: Ready / NotReady (Ready condition False or Unknown) / Unknown
    (no Ready condition), plus ",SchedulingDisabled" when cordoned."""
    status = "Unknown"
    for c in node.status.conditions:
        if c.type == "Ready":
            status = "Ready" if c.status == "True" else "NotReady"
    if node.spec.unschedulable:
        status += ",SchedulingDisabled"
    return status


def node_pressure(node: Node) -> list[str]:
    return [c.type for c in node.status.conditions if c.type in PRESSURE_CONDITIONS and c.status == "True"]


def node_cells(node: Node, pod_count: int, now: float) -> tuple[Cell, ...]:
    """One row in NODE_COLUMNS order."""
    md = node.metadata
    status = node_status(node)
    if status.startswith("Ready"):
        style = "warning" if node.spec.unschedulable else "ok"
    else:
        style = "critical"
    group = first_label(md.labels, NODEGROUP_LABELS)
    zone = first_label(md.labels, ZONE_LABELS)
    inst = first_label(md.labels, INSTANCE_LABELS)
    version = node.status.nodeInfo.kubeletVersion
    pressure = node_pressure(node)
    pressure_text = ",".join(pressure) if pressure else "-"

    def text(v: str) -> Cell:
        return Cell(inert(v), v) if v else Cell("-", "", "muted")

    return (
        Cell(inert(md.name), md.name),
        Cell(inert(status), (_STYLE_RANK[style], status), style),
        text(group),
        text(zone),
        text(inst),
        Cell(inert(version), _version_sort(version)) if version else Cell("-", (), "muted"),
        age_cell(md.creationTimestamp, now),
        Cell(str(pod_count), pod_count),
        Cell(pressure_text, (-len(pressure), pressure_text), "critical" if pressure else "muted"),
    )


_versions: dict[str, tuple[int, ...]] = {}


def _version_sort(v: str) -> tuple[int, ...]:
    key = _versions.get(v)
    if key is None:  # a handful of distinct kubelet versions, one per node row
        if len(_versions) >= _CACHE_LIMIT:
            _versions.clear()
        key = _versions[v] = tuple(int(n) for n in re.findall(r"\d+", v))
    return key


# ---- events -----------------------------------------------------------------------------------

def event_time(ev: Event) -> float | None:
    """When the event was last seen: series.lastObservedTime, else lastTimestamp, else
    firstTimestamp, else eventTime, else the object's creationTimestamp (kubectl's order)."""
    if ev.series is not None:
        t = parse_time(ev.series.lastObservedTime)
        if t is not None:
            return t
    for ts in (ev.lastTimestamp, ev.firstTimestamp, ev.eventTime, ev.metadata.creationTimestamp):
        t = parse_time(ts)
        if t is not None:
            return t
    return None


def event_time_key(ev: Event) -> float:
    """`event_time` as a sort key: unknown times sort first (oldest). The one notion of an event's time:
    the table, describe, the events pane order and the informer's newest-N cut all use `event_time`."""
    t = event_time(ev)
    return t if t is not None else float("-inf")


def event_count(ev: Event) -> int:
    if ev.series is not None:
        return ev.series.count
    return ev.count or 1                   # singleton events of the events.k8s.io API have no count


def event_object(ev: Event) -> str:
    obj = ev.involvedObject
    return f"{obj.kind.lower()}/{obj.name}" if obj.kind else obj.name


def event_cells(ev: Event, now: float) -> tuple[Cell, ...]:
    """One row in EVENT_COLUMNS order."""
    t = event_time(ev)
    seen = Cell(human_age(now - t), now - t) if t is not None else Cell("<unknown>", -1.0, "muted")
    warn = ev.type == "Warning"
    obj = event_object(ev)
    ns = ev.metadata.namespace or ev.involvedObject.namespace
    count = event_count(ev)
    return (
        _shared(inert(ns), ns),
        seen,
        _shared(inert(ev.type), ev.type, "warning" if warn else "muted"),
        _shared(inert(ev.reason), ev.reason, "warning" if warn else ""),
        Cell(inert(obj), obj),
        Cell(one_line(ev.message, MESSAGE_LIMIT), ev.message),
        _shared(str(count), count),
    )


def events_sorted(events: Iterable[Event]) -> list[Event]:
    """Warnings first, then newest first (unknown times last)."""
    def key(ev: Event) -> tuple[bool, float]:
        t = event_time(ev)
        return (ev.type != "Warning", -(t if t is not None else float("-inf")))
    return sorted(events, key=key)
