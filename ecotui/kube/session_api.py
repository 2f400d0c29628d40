"""The contract between the data side and the UI: what a cluster session offers.

The UI only talks to an object of this shape (through the workspace, `ecotui.workspace.WorkspaceAPI`).
`ecotui.kube.session.ClusterSession` is the real one; `tests/ui/ui_fakes.FakeSession` is checked against
this protocol by the type checker. Everything returned is immutable; all I/O happens inside the session's
own asyncio tasks (started by `start()`), which the UI runs from a worker.

Kinds are named by their plural resource name, as in the registry (`ecotui.kinds.registry.by_id`).
"""
from __future__ import annotations

from typing import Any, Protocol

from ecotui.kinds.spec import KindSpec

from .models import Event, NodeDetail, PodDetail
from .store import Connection, Snapshot


class SessionAPI(Protocol):
    context: str  # kubeconfig context name
    server: str  # API server URL
    namespace: str | None  # None = all namespaces

    async def start(self) -> None:
        """Connect (GET /version), raise an EcotuiError with one clear message on failure,
        then start the cockpit's informers (nodes, namespaces, pods, events) and return."""

    async def stop(self) -> None: ...

    def snapshot(self, kind: str) -> Snapshot[Any]:
        """The latest immutable snapshot of one kind; the first call for a kind starts its informer
        (namespaced kinds are limited to `namespace`)."""

    def kind_connection(self, kind: str) -> Connection:
        """The state of one kind's informer (LIVE, RECONNECTING, ERROR(403 …))."""

    @property
    def connection(self) -> Connection:
        """Aggregate state of the cockpit's informers: LIVE, RECONNECTING, STALE(since), ERROR(message)."""

    @property
    def version(self) -> int:
        """Increases whenever any snapshot or the connection changes (cheap change detection)."""

    async def set_namespace(self, namespace: str | None) -> None:
        """Switch the namespace scope of every namespaced informer (None = all)."""

    async def relist(self) -> None:
        """Drop the caches and LIST + WATCH every running kind again."""

    # Describe reads fresh, complete objects (the cached structs are slim: only what the tables show).
    async def get_object(self, spec: KindSpec, namespace: str | None, name: str) -> Any:
        """GET one object of any registry kind, decoded as `spec.detail_type`."""

    async def object_events(self, kind: str, namespace: str | None, name: str) -> list[Event]:
        """Events whose involvedObject is this object (kind = e.g. "Deployment"), newest first."""

    async def pod_events(self, namespace: str, name: str) -> list[Event]:
        """Events whose involvedObject is this pod (for describe), newest first."""

    async def get_pod(self, namespace: str, name: str) -> PodDetail:
        """GET one pod as a PodDetail."""

    async def get_node(self, name: str) -> NodeDetail:
        """GET one node as a NodeDetail."""

    async def node_pods(self, name: str) -> list[PodDetail]:
        """Every pod on the node (all namespaces, fieldSelector spec.nodeName), as PodDetail."""

    async def node_events(self, name: str) -> list[Event]:
        """Events about the node, newest first."""
