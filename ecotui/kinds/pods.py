"""Pods: structs in kube/models.py, kubectl's columns in kube/render.py, describe in kube/describe.py
(pods have their own describe path: a fresh GET as PodDetail plus the pod's events)."""
from __future__ import annotations

from ecotui.kube.models import Pod, PodList
from ecotui.kube.render import POD_COLUMNS, pod_cells

from .spec import GVR, Cap, KindSpec

SPEC = KindSpec(GVR("", "v1", "pods"), "Pod", "Pods", namespaced=True, names=("pods", "pod", "po"),
                list_type=PodList, item_type=Pod, columns=POD_COLUMNS, cells=pod_cells,
                capabilities=frozenset({Cap.DESCRIBE, Cap.LOGS, Cap.PORT_FORWARD, Cap.DELETE}),
                initial_rv="",  # paged consistent read: flat memory on big clusters
                max_widths={"namespace": 24, "name": 56, "node": 44, "status": 26})
