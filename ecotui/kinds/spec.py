"""What the registry knows about one resource kind: where it lives in the API, how it is decoded, shown and
described, and what can be done to it. Pure data; no I/O, no Textual.

A kind module (e.g. `kinds/deployments.py`) defines its slim msgspec structs, its columns and cell function,
the describe body, and one `SPEC = KindSpec(...)`; `kinds/registry.py` lists the modules. Nothing else in
the code names a kind: the session, the views, the `:` command and describe all go through the registry.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from ecotui.kube.render import Cell

Cells = tuple[Cell, ...]


class GVR(NamedTuple):
    """group/version/resource; the core group is ""."""

    group: str
    version: str
    resource: str

    def __str__(self) -> str:
        return f"{self.group}/{self.version}/{self.resource}" if self.group else f"{self.version}/{self.resource}"


class Cap:
    """Capabilities: which actions a kind offers (the actions themselves come in later issues)."""

    DESCRIBE = "describe"
    LOGS = "logs"
    SCALE = "scale"
    RESTART = "restart"
    ROLLOUT = "rollout"
    CORDON_DRAIN = "cordon_drain"
    PORT_FORWARD = "port_forward"
    DELETE = "delete"
    ALL = (DESCRIBE, LOGS, SCALE, RESTART, ROLLOUT, CORDON_DRAIN, PORT_FORWARD, DELETE)


# describe body: (fresh object decoded as `detail_type`, now) -> lines between the metadata and the events
DescribeBody = Callable[[Any, float], list[str]]


@dataclass(frozen=True)
class KindSpec:
    gvr: GVR
    kind: str                           # "Deployment" (involvedObject.kind of its events)
    title: str                          # pane/view title, e.g. "Deployments"
    namespaced: bool
    names: tuple[str, ...]              # `:` command names: full plural, singular, short names
    list_type: type                     # msgspec struct of the LIST body (metadata + items)
    item_type: type                     # msgspec struct one LIST item / watch object decodes into (slim: what
                                        # the table reads); `convert`, if set, turns it into the cached item
    columns: Sequence[tuple[str, str]]  # (id, HEADER) as `kubectl get` prints them; "namespace" first if namespaced
    cells: Callable[[Any, float], Cells]  # one row, in `columns` order
    describe: DescribeBody | None = None  # None: the kind has its own describe path (pods, nodes)
    detail_type: Any = Any              # what a fresh GET for describe decodes into (default: plain dicts)
    capabilities: frozenset[str] = frozenset({Cap.DESCRIBE})
    initial_rv: str = "0"               # "" = consistent paged read from etcd (big kinds); "0" = watch cache
    max_items: int | None = None        # keep only the newest N (events)
    order_key: Callable[[Any], Any] | None = None  # "newest" order for max_items
    convert: Callable[[Any], Any] | None = None  # decoded wire item -> cached item (e.g. drop secret values)
    max_widths: Mapping[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The short id the session and the UI use for this kind: its plural resource name."""
        return self.gvr.resource

    @property
    def api_prefix(self) -> str:
        g = self.gvr
        return f"/apis/{g.group}/{g.version}" if g.group else f"/api/{g.version}"

    def path(self, namespace: str | None = None) -> str:
        """Collection path: cluster-wide, or in one namespace (namespaced kinds only)."""
        if self.namespaced and namespace:
            return f"{self.api_prefix}/namespaces/{quote(namespace, safe='')}/{self.gvr.resource}"
        return f"{self.api_prefix}/{self.gvr.resource}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.path(namespace if self.namespaced else None)}/{quote(name, safe='')}"

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @staticmethod
    def split_key(key: str) -> tuple[str | None, str]:
        """A snapshot key ("namespace/name" or "name") -> (namespace or None, name)."""
        ns, sep, name = key.partition("/")
        return (ns, name) if sep else (None, key)
