"""ReplicaSets (apps/v1): NAME DESIRED CURRENT READY AGE. Old ReplicaSets (0 desired) are shown muted."""
from __future__ import annotations

from typing import Any

from .common import ListMeta, ObjectMeta, S, age_cell, field, get, inert, int_cell, msgspec, name_cell, ns_cell
from .deployments import conditions_of, pod_template_lines, replica_style, selector_text
from .spec import GVR, Cap, Cells, KindSpec


class ReplicaSetSpec(msgspec.Struct, **S):
    replicas: int = 1  # defaulted by the API server


class ReplicaSetStatus(msgspec.Struct, **S):
    replicas: int = 0
    readyReplicas: int = 0
    availableReplicas: int = 0


class ReplicaSet(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicaSetSpec = ReplicaSetSpec()
    status: ReplicaSetStatus = ReplicaSetStatus()


class ReplicaSetList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[ReplicaSet] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("desired", "DESIRED"), ("current", "CURRENT"),
           ("ready", "READY"), ("age", "AGE")]


def cells(r: ReplicaSet, now: float) -> Cells:
    md, st, want = r.metadata, r.status, r.spec.replicas
    old = want == 0 and st.replicas == 0   # a previous revision kept for rollback
    return (ns_cell(md), name_cell(md), int_cell(want, "muted" if old else ""),
            int_cell(st.replicas, "muted" if old else replica_style(st.replicas, want)),
            int_cell(st.readyReplicas, "muted" if old else replica_style(st.readyReplicas, want)),
            age_cell(md.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    owners = [o for o in get(obj, "metadata", "ownerReferences", default=()) if o.get("controller")]
    field(out, "Controlled By",
          inert(f"{owners[0].get('kind', '')}/{owners[0].get('name', '')}") if owners else "<none>")
    field(out, "Selector", selector_text(spec.get("selector")))
    field(out, "Replicas", f"{st.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
    field(out, "Pods Status", f"{st.get('readyReplicas', 0)} Ready / {st.get('availableReplicas', 0)} Available")
    out.extend(pod_template_lines(spec.get("template")))
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("apps", "v1", "replicasets"), "ReplicaSet", "ReplicaSets", namespaced=True,
                names=("replicasets", "replicaset", "rs"), list_type=ReplicaSetList, item_type=ReplicaSet,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 64})
