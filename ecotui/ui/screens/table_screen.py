"""What the cockpit and the kind views share: a header, one or more panes of keyed-diff tables fed from the
workspace's snapshots, the `/` filter bar, a poll timer that does nothing unless the session's version moved,
an AGE timer, and describe by message. No I/O happens here (relist runs in a worker).

A subclass sets PANES (registry kind ids), builds `self.models` (PaneRows) and implements `refresh_data`.
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable

from ecotui.actions import MUTATING_ACTIONS, REMEDY_ACTIONS
from ecotui.errors import EcotuiError
from ecotui.kinds.registry import by_id
from ecotui.ops.catalog import LABELS, LOG_KINDS, PROCESS_ACTIONS, actions_for, stream_actions, stream_verbs, verbs
from ecotui.ops.drain_run import DrainProgress
from ecotui.kube.session_api import SessionAPI
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.messages import ActionRequested, DescribeRequested, InternalProblem, LogsRequested, StreamRequested
from ecotui.ui.rows import PaneRows
from ecotui.ui.widgets.filter_bar import FilterBar
from ecotui.ui.widgets.pane import Pane
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, StatusHeader
from ecotui.ui.widgets.task_panel import TaskPanel
from ecotui.workspace import WorkspaceAPI

LOADING_POLL = 0.05   # seconds between polls while a first LIST is still arriving (to see its end at once)
LOADING_REDRAW = 0.6  # ... but partial pages are drawn at most this often (each redraw costs a frame)
TABLE_IDS = ("open", "describe", "sort", "sort_reverse", "cursor_down", "cursor_up", "cursor_top", "cursor_bottom",
             "page_down", "page_up", "mark", "mark_all", "clear_marks", *REMEDY_ACTIONS, "logs", "logs_previous",
             "port_forward", "shell")
TABLE_ACTIONS = {"open": "screen.open_row", "describe": "screen.describe", "mark": "screen.mark",
                 "mark_all": "screen.mark_all", "clear_marks": "screen.clear_marks",
                 **{a: f"screen.remedy('{a}')" for a in REMEDY_ACTIONS},
                 "logs": "screen.logs(False)", "logs_previous": "screen.logs(True)",
                 "port_forward": "screen.stream('port_forward')", "shell": "screen.stream('shell')"}
# on every table screen: the action journal and the drain's cancel key
SCREEN_IDS = ("journal", "cancel_drain", "logs_query", "top", "hpa", "metrics", "promql", "port_forwards", "health",
              "run_check", "clusters", "eks_info")
SCREEN_ACTIONS = {"journal": "app.journal", "cancel_drain": "app.cancel_drain", "logs_query": "app.logs_query",
                  "top": "app.top", "hpa": "app.hpa", "metrics": "app.metrics", "promql": "app.promql",
                  "port_forwards": "app.port_forwards", "health": "app.health", "run_check": "app.run_check",
                  "clusters": "app.clusters", "eks_info": "app.eks_info"}


class TableScreen(Screen[None]):
    PANES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, table_cls: type[ResourceTable], ui: UiContext, workspace: WorkspaceAPI,
                 panes: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.pane_ids: tuple[str, ...] = panes or self.PANES
        self.ui = ui
        self.ws = workspace
        self.models: dict[str, PaneRows[Any]] = {}
        self.tables: dict[str, ResourceTable] = {}
        self.panes: dict[str, Pane] = {}
        self.active = self.pane_ids[0]
        self.filter_target: str | None = None
        self.problem = ""           # start error or internal error, shown in the header
        self._last_version: int | None = None
        self._loading = True
        self._drawn_partial = 0.0   # when partial pages were last drawn (0: not loading)
        self.denied: dict[tuple[str, str, str | None], frozenset[str]] = {}  # (context, kind, ns) -> denied ids
        for name in self.pane_ids:
            spec = by_id(name)
            self.tables[name] = table_cls(list(spec.columns), max_widths=dict(spec.max_widths), styles=ui.styles,
                                          id=name)
            self.panes[name] = Pane(spec.title, self.tables[name], id=f"{name}-pane")

    @property
    def session(self) -> SessionAPI:
        return self.ws.session

    # ---- timers -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(self.ui.poll_interval, self._poll)
        # while a first LIST is still arriving page by page, look more often (the pages land in the table
        # as they come, and the table is complete right after the last one, not up to a poll later)
        self._loading_poll = self.set_interval(min(LOADING_POLL, self.ui.poll_interval), self._poll)
        self.set_interval(self.ui.age_interval, self._refresh_ages)
        self.call_after_refresh(self.show_action_hints)

    def covered(self) -> bool:
        """A full screen is above this one (a modal dialog is not: the table shows behind it)."""
        if not self.is_attached:
            return False
        stack = self.app.screen_stack
        if self not in stack:
            return False
        return any(not isinstance(s, ModalScreen) for s in stack[stack.index(self) + 1:])

    def _poll(self) -> None:
        if self.covered():
            return  # nothing of it is on screen; the first poll after it shows again catches up
        loading = not all(self.session.snapshot(k).synced for k in self.pane_ids)
        now = time.monotonic()
        if self.session.version != self._last_version and not (
                loading and self._drawn_partial and now - self._drawn_partial < LOADING_REDRAW):
            self._drawn_partial = now if loading else 0.0
            self._safe_refresh()
        else:
            self.show_header()
        if loading != self._loading:
            self._loading = loading
            (self._loading_poll.resume if loading else self._loading_poll.pause)()

    def _refresh_ages(self) -> None:
        if self.covered():
            return
        self._safe_refresh(fresh=True)

    def _safe_refresh(self, **kw: bool) -> None:
        try:
            self.refresh_data(**kw)
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not take the screen down
            self.post_message(InternalProblem(exc))
        else:
            if self.problem.startswith("internal error"):
                self.post_message(InternalProblem(None))

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        raise NotImplementedError

    # ---- what the App tells the screen --------------------------------------------------------

    def use_workspace(self, workspace: WorkspaceAPI) -> None:
        """A new context: forget the old cluster's rows and show the new one."""
        self.ws = workspace
        self.reset_data()
        self.show_action_hints()

    def reset_data(self) -> None:
        for name in self.pane_ids:
            self.models[name].reset()
            self.tables[name].clear()
        self.refresh_data(force=True)

    def set_problem(self, text: str) -> None:
        self.problem = text
        if self.is_mounted:
            self.show_header()

    def restyle(self, styles: Any) -> None:
        self.ui.styles = styles
        for t in self.tables.values():
            t.set_cell_styles(styles)
        if self.is_mounted:
            self.query_one(StatusHeader)._last = None
            self.show_header()

    def show_header(self) -> None:
        s = self.session
        self.query_one(StatusHeader).show(s.context, s.namespace, s.connection, readonly=self.ws.readonly,
                                          error=self.problem, styles=self.ui.styles,
                                          critical=self.ws.profile.critical)

    # ---- panes ----------------------------------------------------------------------------------

    def _set_active(self, name: str) -> None:
        changed = name != self.active
        self.active = name
        for n, pane in self.panes.items():
            pane.set_class(n == name, "-active")
        if changed:
            self.show_action_hints()

    def on_descendant_focus(self, event: Any) -> None:
        w = event.widget
        if isinstance(w, ResourceTable) and w.id in self.panes:
            self._set_active(str(w.id))

    def focus_pane(self, name: str) -> None:
        self._set_active(name)
        self.tables[name].focus()

    def title_parts(self, name: str, snap: Any, shown: int) -> list[str]:
        total = len(snap.items)
        parts = [by_id(name).title, f"{shown}" if shown == total else f"{shown}/{total}"]
        if not snap.synced:
            parts.append("loading…")
        return parts

    def title_extra(self, name: str) -> list[str]:
        """More title parts of a pane (the cockpit adds the node drill-down and the warning count)."""
        return []

    def update_title(self, name: str, snap: Any, shown: int) -> None:
        parts = self.title_parts(name, snap, shown) + self.title_extra(name)
        f = self.models[name].filter
        if f.active:
            parts.append(f"filter: {one_line(f.source, 40)}")
        label = self.tables[name].sort_label
        if label:
            parts.append(f"sort: {label}")
        if self.tables[name].marked:
            parts.append(f"{len(self.tables[name].marked)} marked")
        self.panes[name].set_title(" · ".join(parts))

    @on(ResourceTable.SortChanged)
    def _sort_changed(self, event: ResourceTable.SortChanged) -> None:
        name = str(event.table.id)
        self.update_title(name, self.session.snapshot(name), event.table.row_count)

    # ---- keys -----------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Drop the caches and LIST + WATCH again (the header shows the reconnect)."""
        self._relist()

    @work(group="relist", exclusive=True, exit_on_error=False)
    async def _relist(self) -> None:
        try:
            await self.session.relist()
        except EcotuiError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        self.notify("re-listing every kind", timeout=2, markup=False)
        self.refresh_data(force=True)

    # ---- selection and actions -------------------------------------------------------------------

    def _retitle(self) -> None:
        self.update_title(self.active, self.session.snapshot(self.active), self.tables[self.active].row_count)

    def action_mark(self) -> None:
        table = self.tables[self.active]
        table.toggle_mark()
        table.action_cursor_down()
        self._retitle()

    def action_mark_all(self) -> None:
        self.tables[self.active].mark_all()
        self._retitle()

    def action_clear_marks(self) -> None:
        self.tables[self.active].clear_marks()
        self._retitle()

    def action_remedy(self, action: str) -> None:
        """A remediation key: the App runs it on the marked rows, else the row under the cursor."""
        self.post_message(ActionRequested(action, self.active, self.tables[self.active].selection()))

    def action_logs(self, previous: bool) -> None:
        """[logs] / [logs_previous]: the App opens a log viewer for the marked rows, else the cursor row."""
        self.post_message(LogsRequested(self.active, self.tables[self.active].selection(), previous))

    def action_stream(self, action: str) -> None:
        """[port_forward] / [shell]: the App opens the forward dialog or the shell for the marked rows, else the
        cursor row."""
        self.post_message(StreamRequested(action, self.active, self.tables[self.active].selection()))

    def action_hint_text(self) -> Text:
        """The keys of the actions the active pane's kind offers: greyed (and marked RO) when read-only,
        struck through when an access review said this user may not."""
        spec = by_id(self.active)
        ids = [*(("logs",) if spec.id in LOG_KINDS else ()), *stream_actions(spec.id), *actions_for(spec),
               *(("snapshot_volume",) if spec.id in ("persistentvolumeclaims", "persistentvolumes") else ())]
        t = Text(no_wrap=True, overflow="ellipsis")
        if not ids:
            return t
        ro = self.ws.readonly
        muted = self.ui.styles.get("muted") or Style(dim=True)
        if ro:
            t.append("read-only ", style="reverse bold")
        denied = self.denied.get((self.ws.profile.context, self.active, self.session.namespace), frozenset())
        for a in ("mark", *ids) if len(ids) > int("logs" in ids) else ids:
            keys = self.ui.hints((a,), {a: LABELS.get(a, a)})
            if not keys:
                continue
            if a in denied:
                t.append(keys, style=muted + Style(strike=True))
                t.append("  ")
            else:
                t.append(keys + "  ", style=muted if ro and (a in MUTATING_ACTIONS or a in PROCESS_ACTIONS) else "")
        return t

    def show_action_hints(self) -> None:
        if self.is_mounted:
            hints = self.query("#action-hints")
            if hints:
                text = self.action_hint_text()
                w = hints.first(KeyHints)
                w.update(text)
                w.display = bool(text.plain)
                self._review_actions()

    @work(group="access", exclusive=True, exit_on_error=False)
    async def _review_actions(self) -> None:
        """Ask the API server (SelfSubjectAccessReview, cached per context) which of the active kind's actions
        this user may take, so the hints strike out the others before they are offered."""
        ws, kind, ns = self.ws, self.active, self.session.namespace
        key = (ws.profile.context, kind, ns)
        if key in self.denied:
            return
        spec = by_id(kind)
        denied = set()
        for a in actions_for(spec):
            if await ws.access.first_denied(verbs(a, spec, [ns])):
                denied.add(a)
        for a in stream_actions(spec.id):
            if await ws.access.first_denied(stream_verbs(a, ns)):
                denied.add(a)
        self.denied[key] = frozenset(denied)
        if denied and self.ws is ws and self.active == kind:
            self.show_action_hints()

    def show_task(self, progress: DrainProgress | None, keys: str = "") -> None:
        if self.is_mounted:
            self.query_one(TaskPanel).show_progress(progress, self.ui.styles, keys)

    def action_describe(self) -> None:
        key = self.tables[self.active].cursor_key
        if key is not None:
            self.post_message(DescribeRequested(self.active, key))

    def action_open_row(self) -> None:
        self.action_describe()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a mouse click on a row; the keyboard path is the `open` action
        if event.data_table is self.tables.get(self.active):
            self.action_open_row()

    # ---- filter ---------------------------------------------------------------------------------

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def filter_open(self) -> bool:
        return self.filter_bar.is_open

    def action_filter(self) -> None:
        self.filter_target = self.active
        self.filter_bar.open(self.models[self.active].filter.source)

    def _close_filter_bar(self) -> None:
        self.filter_bar.close()
        target = self.filter_target or self.active
        self.filter_target = None
        self.focus_pane(target)

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        target = self.filter_target or self.active
        try:
            self.models[target].set_filter(event.text)
        except ValueError as exc:
            self.filter_bar.show_error(str(exc))
            return
        self.filter_bar.show_error("")
        self.refresh_data()
        if event.final:
            self._close_filter_bar()

    def action_clear_filter(self) -> None:
        self.models[self.filter_target or self.active].clear_filter()
        self.filter_bar.clear()
        self.refresh_data()

    def back(self) -> bool:
        """Close the filter bar (clearing it), else clear the active filter. False if there was nothing."""
        if self.filter_open:
            self.models[self.filter_target or self.active].clear_filter()
            self._close_filter_bar()
            self.refresh_data()
            return True
        if self.models[self.active].filter.active:
            self.models[self.active].clear_filter()
            self.refresh_data()
            return True
        return False
