"""Scale Deployments and StatefulSets as `kubectl scale --replicas=N` does: a merge patch of the scale
subresource, `PATCH …/NAME/scale` with `{"spec":{"replicas":N}}` (kubectl's ScaleSimple without
preconditions). The typed value is checked before any request; an autoscaling/v2 HPA whose scaleTargetRef
points at the object is named in the warnings (it will change the replicas back)."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ecotui.errors import EcotuiError
from ecotui.ops.api import MERGE, KubeAPI
from ecotui.ops.outcome import Preview, Target
from ecotui.ops.workload import KINDS, Mutation, WorkloadPlan, blocked, label, object_path, unsupported

SCALABLE = ("deployments", "statefulsets")
MAX_REPLICAS = 2**31 - 1   # spec.replicas is an int32
_DIGITS = re.compile(r"[0-9]+")
HPA_PATH = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"


def parse_replicas(text: str) -> int:
    """The replica count the user typed; ValueError unless it is a whole number from 0 to 2^31-1."""
    s = text.strip()
    if not _DIGITS.fullmatch(s):
        raise ValueError(f"replicas must be a whole number ≥ 0, got {text!r}")
    n = int(s)
    if n > MAX_REPLICAS:
        raise ValueError(f"replicas must be at most {MAX_REPLICAS}, got {text!r}")
    return n


def _points_at(hpa: dict[str, Any], kind: str, name: str) -> bool:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    group = str(ref.get("apiVersion") or "apps/v1").partition("/")[0]
    return ref.get("kind") == KINDS[kind] and ref.get("name") == name and group in ("apps", "extensions")


async def hpa_warnings(api: KubeAPI, kind: str, namespace: str, name: str) -> tuple[str, ...]:
    """One warning per HPA that owns the replicas (or why they could not be checked)."""
    try:
        body = await api.get(HPA_PATH.format(ns=quote(namespace, safe="")))
    except EcotuiError as e:
        return (f"could not check for an HPA owning the replicas: {e.message}",)
    out = []
    for hpa in (body or {}).get("items") or ():
        if _points_at(hpa, kind, name):
            spec = hpa.get("spec") or {}
            out.append(f"HPA {hpa['metadata']['name']} owns the replicas ({spec.get('minReplicas', 1)}.."
                       f"{spec.get('maxReplicas', '?')}): it will change them back")
    return tuple(out)


async def plan_scale(api: KubeAPI, kind: str, namespace: str, name: str, replicas: str) -> WorkloadPlan:
    """`kubectl scale --replicas=N`. Raises ValueError (before any request) for a negative or non-numeric
    value; a kind that cannot be scaled or a failed GET gives a blocked plan."""
    n = parse_replicas(replicas)
    action = "scale"
    if why := unsupported(action, kind, SCALABLE):
        return blocked(action, kind, namespace, name, why, replicas=n)
    path = object_path(kind, namespace, name) + "/scale"
    try:
        scale = await api.get(path)
    except EcotuiError as e:
        return blocked(action, kind, namespace, name, e.message, replicas=n)
    current = ((scale or {}).get("spec") or {}).get("replicas", 0)
    warnings = list(await hpa_warnings(api, kind, namespace, name))
    if n == current:
        warnings.append(f"{label(kind, namespace, name)} already has {n} replicas")
    if n == 0 and current:
        warnings.append(f"scaling to 0 stops every pod of {label(kind, namespace, name)}")
    preview = Preview(action, (Target(kind, name, namespace),), lines=(f"replicas: {current} → {n}",),
                      warnings=tuple(warnings), params={"replicas": n, "from_replicas": current})
    mutation = Mutation("PATCH", path, MERGE, {"spec": {"replicas": n}})
    return WorkloadPlan(preview, mutation, f"{label(kind, namespace, name)} scaled {current} → {n}",
                        details={"from_replicas": current, "replicas": n})
