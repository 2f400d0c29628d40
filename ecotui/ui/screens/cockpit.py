"""The cockpit: header, nodes / pods / events panes, filter bar and key hints.

Data flow: a 4 Hz timer compares `session.version`; only when it moved are the snapshots turned into
rows (`ecotui.ui.rows.PaneRows`, incremental) and handed to each table's keyed diff. A slower timer
re-renders the visible rows so AGE text stays current. No I/O happens here. The screen never sees the App:
it reads its workspace and `UiContext`, and asks for describe with a `DescribeRequested` message.
"""
from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical

from ecotui.kube.render import event_cells, node_cells, pod_cells
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.rows import NodeCounts, PaneRows, event_order, warnings_delta
from ecotui.ui.screens.table_screen import SCREEN_ACTIONS, SCREEN_IDS, TABLE_ACTIONS, TABLE_IDS, TableScreen
from ecotui.ui.ec2_columns import EC2_COLUMNS, Ec2Columns
from ecotui.ui.top_columns import NODE_TOP_COLUMNS, POD_TOP_COLUMNS, TopColumns
from ecotui.ui.widgets.filter_bar import FilterBar
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, StatusHeader
from ecotui.ui.widgets.task_panel import TaskPanel
from ecotui.workspace import WorkspaceAPI

__all__ = ["CockpitScreen", "TABLE_ACTIONS", "TABLE_IDS"]

REFRESH_ORDER = ("pods", "nodes", "events")   # pods first: their changes update the nodes' PODS counts
HINT_IDS = ("help", "filter", "command", "describe", "sort", "focus_nodes", "focus_pods", "focus_events",
            "switch_namespace", "switch_context", "theme", "quit")
HINT_LABELS = {"help": "help", "filter": "filter", "command": "cmd", "describe": "describe", "sort": "sort",
               "focus_nodes": "nodes", "focus_pods": "pods", "focus_events": "events",
               "switch_namespace": "ns", "switch_context": "ctx", "theme": "theme", "quit": "quit"}


