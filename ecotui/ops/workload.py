"""What the rollout and scale actions share: the workload kinds they handle, GETs of the object and of what it
controls (ReplicaSets, ControllerRevisions — selected and filtered exactly as kubectl does), and one plan type
that sends a single mutation and turns API errors into a failed Outcome."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec

from ecotui.errors import EcotuiError
from ecotui.kinds import registry
from ecotui.kube.models import ListMeta
from ecotui.ops.api import KubeAPI
from ecotui.ops.outcome import Outcome, Preview, Target

# registry kind id -> the noun used in messages (kubectl's resource name, singular)
NOUNS = {"deployments": "deployment", "statefulsets": "statefulset", "daemonsets": "daemonset"}
KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}
APPS = "/apis/apps/v1"
FIELD_MANAGER = "kubectl-rollout"   # kubectl rollout restart/pause/resume's default --field-manager


class AnyList(msgspec.Struct):
    """A LIST body with untyped items (plain dicts), for `KubeAPI.list`."""

    metadata: ListMeta = ListMeta()
    items: list[Any] = []


def noun(kind: str) -> str:
    return NOUNS.get(kind, kind)


def label(kind: str, namespace: str, name: str) -> str:
    """`deployment ecotrack/user-service` — how outcomes name an object."""
    return f"{noun(kind)} {namespace}/{name}"


def object_path(kind: str, namespace: str, name: str) -> str:
    return registry.by_id(kind).object_path(namespace, name)


async def get_object(api: KubeAPI, kind: str, namespace: str, name: str) -> dict[str, Any]:
    obj = await api.get(object_path(kind, namespace, name))
    if not isinstance(obj, dict):
        raise EcotuiError(f"{label(kind, namespace, name)}: the API server returned no object")
    return obj


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as the `labelSelector` query parameter (metav1.LabelSelectorAsSelector, sorted by key)."""
    sel = selector or {}
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or ():
        key, op, values = e.get("key", ""), e.get("operator", ""), sorted(e.get("values") or ())
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
    return ",".join(r for _k, r in sorted(reqs))


def controlled_by(item: dict[str, Any], owner: dict[str, Any]) -> bool:
    """metav1.IsControlledBy: an ownerReference with controller=true and the owner's uid."""
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in (item.get("metadata") or {}).get("ownerReferences") or ())


async def controlled(api: KubeAPI, owner: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    """The ReplicaSets / ControllerRevisions of `owner`: LIST in its namespace with its spec.selector (paged,
    500 at a time like kubectl), keeping those it controls."""
    md = owner.get("metadata") or {}
    path = f"{APPS}/namespaces/{quote(md.get('namespace', ''), safe='')}/{resource}"
    params = {"labelSelector": selector_string((owner.get("spec") or {}).get("selector"))}
    items, _rv = await api.list(path, AnyList, params=params)
    return [i for i in items if isinstance(i, dict) and controlled_by(i, owner)]


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


@dataclass(frozen=True)
class Mutation:
    """The one request a plan sends."""

    method: str
    path: str
    content_type: str
    body: Any = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class WorkloadPlan:
    """A planned change of one workload: one request (`mutation`), whose body may be made when applying
    (`make_body`, e.g. restart's timestamp). `done` is the outcome message on success."""

    preview: Preview
    mutation: Mutation | None = None
    done: str = ""
    make_body: Callable[[], Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    async def apply(self, api: KubeAPI) -> Outcome:
        p = self.preview
        if p.blocked or self.mutation is None:
            return Outcome(p.action, False, p.blocked or "nothing to do", p.targets)
        m = self.mutation
        body = self.make_body() if self.make_body is not None else m.body
        try:
            await api.request(m.method, m.path, params=m.params, json=body, content_type=m.content_type)
        except EcotuiError as e:
            return Outcome(p.action, False, e.message, p.targets, dict(self.details))
        details = dict(self.details)
        if self.make_body is not None:
            details["body"] = body
        return Outcome(p.action, True, self.done, p.targets, details)


def blocked(action: str, kind: str, namespace: str, name: str, why: str, **params: Any) -> WorkloadPlan:
    return WorkloadPlan(Preview(action, (Target(kind, name, namespace),), blocked=why, params=dict(params)))


def unsupported(action: str, kind: str, allowed: tuple[str, ...]) -> str:
    """The blocked message for a kind the action does not handle ("" when it does)."""
    if kind in allowed:
        return ""
    what = action.replace("_", " ")
    return f"{what} is not supported for {kind} (only {', '.join(allowed)})"
