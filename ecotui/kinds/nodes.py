"""Nodes: structs in kube/models.py, columns in kube/render.py, describe in kube/describe.py (own path:
a fresh GET as NodeDetail, the pods on the node and its events). The PODS column needs the pod counts, so
the cockpit renders nodes with `render.node_cells(node, count, now)`; `cells` here shows no count."""
from __future__ import annotations

from ecotui.kube.models import Node, NodeList
from ecotui.kube.render import NODE_COLUMNS, node_cells

from .spec import GVR, Cap, Cells, KindSpec


def cells(node: Node, now: float) -> Cells:
    return node_cells(node, 0, now)


SPEC = KindSpec(GVR("", "v1", "nodes"), "Node", "Nodes", namespaced=False, names=("nodes", "node", "no"),
                list_type=NodeList, item_type=Node, columns=NODE_COLUMNS, cells=cells,
                capabilities=frozenset({Cap.DESCRIBE, Cap.CORDON_DRAIN}),
                max_widths={"name": 48, "nodegroup": 28, "pressure": 40})
