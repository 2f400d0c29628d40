"""ecotui.metrics.hpa: an HPA explained — metrics like `kubectl describe hpa`, never a bare <unknown>,
conditions, events, severity, replica points from rescale events."""
from __future__ import annotations

import datetime as dt

import msgspec

from ecotui.kinds.hpas import HorizontalPodAutoscaler
from ecotui.kube.models import Event, EventSource, ObjectMeta, ObjectReference
from ecotui.metrics import hpa as H

NOW = 1_800_000_000.0
T = "2027-01-15T08:00:00Z"          # 1_800_000_000 is 2027-01-15T08:00:00Z
CPU70 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
CPU56 = {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 56, "averageValue": "141m"}}}
ACTIVE = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
          "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                     "(percentage of request)"}
ABLE = {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
        "message": "recommended size matches current size"}
WITHIN = {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange",
          "message": "the desired count is within the acceptable range"}
TOO_MANY = {"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
            "message": "the desired replica count is more than the maximum replica count"}


def make(metrics=(CPU70,), current=(CPU56,), conds=(ABLE, ACTIVE, WITHIN), cur=4, desired=4, mn=4, mx=8,
         last_scale=None) -> HorizontalPodAutoscaler:
    status = {"currentReplicas": cur, "desiredReplicas": desired, "currentMetrics": list(current) if current is not None
              else None, "conditions": list(conds)}
    if last_scale:
        status["lastScaleTime"] = last_scale
    return msgspec.convert({
        "metadata": {"name": "user-service-hpa", "namespace": "ecotrack", "creationTimestamp": T},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service"},
                 "minReplicas": mn, "maxReplicas": mx, "metrics": list(metrics)},
        "status": status}, HorizontalPodAutoscaler)


def ev(reason: str, message: str, *, type_: str = "Normal", ago: int = 60, name: str = "user-service-hpa",
       kind: str = "HorizontalPodAutoscaler", count: int = 1) -> Event:
    stamp = dt.datetime.fromtimestamp(NOW - ago, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Event(metadata=ObjectMeta(name=f"{name}.{reason}.{ago}", namespace="ecotrack"),
                 involvedObject=ObjectReference(kind=kind, name=name, namespace="ecotrack"), reason=reason,
                 message=message, type=type_, count=count, lastTimestamp=stamp,
                 source=EventSource(component="horizontal-pod-autoscaler"))


def test_resource_utilization_line_like_kubectl_describe():
    v = H.hpa_view(make(), (), NOW)
    assert [m.text for m in v.metrics] == ["resource cpu on pods (as a percentage of request): 56% (141m) / 70%"]
    assert v.metrics[0].ratio == 56 / 70
    assert (v.reference, v.min_replicas, v.max_replicas, v.current, v.desired) == \
        ("Deployment/user-service", 4, 8, 4, 4)
    assert (v.severity, v.status) == ("", "ok")
    assert [c.type for c in v.conditions] == ["AbleToScale", "ScalingActive", "ScalingLimited"]


def test_every_metric_type_current_against_target():
    metrics = [
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                                                            "target": {"type": "Utilization", "averageUtilization": 60}}},
        {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"},
                                  "target": {"type": "AverageValue", "averageValue": "1k"}}},
        {"type": "Object", "object": {"metric": {"name": "requests-per-second"},
                                      "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                                          "name": "main-route"},
                                      "target": {"type": "Value", "value": "10k"}}},
        {"type": "External", "external": {"metric": {"name": "queue_messages_ready"},
                                          "target": {"type": "AverageValue", "averageValue": "30"}}},
    ]
    current = [
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "120Mi"}}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                                                            "current": {"averageUtilization": 45,
                                                                        "averageValue": "90m"}}},
        {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "current": {"averageValue": "800"}}},
        {"type": "Object", "object": {"metric": {"name": "requests-per-second"},
                                      "describedObject": {"kind": "Ingress", "name": "main-route"},
                                      "current": {"value": "12k"}}},
        {"type": "External", "external": {"metric": {"name": "queue_messages_ready"}, "current": {"averageValue": "45"}}},
    ]
    v = H.hpa_view(make(metrics, current), (), NOW)
    assert [m.text for m in v.metrics] == [
        "resource memory on pods: 120Mi / 500Mi",
        'resource cpu of container "app" on pods (as a percentage of request): 45% (90m) / 60%',
        '"packets-per-second" on pods: 800 / 1k',
        '"requests-per-second" on Ingress/main-route (target value): 12k / 10k',
        '"queue_messages_ready" (target average value): 45 / 30',
    ]
    assert [round(m.ratio, 2) for m in v.metrics] == [0.24, 0.75, 0.8, 1.2, 1.5]
    assert v.severity == ""


