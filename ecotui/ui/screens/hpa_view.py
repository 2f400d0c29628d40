"""The HPA pane [hpa]: every HPA with target, min / max / current / desired replicas, its metrics current
against target, a status that says why it stands out (warning at max or ScalingLimited, critical when it
cannot scale or has no valid metric), and under the table the selected HPA explained: metrics (never a bare
`<unknown>`), conditions with reasons and messages, last scale time, recent events, a replica sparkline.

    open_hpa(app)   # pushes app.screen_class(HpaScreen)(by_id("horizontalpodautoscalers"), …)

Data: the session's HPA informer and its events cache (both snapshots, polled like every table screen);
`ecotui.metrics.hpa` turns them into immutable views; the table is a keyed diff (cursor kept). Keys: `open`
→ the pods of the target (its selector, read with one GET of the target in a worker), [hpa_target] → the
target's kind view with the cursor on it.
"""
from __future__ import annotations

import math
import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ecotui.errors import EcotuiError
from ecotui.kinds.deployments import selector_text
from ecotui.kinds.hpas import HorizontalPodAutoscaler, targets
from ecotui.kinds.registry import all_specs, by_id
from ecotui.kinds.spec import KindSpec
from ecotui.kube.render import Cell, age_cell
from ecotui.kube.selector import parse_filter
from ecotui.metrics import hpa as H
from ecotui.metrics.history import History, sparkline
from ecotui.textsafe import inert, one_line
from ecotui.ui.context import UiContext
from ecotui.ui.rows import PaneRows
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.widgets.filter_bar import FilterBar
from ecotui.ui.widgets.pane import Pane
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, StatusHeader
from ecotui.ui.widgets.task_panel import TaskPanel
from ecotui.workspace import WorkspaceAPI

KIND = "horizontalpodautoscalers"
COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("targets", "TARGETS"), ("minpods", "MIN"),
           ("maxpods", "MAX"), ("replicas", "CUR"), ("desired", "DES"), ("status", "STATUS"),
           ("reference", "REFERENCE"), ("age", "AGE")]   # kubectl get hpa's, the reference moved right (80 cols)
MAX_WIDTHS = {"namespace": 16, "name": 28, "reference": 32, "targets": 24, "status": 40}
HINT_IDS = ("back", "open", "hpa_target", "describe", "filter", "sort", "help")
HINT_LABELS = {"back": "back", "open": "target pods", "hpa_target": "target", "describe": "describe",
               "filter": "filter", "sort": "sort", "help": "help"}
SAMPLE_S = 5.0        # replica samples for the sparkline
EVENTS_REFETCH_S = 30.0   # the selected HPA's events are read fresh at most this often (the cache is bounded)
SPARK = 30


def row_cells(hpa: HorizontalPodAutoscaler, now: float) -> tuple[Cell, ...]:
    """One HPA row: kubectl's get columns (+ DESIRED, STATUS), coloured by the view's severity."""
    v = H.hpa_view(hpa, (), now)
    md, sp = hpa.metadata, hpa.spec
    text, worst, _unknown = targets(hpa)
    sev = v.severity
    sev_rank = {"critical": 2, "warning": 1}.get(sev, 0)
    mn = "<unset>" if sp.minReplicas is None else str(sp.minReplicas)
    return (Cell(inert(md.namespace), md.namespace), Cell(inert(md.name), md.name, sev),
            Cell(inert(text), (-1.0 if worst is None else worst, text), "warning" if _unknown else ""),
            Cell(mn, -1 if sp.minReplicas is None else sp.minReplicas),
            Cell(str(sp.maxReplicas), sp.maxReplicas, "warning" if v.at_max else ""),
            Cell(str(v.current), v.current, sev),
            Cell(str(v.desired), v.desired, "warning" if v.desired != v.current else ""),
            Cell(inert(v.status), (sev_rank, v.status), sev),
            Cell(inert(v.reference), v.reference),
            age_cell(md.creationTimestamp, now))


