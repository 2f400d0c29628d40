"""Deployments, StatefulSets, DaemonSets, ReplicaSets: rows as `kubectl get` prints them, describe, styles."""
from __future__ import annotations

import copy

from kinds_helpers import HOSTILE, NOW, assert_inert, decode, meta, row, styles

from ecotui.kinds import daemonsets, deployments, replicasets, statefulsets
from ecotui.kinds.common import describe_object

TEMPLATE = {
    "metadata": {"labels": {"app": "user-service", "tier": "backend"},
                 "annotations": {"kwok.x-k8s.io/usage-cpu": "180m"}},
    "spec": {"containers": [{
        "name": "user-service", "image": "ecotrack/user-service:1.4.2",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "env": [{"name": "SPRING_PROFILES_ACTIVE", "value": "prod"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"},
}

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": meta("user-service", "ecotrack", annotations={"deployment.kubernetes.io/revision": "2"}),
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "user-service"}},
             "template": TEMPLATE, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}},
    "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
               "availableReplicas": 3,
               "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                               "message": "Deployment has minimum availability.",
                               "lastUpdateTime": "2023-11-14T21:14:00Z", "lastTransitionTime": "2023-11-14T21:14:00Z"},
                              {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                               "message": "ReplicaSet \"user-service-7d9f\" has successfully progressed."}]},
}


def test_deployment_row_like_kubectl():
    assert row(deployments.SPEC, DEPLOY) == {"namespace": "ecotrack", "name": "user-service", "ready": "3/3",
                                             "up_to_date": "3", "available": "3", "age": "60m"}
    assert set(styles(deployments.SPEC, DEPLOY).values()) <= {""}


def test_deployment_styles_short_and_down():
    d = copy.deepcopy(DEPLOY)
    d["status"].update(readyReplicas=2, availableReplicas=2, updatedReplicas=1)
    r, s = row(deployments.SPEC, d), styles(deployments.SPEC, d)
    assert (r["ready"], r["up_to_date"], r["available"]) == ("2/3", "1", "2")
    assert s["ready"] == s["up_to_date"] == s["available"] == "warning"
    d["status"] = {"replicas": 3, "unavailableReplicas": 3}        # kubectl omits zero counts
    r, s = row(deployments.SPEC, d), styles(deployments.SPEC, d)
    assert (r["ready"], r["up_to_date"], r["available"]) == ("0/3", "0", "0")
    assert s["ready"] == s["available"] == "critical"
    d["spec"]["replicas"] = 0                                        # scaled to zero: nothing to flag
    assert row(deployments.SPEC, d)["ready"] == "0/0"
    assert styles(deployments.SPEC, d)["ready"] == ""


def test_deployment_stalled_rollout_is_critical():
    d = copy.deepcopy(DEPLOY)
    d["status"]["conditions"][1].update(status="False", reason="ProgressDeadlineExceeded")
    assert styles(deployments.SPEC, d)["ready"] == "critical"


def test_deployment_sort_types_are_uniform():
    a = decode(deployments.SPEC, DEPLOY)
    d = copy.deepcopy(DEPLOY)
    d["status"] = {}
    b = decode(deployments.SPEC, d)
    for ca, cb in zip(deployments.cells(a, NOW), deployments.cells(b, NOW)):
        assert type(ca.sort) is type(cb.sort)


def test_deployment_describe():
    text = "\n".join(deployments.describe(DEPLOY, NOW))
    assert "Selector:               app=user-service" in text
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in text
    assert "StrategyType:           RollingUpdate" in text
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in text
    assert "ecotrack/user-service:1.4.2" in text and "8080/TCP (http)" in text
    assert "SPRING_PROFILES_ACTIVE:  prod" in text
    assert "DB_PASSWORD:  <set to the key 'password' in secret 'db'>" in text
    assert "cpu:  250m" in text and "memory:  1Gi" in text
    assert "Available" in text and "MinimumReplicasAvailable" in text
    full = describe_object("Deployment", DEPLOY, deployments.describe(DEPLOY, NOW), [], NOW)
    assert full.startswith("Name:") and "Namespace:        ecotrack" in full


