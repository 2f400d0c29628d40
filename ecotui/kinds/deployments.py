"""Deployments (apps/v1): NAME READY UP-TO-DATE AVAILABLE AGE, like `kubectl get deployments`.

Also home of the workload helpers the other workload kinds share (selector text, the ready ratio cell,
the "Pod Template" block of describe, rollout conditions).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .common import (ListMeta, ObjectMeta, S, age_cell, conditions_lines, field, get, inert, int_cell, mapping,
                     msgspec, name_cell, ns_cell, one_line)
from .spec import GVR, Cap, Cells, KindSpec
from ecotui.kube.render import Cell, _shared
from ecotui.kube.selector import format_label_selector

# ---- shared by the workload kinds -------------------------------------------------------------


def replica_style(ready: int, desired: int) -> str:
    """"critical" when none of >0 desired is ready/available, "warning" when short, "" otherwise."""
    if desired > 0 and ready <= 0:
        return "critical"
    return "warning" if ready < desired else ""


def ratio_cell(ready: int, desired: int, style: str | None = None) -> Cell:
    """READY "r/d" (sorts by fraction, then counts), styled by `replica_style` unless told otherwise."""
    frac = ready / desired if desired else 1.0
    return _shared(f"{ready}/{desired}", (frac, ready, desired),
                   replica_style(ready, desired) if style is None else style)


def count_cell(n: int, desired: int) -> Cell:
    """A replica count compared to the desired number (UP-TO-DATE, AVAILABLE, CURRENT...)."""
    return int_cell(n, replica_style(n, desired))


def selector_text(sel: Any) -> str:
    """metav1.FormatLabelSelector: "a=b,c in (d,e),!f"; "<none>" for an empty/missing selector."""
    text = format_label_selector(sel) if isinstance(sel, Mapping) and sel else ""
    return inert(text) if text else "<none>"


def _port(p: Mapping[str, Any]) -> str:
    s = f"{p.get('containerPort', 0)}/{p.get('protocol') or 'TCP'}"
    return inert(f"{s} ({p['name']})") if p.get("name") else s


def _env(e: Mapping[str, Any]) -> str:
    name = str(e.get("name", ""))
    if "value" in e:
        return inert(f"{name}:  {one_line(str(e.get('value') or ''), 120)}")
    src = e.get("valueFrom") or {}
    for kind, label in (("secretKeyRef", "secret"), ("configMapKeyRef", "configmap")):
        ref = src.get(kind)
        if isinstance(ref, Mapping):
            return inert(f"{name}:  <set to the key '{ref.get('key', '')}' in {label} '{ref.get('name', '')}'>")
    if isinstance(src.get("fieldRef"), Mapping):
        return inert(f"{name}:   ({src['fieldRef'].get('apiVersion', 'v1')}:{src['fieldRef'].get('fieldPath', '')})")
    if isinstance(src.get("resourceFieldRef"), Mapping):
        return inert(f"{name}:  {src['resourceFieldRef'].get('resource', '')}")
    return inert(f"{name}:  <set>")


def _containers(out: list[str], title: str, containers: Any) -> None:
    out.append(f"  {title}:")
    if not containers:
        out.append("   <none>")
        return
    for c in containers:
        out.append(f"   {inert(str(c.get('name', '')))}:")
        field(out, "Image", inert(str(c.get("image", ""))), indent=4, width=14)
        ports = c.get("ports") or ()
        field(out, "Port" + ("s" if len(ports) > 1 else ""),
              ", ".join(_port(p) for p in ports) if ports else "<none>", indent=4, width=14)
        if c.get("command"):
            field(out, "Command", "\n".join(one_line(str(x), 200) for x in c["command"]), indent=4, width=14)
        if c.get("args"):
            field(out, "Args", "\n".join(one_line(str(x), 200) for x in c["args"]), indent=4, width=14)
        for kind in ("limits", "requests"):
            res = get(c, "resources", kind, default={})
            if res:
                out.append(f"    {kind.capitalize()}:")
                out.extend(f"      {inert(str(k))}:  {inert(str(v))}" for k, v in sorted(res.items()))
        env = c.get("env") or ()
        field(out, "Environment", "\n".join(_env(e) for e in env) if env else "<none>", indent=4, width=14)
        mounts = c.get("volumeMounts") or ()
        field(out, "Mounts", "\n".join(
            inert(f"{m.get('mountPath', '')} from {m.get('name', '')} ({'ro' if m.get('readOnly') else 'rw'})")
            for m in mounts) if mounts else "<none>", indent=4, width=14)


def pod_template_lines(tpl: Any) -> list[str]:
    """The "Pod Template:" block of kubectl describe for a workload's spec.template."""
    tpl = tpl if isinstance(tpl, Mapping) else {}
    spec = tpl.get("spec") or {}
    out = ["Pod Template:"]
    field(out, "Labels", mapping(get(tpl, "metadata", "labels", default={})), indent=2, width=18)
    anns = get(tpl, "metadata", "annotations", default={})
    if anns:
        field(out, "Annotations", mapping({k: one_line(str(v), 200) for k, v in anns.items()}, ": "),
              indent=2, width=18)
    if spec.get("serviceAccountName"):
        field(out, "Service Account", inert(str(spec["serviceAccountName"])), indent=2, width=18)
    if spec.get("initContainers"):
        _containers(out, "Init Containers", spec["initContainers"])
    _containers(out, "Containers", spec.get("containers"))
    vols = spec.get("volumes") or ()
    out.append("  Volumes:" + ("" if vols else "  <none>"))
    for v in vols:
        kind = next((k for k in v if k != "name"), "")
        out.append(f"   {inert(str(v.get('name', '')))}:  {inert(kind)}")
    field(out, "Node-Selectors", mapping(spec.get("nodeSelector") or {}), indent=2, width=18)
    tols = spec.get("tolerations") or ()
    field(out, "Tolerations", "\n".join(
        inert(f"{t.get('key', '')}{'=' + str(t['value']) if t.get('value') else ''}"
              f"{':' + str(t['effect']) if t.get('effect') else ''}"
              f"{' op=' + str(t['operator']) if t.get('operator') == 'Exists' and not t.get('key') else ''}")
        for t in tols) if tols else "<none>", indent=2, width=18)
    return out


