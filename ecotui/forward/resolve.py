"""Which pod and container port a forward goes to, resolved the way kubectl does it
(research/clients.md 4.4; kubectl `portforward.go`, `polymorphichelpers/attachablepodforobject.go`,
`util/service_port.go`, `podutils.ActivePods`).

- pod/NAME: that pod; a numbered port is used as is (pods may listen on ports they do not declare), a named
  one is looked up among its containers' ports.
- svc/NAME: the Service's selector → its pods, best first by kubectl's reversed ActivePods order (scheduled,
  Running, ready, ready the longest, fewest restarts, oldest) → the first; the port is the Service port (by
  number or by name) translated to the container port: headless → the same number, numbered targetPort
  (0/absent → the port), named targetPort → that container port's number in the chosen pod.
- deploy/NAME, sts/NAME: their `spec.selector` (matchLabels and matchExpressions) → pods as above; the port is
  a container port (number or name).

One deviation from kubectl, for self-healing: a pod being deleted (deletionTimestamp set) ranks after every pod
that is not, so a forward whose pod is going away moves to a pod that stays. Like kubectl, the chosen pod must be
Running ("unable to forward port because pod is not running. Current status=Pending").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..errors import EcotuiError
from ..kube.client import HttpStatusError
from ..kube.selector import format_label_selector
from ..textsafe import one_line
from .model import Target


class ForwardError(EcotuiError):
    """A forward cannot start or go on, one line: "127.0.0.1:3000 is in use (...)", "pod X has no port 9999"."""


@dataclass(frozen=True)
class Resolved:
    namespace: str
    pod: str
    pod_port: int
    container: str | None
    resource_version: str = ""   # of the pod object read (the manager watches the pod from there)
    ready: bool = True           # the pod was ready when chosen


_PLURAL = {"pod": ("api/v1", "pods"), "service": ("api/v1", "services"),
           "deployment": ("apis/apps/v1", "deployments"), "statefulset": ("apis/apps/v1", "statefulsets")}


def object_path(kind: str, namespace: str, name: str = "") -> str:
    group, plural = _PLURAL[kind]
    base = f"/{group}/namespaces/{quote(namespace, safe='')}/{plural}"
    return f"{base}/{quote(name, safe='')}" if name else base


def container_ports(pod: dict) -> list[tuple[str | None, int, str]]:
    """The ports the pod's containers declare: (port name or None, number, container name), in spec order."""
    out: list[tuple[str | None, int, str]] = []
    for c in (pod.get("spec") or {}).get("containers") or ():
        for p in c.get("ports") or ():
            num = p.get("containerPort")
            if isinstance(num, int) and (p.get("protocol") or "TCP") == "TCP":
                out.append((p.get("name") or None, num, c.get("name") or ""))
    return out


