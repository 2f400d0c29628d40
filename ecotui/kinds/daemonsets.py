"""DaemonSets (apps/v1): NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE."""
from __future__ import annotations

from typing import Any

from .common import ListMeta, ObjectMeta, S, age_cell, field, get, int_cell, msgspec, name_cell, ns_cell, shared_text
from .deployments import conditions_of, count_cell, pod_template_lines, selector_text, strategy_text
from .spec import GVR, Cap, Cells, KindSpec


class PodSpec(msgspec.Struct, **S):
    nodeSelector: dict[str, str] = {}


class PodTemplate(msgspec.Struct, **S):
    spec: PodSpec = PodSpec()


class DaemonSetSpec(msgspec.Struct, **S):
    template: PodTemplate = PodTemplate()


class DaemonSetStatus(msgspec.Struct, **S):
    desiredNumberScheduled: int = 0
    currentNumberScheduled: int = 0
    numberReady: int = 0
    updatedNumberScheduled: int = 0
    numberAvailable: int = 0
    numberMisscheduled: int = 0


class DaemonSet(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: DaemonSetSpec = DaemonSetSpec()
    status: DaemonSetStatus = DaemonSetStatus()


class DaemonSetList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[DaemonSet] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("desired", "DESIRED"), ("current", "CURRENT"),
           ("ready", "READY"), ("up_to_date", "UP-TO-DATE"), ("available", "AVAILABLE"),
           ("node_selector", "NODE SELECTOR"), ("age", "AGE")]


def node_selector_text(sel: dict[str, str]) -> str:
    """labels.FormatLabels: sorted "k=v,k2=v2", "<none>" when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items())) if sel else "<none>"


def cells(d: DaemonSet, now: float) -> Cells:
    md, st = d.metadata, d.status
    want = st.desiredNumberScheduled
    sel = node_selector_text(d.spec.template.spec.nodeSelector)
    return (ns_cell(md), name_cell(md), int_cell(want), count_cell(st.currentNumberScheduled, want),
            count_cell(st.numberReady, want), count_cell(st.updatedNumberScheduled, want),
            count_cell(st.numberAvailable, want),
            shared_text(sel, "muted") if sel == "<none>" else shared_text(sel),
            age_cell(md.creationTimestamp, now))


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    w = 30
    field(out, "Selector", selector_text(spec.get("selector")), width=w)
    field(out, "Node-Selector", node_selector_text(get(spec, "template", "spec", "nodeSelector", default={})),
          width=w)
    field(out, "Desired Number of Nodes Scheduled", str(st.get("desiredNumberScheduled", 0)), width=w)
    field(out, "Current Number of Nodes Scheduled", str(st.get("currentNumberScheduled", 0)), width=w)
    field(out, "Number of Nodes Scheduled with Up-to-date Pods", str(st.get("updatedNumberScheduled", 0)), width=w)
    field(out, "Number of Nodes Scheduled with Available Pods", str(st.get("numberAvailable", 0)), width=w)
    field(out, "Number of Nodes Misscheduled", str(st.get("numberMisscheduled", 0)), width=w)
    field(out, "Pods Status", f"{st.get('numberReady', 0)} Ready / "
                              f"{st.get('numberUnavailable', 0)} Unavailable", width=w)
    out.extend(strategy_text(spec.get("updateStrategy")))
    out.extend(pod_template_lines(spec.get("template")))
    out.extend(conditions_of(obj))
    return out


SPEC = KindSpec(GVR("apps", "v1", "daemonsets"), "DaemonSet", "DaemonSets", namespaced=True,
                names=("daemonsets", "daemonset", "ds"), list_type=DaemonSetList, item_type=DaemonSet,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.RESTART, Cap.ROLLOUT, Cap.DELETE, Cap.LOGS}),
                max_widths={"namespace": 24, "name": 56, "node_selector": 40})
