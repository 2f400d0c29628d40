"""Objects the e2e tests create on the testbed: KWOK nodes of their own (tainted, so nothing of the scenario
lands there), Deployments pinned to a node, PDBs — and the kubectl reads the tests check them with."""
from __future__ import annotations

import json
import re
import time
from typing import Any

import yaml

from testbed.kube import manifest_stream


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
    tb.kubectl("apply", "-f", "-", input=manifest_stream(objs))


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


def token_kubeconfig(tb, tmp_path, ns: str, sa: str) -> str:
    """The testbed's kubeconfig with its user replaced by ServiceAccount ns/sa's 10-minute token: the file's path."""
    token = tb.kubectl("create", "token", sa, "-n", ns, "--duration=10m").stdout.strip()
    kc = yaml.safe_load(tb.kubeconfig.read_text())
    ctx = kc["contexts"][0]
    kc["users"] = [{"name": "viewer", "user": {"token": token}}]
    ctx["context"]["user"] = "viewer"
    kc["current-context"] = ctx["name"]
    path = tmp_path / f"kubeconfig-{ns}"
    path.write_text(yaml.safe_dump(kc))
    return str(path)


READ_ALL = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]


class ViewerAccount:
    """A ServiceAccount with only `rules` (default: get/list/watch everything — no pods/exec, no
    pods/portforward, no patch): `with ViewerAccount(tb, "rbac-e2e", tmp_path) as v:` → v.user, v.kubeconfig (a
    file whose user is the account's 10-minute token). Its namespace and cluster role are deleted on exit."""

    def __init__(self, tb, prefix: str, tmp_path, rules: list[dict[str, Any]] | None = None) -> None:
        import uuid
        rid = uuid.uuid4().hex[:5]
        self.tb, self.tmp_path, self.rules = tb, tmp_path, rules or READ_ALL
        self.ns, self.sa, self.role = f"{prefix}-{rid}", "oncall-viewer", f"{prefix}-read-{rid}"
        self.user = f"system:serviceaccount:{self.ns}:{self.sa}"
        self.kubeconfig = ""

    def __enter__(self) -> ViewerAccount:
        tb, ns, sa, role = self.tb, self.ns, self.sa, self.role
        tb.create_namespace(ns)
        try:
            apply(tb, [
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role},
                 "rules": self.rules},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": role},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                 "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}])
            self.kubeconfig = token_kubeconfig(tb, self.tmp_path, ns, sa)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.tb.kubectl("delete", "clusterrolebinding,clusterrole", self.role, check=False)
        self.tb.kubectl("delete", "namespace", self.ns, "--wait=false", check=False)
