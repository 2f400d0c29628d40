"""The HPA pane's data: an HPA (autoscaling/v2, the slim cached struct) and its events → an immutable `HpaView`
that explains itself. Pure: no I/O, no textual.

* every metric of the spec, current against target, worded like `kubectl describe hpa`
  ("resource cpu on pods (as a percentage of request): 56% (141m) / 70%");
* never a bare `<unknown>`: a missing current value carries the reason — the ScalingActive condition when it is
  False (FailedGetResourceMetric: "…no metrics returned from resource metrics API"), else the newest metric
  failure event (FailedGetResourceMetric, FailedComputeMetricsReplicas …), else "no status yet";
* the conditions AbleToScale / ScalingActive / ScalingLimited with reason and message;
* last scale time, recent events of the HPA (SuccessfulRescale …), replica counts from "New size: N" events
  (to seed the replica sparkline before any sample was taken);
* a severity: "critical" when AbleToScale or ScalingActive is False; "warning" at max replicas, when
  ScalingLimited is True (except TooFewReplicas: being held at minReplicas is the quiet normal), or when a
  metric has no current value; "" otherwise.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecotui.kinds.hpas import HorizontalPodAutoscaler, MetricSpec, MetricStatus, SourceSpec, SourceStatus
from ecotui.kube.render import event_count, event_time, human_age, parse_time
from ecotui.textsafe import one_line

UNKNOWN = "<unknown>"
CONDITION_TYPES = ("AbleToScale", "ScalingActive", "ScalingLimited")
METRIC_FAILURES = ("FailedGetResourceMetric", "FailedGetContainerResourceMetric", "FailedGetPodsMetric",
                   "FailedGetObjectMetric", "FailedGetExternalMetric", "FailedComputeMetricsReplicas")
HPA_KIND = "HorizontalPodAutoscaler"
MAX_EVENTS = 10
_NEW_SIZE = re.compile(r"New size: (\d+)")


@dataclass(frozen=True)
class MetricLine:
    label: str              # "resource cpu on pods (as a percentage of request)"
    current: str            # "56% (141m)", or "<unknown>" (then `why` says why)
    target: str             # "70%"
    why: str = ""           # the reason a current value is missing
    ratio: float | None = None   # current / target (utilizations and plain values), for colouring

    @property
    def known(self) -> bool:
        return self.current != UNKNOWN

    @property
    def text(self) -> str:
        cur = self.current if self.known else f"{UNKNOWN} ({self.why})"
        return f"{self.label}: {cur} / {self.target}"


@dataclass(frozen=True)
class ConditionLine:
    type: str
    status: str
    reason: str
    message: str
    since: float | None = None


@dataclass(frozen=True)
class EventLine:
    at: float | None
    type: str
    reason: str
    message: str
    count: int = 1


@dataclass(frozen=True)
class HpaView:
    key: str
    namespace: str
    name: str
    target_kind: str
    target_name: str
    target_api: str
    min_replicas: int | None
    max_replicas: int
    current: int
    desired: int
    metrics: tuple[MetricLine, ...]
    conditions: tuple[ConditionLine, ...]
    last_scale: float | None
    events: tuple[EventLine, ...]
    severity: str            # "" | "warning" | "critical"
    status: str              # one short line: why it stands out ("at max (8)", "ScalingActive False: …") or "ok"

    @property
    def reference(self) -> str:
        return f"{self.target_kind}/{self.target_name}"

    @property
    def at_max(self) -> bool:
        return self.max_replicas > 0 and self.current >= self.max_replicas

    def condition(self, ctype: str) -> ConditionLine | None:
        return next((c for c in self.conditions if c.type == ctype), None)


# ---- metrics ----------------------------------------------------------------------------------


def _q(v: str | None) -> str:
    return "<nil>" if v is None else v


def _ratio(cur: str | int | None, tgt: str | int | None) -> float | None:
    try:
        c, t = parse_quantity(cur), parse_quantity(tgt)
    except ValueError:
        return None
    return c / t if c is not None and t else None


_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2.0 ** 10, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30, "Ti": 2.0 ** 40, "Pi": 2.0 ** 50, "Ei": 2.0 ** 60}
_QTY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(v: str | int | float | None) -> float | None:
    """A Kubernetes quantity ("140m", "1.5Gi", "2k", 70) as a float; None for None; ValueError if malformed."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    m = _QTY.match(v.strip())
    if not m:
        raise ValueError(f"not a quantity: {v!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def _status(statuses: tuple[MetricStatus, ...], i: int, attr: str) -> SourceStatus | None:
    return getattr(statuses[i], attr, None) if i < len(statuses) else None


def _metric_name(src: SourceSpec) -> str:
    return src.metric.name if src.metric is not None else ""


def metric_line(spec: MetricSpec, statuses: tuple[MetricStatus, ...], i: int, why: str) -> MetricLine:
    """One metric as `kubectl describe hpa` words it; `why` is used when the current value is missing."""
    t = spec.type
    attr = t[:1].lower() + t[1:]
    src: SourceSpec = getattr(spec, attr, None) or SourceSpec()
    st = _status(statuses, i, attr)
    tgt = src.target
    if t in ("Resource", "ContainerResource"):
        label = f"resource {src.name}" + (f' of container "{src.container}"' if t == "ContainerResource" else "") \
            + " on pods"
        if tgt.averageValue is not None:
            cur = _q(st.current.averageValue) if st is not None else UNKNOWN
            return MetricLine(label, cur, tgt.averageValue, why, _ratio(st.current.averageValue if st else None,
                                                                        tgt.averageValue))
        target = "<auto>" if tgt.averageUtilization is None else f"{tgt.averageUtilization}%"
        u = st.current.averageUtilization if st is not None else None
        if u is None:
            return MetricLine(label + " (as a percentage of request)", UNKNOWN, target, why)
        cur = f"{u}% ({_q(st.current.averageValue)})" if st is not None else UNKNOWN
        return MetricLine(label + " (as a percentage of request)", cur, target, "",
                          u / tgt.averageUtilization if tgt.averageUtilization else None)
    if t == "Pods":
        cur_v = st.current.averageValue if st is not None else None
        return MetricLine(f'"{_metric_name(src)}" on pods', _q(cur_v) if st is not None else UNKNOWN,
                          _q(tgt.averageValue), why, _ratio(cur_v, tgt.averageValue))
    if t in ("Object", "External"):
        label = f'"{_metric_name(src)}"'
        if t == "Object":
            d = src.describedObject
            label += f" on {d.kind}/{d.name}" if d is not None else " on <unknown object>"
        if tgt.averageValue is not None:
            cur_v = st.current.averageValue if st is not None else None
            cur = _q(cur_v) if st is not None and cur_v is not None else UNKNOWN
            return MetricLine(label + " (target average value)", cur, tgt.averageValue, why,
                              _ratio(cur_v, tgt.averageValue))
        cur_v = st.current.value if st is not None else None
        return MetricLine(label + " (target value)", _q(cur_v) if st is not None else UNKNOWN, _q(tgt.value), why,
                          _ratio(cur_v, tgt.value))
    return MetricLine(f"metric of type {t!r}", UNKNOWN, "<nil>", "this version of ecotui does not know the type")


# ---- conditions, events, why -----------------------------------------------------------------


def conditions(hpa: HorizontalPodAutoscaler) -> tuple[ConditionLine, ...]:
    """The HPA's conditions, AbleToScale / ScalingActive / ScalingLimited first (in that order)."""
    order = {c: i for i, c in enumerate(CONDITION_TYPES)}
    out = [ConditionLine(one_line(c.type, 40), one_line(c.status, 10), one_line(c.reason, 80),
                         one_line(c.message, 400), parse_time(c.lastTransitionTime))
           for c in hpa.status.conditions]
    return tuple(sorted(out, key=lambda c: order.get(c.type, len(order))))


def events_by_hpa(events: Iterable[Any]) -> dict[str, tuple[Any, ...]]:
    """Events whose involvedObject is an HPA, by "namespace/name", newest first."""
    by: dict[str, list[Any]] = {}
    for ev in events:
        ref = ev.involvedObject
        if ref.kind == HPA_KIND:
            by.setdefault(f"{ref.namespace or ev.metadata.namespace}/{ref.name}", []).append(ev)
    return {k: tuple(sorted(v, key=lambda e: event_time(e) or 0.0, reverse=True)) for k, v in by.items()}


def merge_events(*groups: Iterable[Any]) -> tuple[Any, ...]:
    """Events of one HPA from several sources (the cache, a fresh LIST), each once (by name), newest first."""
    by: dict[str, Any] = {}
    for g in groups:
        for e in g:
            old = by.get(e.metadata.name)
            if old is None or (event_time(e) or 0.0) >= (event_time(old) or 0.0):
                by[e.metadata.name] = e
    return tuple(sorted(by.values(), key=lambda e: event_time(e) or 0.0, reverse=True))


def event_lines(events: Iterable[Any], limit: int = MAX_EVENTS) -> tuple[EventLine, ...]:
    return tuple(EventLine(event_time(e), one_line(e.type, 16), one_line(e.reason, 60), one_line(e.message, 400),
                           event_count(e)) for e in list(events)[:limit])


def why_unknown(hpa: HorizontalPodAutoscaler, conds: tuple[ConditionLine, ...], events: tuple[EventLine, ...],
                now: float) -> str:
    """Why a metric has no current value, from the best source available."""
    by = {c.type: c for c in conds}
    active = by.get("ScalingActive")
    if active is not None and active.status == "False":
        return f"ScalingActive False, {active.reason}: {active.message}"
    for ev in events:
        if ev.reason in METRIC_FAILURES:
            ago = f" ({human_age(now - ev.at)} ago)" if ev.at is not None else ""
            return f"{ev.reason}{ago}: {ev.message}"
    able = by.get("AbleToScale")
    if able is not None and able.status == "False":
        return f"AbleToScale False, {able.reason}: {able.message}"
    if not hpa.status.conditions and hpa.status.currentMetrics is None:
        return "no status yet: the HPA controller has not reported on this HPA"
    return "the HPA controller reported no current value for this metric"


def short_why(why: str) -> str:
    """The head of a `why_unknown` text, for a table cell: "ScalingActive False, FailedGetResourceMetric"."""
    head = why.split(":", 1)[0].strip()
    return head[:60] if head else "no reason given"


def severity(view_max: int, current: int, conds: tuple[ConditionLine, ...],
             metrics: tuple[MetricLine, ...], why: str = "") -> tuple[str, str]:
    """(severity, one-line status) — see the module docstring."""
    by = {c.type: c for c in conds}
    for ctype in ("AbleToScale", "ScalingActive"):
        c = by.get(ctype)
        if c is not None and c.status == "False":
            return "critical", f"{ctype} False: {c.reason}"
    notes: list[str] = []
    if view_max > 0 and current >= view_max:
        notes.append(f"at max ({view_max})")
    lim = by.get("ScalingLimited")
    if lim is not None and lim.status == "True" and lim.reason != "TooFewReplicas":
        notes.append(f"ScalingLimited: {lim.reason}")
    unknown = sum(1 for m in metrics if not m.known)
    if unknown:
        notes.append(f"{unknown} metric{'s' if unknown > 1 else ''} unknown"
                     + (f" ({short_why(why)})" if why else ""))
    if notes:
        return "warning", ", ".join(notes)
    if lim is not None and lim.status == "True":
        return "", f"at min ({lim.reason})"
    return "", "ok"


def hpa_view(hpa: HorizontalPodAutoscaler, events: Iterable[Any], now: float) -> HpaView:
    md, sp, st = hpa.metadata, hpa.spec, hpa.status
    conds = conditions(hpa)
    evs = event_lines(events)
    why = why_unknown(hpa, conds, evs, now)
    statuses = st.currentMetrics or ()
    metrics = tuple(metric_line(m, statuses, i, why) for i, m in enumerate(sp.metrics))
    sev, status = severity(sp.maxReplicas, st.currentReplicas, conds, metrics, why)
    ref = sp.scaleTargetRef
    return HpaView(key=f"{md.namespace}/{md.name}", namespace=md.namespace, name=md.name,
                   target_kind=one_line(ref.kind, 60), target_name=one_line(ref.name, 253),
                   target_api=one_line(ref.apiVersion, 60), min_replicas=sp.minReplicas,
                   max_replicas=sp.maxReplicas, current=st.currentReplicas, desired=st.desiredReplicas,
                   metrics=metrics, conditions=conds, last_scale=parse_time(st.lastScaleTime), events=evs,
                   severity=sev, status=status)


def rescale_points(events: Iterable[EventLine]) -> list[tuple[float, float]]:
    """(time, replicas) from SuccessfulRescale events ("New size: 8; reason: …"), oldest first."""
    pts = []
    for e in events:
        m = _NEW_SIZE.search(e.message) if e.reason == "SuccessfulRescale" else None
        if m and e.at is not None:
            pts.append((e.at, float(m.group(1))))
    return sorted(pts)


def detail_lines(v: HpaView, now: float) -> list[tuple[str, str]]:
    """The detail area of the selected HPA as (text, style) lines — style a semantic name or ""."""
    out: list[tuple[str, str]] = []
    mn = "<unset>" if v.min_replicas is None else str(v.min_replicas)
    out.append((f"{v.namespace}/{v.name} → {v.reference}   {v.target_kind} pods: {v.current} current / "
                f"{v.desired} desired (min {mn}, max {v.max_replicas})", v.severity))
    out.append((f"status: {v.status}", v.severity))
    last = "never" if v.last_scale is None else f"{human_age(now - v.last_scale)} ago"
    out.append((f"Last scale: {last}", ""))
    out.append(("Metrics: ( current / target )" + ("" if v.metrics else "  <none>"), "bold"))
    for m in v.metrics:
        out.append(("  " + m.text, "" if m.known else "warning"))
    out.append(("Conditions:" + ("" if v.conditions else "  none reported yet (the HPA controller has not "
                                                          "synced this HPA)"), "bold"))
    for c in v.conditions:
        bad = (c.type in ("AbleToScale", "ScalingActive") and c.status == "False")
        warn = c.type == "ScalingLimited" and c.status == "True" and c.reason != "TooFewReplicas"
        out.append((f"  {c.type:<15} {c.status:<6} {c.reason}: {c.message}",
                    "critical" if bad else "warning" if warn else ""))
    out.append(("Events:" + ("" if v.events else "  <none> (in the events cache)"), "bold"))
    for e in v.events:
        age = "?" if e.at is None else human_age(now - e.at)
        times = f" (x{e.count})" if e.count > 1 else ""
        out.append((f"  {age:>5}{times} {e.type} {e.reason}: {e.message}", "warning" if e.type == "Warning" else ""))
    return out


def views(hpas: Mapping[str, HorizontalPodAutoscaler], events: Mapping[str, tuple[Any, ...]],
          now: float) -> dict[str, HpaView]:
    return {k: hpa_view(h, events.get(k, ()), now) for k, h in hpas.items()}
