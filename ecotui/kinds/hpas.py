"""HorizontalPodAutoscalers (autoscaling/v2): NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE.

TARGETS follows kubectl 1.36 `formatHPAMetrics`: one entry per metric of the spec, paired with the status
metric at the same index — `cpu: 45%/70%`, `cpu: <unknown>/70%`, `memory: 120Mi/500Mi`, `5/10` (Pods),
`3/10 (avg)` (Object/External with an average value) — at most 2 entries, then "+ N more...".
"""
from __future__ import annotations

from typing import Any

from ecotui.kube.render import _shared

from .common import (Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, int_cell, msgspec, name_cell,
                     ns_cell, table)
from .deployments import conditions_of
from .spec import GVR, Cap, Cells, KindSpec


class MetricTarget(msgspec.Struct, **S):
    type: str = ""
    averageUtilization: int | None = None
    averageValue: str | None = None
    value: str | None = None


class MetricValue(msgspec.Struct, **S):
    averageUtilization: int | None = None
    averageValue: str | None = None
    value: str | None = None


class MetricIdentifier(msgspec.Struct, **S):
    name: str = ""                 # pods / object / external metric name (its selector is not kept)


class ObjectRef(msgspec.Struct, **S):
    kind: str = ""
    name: str = ""
    apiVersion: str = ""


class SourceSpec(msgspec.Struct, **S):
    name: str = ""                 # resource name (resource / containerResource)
    target: MetricTarget = MetricTarget()
    container: str = ""            # containerResource
    metric: MetricIdentifier | None = None      # pods / object / external
    describedObject: ObjectRef | None = None    # object


class SourceStatus(msgspec.Struct, **S):
    name: str = ""
    current: MetricValue = MetricValue()
    container: str = ""
    metric: MetricIdentifier | None = None
    describedObject: ObjectRef | None = None


class MetricSpec(msgspec.Struct, **S):
    type: str = ""
    resource: SourceSpec | None = None
    containerResource: SourceSpec | None = None
    pods: SourceSpec | None = None
    object: SourceSpec | None = None
    external: SourceSpec | None = None


class MetricStatus(msgspec.Struct, **S):
    type: str = ""
    resource: SourceStatus | None = None
    containerResource: SourceStatus | None = None
    pods: SourceStatus | None = None
    object: SourceStatus | None = None
    external: SourceStatus | None = None


class ScaleTargetRef(msgspec.Struct, **S):
    kind: str = ""
    name: str = ""
    apiVersion: str = ""


class HPACondition(msgspec.Struct, **S):
    type: str = ""                 # AbleToScale / ScalingActive / ScalingLimited
    status: str = ""               # "True" / "False" / "Unknown"
    reason: str = ""
    message: str = ""
    lastTransitionTime: str | None = None


class HPASpec(msgspec.Struct, **S):
    scaleTargetRef: ScaleTargetRef = ScaleTargetRef()
    minReplicas: int | None = None
    maxReplicas: int = 0
    metrics: tuple[MetricSpec, ...] = ()


class HPAStatus(msgspec.Struct, **S):
    currentReplicas: int = 0
    desiredReplicas: int = 0
    currentMetrics: tuple[MetricStatus, ...] | None = None  # no omitempty: the API server sends null
    conditions: tuple[HPACondition, ...] = ()
    lastScaleTime: str | None = None


class HorizontalPodAutoscaler(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: HPASpec = HPASpec()
    status: HPAStatus = HPAStatus()


class HorizontalPodAutoscalerList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[HorizontalPodAutoscaler] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("reference", "REFERENCE"), ("targets", "TARGETS"),
           ("minpods", "MINPODS"), ("maxpods", "MAXPODS"), ("replicas", "REPLICAS"), ("age", "AGE")]

_MAX_METRICS = 2
_UNKNOWN = "<unknown>"


def _q(v: str | None) -> str:
    return "<nil>" if v is None else v   # Go's (*Quantity)(nil).String()


def _status(statuses: tuple[MetricStatus, ...], i: int, attr: str) -> SourceStatus | None:
    return getattr(statuses[i], attr) if i < len(statuses) else None


def _one(spec: MetricSpec, statuses: tuple[MetricStatus, ...], i: int) -> tuple[str, float | None]:
    """(text, current/target ratio when both are utilizations) of one metric."""
    t = spec.type
    if t in ("External", "Object"):
        src = (spec.external if t == "External" else spec.object) or SourceSpec()
        st = _status(statuses, i, t.lower())
        if src.target.averageValue is not None:
            cur = _q(st.current.averageValue) if st is not None and st.current.averageValue is not None else _UNKNOWN
            return f"{cur}/{src.target.averageValue} (avg)", None
        cur = _q(st.current.value) if st is not None else _UNKNOWN
        return f"{cur}/{_q(src.target.value)}", None
    if t == "Pods":
        src = spec.pods or SourceSpec()
        st = _status(statuses, i, "pods")
        cur = _q(st.current.averageValue) if st is not None else _UNKNOWN
        return f"{cur}/{_q(src.target.averageValue)}", None
    if t in ("Resource", "ContainerResource"):
        attr = "resource" if t == "Resource" else "containerResource"
        src = getattr(spec, attr) or SourceSpec()
        st = _status(statuses, i, attr)
        if src.target.averageValue is not None:
            cur = _q(st.current.averageValue) if st is not None else _UNKNOWN
            return f"{src.name}: {cur}/{src.target.averageValue}", None
        cur_u = st.current.averageUtilization if st is not None else None
        tgt_u = src.target.averageUtilization
        cur = _UNKNOWN if cur_u is None else f"{cur_u}%"
        tgt = "<auto>" if tgt_u is None else f"{tgt_u}%"
        ratio = cur_u / tgt_u if cur_u is not None and tgt_u else None
        return f"{src.name}: {cur}/{tgt}", ratio
    return "<unknown type>", None


