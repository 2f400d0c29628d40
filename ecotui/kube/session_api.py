"""The contract between the data side and the UI: what a cluster session offers.

The UI only talks to an object of this shape. `ecotui.kube.session.ClusterSession` is the real one;
tests may pass a small fake. Everything returned is immutable; all I/O happens inside the session's
own asyncio tasks (started by `start()`), which the UI runs from a worker.
"""
from __future__ import annotations

from typing import Any, Literal, Protocol

from .store import Connection, Snapshot

Kind = Literal["nodes", "pods", "events", "namespaces"]


class SessionAPI(Protocol):
    context: str  # kubeconfig context name
    server: str  # API server URL
    namespace: str | None  # None = all namespaces

    async def start(self) -> None:
        """Connect (GET /version), raise an EcotuiError with one clear message on failure,
        then start one informer per kind in background tasks and return."""

    async def stop(self) -> None: ...

    def snapshot(self, kind: Kind) -> Snapshot[Any]:
        """The latest immutable snapshot of one kind (pods/events are limited to `namespace`)."""

    @property
    def connection(self) -> Connection:
        """Aggregate state of the informers: LIVE, RECONNECTING, STALE(since), ERROR(message)."""

    @property
    def version(self) -> int:
        """Increases whenever any snapshot or the connection changes (cheap change detection)."""

    async def set_namespace(self, namespace: str | None) -> None:
        """Switch the namespace scope of the pods and events informers (None = all)."""

    async def pod_events(self, namespace: str, name: str) -> list[Any]:
        """Events whose involvedObject is this pod (for describe), newest first."""

    # Describe reads fresh, complete objects (the cached structs are slim: only what the tables show).
    async def get_pod(self, namespace: str, name: str) -> Any:
        """GET one pod as a PodDetail."""

    async def get_node(self, name: str) -> Any:
        """GET one node as a NodeDetail."""

    async def node_pods(self, name: str) -> list[Any]:
        """Every pod on the node (all namespaces, fieldSelector spec.nodeName), as PodDetail."""

    async def node_events(self, name: str) -> list[Any]:
        """Events about the node, newest first."""