def is_ready(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _ready_time(pod: dict) -> str:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            return c.get("lastTransitionTime") or ""
    return ""


def _restarts(pod: dict) -> int:
    return max((s.get("restartCount") or 0 for s in (pod.get("status") or {}).get("containerStatuses") or ()),
               default=0)


_PHASE = {"Pending": 0, "Unknown": 1, "Running": 2}


def _zero_last(ts: str) -> tuple[int, str]:
    """Older first, a missing time after every real one (kubectl's afterOrZero, reversed)."""
    return (1, "") if not ts else (0, ts)


def rank(pod: dict) -> tuple:
    """Sort key: the best pod first (kubectl's sort.Reverse(ActivePods)), terminating pods last."""
    meta = pod.get("metadata") or {}
    ready = is_ready(pod)
    return (bool(meta.get("deletionTimestamp")),
            not (pod.get("spec") or {}).get("nodeName"),
            -_PHASE.get((pod.get("status") or {}).get("phase") or "", 0),
            not ready,
            _zero_last(_ready_time(pod)) if ready else (0, ""),
            _restarts(pod),
            _zero_last(meta.get("creationTimestamp") or ""))


def label_selector(selector: dict) -> str:
    """A LabelSelector (matchLabels + matchExpressions) or a Service's plain map as a labelSelector string."""
    return format_label_selector(selector)


async def _get(api: Any, kind: str, namespace: str, name: str) -> dict:
    try:
        obj = await api.get(object_path(kind, namespace, name))
    except HttpStatusError as e:
        if e.status == 404:
            raise ForwardError(f"{kind} {namespace}/{name} not found") from None
        raise
    if not isinstance(obj, dict):
        raise ForwardError(f"{kind} {namespace}/{name}: the API server answered something that is not an object")
    return obj


def _named_port(pod: dict, name: str) -> tuple[int, str] | None:
    for pname, num, cname in container_ports(pod):
        if pname == name:
            return num, cname
    return None


def _container_for(pod: dict, number: int) -> str | None:
    for _, num, cname in container_ports(pod):
        if num == number:
            return cname
    return None


def _pod_port(pod: dict, port: int | str) -> tuple[int, str | None]:
    name = (pod.get("metadata") or {}).get("name", "")
    if isinstance(port, int) or str(port).isdigit():
        num = int(port)
        if not 0 < num < 65536:
            raise ForwardError(f"port {num} is not a valid port number")
        return num, _container_for(pod, num)
    hit = _named_port(pod, str(port))
    if hit is None:
        raise ForwardError(f"pod {name} does not have a named port {one_line(str(port), 60)!r}")
    return hit


def service_target_port(svc: dict, pod: dict, port: int | str) -> tuple[int, str | None]:
    """kubectl's translateServicePortToTargetPort: Service port (number or name) → container port on `pod`."""
    spec = svc.get("spec") or {}
    name = (svc.get("metadata") or {}).get("name", "")
    ports = spec.get("ports") or []
    if isinstance(port, int) or str(port).isdigit():
        number = int(port)
    else:
        hit = next((p for p in ports if p.get("name") == port), None)
        if hit is None:
            raise ForwardError(f"service {name} does not have a named port {one_line(str(port), 60)!r}")
        number = hit.get("port")
    for p in ports:
        if p.get("port") != number:
            continue
        if spec.get("clusterIP") == "None":
            return number, _container_for(pod, number)
        tp = p.get("targetPort")
        if isinstance(tp, str) and not tp.isdigit():
            found = _named_port(pod, tp)
            if found is None:
                raise ForwardError(f"pod {(pod.get('metadata') or {}).get('name', '')} does not have a named "
                                   f"port {one_line(tp, 60)!r} (targetPort of service {name} port {number})")
            return found
        target = int(tp or 0) or number
        return target, _container_for(pod, target)
    offered = ", ".join(f"{p.get('port')}" + (f" ({p.get('name')})" if p.get("name") else "") for p in ports)
    raise ForwardError(f"service {name} does not have a service port {number}"
                       + (f" (it has {one_line(offered, 80)})" if offered else ""))


def _check_running(pod: dict) -> None:
    phase = (pod.get("status") or {}).get("phase") or "Unknown"
    if phase != "Running":
        name = (pod.get("metadata") or {}).get("name", "")
        raise ForwardError(f"unable to forward port because pod {name} is not running. Current status={phase}")


async def pick_pod(api: Any, namespace: str, selector: str, what: str) -> dict:
    """The best pod for a selector (kubectl's order), or ForwardError."""
    body = await api.get(object_path("pod", namespace), params={"labelSelector": selector})
    pods = [p for p in (body or {}).get("items") or () if isinstance(p, dict)]
    if not pods:
        raise ForwardError(f"no pods found for {what} (selector {one_line(selector, 80)})")
    pods.sort(key=rank)
    return pods[0]


def _resolved(namespace: str, pod: dict, num: int, container: str | None) -> Resolved:
    meta = pod.get("metadata") or {}
    return Resolved(namespace, meta.get("name", ""), num, container, meta.get("resourceVersion", ""),
                    is_ready(pod))


async def resolve(api: Any, target: Target, port: int | str) -> Resolved:
    """The pod and port a forward to `target` goes to now. Raises ForwardError (or the API's EcotuiErrors:
    ForbiddenError, ConnectError…) with one line."""
    ns = target.namespace
    if target.kind == "pod":
        pod = await _get(api, "pod", ns, target.name)
        _check_running(pod)
        return _resolved(ns, pod, *_pod_port(pod, port))
    obj = await _get(api, target.kind, ns, target.name)
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    sel = label_selector(selector) if isinstance(selector, dict) else ""
    if not sel:
        raise ForwardError(f"{target.kind} {ns}/{target.name} has no selector: no pod to forward to")
    pod = await pick_pod(api, ns, sel, f"{target.kind} {ns}/{target.name}")
    _check_running(pod)
    if target.kind == "service":
        return _resolved(ns, pod, *service_target_port(obj, pod, port))
    return _resolved(ns, pod, *_pod_port(pod, port))
