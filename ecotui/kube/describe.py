"""Plain-text descriptions of a pod or a node, laid out like ``kubectl describe``.

Pure functions over the detail structs (`PodDetail`, `NodeDetail`: the UI GETs the object fresh when the
user asks); a cached struct is accepted too and widened with `models.as_detail` (fields the cache does not
keep then show as empty). Every value taken from the cluster passes through ``textsafe`` so the result is
safe to print as-is (it is plain text, not markup).
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence

from ecotui.kube.models import (ConditionDetail, ContainerDetail, ContainerStateDetail, ContainerStatusDetail, Event,
                                Node, NodeDetail, Pod, PodDetail, Toleration, as_detail)
from ecotui.kube.render import (event_count, event_time, human_age, node_status, parse_time,
                                pod_status)
from ecotui.textsafe import inert, one_line

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_W = 18                                    # label column width of the top-level fields


def fmt_time(ts: str | None) -> str:
    """RFC 1123 date in UTC, as kubectl describe prints it ("Mon, 01 Jan 2024 10:00:00 +0000")."""
    t = parse_time(ts)
    if t is None:
        return "<unknown>" if ts else "<none>"
    g = time.gmtime(t)
    return (f"{_DAYS[g.tm_wday]}, {g.tm_mday:02d} {_MONTHS[g.tm_mon - 1]} {g.tm_year} "
            f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} +0000")


def _field(out: list[str], label: str, value: str, indent: int = 0, width: int = _W) -> None:
    """``Label:  value``; continuation lines of a multi-line value are aligned under the value."""
    pad = " " * indent
    head = f"{pad}{label}:"
    head = head.ljust(max(indent + width, len(head) + 2))
    lines = value.split("\n") if value else [""]
    out.append((head + lines[0]).rstrip())
    out.extend(" " * len(head) + line for line in lines[1:])


def _mapping(m: Mapping[str, str], sep: str = "=") -> str:
    if not m:
        return "<none>"
    return "\n".join(inert(f"{k}{sep}{v}") for k, v in sorted(m.items()))


def _table(rows: Sequence[Sequence[str]], indent: int = 2) -> list[str]:
    """Align columns with two spaces between them (like Go's tabwriter in kubectl)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    pad = " " * indent
    return [(pad + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip() for r in rows]


def _conditions(conds: Iterable[ConditionDetail]) -> list[str]:
    rows = [["Type", "Status"]] + [[inert(c.type), inert(c.status)] for c in conds]
    return _table(rows) if len(rows) > 1 else ["  <none>"]


# ---- quantities -------------------------------------------------------------------------------

_SUFFIX = {"": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
           "n": 1e-9, "u": 1e-6}
_QTY = re.compile(r"([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)")


def parse_quantity(q: str) -> float | None:
    """Kubernetes resource quantity ("250m", "1.5", "128Mi", "1e3") -> float, or None if malformed."""
    m = _QTY.fullmatch(q.strip()) if q else None
    if not m:
        return None
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def pod_requests(pod: Pod) -> tuple[dict[str, float], dict[str, float]]:
    """(requests, limits) of a pod: max(sum of containers, largest init container), per resource."""
    detail = as_detail(pod)
    assert isinstance(detail, PodDetail)

    def total(containers: Iterable[ContainerDetail], attr: str) -> dict[str, float]:
        acc: dict[str, float] = {}
        for c in containers:
            for k, v in getattr(c.resources, attr).items():
                n = parse_quantity(v)
                if n is not None:
                    acc[k] = acc.get(k, 0.0) + n
        return acc

    result = []
    for attr in ("requests", "limits"):
        acc = total(detail.spec.containers, attr)
        for ic in detail.spec.initContainers:
            for k, n in total([ic], attr).items():
                acc[k] = max(acc.get(k, 0.0), n)
        result.append(acc)
    return result[0], result[1]


def fmt_cpu(v: float) -> str:
    milli = round(v * 1000)
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


def fmt_mem(v: float) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if v >= size and v % size == 0:
            return f"{int(v // size)}{unit}"
    if v >= 2**20:
        return f"{v / 2**20:.0f}Mi"
    return f"{int(v)}"


def _fmt_res(name: str, v: float) -> str:
    return fmt_cpu(v) if name == "cpu" else fmt_mem(v) if "memory" in name or "storage" in name else f"{v:g}"


# ---- pods -------------------------------------------------------------------------------------

def _state_lines(out: list[str], label: str, state: ContainerStateDetail) -> None:
    if state.running is not None:
        _field(out, label, "Running", 4)
        _field(out, "Started", fmt_time(state.running.startedAt), 6, _W - 2)
    elif state.terminated is not None:
        t = state.terminated
        _field(out, label, "Terminated", 4)
        if t.reason:
            _field(out, "Reason", inert(t.reason), 6, _W - 2)
        if t.message:
            _field(out, "Message", inert(t.message.rstrip(), multiline=True), 6, _W - 2)
        _field(out, "Exit Code", str(t.exitCode), 6, _W - 2)
        if t.signal:
            _field(out, "Signal", str(t.signal), 6, _W - 2)
        _field(out, "Started", fmt_time(t.startedAt), 6, _W - 2)
        _field(out, "Finished", fmt_time(t.finishedAt), 6, _W - 2)
    elif state.waiting is not None:
        _field(out, label, "Waiting", 4)
        if state.waiting.reason:
            _field(out, "Reason", inert(state.waiting.reason), 6, _W - 2)
        if state.waiting.message:
            _field(out, "Message", inert(state.waiting.message.rstrip(), multiline=True), 6, _W - 2)
    else:
        _field(out, label, "<none>" if label == "Last State" else "Waiting", 4)


def _containers(out: list[str], title: str, specs: Sequence[ContainerDetail],
                statuses: Sequence[ContainerStatusDetail]) -> None:
    if not specs:
        return
    by_name = {s.name: s for s in statuses}
    out.append(f"{title}:")
    for c in specs:
        st = by_name.get(c.name)
        out.append(f"  {inert(c.name)}:")
        _field(out, "Image", inert(c.image), 4)
        ports = [f"{p.containerPort}/{p.protocol or 'TCP'}" + (f" ({inert(p.name)})" if p.name else "")
                 for p in c.ports]
        _field(out, "Ports" if len(ports) > 1 else "Port", ", ".join(ports) or "<none>", 4)
        if st is not None:
            _state_lines(out, "State", st.state)
            if st.lastState.terminated is not None or st.lastState.waiting is not None:
                _state_lines(out, "Last State", st.lastState)
            _field(out, "Ready", str(st.ready), 4)
            _field(out, "Restart Count", str(st.restartCount), 4)
        for attr in ("limits", "requests"):
            values = getattr(c.resources, attr)
            if values:
                out.append(f"    {attr.capitalize()}:")
                out.extend(_table([[inert(k) + ":", inert(v)] for k, v in sorted(values.items())], 6))


def _event_rows(events: Iterable[Event], now: float) -> list[str]:
    evs = sorted(events, key=lambda e: event_time(e) or 0.0)
    if not evs:
        return ["Events:  <none>"]
    rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
    for e in evs:
        t = event_time(e)
        age = human_age(now - t) if t is not None else "<unknown>"
        count = event_count(e)
        first = parse_time(e.firstTimestamp) or parse_time(e.eventTime)
        if count > 1 and first is not None:
            age = f"{age} (x{count} over {human_age(now - first)})"
        source = e.source.component or e.reportingComponent
        if e.source.host:
            source = f"{source}, {e.source.host}" if source else e.source.host
        rows.append([inert(e.type), inert(e.reason), age, inert(source) or "-", one_line(e.message)])
    return ["Events:"] + _table(rows)


def _about_pod(e: Event, pod: PodDetail) -> bool:
    o = e.involvedObject
    if o.uid and pod.metadata.uid:
        return o.uid == pod.metadata.uid
    return o.kind == "Pod" and o.name == pod.metadata.name and (
        (o.namespace or e.metadata.namespace) == pod.metadata.namespace)


def _tolerations(tols: Iterable[Toleration]) -> str:
    """kubectl's form: ``key=value:Effect op=Exists for 300s``, one per line."""
    out = []
    for t in tols:
        text = t.key + (f"={t.value}" if t.value else "") + (f":{t.effect}" if t.effect else "")
        if t.operator == "Exists":
            text += " op=Exists"
        if t.tolerationSeconds is not None:
            text += f" for {t.tolerationSeconds}s"
        out.append(inert(text.strip()))
    return "\n".join(out) or "<none>"


def describe_pod(pod: Pod, events: list[Event], now: float) -> str:
    """``kubectl describe pod``-like text. ``events`` may include others; only this pod's are shown."""
    pod = as_detail(pod)  # type: ignore[assignment]
    assert isinstance(pod, PodDetail)
    md, spec, st = pod.metadata, pod.spec, pod.status
    out: list[str] = []
    _field(out, "Name", inert(md.name))
    _field(out, "Namespace", inert(md.namespace))
    if spec.priorityClassName:
        _field(out, "Priority Class Name", inert(spec.priorityClassName))
    _field(out, "Service Account", inert(spec.serviceAccountName) or "default")
    node = inert(spec.nodeName) if spec.nodeName else "<none>"
    if spec.nodeName and st.hostIP:
        node += "/" + inert(st.hostIP)
    _field(out, "Node", node)
    _field(out, "Start Time", fmt_time(st.startTime))
    _field(out, "Labels", _mapping(md.labels))
    _field(out, "Annotations", _mapping(md.annotations, ": "))
    if md.deletionTimestamp:
        deleted = parse_time(md.deletionTimestamp)
        since = f" (since {human_age(now - deleted)})" if deleted is not None else ""
        _field(out, "Status", f"Terminating{since}")
    else:
        _field(out, "Status", inert(st.phase) or "<unknown>")
    shown = pod_status(pod)
    if shown != st.phase:
        _field(out, "Pod Status", inert(shown) + "  (kubectl get pods STATUS)")
    if st.reason:
        _field(out, "Reason", inert(st.reason))
    if st.message:
        _field(out, "Message", inert(st.message.rstrip(), multiline=True))
    _field(out, "IP", inert(st.podIP) or "<none>")
    owners = [o for o in md.ownerReferences if o.controller] or md.ownerReferences[:1]
    if owners:
        _field(out, "Controlled By", inert(f"{owners[0].kind}/{owners[0].name}"))
    _containers(out, "Init Containers", spec.initContainers, st.initContainerStatuses)
    _containers(out, "Containers", spec.containers, st.containerStatuses)
    out.append("Conditions:")
    out.extend(_conditions(st.conditions))
    if st.qosClass:
        _field(out, "QoS Class", inert(st.qosClass))
    _field(out, "Node-Selectors", _mapping(spec.nodeSelector))
    _field(out, "Tolerations", _tolerations(spec.tolerations))
    out.extend(_event_rows((e for e in events if _about_pod(e, pod)), now))
    return "\n".join(out) + "\n"


# ---- nodes ------------------------------------------------------------------------------------

def node_roles(node: Node) -> list[str]:
    roles = {k.split("/", 1)[1] for k in node.metadata.labels
             if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1]}
    role = node.metadata.labels.get("kubernetes.io/role")
    if role:
        roles.add(role)
    return sorted(roles)


def describe_node(node: Node, pods: list[Pod], now: float, events: Sequence[Event] | None = None) -> str:
    """``kubectl describe node``-like text; ``pods`` may include others (filtered by nodeName).
    ``events`` (about this node) are listed at the end when given."""
    node = as_detail(node)  # type: ignore[assignment]
    assert isinstance(node, NodeDetail)
    md, spec, st = node.metadata, node.spec, node.status
    out: list[str] = []
    _field(out, "Name", inert(md.name))
    _field(out, "Status", node_status(node))
    _field(out, "Roles", inert(",".join(node_roles(node))) or "<none>")
    _field(out, "Labels", _mapping(md.labels))
    _field(out, "CreationTimestamp", fmt_time(md.creationTimestamp))
    taints = [inert(f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}") for t in spec.taints]
    _field(out, "Taints", "\n".join(taints) or "<none>")
    _field(out, "Unschedulable", "true" if spec.unschedulable else "false")
    out.append("Conditions:")
    if st.conditions:
        rows = [["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"],
                ["----", "------", "-----------------", "------------------", "------", "-------"]]
        rows += [[inert(c.type), inert(c.status), fmt_time(c.lastHeartbeatTime), fmt_time(c.lastTransitionTime),
                  inert(c.reason), one_line(c.message)] for c in st.conditions]
        out.extend(_table(rows))
    else:
        out.append("  <none>")
    out.append("Addresses:")
    out.extend(_table([[inert(a.type) + ":", inert(a.address)] for a in st.addresses]) if st.addresses
               else ["  <none>"])
    for title, res in (("Capacity", st.capacity), ("Allocatable", st.allocatable)):
        out.append(f"{title}:")
        out.extend(_table([[inert(k) + ":", inert(v)] for k, v in sorted(res.items())]) if res else ["  <none>"])
    info = st.nodeInfo
    out.append("System Info:")
    for label, value in (("Kernel Version", info.kernelVersion), ("OS Image", info.osImage),
                         ("Container Runtime Version", info.containerRuntimeVersion),
                         ("Kubelet Version", info.kubeletVersion), ("Architecture", info.architecture)):
        _field(out, label, inert(value) or "<unknown>", 2, 27)
    if spec.providerID:
        _field(out, "ProviderID", inert(spec.providerID))
    if spec.podCIDR:
        _field(out, "PodCIDR", inert(spec.podCIDR))
    out.extend(_node_pods(node, pods, now))
    if events is not None:
        out.extend(_event_rows(events, now))
    return "\n".join(out) + "\n"


def _pct(v: float, alloc: float | None) -> str:
    return f" ({int(v / alloc * 100)}%)" if alloc else ""


def _node_pods(node: NodeDetail, pods: list[Pod], now: float) -> list[str]:
    mine = sorted((p for p in pods if p.spec.nodeName == node.metadata.name
                   and p.status.phase not in ("Succeeded", "Failed")),
                  key=lambda p: (p.metadata.namespace, p.metadata.name))
    alloc = {k: parse_quantity(v) for k, v in node.status.allocatable.items()}
    out = [f"Non-terminated Pods:  ({len(mine)} in total)"]
    totals_req: dict[str, float] = {}
    totals_lim: dict[str, float] = {}
    if mine:
        rows = [["Namespace", "Name", "CPU Requests", "CPU Limits", "Memory Requests", "Memory Limits", "Age"],
                ["---------", "----", "------------", "----------", "---------------", "-------------", "---"]]
        for p in mine:
            req, lim = pod_requests(p)
            for k, v in req.items():
                totals_req[k] = totals_req.get(k, 0.0) + v
            for k, v in lim.items():
                totals_lim[k] = totals_lim.get(k, 0.0) + v
            created = parse_time(p.metadata.creationTimestamp)
            rows.append([
                inert(p.metadata.namespace), inert(p.metadata.name),
                fmt_cpu(req.get("cpu", 0.0)) + _pct(req.get("cpu", 0.0), alloc.get("cpu")),
                fmt_cpu(lim.get("cpu", 0.0)) + _pct(lim.get("cpu", 0.0), alloc.get("cpu")),
                fmt_mem(req.get("memory", 0.0)) + _pct(req.get("memory", 0.0), alloc.get("memory")),
                fmt_mem(lim.get("memory", 0.0)) + _pct(lim.get("memory", 0.0), alloc.get("memory")),
                human_age(now - created) if created is not None else "<unknown>",
            ])
        out.extend(_table(rows))
    out.append("Allocated resources:")
    rows = [["Resource", "Requests", "Limits"], ["--------", "--------", "------"]]
    for res in ("cpu", "memory"):
        r, lim_v = totals_req.get(res, 0.0), totals_lim.get(res, 0.0)
        rows.append([res, _fmt_res(res, r) + _pct(r, alloc.get(res)), _fmt_res(res, lim_v) + _pct(lim_v, alloc.get(res))])
    out.extend(_table(rows))
    return out
