"""Delete objects of any registry kind that allows it (`kubectl delete`): DELETE with DeleteOptions
(gracePeriodSeconds only when given, as kubectl's --grace-period; propagation left to the server's default,
background). A pod owned by a controller is said to come back; a 404 at apply time counts as done."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.kinds.spec import Cap, KindSpec
from ecotui.ops.api import KubeAPI
from ecotui.ops.errors import error_line, status_of
from ecotui.ops.outcome import Outcome, Preview, Target


def delete_options(grace_period: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if grace_period is not None and grace_period >= 0:
        body["gracePeriodSeconds"] = grace_period
    return body


def _controller(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


@dataclass(frozen=True)
class DeletePlan:
    preview: Preview
    spec: KindSpec
    grace_period: int | None

    async def apply(self, api: KubeAPI) -> Outcome:
        if self.preview.blocked:
            return Outcome("delete", False, self.preview.blocked, self.preview.targets)
        deleted, gone, failed = [], [], {}
        for t in self.preview.targets:
            try:
                await api.request("DELETE", self.spec.object_path(t.namespace, t.name),
                                  json=delete_options(self.grace_period))
                deleted.append(t.key)
            except EcotuiError as exc:
                if status_of(exc) == 404:
                    gone.append(t.key)
                else:
                    failed[t.key] = error_line(exc)
        kind = self.spec.kind.lower()
        parts = []
        if deleted:
            parts.append(f"deleted {kind} {', '.join(deleted)}")
        if gone:
            parts.append(f"already gone: {', '.join(gone)}")
        if failed:
            parts.append("; ".join(f"{k}: {m}" for k, m in failed.items()))
        return Outcome("delete", not failed, "; ".join(parts), self.preview.targets,
                       {"deleted": deleted, "gone": gone, "failed": failed, "grace_period": self.grace_period})


def parse_grace(text: str) -> int | None:
    """'' → None (the object's own grace period); a whole number ≥ 0; anything else is refused."""
    t = text.strip()
    if not t:
        return None
    if not t.isdigit():
        raise ValueError(f"grace period must be a whole number of seconds ≥ 0, got {t!r}")
    return int(t)


async def plan_delete(api: KubeAPI, spec: KindSpec, keys: Sequence[str], grace_period: int | None = None) -> DeletePlan:
    """GET each object: the preview names them, says which pods a controller re-creates, and which are gone."""
    targets = tuple(Target(spec.id, name, ns) for ns, name in (spec.split_key(k) for k in keys))
    if not spec.can(Cap.DELETE):
        return DeletePlan(Preview("delete", targets, blocked=f"{spec.title} cannot be deleted from ecotui"),
                          spec, grace_period)
    lines, warnings = [], []
    kind = spec.kind.lower()
    for t in targets:
        try:
            obj = await api.request("GET", spec.object_path(t.namespace, t.name)) or {}
        except EcotuiError as exc:
            if status_of(exc) == 404:
                lines.append(f"{kind} {t.key}: not found (already deleted)")
                continue
            raise
        line = f"delete {kind} {t.key}"
        if obj.get("metadata", {}).get("deletionTimestamp"):
            line += " (already terminating)"
        lines.append(line)
        ref = _controller(obj)
        if ref is not None:
            warnings.append(f"{kind} {t.key} is owned by {ref.get('kind')} {ref.get('name')}: "
                            "it will be re-created")
    grace = "the object's own grace period" if grace_period is None else f"{grace_period}s"
    lines.append(f"grace period: {grace}")
    params = {"grace_period": grace_period}
    return DeletePlan(Preview("delete", targets, tuple(lines), tuple(warnings), params=params), spec, grace_period)
