"""Objects the e2e tests create on the testbed: KWOK nodes of their own (tainted, so nothing of the scenario
lands there), Deployments pinned to a node, PDBs — and the kubectl reads the tests check them with."""
from __future__ import annotations

import json
import re
import time
from typing import Any

import yaml


TAINT = {"key": "drain-e2e", "value": "true", "effect": "NoSchedule"}
TOLERATE = [{"key": "drain-e2e", "operator": "Exists", "effect": "NoSchedule"}]


def node_manifest(name: str, rid: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "type": "kwok", "drain-e2e": rid},
                         "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"taints": [TAINT]},
            "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                       "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"}}}


def pod_template(app: str, node: str | None, *, emptydir: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"tolerations": TOLERATE, "terminationGracePeriodSeconds": 5,
                            "containers": [{"name": "app", "image": f"ecotui/{app}:1"}]}
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    if emptydir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def deployment(ns: str, name: str, node: str, replicas: int = 1, *, emptydir: bool = False) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": pod_template(name, node, emptydir=emptydir)}}


def pdb(ns: str, name: str, app: str, max_unavailable: int = 0) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": ns},
            "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {"app": app}}}}


def node_set(tb, ns: str, node: str, tag: str, web: int = 2) -> list[dict[str, Any]]:
    """On `node`: `web` pods of a Deployment, an emptyDir pod (Deployment), a pod guarded by a PDB that allows
    no disruption (maxUnavailable 0)."""
    return [deployment(ns, f"web-{tag}", node, web), deployment(ns, f"cache-{tag}", node, emptydir=True),
            deployment(ns, f"guarded-{tag}", node), pdb(ns, f"guarded-{tag}-pdb", f"guarded-{tag}")]


def apply(tb, objs: list[dict[str, Any]]) -> None:
    tb.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objs))


def pods_on(tb, ns: str) -> list[dict[str, Any]]:
    return json.loads(tb.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]


def wait_running(tb, ns: str, want: dict[str, int], timeout: float = 30) -> None:
    """Until each node in `want` has that many Running pods of the namespace (bounded)."""
    deadline = time.monotonic() + timeout
    have: dict[str, int] = {}
    while time.monotonic() < deadline:
        have = {}
        for p in pods_on(tb, ns):
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"):
                n = p["spec"].get("nodeName", "")
                have[n] = have.get(n, 0) + 1
        if all(have.get(n, 0) == c for n, c in want.items()):
            return
        time.sleep(0.3)
    raise AssertionError(f"pods not running in {timeout}s: want {want}, have {have}")


def unschedulable(tb, node: str) -> bool:
    return bool(json.loads(tb.kubectl("get", "node", node, "-o", "json").stdout)["spec"].get("unschedulable"))


def cleanup(tb, ns: str, nodes: list[str]) -> None:
    """The namespace, its pods at once (pods of a deleted node wait for the pod GC otherwise), the nodes."""
    tb.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    tb.kubectl("delete", "pods", "--all", "-n", ns, "--force", "--grace-period=0", "--wait=false", check=False)
    for n in nodes:
        tb.kubectl("delete", "node", n, "--wait=false", check=False)


def generic(pod_name: str) -> str:
    """web-a-5d8f7c-x2k9q -> web: the Deployment's name without the node's tag."""
    return re.sub(r"-[ab]$", "", pod_name.rsplit("-", 2)[0])
