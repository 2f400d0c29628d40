"""PodDisruptionBudgets (policy/v1): NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE (`N/A` where
unset). 0 allowed disruptions is flagged: a drain or node rotation will block on it."""
from __future__ import annotations

from typing import Any

from ecotui.kube.render import _shared

from .common import Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, int_cell, msgspec, name_cell, ns_cell
from .deployments import conditions_of, selector_text
from .spec import GVR, Cap, Cells, KindSpec


class PDBSpec(msgspec.Struct, **S):
    minAvailable: int | str | None = None
    maxUnavailable: int | str | None = None


class PDBStatus(msgspec.Struct, **S):
    disruptionsAllowed: int = 0
    currentHealthy: int = 0
    desiredHealthy: int = 0
    expectedPods: int = 0


class PodDisruptionBudget(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: PDBSpec = PDBSpec()
    status: PDBStatus = PDBStatus()


class PodDisruptionBudgetList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[PodDisruptionBudget] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("min_available", "MIN AVAILABLE"),
           ("max_unavailable", "MAX UNAVAILABLE"), ("allowed", "ALLOWED DISRUPTIONS"), ("age", "AGE")]


def int_or_str_cell(v: int | str | None) -> Cell:
    """An IntOrString as kubectl prints it ("N/A" when unset); sorts unset < numbers < percentages."""
    if v is None:
        return _shared("N/A", (0, 0, ""), "muted")
    if isinstance(v, int):
        return _shared(str(v), (1, v, ""))
    pct = v[:-1] if v.endswith("%") else ""
    return _shared(inert(v), (2, int(pct) if pct.isdigit() else 0, v))


def cells(pdb: PodDisruptionBudget, now: float) -> Cells:
    md, st = pdb.metadata, pdb.status
    return (ns_cell(md), name_cell(md), int_or_str_cell(pdb.spec.minAvailable),
            int_or_str_cell(pdb.spec.maxUnavailable),
            int_cell(st.disruptionsAllowed, "warning" if st.disruptionsAllowed <= 0 else ""),
            age_cell(md.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    if "minAvailable" in spec:
        field(out, "Min available", inert(str(spec["minAvailable"])))
    if "maxUnavailable" in spec:
        field(out, "Max unavailable", inert(str(spec["maxUnavailable"])))
    field(out, "Selector", selector_text(spec.get("selector")))
    if spec.get("unhealthyPodEvictionPolicy"):
        field(out, "Unhealthy pod eviction policy", inert(str(spec["unhealthyPodEvictionPolicy"])), width=30)
    out.append("Status:")
    field(out, "Allowed disruptions", str(st.get("disruptionsAllowed", 0)), indent=4, width=22)
    field(out, "Current", str(st.get("currentHealthy", 0)), indent=4, width=22)
    field(out, "Desired", str(st.get("desiredHealthy", 0)), indent=4, width=22)
    field(out, "Total", str(st.get("expectedPods", 0)), indent=4, width=22)
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("policy", "v1", "poddisruptionbudgets"), "PodDisruptionBudget", "PodDisruptionBudgets",
                namespaced=True, names=("poddisruptionbudgets", "poddisruptionbudget", "pdb"),
                list_type=PodDisruptionBudgetList, item_type=PodDisruptionBudget,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 56})
