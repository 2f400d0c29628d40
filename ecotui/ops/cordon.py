"""Cordon / uncordon, exactly kubectl's request (`pkg/drain/cordon.go`): a strategic merge patch of
`spec.unschedulable` — `{"spec":{"unschedulable":true}}` to cordon, `null` to uncordon (the field is
omitempty) — and nothing at all for a node already in the wanted state."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ecotui.errors import EcotuiError
from ecotui.ops.api import STRATEGIC, KubeAPI
from ecotui.ops.errors import error_line
from ecotui.ops.outcome import Outcome, Preview, Target


def node_path(name: str) -> str:
    return f"/api/v1/nodes/{quote(name, safe='')}"


def cordon_patch(desired: bool) -> dict[str, Any]:
    return {"spec": {"unschedulable": True if desired else None}}


@dataclass(frozen=True)
class CordonPlan:
    preview: Preview
    desired: bool
    change: tuple[str, ...]      # nodes whose spec.unschedulable will change
    missing: tuple[str, ...] = ()

    async def apply(self, api: KubeAPI) -> Outcome:
        verb = "cordon" if self.desired else "uncordon"
        done, failed = [], {}
        for name in self.change:
            try:
                await set_unschedulable(api, name, self.desired)
                done.append(name)
            except EcotuiError as exc:
                failed[name] = error_line(exc)
        unchanged = [t.name for t in self.preview.targets if t.name not in self.change and t.name not in self.missing]
        parts = []
        if done:
            parts.append(f"{verb}ed {', '.join(done)}")
        if unchanged:
            parts.append(f"already {verb}ed: {', '.join(unchanged)}")
        if failed:
            parts.append("; ".join(f"{n}: {m}" for n, m in failed.items()))
        return Outcome(verb, ok=not failed, message="; ".join(parts) or f"nothing to {verb}",
                       targets=self.preview.targets,
                       details={"changed": done, "unchanged": unchanged, "failed": failed})


async def set_unschedulable(api: KubeAPI, node: str, desired: bool) -> None:
    await api.request("PATCH", node_path(node), json=cordon_patch(desired), content_type=STRATEGIC)


async def plan_cordon(api: KubeAPI, nodes: Sequence[str], desired: bool = True) -> CordonPlan:
    """GET each node; the preview says which ones change (`spec.unschedulable: false → true`)."""
    verb = "cordon" if desired else "uncordon"
    lines, change, missing = [], [], []
    for name in nodes:
        try:
            node = await api.request("GET", node_path(name))
        except EcotuiError as exc:
            if getattr(exc, "status", 0) == 404:
                missing.append(name)
                lines.append(f"node {name}: not found (skipped)")
                continue
            raise
        current = bool((node or {}).get("spec", {}).get("unschedulable"))
        if current == desired:
            lines.append(f"node {name}: already {'cordoned' if desired else 'schedulable'} (no request)")
        else:
            change.append(name)
            lines.append(f"node {name}: spec.unschedulable {str(current).lower()} → {str(desired).lower()}"
                         + (" (SchedulingDisabled)" if desired else ""))
    blocked = "" if change else f"nothing to {verb}: " + ("no such node" if len(missing) == len(nodes)
                                                          else f"already {'cordoned' if desired else 'schedulable'}")
    preview = Preview(verb, tuple(Target("nodes", n) for n in nodes), tuple(lines), blocked=blocked,
                      params={"unschedulable": desired})
    return CordonPlan(preview, desired, tuple(change), tuple(missing))
