"""Rollouts of Deployments, StatefulSets and DaemonSets, exactly as kubectl does them (research/clients.md §3.3-3.4):

- `rollout_status` / `rollout_history` (read-only; in rollout_info.py, re-exported here);
- `plan_undo`: Deployments through the ReplicaSets they control — one JSON patch replacing `/spec/template`
  (the ReplicaSet's, without pod-template-hash) and `/metadata/annotations` (kubectl's skip-list kept from the
  deployment, every other annotation from the ReplicaSet); StatefulSets and DaemonSets through their
  ControllerRevisions — a strategic merge patch whose body is the revision's `data` verbatim;
- `plan_restart`: strategic merge of `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`
  (RFC 3339, taken when applied) with fieldManager=kubectl-rollout;
- `plan_pause` / `plan_resume`: `{"spec":{"paused":true}}` / `{"spec":{"paused":null}}` (Deployments only).

Every plan is built with GETs only; a plan that cannot go ahead has `preview.blocked` set (kubectl's words).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.ops.api import JSON_PATCH, STRATEGIC, KubeAPI
from ecotui.ops.outcome import Outcome, Preview, Target
from ecotui.ops.rollout_info import (Revision, RolloutStatus, deployment_history, revision_history, revision_of,
                                     revision_template, rollout_history, rollout_status)
from ecotui.ops.template_diff import equal_ignore_hash, normalized, template_diff, without_hash
from ecotui.ops.workload import (FIELD_MANAGER, NOUNS, Mutation, WorkloadPlan, annotations_of, blocked, get_object,
                                 label, noun, object_path, unsupported)

__all__ = ["RolloutStatus", "Revision", "UndoPlan", "rollout_status", "rollout_history", "plan_undo",
           "RestartPlan", "plan_restart", "plan_pause", "plan_resume", "RESTARTED_AT", "rfc3339_now"]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
PAUSED_UNDO = ("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' "
               "and try again")
PAUSED_RESTART = "can't restart paused deployment (run rollout resume first)"
# rollback.go annotationsToSkip: kept from the deployment, never copied from the ReplicaSet
ANNOTATIONS_TO_SKIP = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})
_ALL = tuple(NOUNS)


class UndoPlan(WorkloadPlan):
    """A planned `rollout undo`: preview.lines is the pod-template diff (current → revision),
    preview.params = {"to_revision": N}."""


def _not_found(rev: int) -> str:
    return f"unable to find specified revision {rev} in history"


def _target(kind: str, namespace: str, name: str) -> tuple[Target, ...]:
    return (Target(kind, name, namespace),)


def _pick(history: dict[int, Any], to_revision: int) -> tuple[int | None, str]:
    """(revision, "") — the second-newest for 0, else exactly `to_revision` — or (None, why not); (None, "")
    when there is no previous revision."""
    if to_revision > 0:
        return (to_revision, "") if to_revision in history else (None, _not_found(to_revision))
    newest = sorted(history)
    return (newest[-2], "") if len(newest) >= 2 else (None, "")


async def plan_undo(api: KubeAPI, kind: str, namespace: str, name: str, to_revision: int = 0) -> UndoPlan:
    """`kubectl rollout undo [--to-revision=N]`: the previous revision (0) or revision N."""
    action, targets = "rollout_undo", _target(kind, namespace, name)

    def stop(why: str, rev: int = to_revision) -> UndoPlan:
        return UndoPlan(Preview(action, targets, blocked=why, params={"to_revision": rev}))

    if why := unsupported(action, kind, _ALL):
        return stop(why)
    if to_revision < 0:
        return stop(_not_found(to_revision))
    try:
        obj = await get_object(api, kind, namespace, name)
        history = (await deployment_history(api, obj) if kind == "deployments"
                   else await revision_history(api, obj))
    except EcotuiError as e:
        return stop(e.message)
    rev, why = _pick(history, to_revision)
    if why:
        return stop(why)
    if rev is None:
        if kind == "deployments":
            return stop(f'no rollout history found for deployment "{name}": there is no previous revision to '
                        "roll back to")
        return stop(f'no rollout history found for {noun(kind)} "{name}": no last revision to roll back to')
    current = (obj.get("spec") or {}).get("template") or {}
    params: dict[str, Any] = {"to_revision": rev}
    if kind == "deployments":
        rs = history[rev]
        if (obj.get("spec") or {}).get("paused"):
            return stop(PAUSED_UNDO, rev)
        template = without_hash((rs.get("spec") or {}).get("template"))
        if equal_ignore_hash(template, current):
            return stop(f"skipped rollback (current template already matches revision {rev})", rev)
        anns = {k: v for k, v in annotations_of(obj).items() if k in ANNOTATIONS_TO_SKIP}
        anns.update({k: v for k, v in annotations_of(rs).items() if k not in ANNOTATIONS_TO_SKIP})
        body: Any = [{"op": "replace", "path": "/spec/template", "value": template},
                     {"op": "replace", "path": "/metadata/annotations", "value": anns}]
        mutation = Mutation("PATCH", object_path(kind, namespace, name), JSON_PATCH, body)
    else:
        cr = history[rev]
        template = revision_template(cr)
        if normalized(template) == normalized(current):
            return stop(f"skipped rollback (current template already matches revision {rev})", rev)
        mutation = Mutation("PATCH", object_path(kind, namespace, name), STRATEGIC, cr.get("data"))
    from_rev = revision_of(obj) if kind == "deployments" else max(history)
    params["from_revision"] = from_rev
    lines = (template_diff(current, template)
             or ("(no field differs: the templates differ only in the order of their items)",))
    preview = Preview(action, targets, lines=lines, params=params)
    return UndoPlan(preview, mutation, f"{label(kind, namespace, name)} rolled back to revision {rev}",
                    details={"to_revision": rev, "from_revision": from_rev})


def rfc3339_now() -> str:
    """time.Now().Format(time.RFC3339): local time with its offset, "Z" in UTC, whole seconds."""
    s = datetime.now().astimezone().replace(microsecond=0).isoformat()
    return s[:-6] + "Z" if s.endswith("+00:00") else s


def restart_patch(when: str) -> dict[str, Any]:
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: when}}}}}


class RestartPlan(WorkloadPlan):
    """Restart stamps the time when applied, after a fresh GET (as kubectl builds its patch from the object it
    just read): a deployment paused meanwhile is refused, and a stamp equal to the current one (restarted within
    the same second) would be an empty patch, which kubectl refuses with its words."""

    async def apply(self, api: KubeAPI) -> Outcome:
        p, t = self.preview, self.preview.targets[0]
        if not p.blocked and self.mutation is not None:
            try:
                obj = await get_object(api, t.kind, t.namespace or "", t.name)
            except EcotuiError as e:
                return Outcome(p.action, False, e.message, p.targets)
            spec = obj.get("spec") or {}
            if t.kind == "deployments" and spec.get("paused"):
                return Outcome(p.action, False, PAUSED_RESTART, p.targets)
            now = rfc3339_now()
            current = (((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)
            if current == now:
                return Outcome(p.action, False, f"failed to create patch for {t.name}: if restart has already been "
                               "triggered within the past second, please wait before attempting to trigger another",
                               p.targets)
            return await replace(self, make_body=lambda: restart_patch(now)).apply_once(api)
        return await self.apply_once(api)

    async def apply_once(self, api: KubeAPI) -> Outcome:
        return await WorkloadPlan.apply(self, api)


async def plan_restart(api: KubeAPI, kind: str, namespace: str, name: str) -> WorkloadPlan:
    """`kubectl rollout restart`: the restartedAt annotation, stamped when the plan is applied."""
    action = "rollout_restart"
    if why := unsupported(action, kind, _ALL):
        return blocked(action, kind, namespace, name, why)
    try:
        obj = await get_object(api, kind, namespace, name)
    except EcotuiError as e:
        return blocked(action, kind, namespace, name, e.message)
    spec = obj.get("spec") or {}
    if kind == "deployments" and spec.get("paused"):
        return blocked(action, kind, namespace, name, PAUSED_RESTART)
    warnings: tuple[str, ...] = ()
    if kind != "deployments" and (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        warnings = ("updateStrategy OnDelete: the pods are only replaced when they are deleted",)
    lines = (f"set the pod template annotation {RESTARTED_AT} to the current time",
             f"every pod of {label(kind, namespace, name)} is replaced, following its update strategy")
    preview = Preview(action, _target(kind, namespace, name), lines=lines, warnings=warnings)
    mutation = Mutation("PATCH", object_path(kind, namespace, name), STRATEGIC,
                        params={"fieldManager": FIELD_MANAGER})
    return RestartPlan(preview, mutation, f"{label(kind, namespace, name)} restarted",
                       make_body=lambda: restart_patch(rfc3339_now()))


async def _plan_paused(api: KubeAPI, kind: str, namespace: str, name: str, pause: bool) -> WorkloadPlan:
    action = "rollout_pause" if pause else "rollout_resume"
    if kind != "deployments":
        return blocked(action, kind, namespace, name,
                       f"{'pausing' if pause else 'resuming'} is not supported for {kind}: "
                       "kubectl pauses and resumes deployments only")
    try:
        obj = await get_object(api, kind, namespace, name)
    except EcotuiError as e:
        return blocked(action, kind, namespace, name, e.message)
    paused = bool((obj.get("spec") or {}).get("paused"))
    if paused == pause:
        return blocked(action, kind, namespace, name,
                       f'deployment "{name}" is {"already paused" if pause else "not paused"}')
    lines = (("set spec.paused: template changes are recorded but not rolled out until resumed",) if pause else
             ("clear spec.paused: the current template is rolled out",))
    preview = Preview(action, _target(kind, namespace, name), lines=lines)
    mutation = Mutation("PATCH", object_path(kind, namespace, name), STRATEGIC,
                        {"spec": {"paused": True if pause else None}}, {"fieldManager": FIELD_MANAGER})
    return WorkloadPlan(preview, mutation, f"{label(kind, namespace, name)} {'paused' if pause else 'resumed'}")


async def plan_pause(api: KubeAPI, kind: str, namespace: str, name: str) -> WorkloadPlan:
    """`kubectl rollout pause` (deployments only)."""
    return await _plan_paused(api, kind, namespace, name, True)


async def plan_resume(api: KubeAPI, kind: str, namespace: str, name: str) -> WorkloadPlan:
    """`kubectl rollout resume` (deployments only)."""
    return await _plan_paused(api, kind, namespace, name, False)