def targets(hpa: HorizontalPodAutoscaler) -> tuple[str, float | None, bool]:
    """(TARGETS text, the highest utilization/target ratio or None, any metric unknown)."""
    specs, statuses = hpa.spec.metrics, hpa.status.currentMetrics or ()
    if not specs:
        return "<none>", None, False
    parts: list[str] = []
    worst: float | None = None
    unknown = False
    for i, s in enumerate(specs):
        text, ratio = _one(s, statuses, i)
        parts.append(text)
        unknown = unknown or _UNKNOWN in text
        if ratio is not None and (worst is None or ratio > worst):
            worst = ratio
    text = ", ".join(parts[:_MAX_METRICS])
    if len(parts) > _MAX_METRICS:
        text += f" + {len(parts) - _MAX_METRICS} more..."
    return text, worst, unknown


def cells(hpa: HorizontalPodAutoscaler, now: float) -> Cells:
    md, sp, st = hpa.metadata, hpa.spec, hpa.status
    ref = f"{sp.scaleTargetRef.kind}/{sp.scaleTargetRef.name}"
    text, worst, unknown = targets(hpa)
    t_style = "warning" if unknown or (worst is not None and worst > 1.0) else ""
    at_max = sp.maxReplicas > 0 and st.currentReplicas >= sp.maxReplicas
    return (ns_cell(md), name_cell(md), Cell(inert(ref), ref),
            Cell(inert(text), (-1.0 if worst is None else worst, text), t_style),
            _shared("<unset>", -1, "muted") if sp.minReplicas is None else int_cell(sp.minReplicas),
            int_cell(sp.maxReplicas, "warning" if at_max else ""),
            int_cell(st.currentReplicas, "warning" if at_max else ""),
            age_cell(md.creationTimestamp, now))


def _metric_rows(obj: Any) -> list[list[str]]:
    rows = [["Metric", "Current / Target"]]
    statuses = get(obj, "status", "currentMetrics", default=())
    for i, m in enumerate(get(obj, "spec", "metrics", default=())):
        typ = str(m.get("type", ""))
        key = typ[:1].lower() + typ[1:]
        src = m.get(key) or {}
        st = get(statuses, i, key, "current", default={}) if i < len(statuses) else {}
        tgt = src.get("target") or {}
        name = str(src.get("name") or get(src, "metric", "name", default="") or "")
        if typ == "ContainerResource":
            name = f"{name} of container {src.get('container', '')}"
        elif typ == "Object":
            d = src.get("describedObject") or {}
            name = f"{name} on {d.get('kind', '')}/{d.get('name', '')}"
        label = f"{typ} {name}".strip()
        if tgt.get("averageUtilization") is not None:
            cur = st.get("averageUtilization")
            cur_s = f"{cur}%" if cur is not None else _UNKNOWN
            if st.get("averageValue") is not None:
                cur_s += f" ({st['averageValue']})"
            rows.append([inert(label + " (utilization)"), f"{cur_s} / {tgt['averageUtilization']}%"])
        elif tgt.get("averageValue") is not None:
            rows.append([inert(label + " (average value)"),
                         inert(f"{st.get('averageValue', _UNKNOWN)} / {tgt['averageValue']}")])
        else:
            rows.append([inert(label), inert(f"{st.get('value', _UNKNOWN)} / {tgt.get('value', '<nil>')}")])
    return rows


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    ref = spec.get("scaleTargetRef") or {}
    field(out, "Reference", inert(f"{ref.get('kind', '')}/{ref.get('name', '')}"), width=40)
    rows = _metric_rows(obj)
    out.append("Metrics:" + ("" if len(rows) > 1 else "  <none>"))
    if len(rows) > 1:
        out.extend(table(rows))
    field(out, "Min replicas", str(spec.get("minReplicas", "<unset>")), width=40)
    field(out, "Max replicas", str(spec.get("maxReplicas", 0)), width=40)
    field(out, f"{ref.get('kind', '')} pods", f"{st.get('currentReplicas', 0)} current / "
                                              f"{st.get('desiredReplicas', 0)} desired", width=40)
    behavior = spec.get("behavior") or {}
    for direction in ("scaleUp", "scaleDown"):
        b = behavior.get(direction)
        if isinstance(b, dict):
            pol = ", ".join(inert(f"{p.get('type', '')} {p.get('value', '')} per {p.get('periodSeconds', '')}s")
                            for p in b.get("policies") or ())
            win = b.get("stabilizationWindowSeconds")
            field(out, f"Behavior {direction}", (pol or "<none>") +
                  (f"; stabilization window {win}s" if win is not None else ""), width=40)
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("autoscaling", "v2", "horizontalpodautoscalers"), "HorizontalPodAutoscaler",
                "HorizontalPodAutoscalers", namespaced=True,
                names=("horizontalpodautoscalers", "horizontalpodautoscaler", "hpa"),
                list_type=HorizontalPodAutoscalerList, item_type=HorizontalPodAutoscaler,
                columns=COLUMNS, cells=cells, describe=describe, capabilities=frozenset({Cap.DESCRIBE}),
                max_widths={"namespace": 24, "name": 48, "reference": 48, "targets": 48})