def test_selector_expressions():
    sel = {"matchLabels": {"b": "2", "a": "1"},
           "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]},
                                {"key": "canary", "operator": "DoesNotExist"},
                                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                                {"key": "team", "operator": "Exists"}]}
    assert deployments.selector_text(sel) == "a=1,b=2,env in (prod,stage),!canary,tier notin (db),team"
    assert deployments.selector_text(None) == "<none>"


STS = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("redis", "ecotrack"),
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "redis"}}, "serviceName": "redis",
             "podManagementPolicy": "OrderedReady", "template": TEMPLATE,
             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
             "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                 "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                 "resources": {"requests": {"storage": "10Gi"}}}}]},
    "status": {"replicas": 3, "readyReplicas": 2, "currentReplicas": 3, "updatedReplicas": 3,
               "availableReplicas": 2, "currentRevision": "redis-5c9", "updateRevision": "redis-5c9"},
}


def test_statefulset_row_and_describe():
    assert row(statefulsets.SPEC, STS) == {"namespace": "ecotrack", "name": "redis", "ready": "2/3", "age": "60m"}
    assert styles(statefulsets.SPEC, STS)["ready"] == "warning"
    text = "\n".join(statefulsets.describe(STS, NOW))
    assert "Service Name:" in text and "Pods Status:            2 Ready / 3 Current / 3 Updated" in text
    assert "Update Strategy:        RollingUpdate" in text and "Partition" in text
    assert "Volume Claims:" in text and "10Gi" in text and "gp3" in text


DS = {
    "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("kube-proxy", "kube-system"),
    "spec": {"selector": {"matchLabels": {"app": "kube-proxy"}},
             "template": {**TEMPLATE, "spec": {**TEMPLATE["spec"],
                                                "nodeSelector": {"kubernetes.io/os": "linux", "a": "b"}}},
             "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
    "status": {"currentNumberScheduled": 12, "desiredNumberScheduled": 12, "numberAvailable": 11,
               "numberMisscheduled": 0, "numberReady": 11, "observedGeneration": 1, "updatedNumberScheduled": 12,
               "numberUnavailable": 1},
}


def test_daemonset_row_like_kubectl():
    assert row(daemonsets.SPEC, DS) == {
        "namespace": "kube-system", "name": "kube-proxy", "desired": "12", "current": "12", "ready": "11",
        "up_to_date": "12", "available": "11", "node_selector": "a=b,kubernetes.io/os=linux", "age": "60m"}
    assert styles(daemonsets.SPEC, DS)["ready"] == "warning"
    d = copy.deepcopy(DS)
    del d["spec"]["template"]["spec"]["nodeSelector"]
    assert row(daemonsets.SPEC, d)["node_selector"] == "<none>"
    text = "\n".join(daemonsets.describe(DS, NOW))
    assert "Desired Number of Nodes Scheduled:  12" in text and "11 Ready / 1 Unavailable" in text


RS = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": meta("user-service-7d9f", "ecotrack", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service", "uid": "x", "controller": True}]),
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "user-service"}}, "template": TEMPLATE},
    "status": {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3},
}


def test_replicaset_rows():
    assert row(replicasets.SPEC, RS) == {"namespace": "ecotrack", "name": "user-service-7d9f", "desired": "3",
                                         "current": "3", "ready": "3", "age": "60m"}
    old = copy.deepcopy(RS)
    old["spec"]["replicas"] = 0
    old["status"] = {"replicas": 0, "observedGeneration": 2}
    assert row(replicasets.SPEC, old)["ready"] == "0"
    assert set(styles(replicasets.SPEC, old).values()) >= {"muted"}
    text = "\n".join(replicasets.describe(RS, NOW))
    assert "Controlled By:    Deployment/user-service" in text
    assert "Replicas:         3 current / 3 desired" in text


def test_hostile_names_render_inert():
    for spec, obj in ((deployments.SPEC, DEPLOY), (statefulsets.SPEC, STS), (daemonsets.SPEC, DS),
                      (replicasets.SPEC, RS)):
        o = copy.deepcopy(obj)
        o["metadata"]["name"] = HOSTILE
        o["metadata"]["namespace"] = HOSTILE
        o["spec"]["template"]["metadata"]["labels"] = {"app": HOSTILE}
        o["spec"]["template"]["spec"]["containers"][0]["image"] = HOSTILE
        for text in row(spec, o).values():
            assert_inert(text)
        assert_inert(describe_object(spec.kind, o, spec.describe(o, NOW), [], NOW))