def strategy_text(strategy: Any, max_unavailable: str = "max unavailable", surge: bool = True) -> list[str]:
    """StrategyType and, for RollingUpdate, "25% max unavailable, 25% max surge"."""
    out: list[str] = []
    typ = str(get(strategy, "type", default=""))
    field(out, "StrategyType", inert(typ) or "<none>", width=24)
    ru = get(strategy, "rollingUpdate", default=None)
    if typ == "RollingUpdate" and isinstance(ru, Mapping):
        parts = [f"{ru.get('maxUnavailable', '25%')} {max_unavailable}"]
        if surge:
            parts.append(f"{ru.get('maxSurge', '25%')} max surge")
        if "partition" in ru:
            parts.append(f"Partition: {ru['partition']}")
        field(out, "RollingUpdateStrategy", inert(", ".join(parts)), width=24)
    return out


def conditions_of(obj: Any) -> list[str]:
    return conditions_lines(c for c in get(obj, "status", "conditions", default=()) if isinstance(c, Mapping))


# ---- deployments ------------------------------------------------------------------------------

class Condition(msgspec.Struct, **S):
    type: str = ""
    status: str = ""
    reason: str = ""


class DeploymentSpec(msgspec.Struct, **S):
    replicas: int = 1       # the API server defaults it: never missing in practice
    paused: bool = False


class DeploymentStatus(msgspec.Struct, **S):
    replicas: int = 0
    updatedReplicas: int = 0
    readyReplicas: int = 0
    availableReplicas: int = 0
    conditions: tuple[Condition, ...] = ()


class Deployment(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec = DeploymentSpec()
    status: DeploymentStatus = DeploymentStatus()


class DeploymentList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[Deployment] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("ready", "READY"), ("up_to_date", "UP-TO-DATE"),
           ("available", "AVAILABLE"), ("age", "AGE")]


def _stalled(d: Deployment) -> bool:
    return any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" for c in d.status.conditions)


def cells(d: Deployment, now: float) -> Cells:
    md, st, want = d.metadata, d.status, d.spec.replicas
    ready_style = replica_style(st.readyReplicas, want)
    if st.availableReplicas == 0 and want > 0 or _stalled(d):
        ready_style = "critical"
    return (ns_cell(md), name_cell(md), ratio_cell(st.readyReplicas, want, ready_style),
            count_cell(st.updatedReplicas, want), count_cell(st.availableReplicas, want),
            age_cell(md.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    w = 24
    field(out, "Selector", selector_text(spec.get("selector")), width=w)
    want = spec.get("replicas", 1)
    total, avail = st.get("replicas", 0), st.get("availableReplicas", 0)
    field(out, "Replicas", f"{want} desired | {st.get('updatedReplicas', 0)} updated | {total} total | "
                           f"{avail} available | {st.get('unavailableReplicas', 0)} unavailable", width=w)
    out.extend(strategy_text(spec.get("strategy")))
    field(out, "MinReadySeconds", str(spec.get("minReadySeconds", 0)), width=w)
    if spec.get("paused"):
        field(out, "Paused", "true", width=w)
    out.extend(pod_template_lines(spec.get("template")))
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("apps", "v1", "deployments"), "Deployment", "Deployments", namespaced=True,
                names=("deployments", "deployment", "deploy"), list_type=DeploymentList, item_type=Deployment,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.SCALE, Cap.RESTART, Cap.ROLLOUT, Cap.DELETE, Cap.LOGS}),
                max_widths={"namespace": 24, "name": 56})