def kind_for(kind: str, api_version: str = "") -> KindSpec | None:
    """The registry kind of a scaleTargetRef ("Deployment", "apps/v1")."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    specs = [s for s in all_specs() if s.kind == kind]
    return next((s for s in specs if s.gvr.group == group), specs[0] if specs else None)


class HpaScreen(KindScreen):
    KEY_IDS: ClassVar[tuple[str, ...]] = (*KindScreen.KEY_IDS, "hpa_target")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {**KindScreen.KEY_ACTIONS, "hpa_target": "screen.goto_target"}
    DEFAULT_CSS = """
    HpaScreen #hpa-detail-scroll { height: 1fr; min-height: 6; border-top: solid $ecotui-muted; }
    HpaScreen #hpa-detail { width: 1fr; }
    """

    def __init__(self, spec: KindSpec, table_cls: type[ResourceTable], ui: UiContext,
                 workspace: WorkspaceAPI) -> None:
        super().__init__(spec, table_cls, ui, workspace)
        self.tables[KIND] = table_cls(list(COLUMNS), max_widths=dict(MAX_WIDTHS), styles=ui.styles, id=KIND)
        self.panes[KIND] = Pane(spec.title, self.tables[KIND], id=f"{KIND}-pane")
        self.models = {KIND: PaneRows(row_cells)}
        self.history = History(window_s=1800.0, max_points=400)
        self._events_seen: tuple[int, int] | None = None
        self._events: dict[str, tuple[Any, ...]] = {}
        self._fresh: dict[str, tuple[float, tuple[Any, ...]]] = {}   # key -> (monotonic, events from a LIST)
        self._detail_seen: Any = None
        self._last_sample = -math.inf
        self._pane_height = 0
        self.detail_text = ""        # plain text of the detail area (tests read it)
        self.view: H.HpaView | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield self.panes[KIND]
        with VerticalScroll(id="hpa-detail-scroll"):
            yield Static("", id="hpa-detail", markup=False)
        yield TaskPanel(id="task-panel")
        yield FilterBar(id="filter-bar")
        yield KeyHints(self.action_hint_text(), id="action-hints")
        yield KeyHints(self.ui.hints(HINT_IDS, HINT_LABELS), id="hints")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(SAMPLE_S, self._sample)
        self.call_after_refresh(self.show_detail, True)

    # ---- data ---------------------------------------------------------------------------------

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        super().refresh_data(force=force, fresh=fresh)
        if self.is_mounted:   # the table as tall as its rows (title, header, scrollbar; at most half), the rest
            rows = self.table.row_count + 3      # for the detail
            height = max(5, min(rows, self.size.height // 2))
            if height != self._pane_height:
                self._pane_height = height
                self.panes[KIND].styles.height = height
        self._sample(force=False)
        self.show_detail(force=force or fresh)

    def reset_data(self) -> None:
        self.history = History(window_s=1800.0, max_points=400)
        self._events_seen, self._events, self._detail_seen, self._fresh = None, {}, None, {}
        super().reset_data()

    def _hpa_events(self) -> dict[str, tuple[Any, ...]]:
        snap = self.session.snapshot("events")
        state = (id(snap.items), snap.version)
        if state != self._events_seen:
            self._events_seen = state
            self._events = H.events_by_hpa(snap.items.values())
        return self._events

    def _sample(self, force: bool = True) -> None:
        """Record every HPA's current replicas (every SAMPLE_S, and at once when the count changed)."""
        now = self.ui.clock()
        due = now - self._last_sample >= SAMPLE_S
        items = self.session.snapshot(KIND).items
        for key, h in items.items():
            last = self.history.last(key)
            if due or force or last != h.status.currentReplicas:
                self.history.add(key, now, float(h.status.currentReplicas))
        if due or force:
            self._last_sample = now
            self.history.prune(now)

    def _spark(self, v: H.HpaView, now: float) -> str:
        pts = list(self.history.points(v.key))
        first = pts[0][0] if pts else now
        seeded = [p for p in H.rescale_points(v.events) if p[0] < first and now - p[0] <= 1800]
        vals = [val for _, val in seeded + pts]
        if not vals:
            return ""
        return sparkline(vals, SPARK, lo=0.0, hi=float(max(v.max_replicas, max(vals))))

    def show_detail(self, force: bool = False) -> None:
        if not self.is_mounted:
            return
        key = self.table.cursor_key
        now = self.ui.clock()
        items = self.session.snapshot(KIND).items
        hpa = items.get(key) if key is not None else None
        events = self._hpa_events()
        if hpa is not None and key is not None:
            got = self._fresh.get(key)
            if got is None or time.monotonic() - got[0] > EVENTS_REFETCH_S:
                self._fresh[key] = (time.monotonic(), got[1] if got else ())
                self._fetch_events(key, hpa.metadata.namespace, hpa.metadata.name)
        fresh = self._fresh.get(key or "", (0.0, ()))[1]
        state = (key, id(hpa), id(events.get(key or "")), id(fresh), int(now // 5), len(self.history.points(key or "")))
        if state == self._detail_seen and not force:
            return
        self._detail_seen = state
        widget = self.query_one("#hpa-detail", Static)
        if hpa is None:
            self.view = None
            self.detail_text = "no HPA selected" if items else "no HorizontalPodAutoscalers here"
            widget.update(Text(self.detail_text, style=self.ui.styles.get("muted") or ""))
            return
        v = self.view = H.hpa_view(hpa, H.merge_events(events.get(key or "", ()), fresh), now)
        lines = H.detail_lines(v, now)
        spark = self._spark(v, now)
        if spark:
            lines.insert(3, (f"Replicas (30m, 0–{v.max_replicas}): {spark} {v.current}", v.severity))
        t = Text(no_wrap=False)
        for i, (line, style) in enumerate(lines):
            if i:
                t.append("\n")
            st = self.ui.styles.get(style) if style and style != "bold" else ("bold" if style == "bold" else None)
            t.append(line, style=st or "")
        self.detail_text = t.plain
        widget.update(t)

    @work(group="hpa-events", exclusive=True, exit_on_error=False)
    async def _fetch_events(self, key: str, namespace: str, name: str) -> None:
        """The selected HPA's events from a fresh LIST (the events cache keeps only the newest N of the scope)."""
        fetch = getattr(self.session, "object_events", None)
        if fetch is None:
            return
        try:
            got = tuple(await fetch(H.HPA_KIND, namespace, name))
        except Exception:  # noqa: BLE001 - the cached events are still shown
            return
        self._fresh[key] = (time.monotonic(), got)
        self.show_detail()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def title_extra(self, name: str) -> list[str]:
        extra = super().title_extra(name)
        items = self.session.snapshot(KIND).items
        at_max = sum(1 for h in items.values() if h.spec.maxReplicas and h.status.currentReplicas >= h.spec.maxReplicas)
        return extra + ([f"{at_max} at max"] if at_max else [])

    # ---- jumps ----------------------------------------------------------------------------------

    def _cursor_view(self) -> H.HpaView | None:
        key = self.table.cursor_key
        hpa = self.session.snapshot(KIND).items.get(key) if key else None
        return H.hpa_view(hpa, (), self.ui.clock()) if hpa is not None else None

    def action_goto_target(self) -> None:
        """[hpa_target]: the target workload's kind view, cursor on it."""
        v = self._cursor_view()
        if v is None:
            return
        spec = kind_for(v.target_kind, v.target_api)
        if spec is None:
            self.notify(f"no view for kind {one_line(v.target_kind, 40)}", severity="warning", markup=False)
            return
        screen_cls = self.app.screen_class(FocusKindScreen)  # type: ignore[attr-defined]
        self.app.push_screen(screen_cls(spec, self._table_cls, self.ui, self.ws,
                                        focus=f"{v.namespace}/{v.target_name}"))

    def action_open_row(self) -> None:
        """`open`: the pods of the target workload (its selector, from one GET of the target)."""
        v = self._cursor_view()
        if v is not None:
            self._open_pods(v)

    @work(group="hpa-pods", exclusive=True, exit_on_error=False)
    async def _open_pods(self, v: H.HpaView) -> None:
        spec = kind_for(v.target_kind, v.target_api)
        if spec is None:
            self.notify(f"no view for kind {one_line(v.target_kind, 40)}", severity="warning", markup=False)
            return
        try:
            obj = await self.session.get_object(spec, v.namespace, v.target_name)
        except EcotuiError as exc:
            self.notify(f"{v.reference}: {exc.message}", severity="error", markup=False)
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self.notify(f"{v.reference}: {type(exc).__name__}: {one_line(str(exc), 200)}", severity="error",
                        markup=False)
            return
        sel = obj.get("spec", {}).get("selector") if isinstance(obj, dict) else None
        text = selector_text(sel)
        if text == "<none>":
            self.notify(f"{v.reference} has no pod selector", severity="warning", markup=False)
            return
        try:
            parse_filter("l:" + text)
        except ValueError as exc:
            self.notify(f"{v.reference}: selector {text}: {exc}", severity="warning", markup=False)
            return
        screen_cls = self.app.screen_class(TargetPodsScreen)  # type: ignore[attr-defined]
        self.app.push_screen(screen_cls(by_id("pods"), self._table_cls, self.ui, self.ws, namespace=v.namespace,
                                        selector=text, origin=v.reference))

    @property
    def _table_cls(self) -> type[ResourceTable]:
        return type(self.table)


class FocusKindScreen(KindScreen):
    """A kind view that puts the cursor on one row as soon as it is listed."""

    def __init__(self, spec: KindSpec, table_cls: type[ResourceTable], ui: UiContext, workspace: WorkspaceAPI,
                 *, focus: str) -> None:
        super().__init__(spec, table_cls, ui, workspace)
        self.focus_key: str | None = focus

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._focus)

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        super().refresh_data(force=force, fresh=fresh)
        if self.is_mounted:
            self._focus()

    def _focus(self) -> None:
        if self.focus_key is not None and self.table.move_to_key(self.focus_key):
            self.focus_key = None


class TargetPodsScreen(KindScreen):
    """The pods of an HPA's target: the target's label selector as the filter (shown, clearable), limited to
    the HPA's namespace."""

    def __init__(self, spec: KindSpec, table_cls: type[ResourceTable], ui: UiContext, workspace: WorkspaceAPI,
                 *, namespace: str, selector: str, origin: str) -> None:
        super().__init__(spec, table_cls, ui, workspace)
        self.scope_ns, self.origin = namespace, origin
        self.models[self.kind].set_filter("l:" + selector)

    def refresh_data(self, *, force: bool = False, fresh: bool = False) -> None:
        session = self.session
        self._last_version = session.version
        snap = session.snapshot(self.kind)
        model, table = self.models[self.kind], self.table
        state = (snap.version, session.namespace, model.generation)
        if force or fresh or state != self._seen:
            self._seen = state
            visible = table.visible_keys() if fresh else ()
            ch = model.diff(snap.items, self.ui.clock(), where=lambda p: p.metadata.namespace == self.scope_ns,
                            view=self.scope_ns, fresh=visible)
            if ch.upserts or ch.removed:
                table.apply_changes(ch.upserts, ch.removed, ch.natural)
            self.update_title(self.kind, snap, table.row_count)
        self.show_header()

    def title_extra(self, name: str) -> list[str]:
        return [f"pods of {one_line(self.origin, 80)} in {one_line(self.scope_ns, 40)}", *super().title_extra(name)]


def open_hpa(app: Any) -> None:
    """[hpa]: push the HPA pane (one at a time: pressing it again on the pane does nothing)."""
    if isinstance(app.screen, HpaScreen):
        return
    screen_cls = app.screen_class(HpaScreen)
    app.push_screen(screen_cls(by_id(KIND), app._table_cls, app.ui, app.workspace))
