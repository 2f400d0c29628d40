"""Namespaces: NAME STATUS AGE (cached struct in kube/models.py: the cockpit's namespace picker uses it too)."""
from __future__ import annotations

from typing import Any

from ecotui.kube.models import Namespace, NamespaceList

from .common import age_cell, get, name_cell, shared_text
from .spec import GVR, Cap, Cells, KindSpec

COLUMNS = [("name", "NAME"), ("status", "STATUS"), ("age", "AGE")]


def cells(ns: Namespace, now: float) -> Cells:
    phase = ns.status.phase
    return (name_cell(ns.metadata), shared_text(phase, "ok" if phase == "Active" else "warning"),
            age_cell(ns.metadata.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    return [f"Status:           {get(obj, 'status', 'phase', default='')}"]


SPEC = KindSpec(GVR("", "v1", "namespaces"), "Namespace", "Namespaces", namespaced=False,
                names=("namespaces", "namespace", "ns"), list_type=NamespaceList, item_type=Namespace,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}))
