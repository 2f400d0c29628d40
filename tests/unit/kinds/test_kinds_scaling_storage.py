"""HPAs, PDBs and PVCs: kubectl's column formats and the on-call styles."""
from __future__ import annotations

import copy

from kinds_helpers import HOSTILE, NOW, assert_inert, decode, meta, row, styles

from ecotui.kinds import hpas, pdbs, pvcs, pvs
from ecotui.kinds.common import describe_object


def hpa(metrics: list, current: list | None = None, cur: int = 3, mn: int | None = 2, mx: int = 10) -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service"},
            "maxReplicas": mx, "metrics": metrics}
    if mn is not None:
        spec["minReplicas"] = mn
    status = {"currentReplicas": cur, "desiredReplicas": cur,
              "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                             {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]}
    if current is not None:
        status["currentMetrics"] = current
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta("user-service-hpa", "ecotrack"), "spec": spec, "status": status}


CPU70 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
CPU45 = {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "112m"}}}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}}
MEM_CUR = {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "120Mi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
EXT = {"type": "External", "external": {"metric": {"name": "queue"},
                                        "target": {"type": "AverageValue", "averageValue": "30"}}}


def test_hpa_row_like_kubectl():
    assert row(hpas.SPEC, hpa([CPU70], [CPU45])) == {
        "namespace": "ecotrack", "name": "user-service-hpa", "reference": "Deployment/user-service",
        "targets": "cpu: 45%/70%", "minpods": "2", "maxpods": "10", "replicas": "3", "age": "60m"}


def test_hpa_targets_formats():
    t = lambda *a, **k: row(hpas.SPEC, hpa(*a, **k))["targets"]  # noqa: E731
    assert t([CPU70]) == "cpu: <unknown>/70%"
    assert t([]) == "<none>"
    assert t([MEM], [MEM_CUR]) == "memory: 120Mi/500Mi"
    assert t([CPU70, MEM], [CPU45, MEM_CUR]) == "cpu: 45%/70%, memory: 120Mi/500Mi"
    assert t([CPU70, MEM, PODS], [CPU45]) == "cpu: 45%/70%, memory: <unknown>/500Mi + 1 more..."
    assert t([PODS]) == "<unknown>/10"
    null = hpa([CPU70])
    null["status"]["currentMetrics"] = None        # what the API server sends before the first metrics
    assert row(hpas.SPEC, null)["targets"] == "cpu: <unknown>/70%"
    assert "cpu (utilization)" in "\n".join(hpas.describe(null, NOW))
    assert t([EXT]) == "<unknown>/30 (avg)"
    auto = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}
    assert t([auto]) == "cpu: <unknown>/<auto>"
    cr = {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}}
    assert t([cr]) == "cpu: <unknown>/60%"
    assert row(hpas.SPEC, hpa([CPU70], mn=None))["minpods"] == "<unset>"


def test_hpa_styles():
    at_max = styles(hpas.SPEC, hpa([CPU70], [CPU45], cur=10, mx=10))
    assert at_max["replicas"] == at_max["maxpods"] == "warning"
    assert styles(hpas.SPEC, hpa([CPU70], [CPU45]))["replicas"] == ""
    over = copy.deepcopy(CPU45)
    over["resource"]["current"]["averageUtilization"] = 95
    assert styles(hpas.SPEC, hpa([CPU70], [over]))["targets"] == "warning"
    assert styles(hpas.SPEC, hpa([CPU70]))["targets"] == "warning"     # <unknown>: metrics are missing
    a, b = decode(hpas.SPEC, hpa([CPU70], [CPU45])), decode(hpas.SPEC, hpa([], mn=None))
    for ca, cb in zip(hpas.cells(a, NOW), hpas.cells(b, NOW)):
        assert type(ca.sort) is type(cb.sort)


def test_hpa_describe():
    h = hpa([CPU70, MEM], [CPU45, MEM_CUR])
    text = "\n".join(hpas.describe(h, NOW))
    assert "Reference:" in text and "Deployment/user-service" in text
    assert "Resource cpu (utilization)" in text and "45% (112m) / 70%" in text
    assert "120Mi / 500Mi" in text
    assert "Min replicas:" in text and "Max replicas:" in text and "3 current / 3 desired" in text
    assert "ScalingActive" in text


def pdb(spec: dict, allowed: int = 1) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("user-service-pdb", "ecotrack"),
            "spec": {"selector": {"matchLabels": {"app": "user-service"}}, **spec},
            "status": {"currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": allowed, "expectedPods": 3,
                       "observedGeneration": 1,
                       "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods"}]}}


