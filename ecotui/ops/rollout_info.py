"""Read-only rollout views, as kubectl computes them: `rollout status` (pkg/polymorphichelpers/rollout_status.go,
plus the replica counts and conditions) and `rollout history` (history.go: ReplicaSets for Deployments,
ControllerRevisions for StatefulSets and DaemonSets). Both raise EcotuiError when the API fails."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.ops.api import KubeAPI
from ecotui.ops.template_diff import images
from ecotui.ops.workload import NOUNS, annotations_of, controlled, get_object

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
TIMED_OUT = "ProgressDeadlineExceeded"  # deploymentutil.TimedOutReason


@dataclass(frozen=True)
class RolloutStatus:
    lines: tuple[str, ...]     # kubectl's status line, replicas, paused, conditions
    done: bool                 # kubectl rollout status would exit 0
    stuck: bool                # Progressing=False with ProgressDeadlineExceeded
    message: str               # the first line


@dataclass(frozen=True)
class Revision:
    number: int
    change_cause: str          # "" when none (kubectl prints <none>)
    images: tuple[str, ...]
    created: str               # creationTimestamp of the ReplicaSet / ControllerRevision
    current: bool


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _deployment(d: dict[str, Any]) -> tuple[str, bool, bool]:
    name = d["metadata"].get("name", "")
    spec, st = d.get("spec") or {}, d.get("status") or {}
    if _int(d["metadata"].get("generation")) > _int(st.get("observedGeneration")):
        return "Waiting for deployment spec update to be observed...", False, False
    progressing = next((c for c in st.get("conditions") or () if c.get("type") == "Progressing"), None)
    if progressing is not None and progressing.get("reason") == TIMED_OUT:
        return f'deployment "{name}" exceeded its progress deadline', False, True
    want, updated = spec.get("replicas"), _int(st.get("updatedReplicas"))
    replicas, available = _int(st.get("replicas")), _int(st.get("availableReplicas"))
    if want is not None and updated < want:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas have '
                "been updated..."), False, False
    if replicas > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas are '
                "pending termination..."), False, False
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas '
                "are available..."), False, False
    return f'deployment "{name}" successfully rolled out', True, False


def _daemonset(ds: dict[str, Any]) -> tuple[str, bool, bool]:
    name = ds["metadata"].get("name", "")
    spec, st = ds.get("spec") or {}, ds.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type") != "RollingUpdate":
        return "rollout status is only available for RollingUpdate strategy type", True, False
    if _int(ds["metadata"].get("generation")) > _int(st.get("observedGeneration")):
        return "Waiting for daemon set spec update to be observed...", False, False
    desired, updated = _int(st.get("desiredNumberScheduled")), _int(st.get("updatedNumberScheduled"))
    available = _int(st.get("numberAvailable"))
    if updated < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have '
                "been updated..."), False, False
    if available < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are '
                "available..."), False, False
    return f'daemon set "{name}" successfully rolled out', True, False


def _statefulset(sts: dict[str, Any]) -> tuple[str, bool, bool]:
    spec, st = sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        return "rollout status is only available for RollingUpdate strategy type", True, False
    observed = _int(st.get("observedGeneration"))
    if observed == 0 or _int(sts["metadata"].get("generation")) > observed:
        return "Waiting for statefulset spec update to be observed...", False, False
    want, ready, updated = spec.get("replicas"), _int(st.get("readyReplicas")), _int(st.get("updatedReplicas"))
    if want is not None and ready < want:
        return f"Waiting for {want - ready} pods to be ready...", False, False
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if want is not None and partition is not None and updated < want - partition:
            return (f"Waiting for partitioned roll out to finish: {updated} out of {want - partition} new pods "
                    "have been updated..."), False, False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True, False
    if st.get("updateRevision") != st.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{st.get('updateRevision', '')}..."), False, False
    return (f"statefulset rolling update complete {_int(st.get('currentReplicas'))} pods at revision "
            f"{st.get('currentRevision', '')}..."), True, False


def _replica_line(kind: str, obj: dict[str, Any]) -> str:
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "daemonsets":
        return (f"pods: {_int(st.get('desiredNumberScheduled'))} desired, {_int(st.get('updatedNumberScheduled'))} "
                f"updated, {_int(st.get('numberReady'))} ready, {_int(st.get('numberAvailable'))} available")
    line = (f"replicas: {spec.get('replicas', 1)} desired, {_int(st.get('updatedReplicas'))} updated, "
            f"{_int(st.get('readyReplicas'))} ready, {_int(st.get('availableReplicas'))} available")
    unavailable = _int(st.get("unavailableReplicas"))
    return line + (f", {unavailable} unavailable" if unavailable else "")


_VIEWERS = {"deployments": _deployment, "daemonsets": _daemonset, "statefulsets": _statefulset}


async def rollout_status(api: KubeAPI, kind: str, namespace: str, name: str) -> RolloutStatus:
    """One look at the rollout, like `kubectl rollout status --watch=false`, with replica counts and conditions."""
    viewer = _VIEWERS.get(kind)
    if viewer is None:
        raise EcotuiError(f"rollout status is not supported for {kind} (only {', '.join(NOUNS)})")
    obj = await get_object(api, kind, namespace, name)
    message, done, stuck = viewer(obj)
    lines = [message, _replica_line(kind, obj)]
    if (obj.get("spec") or {}).get("paused"):
        lines.append("paused: template changes are not rolled out until it is resumed (rollout resume)")
    for c in (obj.get("status") or {}).get("conditions") or ():
        reason = f" ({c['reason']})" if c.get("reason") else ""
        text = f": {c['message']}" if c.get("message") else ""
        lines.append(f"condition {c.get('type', '?')}={c.get('status', '?')}{reason}{text}")
    return RolloutStatus(tuple(lines), done, stuck, message)


def revision_of(obj: dict[str, Any]) -> int | None:
    """deploymentutil.Revision: the revision annotation (0 when absent, None when not a number)."""
    v = annotations_of(obj).get(REVISION)
    if v is None:
        return 0
    try:
        return int(v)
    except ValueError:
        return None


async def deployment_history(api: KubeAPI, deploy: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """revision -> ReplicaSet, for every ReplicaSet the deployment controls (later ones win, like kubectl)."""
    out: dict[int, dict[str, Any]] = {}
    for rs in await controlled(api, deploy, "replicasets"):
        rev = revision_of(rs)
        if rev is not None:
            out[rev] = rs
    return out


async def revision_history(api: KubeAPI, obj: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """revision -> ControllerRevision, for a StatefulSet or DaemonSet (history.go `controlledHistory`)."""
    return {_int(cr.get("revision")): cr for cr in await controlled(api, obj, "controllerrevisions")}


def revision_template(cr: dict[str, Any]) -> dict[str, Any]:
    """The pod template a ControllerRevision holds (its data is `{"spec":{"template":{…,"$patch":"replace"}}}`)."""
    t = dict(((cr.get("data") or {}).get("spec") or {}).get("template") or {})
    t.pop("$patch", None)
    return t


async def rollout_history(api: KubeAPI, kind: str, namespace: str, name: str) -> tuple[Revision, ...]:
    """`kubectl rollout history`: one Revision per revision number, oldest first, with change-cause and images."""
    if kind not in NOUNS:
        raise EcotuiError(f"rollout history is not supported for {kind} (only {', '.join(NOUNS)})")
    obj = await get_object(api, kind, namespace, name)
    revs: list[Revision] = []
    if kind == "deployments":
        history = await deployment_history(api, obj)
        current = revision_of(obj)
        for n in sorted(history):
            rs = history[n]
            revs.append(Revision(n, annotations_of(rs).get(CHANGE_CAUSE, ""),
                                 images((rs.get("spec") or {}).get("template")),
                                 (rs.get("metadata") or {}).get("creationTimestamp", ""), n == current))
        return tuple(revs)
    crs = await revision_history(api, obj)
    update = ((obj.get("status") or {}).get("updateRevision")) if kind == "statefulsets" else None
    newest = max(crs, default=None)
    for n in sorted(crs):
        cr = crs[n]
        md = cr.get("metadata") or {}
        is_current = md.get("name") == update if update else n == newest
        revs.append(Revision(n, annotations_of(cr).get(CHANGE_CAUSE, ""), images(revision_template(cr)),
                             md.get("creationTimestamp", ""), is_current))
    return tuple(revs)
