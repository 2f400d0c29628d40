"""A k9s-style list view of any kind of the registry (`:deploy`, `:sts`, `:svc`, `:secret` …): header, one
keyed-diff table with the kind's `kubectl get` columns, filter, sort, describe; `back` returns to the cockpit.

The view asks the session for its kind's snapshot on every poll; the first ask starts the kind's informer
and the session stops it when no view has asked for a while.
"""
from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult

from ecotui.kinds.spec import KindSpec
from ecotui.kube.store import ConnState
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.rows import PaneRows
from ecotui.ui.screens.table_screen import SCREEN_ACTIONS, SCREEN_IDS, TableScreen
from ecotui.ui.widgets.filter_bar import FilterBar
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, StatusHeader
from ecotui.ui.widgets.task_panel import TaskPanel
from ecotui.workspace import WorkspaceAPI

HINT_IDS = ("back", "filter", "describe", "sort", "command", "help", "quit")
HINT_LABELS = {"back": "back", "filter": "filter", "describe": "describe", "sort": "sort", "command": "cmd",
               "help": "help", "quit": "quit"}


class KindScreen(TableScreen):
    KEY_IDS: ClassVar[tuple[str, ...]] = (
        "quit", "help", "command", "filter", "clear_filter", "switch_context", "switch_namespace",
        "all_namespaces", "theme", "refresh", "back", *SCREEN_IDS)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {
        **SCREEN_ACTIONS, "quit": "app.quit", "help": "app.help", "command": "app.command", "switch_context": "app.switch_context",
        "switch_namespace": "app.switch_namespace", "all_namespaces": "app.all_namespaces", "theme": "app.theme"}

    def __init__(self, spec: KindSpec, table_cls: type[ResourceTable], ui: UiContext,
                 workspace: WorkspaceAPI) -> None:
        self.spec = spec
        super().__init__(table_cls, ui, workspace, panes=(spec.id,))
        self.kind = spec.id
        self.models = {spec.id: PaneRows(spec.cells)}
        self._seen: Any = None

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield self.panes[self.kind]
        yield TaskPanel(id="task-panel")
        yield FilterBar(id="filter-bar")
        yield KeyHints(self.action_hint_text(), id="action-hints")
        yield KeyHints(self.ui.hints(HINT_IDS, HINT_LABELS), id="hints")

    def on_mount(self) -> None:
        super().on_mount()
        self.panes[self.kind].add_class("-active")
        self.panes[self.kind].styles.height = "1fr"
        self.tables[self.kind].focus()
        self.refresh_data(force=True)

    @property
    def table(self) -> ResourceTable:
        return self.tables[self.kind]

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        session = self.session
        self._last_version = session.version
        snap = session.snapshot(self.kind)
        ns = session.namespace
        model, table = self.models[self.kind], self.table
        state = (snap.version, ns, model.generation)
        if force or fresh or state != self._seen:
            self._seen = state
            cols = table.columns_spec
            if self.spec.namespaced:
                table.set_columns(cols, [i for i, (k, _) in enumerate(cols) if not (k == "namespace" and ns)])
            visible = table.visible_keys() if fresh else ()
            ch = model.diff(snap.items, self.ui.clock(), fresh=visible)
            if ch.upserts or ch.removed:
                table.apply_changes(ch.upserts, ch.removed, ch.natural)
            self.update_title(self.kind, snap, table.row_count)
        self.show_header()

    def reset_data(self) -> None:
        self._seen = None
        super().reset_data()

    def title_extra(self, name: str) -> list[str]:
        conn = self.session.kind_connection(self.kind)
        if conn.state is ConnState.ERROR:
            return [f"error: {one_line(conn.message, 80)}"]
        if conn.state in (ConnState.RECONNECTING, ConnState.STALE):
            return [conn.state.value]
        return []

    def action_back(self) -> None:
        """Close the filter bar, else clear the filter, else return to the cockpit."""
        if not self.back():
            self.dismiss()
