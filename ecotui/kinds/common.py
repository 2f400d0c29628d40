"""Helpers the kind modules share: slim metadata-only structs, the usual cells, and the describe frame
(Name/Namespace/Labels/Annotations/CreationTimestamp, the kind's body, Events) around a kind's own lines.

Describe reads a fresh GET decoded as plain dicts (`KindSpec.detail_type` = Any) unless a kind says
otherwise; every value from the cluster goes through `textsafe` before it is shown.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from ecotui.kube.describe import _event_rows, _field, _mapping, _table, fmt_time
from ecotui.kube.models import Event, ListMeta, ObjectMeta
from ecotui.kube.render import Cell, _shared, age_cell
from ecotui.textsafe import inert, one_line

S = dict(frozen=True, gc=False, omit_defaults=True)  # options of every cached struct (see kube/models.py)
NONE = Cell("<none>", "", "muted")

__all__ = ["S", "NONE", "ObjectMeta", "ListMeta", "Cell", "age_cell", "ns_cell", "name_cell", "text_cell",
           "int_cell", "shared_text", "field", "mapping", "table", "fmt_time", "describe_object", "get",
           "conditions_lines", "inert", "one_line", "msgspec"]


def ns_cell(md: ObjectMeta) -> Cell:
    return _shared(inert(md.namespace), md.namespace)


def name_cell(md: ObjectMeta) -> Cell:
    return Cell(inert(md.name), md.name)


def text_cell(value: str, empty: str = "<none>") -> Cell:
    """Free text from the cluster; `empty` (muted) when there is none."""
    return Cell(inert(value), value) if value else Cell(empty, "", "muted")


def shared_text(value: str, style: str = "") -> Cell:
    """A short value that repeats across rows (types, classes, statuses): one shared Cell per value."""
    return _shared(inert(value), value, style)


def int_cell(n: int, style: str = "") -> Cell:
    return _shared(str(n), n, style)


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """obj["a"]["b"][0]... on the plain dicts of a fresh GET; `default` where anything is missing."""
    cur = obj
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return default
    return default if cur is None else cur


field = _field
mapping = _mapping
table = _table


def conditions_lines(conds: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = [["Type", "Status", "Reason"]] + [[inert(str(c.get("type", ""))), inert(str(c.get("status", ""))),
                                              inert(str(c.get("reason", "")))] for c in conds]
    return ["Conditions:"] + (_table(rows) if len(rows) > 1 else ["  <none>"])


def describe_object(kind: str, obj: Mapping[str, Any], body: Sequence[str], events: Sequence[Event],
                    now: float, namespaced: bool = True) -> str:
    """kubectl-describe-like text: the common metadata, then `body` (the kind's own lines), then Events."""
    md = obj.get("metadata") or {}
    out: list[str] = []
    _field(out, "Name", inert(str(md.get("name", ""))))
    if namespaced:
        _field(out, "Namespace", inert(str(md.get("namespace", ""))))
    _field(out, "Kind", kind)
    _field(out, "Labels", _mapping(md.get("labels") or {}))
    _field(out, "Annotations", _mapping({k: one_line(str(v), 200) for k, v in (md.get("annotations") or {}).items()
                                         if k != "kubectl.kubernetes.io/last-applied-configuration"}, ": "))
    _field(out, "CreationTimestamp", fmt_time(md.get("creationTimestamp")))
    out.extend(body)
    out.extend(_event_rows(events, now))
    return "\n".join(out) + "\n"