class CockpitScreen(TableScreen):
    PANES: ClassVar[tuple[str, ...]] = ("nodes", "pods", "events")
    KEY_IDS: ClassVar[tuple[str, ...]] = (
        "quit", "help", "command", "filter", "clear_filter", "switch_context", "switch_namespace",
        "all_namespaces", "focus_nodes", "focus_pods", "focus_events", "next_pane", "prev_pane", "theme",
        "refresh", "back", *SCREEN_IDS)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {
        **SCREEN_ACTIONS, "quit": "app.quit", "help": "app.help", "command": "app.command", "switch_context": "app.switch_context",
        "switch_namespace": "app.switch_namespace", "all_namespaces": "app.all_namespaces", "theme": "app.theme"}
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    DEFAULT_CSS = """
    CockpitScreen #panes { height: 1fr; }
    CockpitScreen.-short .pane { height: 5; }
    CockpitScreen.-short ResourceTable { scrollbar-size-horizontal: 0; }
    CockpitScreen.-short .pane.-active { height: 1fr; }
    CockpitScreen.-tall .pane { height: 1fr; }
    CockpitScreen.-tall .pane.-active { height: 2fr; }
    """

    def __init__(self, table_cls: type[ResourceTable], ui: UiContext, workspace: WorkspaceAPI) -> None:
        super().__init__(table_cls, ui, workspace)
        self.counts = NodeCounts()
        self.top = TopColumns()          # CPU/MEM/% columns while usage figures exist (ui/top_columns.py)
        self.ec2 = Ec2Columns()          # LIFE/EC2 columns: AWS contexts with aws.node_columns_ec2 (ui/ec2_columns.py)
        self._usage: Any = None
        self._usage_token = 0
        self.models = {
            "nodes": PaneRows(self._node_row, token=lambda k, n: self.counts.get(n.metadata.name)),
            "pods": PaneRows(lambda p, now: pod_cells(p, now) + (self.top.pod_cells(p) if self.top.on else ())),
            "events": PaneRows(event_cells, order_key=event_order),
        }
        self.active = "pods"
        self.node_scope: str | None = None   # node → pods drill-down
        self._seen: dict[str, Any] = {}
        self._warnings = 0                              # Warning events in the events pane's snapshot
        self._dirty_nodes: set[str] = set()            # nodes whose pod count changed since their last refresh

    # ---- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Vertical(id="panes"):
            for name in self.PANES:
                yield self.panes[name]
        yield TaskPanel(id="task-panel")
        yield FilterBar(id="filter-bar")
        yield KeyHints(self.action_hint_text(), id="action-hints")
        yield KeyHints(self.ui.hints(HINT_IDS, HINT_LABELS), id="hints")

    def on_mount(self) -> None:
        super().on_mount()
        self._set_active("pods")
        self.tables["pods"].focus()
        self.refresh_data(force=True)
        self.set_interval(1.0, self._poll_usage)
        self.set_interval(2.0, self._poll_ec2)

    # ---- top columns (usage held while this screen is visible and its pods are listed) ---------------

    def _poll_usage(self) -> None:
        src = getattr(self.ws, "usage", None)
        shown = self.app.screen is self
        if self._usage is not src or not shown:
            self._release_usage()
        if not shown:           # covered: keep the columns as they are, read nothing
            return
        if (self._usage is None and src is not None and shown and self.session.snapshot("pods").synced
                and src.may_have_figures()):
            self._usage, self._usage_token = src, src.acquire(alloc_now=False)
        toggled, fresh = self.top.update(self._usage)
        if toggled:
            self.set_extra_columns()
        elif fresh:
            self._safe_refresh(fresh=True)   # visible rows only (the AGE refresh), never every pod

    def _release_usage(self) -> None:
        if self._usage is not None:
            self._usage.release(self._usage_token)
        self._usage = None

    def on_screen_suspend(self, _event: Any) -> None:
        self._release_usage()

    def on_unmount(self) -> None:
        self._release_usage()

    def _node_row(self, n: Any, now: float) -> Any:
        cells = node_cells(n, self.counts.get(n.metadata.name), now) + (self.top.node_cells(n) if self.top.on else ())
        return self.ec2.row(n, cells) if self.ec2.on else cells

    def _poll_ec2(self) -> None:
        self.ec2.tick(self)

    def rerender_nodes(self) -> None:
        """New EC2 figures: every node row is rendered again (nodes are few)."""
        self.models["nodes"].reset()
        self._seen.pop("nodes", None)
        self._safe_refresh(force=True)

    def set_extra_columns(self) -> None:
        """Add or drop the top (and EC2) columns: every row of both panes is rendered once with the new columns."""
        for name, extra in (("nodes", NODE_TOP_COLUMNS), ("pods", POD_TOP_COLUMNS)):
            table = self.tables[name]
            ec2 = EC2_COLUMNS if name == "nodes" else []
            base = [c for c in table.columns_spec if c not in extra and c not in ec2]
            cols = base + (list(extra) if self.top.on else []) + (list(ec2) if self.ec2.on else [])
            cursor = table.cursor_key
            self.models[name].reset()
            table.clear()
            table.set_columns(cols, [i for i, (k, _) in enumerate(cols)
                                     if not (k == "namespace" and name == "pods" and self.session.namespace)])
            self._seen.pop(name, None)
            if cursor is not None:
                self.call_after_refresh(table.move_to_key, cursor)
        self.counts = NodeCounts()
        self._safe_refresh(force=True)

    # ---- refresh --------------------------------------------------------------------------

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        """Bring the panes up to date with the session's snapshots. Work is proportional to what changed
        since the last call (see rows.py and the ResourceTable docstring), not to the number of rows."""
        session = self.session
        self._last_version = session.version
        now = self.ui.clock()
        ns = session.namespace
        snaps = {k: session.snapshot(k) for k in self.PANES}
        with self.app.batch_update():
            for name in REFRESH_ORDER:
                try:
                    self._refresh_pane(name, snaps[name], ns, now, force, fresh)
                except Exception:
                    self._forget(name)
                    raise
        self.show_header()

    def _forget(self, name: str) -> None:
        """After a failed refresh: rebuild this pane (and what depends on it) from scratch next time."""
        self.models[name].reset()
        self.tables[name].clear()
        self._seen.pop(name, None)
        if name == "pods":
            self.counts = NodeCounts()
            self._forget("nodes")
        elif name == "events":
            self._warnings = 0

    def _refresh_pane(self, name: str, snap: Any, ns: str | None, now: float, force: bool, fresh: bool) -> None:
        table = self.tables[name]
        model = self.models[name]
        scope = self.node_scope if name == "pods" else None
        dirty = self._dirty_nodes if name == "nodes" else ()
        state = (snap.version, ns, scope, model.generation)
        if not (force or fresh or dirty) and self._seen.get(name) == state:
            return
        self._seen[name] = state
        if name != "nodes":
            cols = table.columns_spec
            table.set_columns(cols, [i for i, (k, _) in enumerate(cols) if not (k == "namespace" and ns is not None)])
        where = (lambda p, node=scope: p.spec.nodeName == node) if scope else None
        visible = table.visible_keys() if fresh else ()
        ch = model.diff(snap.items, now, where=where, view=scope, dirty=dirty, fresh=visible)
        if name == "pods" and (ch.changed or ch.gone):
            self._dirty_nodes |= self.counts.apply(ch, snap.items)
        elif name == "events" and (ch.changed or ch.gone):
            self._warnings += warnings_delta(ch, snap.items)
        elif name == "nodes":
            self._dirty_nodes = set()
        if ch.upserts or ch.removed:
            table.apply_changes(ch.upserts, ch.removed, ch.natural)
        self.update_title(name, snap, table.row_count)

    def title_extra(self, name: str) -> list[str]:
        if name == "pods" and self.node_scope:
            return [f"node: {one_line(self.node_scope, 60)}"]
        if name == "events" and self._warnings:
            return [f"{self._warnings} warnings"]
        if name == "nodes" and self.ec2.problem:
            return [f"EC2: {one_line(self.ec2.problem, 100)}"]
        return []

    def reset_data(self) -> None:
        """After a context or namespace switch: forget the old rows and the node drill-down."""
        self.node_scope = None
        self._seen.clear()
        self.counts = NodeCounts()
        self._warnings = 0
        super().reset_data()

    # ---- panes and focus ------------------------------------------------------------------

    def action_focus_nodes(self) -> None:
        self.focus_pane("nodes")

    def action_focus_pods(self) -> None:
        self.focus_pane("pods")

    def action_focus_events(self) -> None:
        self.focus_pane("events")

    def action_next_pane(self) -> None:
        self.focus_pane(self.PANES[(self.PANES.index(self.active) + 1) % len(self.PANES)])

    def action_prev_pane(self) -> None:
        self.focus_pane(self.PANES[(self.PANES.index(self.active) - 1) % len(self.PANES)])

    # ---- node → pods ----------------------------------------------------------------------

    def action_open_row(self) -> None:
        """`open` (enter): a node opens its pods; anything else opens its description."""
        key = self.tables[self.active].cursor_key
        if key is None:
            return
        if self.active == "nodes":
            self.show_node_pods(key)
        else:
            self.action_describe()

    def show_node_pods(self, node: str | None) -> None:
        self.node_scope = node
        self.refresh_data()
        if node is not None:
            self.focus_pane("pods")

    def action_back(self) -> None:
        """Close the filter bar (clearing it), else leave the node drill-down, else clear the filter."""
        if self.filter_open:
            self.back()
        elif self.active == "pods" and self.node_scope is not None:
            node = self.node_scope
            self.show_node_pods(None)
            self.focus_pane("nodes")
            self.tables["nodes"].move_to_key(node)
        else:
            self.back()
