"""EC2 columns in the cockpit's nodes pane (issue 12): LIFE (spot / od = on-demand) and EC2 (ok, or the first
problem: a failing status check, a stopped instance, a scheduled event such as a spot interruption or a
retirement); the instance type is already the pane's INSTANCE column (the node label). A node with a problem stands out: its NAME and EC2 cells take the theme's critical style (status
checks, state) or warning style (scheduled events only).

Off unless the config says `aws: {node_columns_ec2: true}` AND the active context is an AWS context
(`aws_flow.eks_target`); otherwise `tick` returns before anything else and nothing of `ecotui.aws` is imported —
a non-AWS context never fetches EC2 data and the nodes' hot path is unchanged (`on` is False, the row function
returns the cells as they are).

`tick(screen)` runs from the cockpit's 2 s timer while the cockpit is shown: every REFETCH_S (60 s, the data side
caches as long) or when the set of nodes changed, one worker looks up the nodes' instances (providerID
aws:///zone/i-…, grouped by region, `ecotui.aws.ec2.instances`: ≤ 100 ids per call). New figures re-render the
node rows (nodes are few); the first figures add the columns.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ecotui.kube.render import Cell
from ecotui.textsafe import inert, one_line
from ecotui.ui import aws_flow

EC2_COLUMNS: list[tuple[str, str]] = [("ec2_life", "LIFE"), ("ec2", "EC2")]
REFETCH_S = 60.0
_NONE = Cell("—", "", "muted")
_LIFE = {"on-demand": "od", "spot": "spot", "scheduled": "sched", "capacity-block": "cb"}


def level(info: Any) -> str:
    """"critical" (failing checks, not running), "warning" (scheduled events only) or ""."""
    problems = aws_flow.problems_of(info)
    if not problems:
        return ""
    return "warning" if all(p.startswith("scheduled ") for p in problems) else "critical"


class Ec2Columns:
    """The latest InstanceInfo per node name and the extra cells of a node row."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.on = False
        self.infos: dict[str, Any] = {}        # node name -> InstanceInfo
        self.problem = ""                      # the last lookup's failure, one line
        self.fetches = 0
        self._clock = clock
        self._last = -REFETCH_S
        self._nodes: frozenset[str] = frozenset()
        self._busy = False
        self._ws: Any = None
        self._wanted = False

    # ---- rows ---------------------------------------------------------------------------------------------

    def row(self, node: Any, cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
        """The node's cells with NAME restyled when its instance has a problem, plus LIFE and EC2."""
        info = self.infos.get(node.metadata.name)
        if info is None:
            return cells + (_NONE, _NONE)
        lvl = level(info)
        if lvl and cells:
            cells = (Cell(cells[0].text, cells[0].sort, lvl), *cells[1:])
        life = str(getattr(info, "lifecycle", "") or "")
        problems = aws_flow.problems_of(info)
        status = one_line(problems[0], 60) if problems else (str(getattr(info, "state", "") or "ok")
                                                                if getattr(info, "state", "running") != "running"
                                                                else "ok")
        return cells + (Cell(_LIFE.get(life, inert(life)) or "—", life, "warning" if life == "spot" else ""),
                        Cell(inert(status), (0 if not problems else 1 if lvl == "warning" else 2, status),
                             lvl or "ok"))

    # ---- polling ------------------------------------------------------------------------------------------

    def tick(self, screen: Any) -> None:
        """Called every 2 s by the cockpit; starts a lookup worker when one is due (AWS contexts only)."""
        app = screen.app
        ws = screen.ws
        if ws is not self._ws:                 # a new context: decide again, forget the old figures
            self._ws = ws
            self._wanted = aws_flow.ec2_columns_wanted(app) and aws_flow.eks_target(app) is not None
            self.infos, self.problem, self._nodes, self._last = {}, "", frozenset(), -REFETCH_S
            if self.on:
                self.on = False
                screen.set_extra_columns()
        if not self._wanted or self._busy or app.screen is not screen:
            return
        nodes = screen.session.snapshot("nodes").items
        names = frozenset(nodes)
        if names == self._nodes and self._clock() - self._last < REFETCH_S:
            return
        found = {n: aws_flow.instance_of(getattr(o.spec, "providerID", "") or "") for n, o in nodes.items()}
        ids = {n: i for n, i in found.items() if i is not None}
        self._nodes, self._last, self._busy = names, self._clock(), True
        if not ids:
            self._busy = False
            return
        screen.run_worker(self._fetch(screen, ws, ids), group="ec2-columns", exclusive=True, exit_on_error=False)

    async def _fetch(self, screen: Any, ws: Any, ids: Mapping[str, tuple[str, str]]) -> None:
        try:
            target = aws_flow.eks_target(screen.app)
            by_region: dict[str | None, list[str]] = {}
            for zone, iid in ids.values():
                region = aws_flow.region_of_zone(zone) or (target.region if target else None)
                by_region.setdefault(region, []).append(iid)
            found: dict[str, Any] = {}
            problem = ""
            for region, iids in by_region.items():
                try:
                    found.update(await aws_flow._aws_instances(target.profile if target else None, region, iids))
                except Exception as exc:  # noqa: BLE001 - one line in the pane title
                    problem = aws_flow.explain(exc, target.profile if target else None)
            infos = {n: found[i] for n, (_, i) in ids.items() if i in found}
        finally:
            self._busy = False
            self.fetches += 1
        if ws is not screen.ws:
            return
        changed = infos != self.infos or problem != self.problem
        self.problem = problem
        self.infos = infos
        if infos and not self.on:
            self.on = True
            screen.set_extra_columns()
        elif changed:
            screen.rerender_nodes()     # new figures, or the pane title's "EC2: <problem>" changed
