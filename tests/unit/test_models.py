"""The cached structs keep only what the tables need; the detail structs what describe shows."""
from __future__ import annotations

import gc
import json

import msgspec

from ecotui.kube.models import Node, NodeDetail, Pod, PodDetail, PodList, as_detail
from ecotui.kube.render import pod_cells

POD = {
    "metadata": {"name": "web-1", "namespace": "ecotrack", "uid": "u1", "resourceVersion": "7",
                 "creationTimestamp": "2024-05-01T10:00:00Z", "labels": {"app": "web"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x" * 2000},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f", "controller": True}],
                 "managedFields": [{"manager": "kubectl"}]},
    "spec": {"nodeName": "node-a", "serviceAccountName": "web",
             "containers": [{"name": "app", "image": "web:1", "env": [{"name": "A", "value": "b"}],
                             "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1"}}}],
             "volumes": [{"name": "v", "emptyDir": {}}],
             "tolerations": [{"key": "k", "operator": "Exists"}]},
    "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "10.1.0.1", "qosClass": "Burstable",
               "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"}],
               "containerStatuses": [{"name": "app", "ready": True, "restartCount": 2, "image": "web:1",
                                      "state": {"running": {"startedAt": "2024-05-01T10:00:03Z"}},
                                      "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                                   "finishedAt": "2024-05-01T10:00:02Z",
                                                                   "message": "killed"}}}]},
}


def test_cached_pod_keeps_table_fields_only():
    p = msgspec.convert(POD, Pod)
    assert not hasattr(p.metadata, "annotations") and not hasattr(p.metadata, "ownerReferences")
    assert not hasattr(p.spec.containers[0], "image") and not hasattr(p.status, "qosClass")
    assert p.metadata.labels == {"app": "web"} and p.status.containerStatuses[0].restartCount == 2
    assert p.status.containerStatuses[0].lastState.terminated.finishedAt == "2024-05-01T10:00:02Z"
    cells = pod_cells(p, 1714557700.0)
    assert [c.text for c in cells][:5] == ["ecotrack", "web-1", "1/1", "Running", "2 (98s ago)"]


def test_detail_pod_keeps_what_describe_shows_and_is_a_pod():
    d = msgspec.convert(POD, PodDetail)
    assert isinstance(d, Pod)
    assert d.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] == "x" * 2000
    assert d.spec.containers[0].image == "web:1" and d.spec.containers[0].ports[0].containerPort == 80
    assert d.spec.tolerations[0].operator == "Exists" and d.status.qosClass == "Burstable"
    assert d.status.containerStatuses[0].lastState.terminated.message == "killed"
    assert pod_cells(d, 1714557700.0) == pod_cells(msgspec.convert(POD, Pod), 1714557700.0)


def test_as_detail_widens_a_cached_struct():
    d = as_detail(msgspec.convert(POD, Pod))
    assert isinstance(d, PodDetail) and d.metadata.name == "web-1" and d.metadata.annotations == {}
    assert d.status.containerStatuses[0].lastState.terminated.reason == "OOMKilled"
    n = as_detail(Node())
    assert isinstance(n, NodeDetail) and as_detail(n) is n


def test_decoded_cache_is_invisible_to_the_cyclic_gc():
    page = json.dumps({"metadata": {"resourceVersion": "1"}, "items": [POD] * 200}).encode()
    pods = msgspec.json.decode(page, type=PodList).items
    gc.collect()
    p = pods[0]
    parts = [p, p.metadata, p.metadata.labels, p.spec, p.spec.containers, p.status, p.status.conditions,
             p.status.containerStatuses, p.status.containerStatuses[0].state]
    assert not any(gc.is_tracked(x) for x in parts)
    assert Pod().spec.containers is Pod().spec.containers == ()     # empty arrays share one tuple
