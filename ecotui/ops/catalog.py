"""Which action applies to which kind, and which API requests (for access reviews) it makes."""
from __future__ import annotations

from collections.abc import Iterable

from ecotui.kinds.spec import Cap, KindSpec
from ecotui.ops.access import Verb

NEEDS: dict[str, str] = {
    "cordon": Cap.CORDON_DRAIN, "uncordon": Cap.CORDON_DRAIN, "drain": Cap.CORDON_DRAIN,
    "rollout_status": Cap.ROLLOUT, "rollout_history": Cap.ROLLOUT, "rollout_undo": Cap.ROLLOUT,
    "rollout_restart": Cap.RESTART, "rollout_pause": Cap.ROLLOUT, "rollout_resume": Cap.ROLLOUT,
    "scale": Cap.SCALE, "delete": Cap.DELETE,
}
DEPLOYMENTS_ONLY = frozenset({"rollout_pause", "rollout_resume"})
LABELS: dict[str, str] = {
    "cordon": "cordon", "uncordon": "uncordon", "drain": "drain", "rollout_status": "status",
    "rollout_history": "history", "rollout_undo": "undo", "rollout_restart": "restart", "rollout_pause": "pause",
    "rollout_resume": "resume", "scale": "scale", "delete": "delete", "logs": "logs",
    "port_forward": "forward", "shell": "shell", "snapshot_volume": "snapshot",
}
# kinds whose rows open a port-forward [port_forward] or a shell [shell] (a workload → one of its ready pods)
STREAM_KINDS: dict[str, frozenset[str]] = {
    "port_forward": frozenset({"pods", "services", "deployments", "statefulsets"}),
    "shell": frozenset({"pods", "deployments", "statefulsets", "daemonsets"}),
}
PROCESS_ACTIONS = frozenset({"shell", "run_check"})   # start a process in the cluster: read-only refuses them
# kinds whose rows open logs ([logs]): their pods' containers
LOG_KINDS = frozenset({"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "nodes",
                       "namespaces"})


def applies(action: str, spec: KindSpec) -> bool:
    cap = NEEDS.get(action)
    if cap is None or not spec.can(cap):
        return False
    return action not in DEPLOYMENTS_ONLY or spec.id == "deployments"


def actions_for(spec: KindSpec) -> list[str]:
    return [a for a in NEEDS if applies(a, spec)]


def verbs(action: str, spec: KindSpec, namespaces: Iterable[str | None] = (None,)) -> list[Verb]:
    """The requests `action` makes on `spec` objects in these namespaces (a drain's evictions are checked
    once its plan names the pods' namespaces)."""
    g, r = spec.gvr.group, spec.gvr.resource
    out: list[Verb] = []
    for ns in namespaces:
        ns = ns if spec.namespaced else None
        if action in ("cordon", "uncordon", "drain"):
            out.append(Verb("patch", "nodes"))
        elif action in ("rollout_status", "rollout_history"):
            out.append(Verb("get", r, g, namespace=ns))
        elif action == "scale":
            out.append(Verb("patch", r, g, "scale", ns))
        elif action == "delete":
            out.append(Verb("delete", r, g, namespace=ns))
        else:
            out.append(Verb("patch", r, g, namespace=ns))
    return list(dict.fromkeys(out))


def stream_actions(kind: str) -> list[str]:
    return [a for a, kinds in STREAM_KINDS.items() if kind in kinds]


def stream_verbs(action: str, namespace: str | None) -> list[Verb]:
    """What the API server authorizes for a port-forward (create pods/portforward) or an exec (get and create
    pods/exec: the WebSocket upgrade is a GET)."""
    if action == "port_forward":
        return [Verb("create", "pods", "", "portforward", namespace)]
    return [Verb("create", "pods", "", "exec", namespace), Verb("get", "pods", "", "exec", namespace)]


def eviction_verbs(namespaces: Iterable[str]) -> list[Verb]:
    return [Verb("create", "pods", "", "eviction", ns) for ns in sorted(set(namespaces))]


def verb_for_request(method: str, path: str) -> Verb:
    """What RBAC checked for one request (to turn a late 403 into "not allowed for USER: verb resource")."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return Verb(method.lower(), path)
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        ns, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    sub = rest[2] if len(rest) >= 3 else ""
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method.upper())
    if verb is None:
        verb = "get" if len(rest) >= 2 else "list"
    return Verb(verb, resource, group, sub, ns)