def test_missing_current_value_says_why_from_scaling_active():
    inactive = {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: unable "
                           "to get metrics for resource cpu: no metrics returned from resource metrics API"}
    v = H.hpa_view(make(current=None, conds=(ABLE, inactive)), (), NOW)
    m = v.metrics[0]
    assert not m.known
    assert m.text.startswith("resource cpu on pods (as a percentage of request): <unknown> (ScalingActive False, "
                             "FailedGetResourceMetric: ")
    assert "no metrics returned from resource metrics API" in m.text
    assert (v.severity, v.status) == ("critical", "ScalingActive False: FailedGetResourceMetric")


def test_missing_current_value_says_why_from_events_then_no_status():
    e = ev("FailedGetResourceMetric", "failed to get cpu utilization: no metrics returned from resource metrics API",
           type_="Warning", ago=30)
    v = H.hpa_view(make(current=None), [e], NOW)
    assert "<unknown> (FailedGetResourceMetric (30s ago): failed to get cpu utilization" in v.metrics[0].text
    assert v.severity == "warning" and v.status == "1 metric unknown (FailedGetResourceMetric (30s ago))"
    fresh = H.hpa_view(make(current=None, conds=()), (), NOW)
    assert "no status yet" in fresh.metrics[0].text
    assert fresh.status.endswith("(no status yet)")  # the table's STATUS cell says why too
    assert "<unknown> /" not in fresh.metrics[0].text  # never bare


def test_at_max_and_scaling_limited_warn_able_to_scale_false_is_critical():
    v = H.hpa_view(make(cur=8, desired=8, conds=(ABLE, ACTIVE, TOO_MANY)), (), NOW)
    assert v.at_max and v.severity == "warning"
    assert v.status == "at max (8), ScalingLimited: TooManyReplicas"
    lim = v.condition("ScalingLimited")
    assert lim is not None and (lim.status, lim.reason) == ("True", "TooManyReplicas")
    unable = {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
              "message": 'the HPA controller was unable to get the target\'s current scale: deployments/scale.apps '
                         '"user-service" not found'}
    bad = H.hpa_view(make(conds=(unable, ACTIVE, WITHIN)), (), NOW)
    assert (bad.severity, bad.status) == ("critical", "AbleToScale False: FailedGetScale")
    # held at minReplicas is the quiet normal, not a warning
    at_min = {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas", "message": "…"}
    quiet = H.hpa_view(make(conds=(ABLE, ACTIVE, at_min)), (), NOW)
    assert (quiet.severity, quiet.status) == ("", "at min (TooFewReplicas)")


def test_events_by_hpa_newest_first_and_rescale_points():
    evs = [ev("SuccessfulRescale", "New size: 6; reason: cpu resource utilization (percentage of request) above "
              "target", ago=300),
           ev("SuccessfulRescale", "New size: 8; reason: cpu resource utilization (percentage of request) above "
              "target", ago=120),
           ev("Pulled", "image", kind="Pod", name="user-service-abc"),
           ev("SuccessfulRescale", "New size: 3", name="other-hpa")]
    by = H.events_by_hpa(evs)
    assert set(by) == {"ecotrack/user-service-hpa", "ecotrack/other-hpa"}
    mine = by["ecotrack/user-service-hpa"]
    assert [e.message[:11] for e in mine] == ["New size: 8", "New size: 6"]
    v = H.hpa_view(make(cur=8, desired=8, last_scale="2027-01-15T07:58:00Z"), mine, NOW)
    assert v.last_scale == NOW - 120
    assert H.rescale_points(v.events) == [(NOW - 300, 6.0), (NOW - 120, 8.0)]
    text = "\n".join(t for t, _ in H.detail_lines(v, NOW))
    assert "Last scale: 2m ago" in text and "SuccessfulRescale: New size: 8" in text


def test_hostile_strings_render_inert():
    bad = dict(ACTIVE, message="ok\x1b[2J\x1b]52;c;AAAA\x07\nsecond line")
    v = H.hpa_view(make(conds=(ABLE, bad, WITHIN)), [ev("X\x1b[31m", "m\x00\r\nm")], NOW)
    text = "\n".join(t for t, _ in H.detail_lines(v, NOW))
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text and "\r" not in text
    assert len(text.splitlines()) == len(H.detail_lines(v, NOW))


def test_parse_quantity():
    assert H.parse_quantity("140m") == 0.14
    assert H.parse_quantity("1Gi") == 2 ** 30
    assert H.parse_quantity("2k") == 2000
    assert H.parse_quantity(None) is None


def test_merge_events_once_each_newest_first():
    a, b = ev("SuccessfulRescale", "New size: 6", ago=300), ev("SuccessfulRescale", "New size: 8", ago=120)
    newer_a = Event(metadata=a.metadata, involvedObject=a.involvedObject, reason=a.reason, message=a.message,
                    count=2, lastTimestamp=b.lastTimestamp)
    merged = H.merge_events([a], [b, newer_a])
    assert [e.count for e in merged] == [2, 1] and len(merged) == 2