def test_pdb_rows():
    assert row(pdbs.SPEC, pdb({"minAvailable": 1})) == {
        "namespace": "ecotrack", "name": "user-service-pdb", "min_available": "1", "max_unavailable": "N/A",
        "allowed": "1", "age": "60m"}
    r = row(pdbs.SPEC, pdb({"maxUnavailable": "25%"}, allowed=0))
    assert (r["min_available"], r["max_unavailable"], r["allowed"]) == ("N/A", "25%", "0")
    assert styles(pdbs.SPEC, pdb({"maxUnavailable": "25%"}, allowed=0))["allowed"] == "warning"
    cols = [pdbs.cells(decode(pdbs.SPEC, pdb(s)), NOW) for s in ({"minAvailable": 1}, {"minAvailable": "50%"}, {})]
    assert len({type(c[2].sort) for c in cols}) == 1
    text = "\n".join(pdbs.describe(pdb({"minAvailable": 1}), NOW))
    assert "Min available:    1" in text and "Selector:         app=user-service" in text
    assert "Allowed disruptions:  1" in text


def pvc(bound: bool = True, **spec_extra) -> dict:
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": meta("data-redis-0", "ecotrack", annotations={
               "pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"},
               finalizers=["kubernetes.io/pvc-protection"]),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                    "storageClassName": "gp3", "volumeMode": "Filesystem", **spec_extra},
           "status": {"phase": "Pending"}}
    if bound:
        obj["spec"]["volumeName"] = "pvc-0f1e2d3c"
        obj["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                         "capacity": {"storage": "10Gi"}}
    return obj


def test_pvc_rows():
    assert row(pvcs.SPEC, pvc()) == {
        "namespace": "ecotrack", "name": "data-redis-0", "status": "Bound", "volume": "pvc-0f1e2d3c",
        "capacity": "10Gi", "access_modes": "RWO,RWOP", "storageclass": "gp3", "volumeattributesclass": "<unset>",
        "age": "60m"}
    assert styles(pvcs.SPEC, pvc())["status"] == "ok"
    pending = pvc(bound=False, volumeAttributesClassName="fast")
    assert row(pvcs.SPEC, pending) | {"age": ""} == {
        "namespace": "ecotrack", "name": "data-redis-0", "status": "Pending", "volume": "", "capacity": "",
        "access_modes": "", "storageclass": "gp3", "volumeattributesclass": "fast", "age": ""}
    assert styles(pvcs.SPEC, pending)["status"] == "warning"
    assert row(pvcs.SPEC, pvc(volumeAttributesClassName=""))["volumeattributesclass"] == ""  # set but empty
    beta = pvc()
    beta["metadata"]["annotations"][pvcs.BETA_CLASS] = "legacy"
    assert row(pvcs.SPEC, beta)["storageclass"] == "legacy"
    gone = pvc()
    gone["metadata"]["deletionTimestamp"] = "2023-11-14T22:00:00Z"
    assert row(pvcs.SPEC, gone)["status"] == "Terminating"
    text = "\n".join(pvcs.describe(pvc(), NOW))
    assert "StorageClass:     gp3" in text and "Volume:           pvc-0f1e2d3c" in text
    assert "Access Modes:     RWO,RWOP" in text and "Capacity:         10Gi" in text


def test_hostile_strings():
    h = hpa([CPU70], [CPU45])
    h["metadata"]["name"] = HOSTILE
    h["spec"]["scaleTargetRef"]["name"] = HOSTILE
    p = pvc()
    p["spec"]["volumeName"] = HOSTILE
    p["spec"]["storageClassName"] = HOSTILE
    d = pdb({"minAvailable": HOSTILE})
    for spec, obj in ((hpas.SPEC, h), (pvcs.SPEC, p), (pdbs.SPEC, d)):
        for t in row(spec, obj).values():
            assert_inert(t)
        assert_inert(describe_object(spec.kind, obj, spec.describe(obj, NOW), [], NOW))


def pv(csi: bool = True) -> dict:
    source = ({"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc", "fsType": "ext4"}} if csi
              else {"awsElasticBlockStore": {"volumeID": "aws://us-east-1a/vol-0def", "fsType": "ext4"}})
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta("pvc-0f1e2d3c", None),
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "gp3",
                     "claimRef": {"namespace": "ecotrack", "name": "data-redis-0"}, **source},
            "status": {"phase": "Bound"}}


def test_pv_rows_and_describe():
    got = row(pvs.SPEC, pv())
    assert got["name"] == "pvc-0f1e2d3c" and got["capacity"] == "10Gi" and got["access_modes"] == "RWO"
    assert got["reclaim"] == "Delete" and got["status"] == "Bound" and got["claim"] == "ecotrack/data-redis-0"
    assert got["storageclass"] == "gp3"
    text = "\n".join(pvs.describe(pv(), NOW))
    assert "StorageClass:" in text and "gp3" in text and "Status:" in text and "Bound" in text
    assert "ecotrack/data-redis-0" in text and "vol-0abc" in text
    assert "vol-0def" in "\n".join(pvs.describe(pv(csi=False), NOW))
    hostile = pv()
    hostile["spec"]["storageClassName"] = HOSTILE
    for t in row(pvs.SPEC, hostile).values():
        assert_inert(t)
    assert_inert("\n".join(pvs.describe(hostile, NOW)))
