"""Every kind of the registry's new views, LISTed from the testbed's real API server through the real client
and rendered by its `cells`, against what `kubectl get <plural> -A` prints for the same objects (every
column but AGE, which can tick between the two reads).

The EcoTrack scenario has Deployments, StatefulSets, DaemonSets, ReplicaSets, Services (ClusterIP, headless,
ExternalName), Ingresses, HPAs, PDBs and ConfigMaps (kube-root-ca.crt). What it lacks is created in a
scratch namespace for the module and deleted afterwards: a Bound and a Pending PVC (with a PV), Secrets,
a ConfigMap with binaryData, NodePort/LoadBalancer/external-IP Services, a TLS Ingress without a class,
a percentage PDB and an HPA with three metrics.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest

from ecotui.kinds import registry
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession

pytestmark = pytest.mark.e2e

KINDS = ("deployments", "statefulsets", "daemonsets", "replicasets", "services", "ingresses",
         "horizontalpodautoscalers", "poddisruptionbudgets", "persistentvolumeclaims", "configmaps", "secrets")


def _extra_objects(ns: str, pv: str) -> list[dict]:
    md = lambda name: {"name": name, "namespace": ns}  # noqa: E731
    svc_port = [{"name": "http", "port": 80, "targetPort": 8080}]
    return [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
         "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                  "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "",
                  "hostPath": {"path": "/tmp/ecotui-e2e"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md("bound"),
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                  "storageClassName": "", "volumeName": pv}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md("pending"),
         "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}},
                  "storageClassName": "no-such-class"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": md("db-credentials"), "type": "Opaque",
         "data": {"password": "aHVudGVyMi1TRUNSRVQ=", "user": "YXBw"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": md("tls"), "type": "kubernetes.io/tls",
         "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": md("empty"), "type": "Opaque"},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md("mixed"),
         "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AAEC"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": md("np"),
         "spec": {"type": "NodePort", "selector": {"app": "x"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
                            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": md("lb"),
         "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": svc_port}},
        {"apiVersion": "v1", "kind": "Service", "metadata": md("extip"),
         "spec": {"type": "ClusterIP", "selector": {"app": "x"}, "externalIPs": ["192.0.2.10", "192.0.2.11"],
                  "ports": svc_port}},
        {"apiVersion": "v1", "kind": "Service", "metadata": md("noports"),
         "spec": {"clusterIP": "None", "selector": {"app": "x"}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md("tls-noclass"),
         "spec": {"tls": [{"hosts": ["a.example.com"], "secretName": "tls"}],
                  "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                             "backend": {"service": {"name": "np", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md("catch-all"),
         "spec": {"ingressClassName": "ambassador",
                  "defaultBackend": {"service": {"name": "np", "port": {"number": 80}}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": md("pct"),
         "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": "x"}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": md("three-metrics"),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nothing"},
                  "maxReplicas": 4, "metrics": [
                      {"type": "Resource", "resource": {"name": "memory", "target": {
                          "type": "AverageValue", "averageValue": "500Mi"}}},
                      {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                          "type": "AverageValue", "averageValue": "10"}}},
                      {"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": 80}}}]}},
    ]


@pytest.fixture(scope="module")
def scratch(testbed):
    ns = f"kinds-e2e-{uuid.uuid4().hex[:6]}"
    pv = f"{ns}-pv"
    testbed.create_namespace(ns)
    try:
        testbed.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                               "items": _extra_objects(ns, pv)}))
        deadline = time.monotonic() + 60
        while testbed.kubectl("get", "pvc", "bound", "-n", ns, "-o", "jsonpath={.status.phase}").stdout != "Bound":
            assert time.monotonic() < deadline, "the PV controller did not bind the PVC in 60s"
            time.sleep(0.5)
        yield ns
    finally:
        testbed.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        testbed.kubectl("delete", "pv", pv, "--wait=false", check=False)


def parse_table(text: str) -> tuple[list[str], list[list[str]]]:
    """kubectl's table (tabwriter: columns padded by >= 3 spaces; headers may hold single spaces, cells may
    be empty or hold ", ") -> headers and rows, each cell cut at its header's offset."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return [], []
    spans = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    starts = [s for s, _ in spans] + [None]
    rows = [[ln[starts[i]:starts[i + 1]].strip() for i in range(len(spans))] for ln in lines[1:]]
    return [h for _, h in spans], rows


async def _our_rows(testbed, spec) -> dict[tuple[str, str], list[str]]:
    session = ClusterSession(load_kubeconfig(str(testbed.kubeconfig)), context=testbed.context)
    try:
        items, _rv = await session.client.list(spec.path(None), spec.list_type)
    finally:
        await session.client.aclose()
    now = time.time()
    out = {}
    for it in items:
        if spec.convert:
            it = spec.convert(it)
        out[(it.metadata.namespace, it.metadata.name)] = [c.text for c in spec.cells(it, now)]
    return out


def _kubectl_rows(testbed, plural: str) -> tuple[list[str], dict[tuple[str, str], list[str]]]:
    headers, rows = parse_table(testbed.kubectl("get", plural, "-A").stdout)
    return headers, {(r[0], r[1]): r for r in rows}


def _without_age(headers: list[str], row: list[str]) -> list[str]:
    return [c for h, c in zip(headers, row) if h != "AGE"]


@pytest.mark.parametrize("kind", KINDS)
def test_columns_match_kubectl(testbed, scratch, kind):
    spec = registry.by_id(kind)
    ours_h = [h for _, h in spec.columns]
    last = ""
    for _attempt in range(5):  # controllers may change an object between the two reads: read again
        headers, before = _kubectl_rows(testbed, kind)
        ours = asyncio.run(_our_rows(testbed, spec))
        headers2, after = _kubectl_rows(testbed, kind)
        assert headers == headers2 == ours_h, f"kubectl prints {headers}, we have {ours_h}"
        assert before, f"no {kind} in the testbed"
        kube = {k: _without_age(headers, r) for k, r in after.items()}
        if kube != {k: _without_age(headers, r) for k, r in before.items()}:
            last = "kubectl output changed between reads"
            continue
        mine = {k: _without_age(headers, r) for k, r in ours.items()}
        if mine == kube:
            break
        diffs = [f"{k}: kubectl {kube.get(k)} ours {mine.get(k)}"
                 for k in sorted(set(kube) | set(mine)) if kube.get(k) != mine.get(k)]
        last = f"{len(diffs)} rows differ:\n" + "\n".join(diffs[:20])
        time.sleep(1)
    else:
        pytest.fail(f"{kind}: {last}")
    if kind in ("persistentvolumeclaims", "secrets"):
        assert any(ns == scratch for ns, _ in ours), f"the scratch {kind} are missing"
