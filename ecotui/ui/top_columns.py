"""Top columns in the cockpit's nodes and pods panes (CPU, MEM, %CPU, %MEM) while usage figures exist.

Pure (no textual): the cockpit holds the workspace's `UsageSource` while it is visible and calls `update()` from
a 1 s timer; `update()` says whether the columns appeared/disappeared (the panes then change their columns and
render every row once) or a new sample arrived (the panes then re-render only their *visible* rows, like the
AGE refresh; other rows pick the figures up when they are drawn again). A new sample every 15 s therefore never
re-renders 10,000 pod rows. The extra cells read the latest sample at render time.

When the latest poll failed the last figures stay (the snapshot is `stale`), drawn muted.

Nodes: %CPU / %MEM of allocatable (`kubectl top nodes`). Pods: %CPU/R and %MEM/R of the pod's requests
(k9s's %CPU/R), MEM coloured when the pod is near its memory limit (OOM risk).
"""
from __future__ import annotations

from typing import Any

from ecotui.kube.render import Cell
from ecotui.metrics import top
from ecotui.metrics.usage import UsageSnapshot

NODE_TOP_COLUMNS: list[tuple[str, str]] = [("cpu", "CPU"), ("cpu_pct", "%CPU"), ("mem", "MEM"), ("mem_pct", "%MEM")]
POD_TOP_COLUMNS: list[tuple[str, str]] = [("cpu", "CPU"), ("mem", "MEM"), ("cpu_pct", "%CPU/R"),
                                          ("mem_pct", "%MEM/R")]
WARN_PCT, CRIT_PCT = 75, 90
_NONE = Cell("—", -1.0, "muted")


def _level(p: int | None) -> str:
    return "" if p is None else "critical" if p >= CRIT_PCT else "warning" if p >= WARN_PCT else ""


def _pct(p: int | None, style: str = "") -> Cell:
    return _NONE if p is None else Cell(f"{p}%", p, style)


class TopColumns:
    """The latest usage sample and allocations, and the extra cells of one node or pod row."""

    def __init__(self) -> None:
        self.on = False
        self.snap = UsageSnapshot()
        self._seq = -1
        self._pods: Any = {}
        self._nodes: Any = {}
        self._alloc_versions: tuple[int, int] = (0, 0)

    def update(self, source: Any) -> tuple[bool, bool]:
        """(columns toggled, new figures to show) after looking at `source` (a UsageSource or None)."""
        snap = source.snapshot if source is not None else UsageSnapshot()
        on = snap.has_figures
        toggled = on != self.on
        self.on = on
        fresh = False
        if source is not None:
            pods, nodes = source.alloc.pods(), source.alloc.nodes()
            versions = (pods.version, nodes.version)
            if versions != self._alloc_versions:
                self._alloc_versions, self._pods, self._nodes = versions, pods.items, nodes.items
                fresh = True
        if snap.seq != self._seq:
            self._seq = snap.seq
            fresh = True
        self.snap = snap
        return toggled, fresh and on and not toggled

    def _muted(self, cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
        """Stale figures (the latest poll failed): kept, but drawn muted rather than as current."""
        if not self.snap.stale:
            return cells
        return tuple(Cell(c.text, c.sort, "muted") for c in cells)

    def node_cells(self, node: Any) -> tuple[Cell, ...]:
        return self._muted(self._node_cells(node))

    def pod_cells(self, pod: Any) -> tuple[Cell, ...]:
        return self._muted(self._pod_cells(pod))

    def _node_cells(self, node: Any) -> tuple[Cell, ...]:
        name = node.metadata.name
        u = self.snap.nodes.get(name)
        if u is None:
            return (_NONE, _NONE, _NONE, _NONE)
        a = self._nodes.get(name)
        cp = top.cpu_pct(u.cpu, a.cpu if a else None)
        mp = top.pct(u.memory, a.memory if a else None)
        return (Cell(top.fmt_cpu(u.cpu), u.cpu if u.cpu is not None else -1.0), _pct(cp, _level(cp)),
                Cell(top.fmt_mem(u.memory), u.memory if u.memory is not None else -1.0), _pct(mp, _level(mp)))

    def _pod_cells(self, pod: Any) -> tuple[Cell, ...]:
        md = pod.metadata
        key = f"{md.namespace}/{md.name}"
        u = self.snap.pods.get(key)
        if u is None:
            return (_NONE, _NONE, _NONE, _NONE)
        a = self._pods.get(key)
        req_cpu = a.req_cpu if a is not None and a.has_req[0] else None
        req_mem = a.req_mem if a is not None and a.has_req[1] else None
        lim_mem = a.lim_mem if a is not None and a.has_lim[1] else None
        return (Cell(top.fmt_cpu(u.cpu), u.cpu if u.cpu is not None else -1.0),
                Cell(top.fmt_mem(u.memory), u.memory if u.memory is not None else -1.0,
                     _level(top.pct(u.memory, lim_mem))),
                _pct(top.cpu_pct(u.cpu, req_cpu)), _pct(top.pct(u.memory, req_mem)))
