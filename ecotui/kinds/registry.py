"""THE kinds registry: one table keyed by group/version/resource. Adding a kind = one module + one line here.

`REGISTRY[GVR]` -> KindSpec; `by_id("deployments")` (the plural the session and UI use); `lookup("deploy")`
(any `:` command name). Order = the order views are listed in help and `:` completion.
"""
from __future__ import annotations

from types import MappingProxyType

from . import (configmaps, daemonsets, deployments, events, hpas, ingresses, namespaces, nodes, pdbs, pods,
               pvcs, pvs, replicasets, secrets, services, statefulsets)
from .spec import GVR, KindSpec

_MODULES = (
    pods, nodes, events, namespaces,
    deployments, statefulsets, daemonsets, replicasets,
    services, ingresses,
    hpas, pdbs,
    pvcs, pvs, configmaps, secrets,
)

REGISTRY: MappingProxyType[GVR, KindSpec] = MappingProxyType({m.SPEC.gvr: m.SPEC for m in _MODULES})
_BY_ID = {s.id: s for s in REGISTRY.values()}
_BY_NAME = {n: s for s in REGISTRY.values() for n in (s.id, *s.names)}
assert len(_BY_ID) == len(REGISTRY), "two kinds share a plural name"
assert len(_BY_NAME) == sum(len({s.id, *s.names}) for s in REGISTRY.values()), "two kinds share a : name"


def by_id(kind_id: str) -> KindSpec:
    """The spec of a kind by its plural resource name ("pods", "deployments"); KeyError if unknown."""
    return _BY_ID[kind_id]


def lookup(name: str) -> KindSpec | None:
    """The kind a `:` command names (full plural, singular or short name; case-insensitive), or None."""
    return _BY_NAME.get(name.strip().lower())


def all_specs() -> tuple[KindSpec, ...]:
    return tuple(REGISTRY.values())
