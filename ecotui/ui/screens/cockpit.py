"""The cockpit: header, nodes / pods / events panes, filter bar and key hints.

Data flow: a 4 Hz timer compares `session.version`; only when it moved are the snapshots turned into
rows (`ecotui.ui.rows.PaneRows`, incremental) and handed to each table's keyed diff. A slower timer
re-renders the visible rows so AGE text stays current. No I/O happens here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from ecotui.kube.render import EVENT_COLUMNS, NODE_COLUMNS, POD_COLUMNS, event_cells, node_cells, pod_cells
from ecotui.textsafe import one_line
from ecotui.ui.rows import NodeCounts, PaneRows, event_order, warnings_delta
from ecotui.ui.widgets.pane import Pane
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, StatusHeader

if TYPE_CHECKING:
    from ecotui.ui.app import EcotuiApp

PANES = ("nodes", "pods", "events")
REFRESH_ORDER = ("pods", "nodes", "events")   # pods first: their changes update the nodes' PODS counts
LOADING_POLL = 0.05   # seconds between polls while a first LIST is still arriving
TITLES = {"nodes": "Nodes", "pods": "Pods", "events": "Events"}
COLUMNS = {"nodes": NODE_COLUMNS, "pods": POD_COLUMNS, "events": EVENT_COLUMNS}
MAX_WIDTHS = {
    "nodes": {"name": 48, "nodegroup": 28, "pressure": 40},
    "pods": {"namespace": 24, "name": 56, "node": 44, "status": 26},
    "events": {"namespace": 20, "object": 48, "message": 100, "reason": 28},
}
TABLE_IDS = ("open", "describe", "sort", "sort_reverse", "cursor_down", "cursor_up", "cursor_top", "cursor_bottom",
             "page_down", "page_up")
TABLE_ACTIONS = {"open": "screen.open_row", "describe": "screen.describe"}
HINT_IDS = ("help", "filter", "command", "describe", "sort", "focus_nodes", "focus_pods", "focus_events",
            "switch_namespace", "switch_context", "theme", "quit")
HINT_LABELS = {"help": "help", "filter": "filter", "command": "cmd", "describe": "describe", "sort": "sort",
               "focus_nodes": "nodes", "focus_pods": "pods", "focus_events": "events",
               "switch_namespace": "ns", "switch_context": "ctx", "theme": "theme", "quit": "quit"}


class CockpitScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = (
        "quit", "help", "command", "filter", "clear_filter", "switch_context", "switch_namespace",
        "all_namespaces", "focus_nodes", "focus_pods", "focus_events", "next_pane", "prev_pane", "theme",
        "refresh", "back")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {
        "quit": "app.quit", "help": "app.help", "command": "app.command", "switch_context": "app.switch_context",
        "switch_namespace": "app.switch_namespace", "all_namespaces": "app.all_namespaces", "theme": "app.theme"}
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    DEFAULT_CSS = """
    CockpitScreen #panes { height: 1fr; }
    CockpitScreen.-short .pane { height: 5; }
    CockpitScreen.-short ResourceTable { scrollbar-size-horizontal: 0; }
    CockpitScreen.-short .pane.-active { height: 1fr; }
    CockpitScreen.-tall .pane { height: 1fr; }
    CockpitScreen.-tall .pane.-active { height: 2fr; }
    CockpitScreen #filter-bar { height: auto; display: none; }
    CockpitScreen #filter-bar.-open { display: block; }
    CockpitScreen #filter-input { height: 1; border: none; padding: 0 1; background: $panel; }
    CockpitScreen #filter-msg { height: auto; color: $error; padding: 0 1; }
    """

    def __init__(self, table_cls: type[ResourceTable]) -> None:
        super().__init__()
        styles = self._app.cell_styles
        self.tables: dict[str, ResourceTable] = {
            name: table_cls(
                COLUMNS[name], max_widths=MAX_WIDTHS[name], styles=styles, id=name)
            for name in PANES
        }
        self.panes = {name: Pane(TITLES[name], self.tables[name], id=f"{name}-pane") for name in PANES}
        self.counts = NodeCounts()
        self.models: dict[str, PaneRows[Any]] = {
            "nodes": PaneRows(lambda n, now: node_cells(n, self.counts.get(n.metadata.name), now),
                              token=lambda k, n: self.counts.get(n.metadata.name)),
            "pods": PaneRows(pod_cells),
            "events": PaneRows(event_cells, order_key=event_order),
        }
        self.active = "pods"
        self.node_scope: str | None = None   # node → pods drill-down
        self.filter_target: str | None = None
        self._seen: dict[str, Any] = {}
        self._warnings = 0                              # Warning events in the events pane's snapshot
        self._dirty_nodes: set[str] = set()            # nodes whose pod count changed since their last refresh
        self._loading = True
        self._last_version: int | None = None

    @property
    def _app(self) -> "EcotuiApp":
        return self.app  # type: ignore[return-value]

    # ---- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Vertical(id="panes"):
            for name in PANES:
                yield self.panes[name]
        with Vertical(id="filter-bar"):
            yield Input(placeholder="filter: text, or a label selector (app=web,tier!=db)", id="filter-input")
            yield Static("", id="filter-msg")
        yield KeyHints(self._app.hints(HINT_IDS, HINT_LABELS), id="hints")

    def on_mount(self) -> None:
        self._set_active("pods")
        self.tables["pods"].focus()
        self.refresh_data(force=True)
        self.set_interval(self._app.poll_interval, self._poll)
        # while a first LIST is still arriving page by page, look more often (the pages land in the table
        # as they come, and the table is complete right after the last one, not up to a poll later)
        self._loading_poll = self.set_interval(min(LOADING_POLL, self._app.poll_interval), self._poll)
        self.set_interval(self._app.age_interval, self._refresh_ages)

    # ---- refresh --------------------------------------------------------------------------

    def _poll(self) -> None:
        if self._app.session.version != self._last_version:
            self._safe_refresh()
        else:
            self._show_header()
        loading = not all(self._app.session.snapshot(k).synced for k in PANES)
        if loading != self._loading:
            self._loading = loading
            (self._loading_poll.resume if loading else self._loading_poll.pause)()

    def _refresh_ages(self) -> None:
        self._safe_refresh(fresh=True)

    def _safe_refresh(self, **kw: bool) -> None:
        try:
            self.refresh_data(**kw)
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not take the cockpit down
            self._app.report_internal_error(exc)
            self._show_header()
        else:
            if self._app.internal_error:
                self._app.clear_internal_error()
                self._show_header()

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        """Bring the panes up to date with the session's snapshots. Work is proportional to what changed
        since the last call (see rows.py and the ResourceTable docstring), not to the number of rows."""
        app = self._app
        session = app.session
        self._last_version = session.version
        now = app.clock()
        ns = session.namespace
        snaps = {k: session.snapshot(k) for k in PANES}
        with app.batch_update():
            for name in REFRESH_ORDER:
                try:
                    self._refresh_pane(name, snaps[name], ns, now, force, fresh)
                except Exception:
                    self._forget(name)
                    raise
        self._show_header()

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
            pick = [i for i, (k, _) in enumerate(COLUMNS[name]) if not (k == "namespace" and ns is not None)]
            table.set_columns(COLUMNS[name], pick)
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
        self._update_title(name, snap, table.row_count)

    def _update_title(self, name: str, snap: Any, shown: int) -> None:
        total = len(snap.items)
        parts = [TITLES[name], f"{shown}" if shown == total else f"{shown}/{total}"]
        if not snap.synced:
            parts.append("loading…")
        if name == "pods" and self.node_scope:
            parts.append(f"node: {one_line(self.node_scope, 60)}")
        if name == "events":
            warnings = self._warnings
            if warnings:
                parts.append(f"{warnings} warnings")
        f = self.models[name].filter
        if f.active:
            parts.append(f"filter: {one_line(f.source, 40)}")
        label = self.tables[name].sort_label
        if label:
            parts.append(f"sort: {label}")
        self.panes[name].set_title(" · ".join(parts))

    def _show_header(self) -> None:
        app = self._app
        s = app.session
        self.query_one(StatusHeader).show(s.context, s.namespace, s.connection, readonly=app.readonly,
                                          error=app.internal_error or app.start_error, styles=app.cell_styles)

    def restyle(self) -> None:
        for t in self.tables.values():
            t.set_styles(self._app.cell_styles)
        self.query_one(StatusHeader)._last = None
        self._show_header()

    def reset_data(self) -> None:
        """After a context switch: forget the old cluster's rows."""
        self.node_scope = None
        self._seen.clear()
        self.refresh_data(force=True)

    @on(ResourceTable.SortChanged)
    def _sort_changed(self, event: ResourceTable.SortChanged) -> None:
        name = str(event.table.id)
        self._update_title(name, self._app.session.snapshot(name), event.table.row_count)  # type: ignore[arg-type]

    # ---- panes and focus ------------------------------------------------------------------

    def _set_active(self, name: str) -> None:
        self.active = name
        for n, pane in self.panes.items():
            pane.set_class(n == name, "-active")

    def on_descendant_focus(self, event: Any) -> None:
        w = event.widget
        if isinstance(w, ResourceTable) and w.id in self.panes:
            self._set_active(str(w.id))

    def focus_pane(self, name: str) -> None:
        self._set_active(name)
        self.tables[name].focus()

    def action_focus_nodes(self) -> None:
        self.focus_pane("nodes")

    def action_focus_pods(self) -> None:
        self.focus_pane("pods")

    def action_focus_events(self) -> None:
        self.focus_pane("events")

    def action_next_pane(self) -> None:
        self.focus_pane(PANES[(PANES.index(self.active) + 1) % len(PANES)])

    def action_prev_pane(self) -> None:
        self.focus_pane(PANES[(PANES.index(self.active) - 1) % len(PANES)])

    def action_refresh(self) -> None:
        self.refresh_data(force=True)

    # ---- node → pods ----------------------------------------------------------------------

    def action_open_row(self) -> None:
        """`open` (enter): a node opens its pods; anything else opens its description."""
        key = self.tables[self.active].cursor_key
        if key is None:
            return
        if self.active == "nodes":
            self.show_node_pods(key)
        else:
            self._app.describe(self.active, key)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a mouse click on a row; the keyboard path is the `open` action
        if event.data_table is self.tables[self.active]:
            self.action_open_row()

    def show_node_pods(self, node: str | None) -> None:
        self.node_scope = node
        self.refresh_data()
        if node is not None:
            self.focus_pane("pods")

    # ---- filter ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_target = self.active
        bar = self.query_one("#filter-bar")
        bar.add_class("-open")
        inp = self.query_one("#filter-input", Input)
        inp.value = self.models[self.active].filter.source
        self.query_one("#filter-msg", Static).update("")
        inp.focus()

    def _close_filter_bar(self) -> None:
        self.query_one("#filter-bar").remove_class("-open")
        self.query_one("#filter-msg", Static).update("")
        target = self.filter_target or self.active
        self.filter_target = None
        self.focus_pane(target)

    @property
    def filter_open(self) -> bool:
        return self.query_one("#filter-bar").has_class("-open")

    def _apply_filter(self, text: str) -> bool:
        target = self.filter_target or self.active
        try:
            self.models[target].set_filter(text)
        except ValueError as exc:
            self.query_one("#filter-msg", Static).update(one_line(str(exc), 200))
            return False
        self.query_one("#filter-msg", Static).update("")
        self.refresh_data()
        return True

    @on(Input.Changed, "#filter-input")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_filter(event.value)

    @on(Input.Submitted, "#filter-input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._apply_filter(event.value):
            self._close_filter_bar()

    def action_clear_filter(self) -> None:
        target = self.filter_target or self.active
        self.models[target].clear_filter()
        if self.filter_open:
            self.query_one("#filter-input", Input).value = ""
        self.refresh_data()

    def action_back(self) -> None:
        """Close the filter bar (clearing it), else leave the node drill-down, else clear the filter."""
        if self.filter_open:
            self.models[self.filter_target or self.active].clear_filter()
            self._close_filter_bar()
            self.refresh_data()
        elif self.active == "pods" and self.node_scope is not None:
            node = self.node_scope
            self.show_node_pods(None)
            self.focus_pane("nodes")
            self.tables["nodes"].move_to_key(node)
        elif self.models[self.active].filter.active:
            self.models[self.active].clear_filter()
            self.refresh_data()

    # ---- describe -------------------------------------------------------------------------

    def action_describe(self) -> None:
        key = self.tables[self.active].cursor_key
        if key is None:
            return
        self._app.describe(self.active, key)
