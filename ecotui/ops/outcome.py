"""What every action shares: its preview (before confirming) and its outcome (for the UI and the journal)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ecotui.ops.api import KubeAPI


@dataclass(frozen=True)
class Target:
    """One object an action changes."""

    kind: str                 # registry kind id: "nodes", "pods", "deployments" ...
    name: str
    namespace: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True)
class Preview:
    """Exactly what will change, shown before confirming. `lines` are plain text (made inert by the UI);
    `blocked` non-empty means the action cannot go ahead (shown instead of the confirm button);
    `warnings` are shown in the warning colour (an HPA owns the replicas, the pod will be re-created ...)."""

    action: str               # action id: "cordon", "drain", "rollout_undo" ...
    targets: tuple[Target, ...]
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    blocked: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # what the journal records as the parameters


@dataclass(frozen=True)
class Outcome:
    """The result of applying an action to its targets."""

    action: str
    ok: bool
    message: str              # one line for the UI
    targets: tuple[Target, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # JSON-able (per-pod results of a drain ...)


class Plan(Protocol):
    """A planned action: built by a module's `plan_*` function with GETs only (nothing changes), shown to the
    user as `preview`, then `apply` sends the mutation(s). The UI journals the preview's params and the
    outcome. A plan whose preview is `blocked` must not be applied (apply returns a failed Outcome)."""

    @property
    def preview(self) -> Preview: ...

    async def apply(self, api: KubeAPI) -> Outcome: ...
