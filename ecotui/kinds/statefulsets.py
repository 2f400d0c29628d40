"""StatefulSets (apps/v1): NAME READY AGE, like `kubectl get statefulsets`."""
from __future__ import annotations

from typing import Any

from .common import ListMeta, ObjectMeta, S, age_cell, field, get, inert, msgspec, name_cell, ns_cell
from .deployments import conditions_of, pod_template_lines, ratio_cell, selector_text
from .spec import GVR, Cap, Cells, KindSpec


class StatefulSetSpec(msgspec.Struct, **S):
    replicas: int = 1  # defaulted by the API server


class StatefulSetStatus(msgspec.Struct, **S):
    replicas: int = 0
    readyReplicas: int = 0


class StatefulSet(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: StatefulSetSpec = StatefulSetSpec()
    status: StatefulSetStatus = StatefulSetStatus()


class StatefulSetList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[StatefulSet] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("ready", "READY"), ("age", "AGE")]


def cells(s: StatefulSet, now: float) -> Cells:
    md = s.metadata
    return (ns_cell(md), name_cell(md), ratio_cell(s.status.readyReplicas, s.spec.replicas),
            age_cell(md.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    w = 24
    field(out, "Selector", selector_text(spec.get("selector")), width=w)
    field(out, "Replicas", f"{spec.get('replicas', 1)} desired | {st.get('replicas', 0)} total", width=w)
    field(out, "Update Strategy", inert(str(get(spec, "updateStrategy", "type", default=""))) or "<none>", width=w)
    part = get(spec, "updateStrategy", "rollingUpdate", "partition", default=None)
    if part is not None:
        field(out, "  Partition", str(part), width=w)
    field(out, "Pod Management Policy", inert(str(spec.get("podManagementPolicy", ""))) or "<none>", width=w)
    field(out, "Service Name", inert(str(spec.get("serviceName", ""))) or "<none>", width=w)
    field(out, "Pods Status", f"{st.get('readyReplicas', 0)} Ready / {st.get('currentReplicas', 0)} Current / "
                              f"{st.get('updatedReplicas', 0)} Updated", width=w)
    out.extend(pod_template_lines(spec.get("template")))
    claims = spec.get("volumeClaimTemplates") or ()
    out.append("Volume Claims:" + ("" if claims else "  <none>"))
    for c in claims:
        field(out, "Name", inert(str(get(c, "metadata", "name", default=""))), indent=2, width=16)
        field(out, "StorageClass", inert(str(get(c, "spec", "storageClassName", default=""))), indent=2, width=16)
        field(out, "Capacity", inert(str(get(c, "spec", "resources", "requests", "storage", default=""))),
              indent=2, width=16)
        field(out, "Access Modes", inert(",".join(str(m) for m in get(c, "spec", "accessModes", default=()))),
              indent=2, width=16)
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("apps", "v1", "statefulsets"), "StatefulSet", "StatefulSets", namespaced=True,
                names=("statefulsets", "statefulset", "sts"), list_type=StatefulSetList, item_type=StatefulSet,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.SCALE, Cap.RESTART, Cap.ROLLOUT, Cap.DELETE, Cap.LOGS}),
                max_widths={"namespace": 24, "name": 56})
