"""`python -m testbed incident <name> [--target X]` and `incident clear`.

Each incident changes real cluster objects (so the control plane reacts as it would in
production) and/or the incident file read by the exporter, log generator and health server (one incident in the
file at a time: the latest). health-down only turns the target's /actuator/health DOWN (503); error-spike and
crashloop do that too, for their target only.
What was changed is recorded in <state>/incidents-applied.json so `clear` can undo exactly that.
"""
from __future__ import annotations

import json
import os
import time

from . import kwokcfg, paths, scenario
from .kube import get_json, patch

DEFAULT_TARGET = {
    "error-spike": "payment-service", "latency-spike": "order-service", "crashloop": "notification-service",
    "pdb-blocks-drain": "payment-service", "hpa-at-max": "user-service", "node-notready": None,
    "health-down": "order-service",
}
NAMES = list(DEFAULT_TARGET)
NS = "ecotrack"


def _applied_file():
    return paths.state_dir() / "incidents-applied.json"


def _load_applied() -> list[dict]:
    try:
        return json.loads(_applied_file().read_text())
    except (OSError, ValueError):
        return []


def _record(entry: dict) -> None:
    applied = [e for e in _load_applied() if e != entry] + [entry]
    _applied_file().write_text(json.dumps(applied))


def _write_incident_file(name: str, target: str | None) -> None:
    f = paths.state_dir() / "incident.json"
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps({"name": name, "target": target, "since": time.time()}))
    os.replace(tmp, f)


def _deploy(svc: str) -> str:
    if svc not in scenario.SERVICES:
        raise RuntimeError(f"unknown service {svc!r}; one of {', '.join(scenario.SERVICES)}")
    return f"/apis/apps/v1/namespaces/{NS}/deployments/{svc}"


def _set_crashloop(svc: str, on: bool) -> None:
    patch(_deploy(svc), {"spec": {"template": {"metadata": {"labels": {kwokcfg.CRASHLOOP_LABEL: "true" if on else None}}}}})


def _set_cpu_usage(svc: str, cpu: str) -> None:
    patch(_deploy(svc), {"spec": {"template": {"metadata": {"annotations": {"kwok.x-k8s.io/usage-cpu": cpu}}}}})


def _set_pdb_strict(svc: str, strict: bool) -> None:
    spec = {"minAvailable": None, "maxUnavailable": 0} if strict else {"maxUnavailable": None, "minAvailable": 1}
    patch(f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{svc}-pdb", {"spec": spec})


def _default_node() -> str:
    pods = get_json(f"/api/v1/namespaces/{NS}/pods", labelSelector="app=order-service")["items"]
    nodes = sorted({p["spec"].get("nodeName") for p in pods if p["spec"].get("nodeName")})
    if not nodes:
        raise RuntimeError("no node runs order-service pods; pass --target NODE")
    return nodes[0]


def _set_node_dead(node: str, dead: bool) -> None:
    # kwok manages nodes annotated kwok.x-k8s.io/node=fake: without it, nobody renews the lease or
    # posts status, exactly like a kubelet that died. Mark Ready=Unknown at once, as the node
    # lifecycle controller would after its grace period.
    patch(f"/api/v1/nodes/{node}", {"metadata": {"annotations": {"kwok.x-k8s.io/node": None if dead else "fake"}}})
    if dead:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        node_obj = get_json(f"/api/v1/nodes/{node}")
        conds = []
        for c in node_obj["status"].get("conditions", []):
            c = dict(c, status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                     lastTransitionTime=now)
            conds.append(c)
        patch(f"/api/v1/nodes/{node}/status", {"status": {"conditions": conds}}, kind="strategic")


def start(name: str, target: str | None) -> str:
    if name not in DEFAULT_TARGET:
        raise RuntimeError(f"unknown incident {name!r}; one of {', '.join(NAMES)}, clear")
    target = target or DEFAULT_TARGET[name]
    if name in ("error-spike", "latency-spike", "health-down"):
        if target:
            _deploy(target)
        _write_incident_file(name, target)
    elif name == "crashloop":
        _set_crashloop(target, True)
        _write_incident_file(name, target)
    elif name == "hpa-at-max":
        _set_cpu_usage(target, "900m")
    elif name == "pdb-blocks-drain":
        _set_pdb_strict(target, True)
    elif name == "node-notready":
        target = target or _default_node()
        _set_node_dead(target, True)
    _record({"name": name, "target": target})
    return f"incident {name} started on {target or 'all services'}"


def clear() -> str:
    done = []
    for e in _load_applied():
        name, target = e["name"], e["target"]
        if name == "crashloop":
            _set_crashloop(target, False)
        elif name == "hpa-at-max":
            _set_cpu_usage(target, scenario.SERVICES[target][3])
        elif name == "pdb-blocks-drain":
            _set_pdb_strict(target, False)
        elif name == "node-notready":
            _set_node_dead(target, False)
        done.append(f"{name}({target})")
    (paths.state_dir() / "incident.json").unlink(missing_ok=True)
    _applied_file().unlink(missing_ok=True)
    return "cleared " + (", ".join(done) if done else "nothing (no incident active)")


def run(name: str, target: str | None) -> str:
    return clear() if name == "clear" else start(name, target)
