"""[metrics] The key-metrics grid: services × panels from Prometheus, a detail area for the selected service.

    open_metrics(app)   # pushes MetricsScreen; preselects the service under the cursor of a table screen

A `Refresher` calls `KeyMetrics.refresh` every `refresh_s` (never overlapping; I/O awaited off the UI path,
each query with its own timeout); the screen pauses it while another screen covers it and stops it when
closed. The grid updates by cell (row key = service, column key = panel id), never cleared. Cells spell out
"no data", "error", "unreachable", "timeout", "off" — never a zero. The context's workspace is read at every
refresh, so a context switch brings that context's panels and Prometheus.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from ecotui.metrics.history import sparkline
from ecotui.metrics.keymetrics import GridSnapshot, KeyMetrics
from ecotui.metrics.levels import Level, Reading
from ecotui.metrics.panels import MetricsConfig, PanelConfigError, format_thresholds, parse_metrics, service_for
from ecotui.metrics.refresh import Refresher
from ecotui.textsafe import one_line
from ecotui.ui.widgets.status import KeyHints
from ecotui.workspace import WorkspaceAPI

LEVEL_STYLE = {Level.OK: "ok", Level.WARN: "warning", Level.CRIT: "critical", Level.ERROR: "critical",
               Level.UNREACHABLE: "warning", Level.NODATA: "muted", Level.OFF: "muted", Level.LOADING: "muted"}
HINT_IDS = ("back", "cursor_down", "cursor_up", "refresh", "promql", "help", "quit")
HINT_LABELS = {"back": "back", "cursor_down": "down", "cursor_up": "up", "refresh": "refresh now",
               "promql": "PromQL", "help": "help", "quit": "quit"}
SPARK_MIN, SPARK_MAX = 12, 120
RESIZE_SETTLE_S = 0.3


def short_names(services: tuple[str, ...]) -> dict[str, str]:
    """Row labels: a suffix every service shares ("-service") is dropped so the grid fits 80 columns."""
    suffix = "-service"
    if services and all(s.endswith(suffix) and len(s) > len(suffix) for s in services):
        return {s: s[: -len(suffix)] for s in services}
    return {s: s for s in services}


class MetricsScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "cursor_down", "cursor_up", "cursor_top",
                                          "cursor_bottom", "refresh", "promql")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "promql": "app.promql",
                                             "cursor_down": "move(1)", "cursor_up": "move(-1)",
                                             "cursor_top": "move(-1000)", "cursor_bottom": "move(1000)",
                                             "refresh": "refresh_now"}

    DEFAULT_CSS = """
    MetricsScreen > #metrics-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    MetricsScreen > #metrics-grid { height: auto; max-height: 50%; }
    MetricsScreen > #metrics-detail { height: 1fr; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, workspace: Callable[[], WorkspaceAPI], *, styles: Callable[[], Mapping[str, Style]],
                 hints: str = "", service: str | None = None) -> None:
        super().__init__()
        self._workspace = workspace
        self._styles = styles
        self.hints = hints
        self.selected = service
        self.ws: WorkspaceAPI | None = None
        self.config = MetricsConfig()
        self.config_error = ""
        self.km = KeyMetrics(self.config, lambda: None)
        self.refresher = Refresher(self._tick, self.config.refresh_s)
        self.snapshot = GridSnapshot()
        self._layout: tuple[Any, ...] = ()
        self._shown: dict[tuple[str, str], tuple[str, str]] = {}
        self._resize_timer: Timer | None = None
        self._detail_lines = -1
        self._bind_workspace()

    # ---- workspace / config ------------------------------------------------------------------------

    def _bind_workspace(self) -> None:
        ws = self._workspace()
        if ws is self.ws:
            return
        self.ws = ws
        self.config_error = ""
        try:
            self.config = parse_metrics(ws.profile.metrics)
        except PanelConfigError as exc:
            self.config_error = f"metrics config: {exc}"
            self.config = MetricsConfig()
        self.km = KeyMetrics(self.config, lambda: ws.prometheus, context=ws.profile.context)
        self.km.columns = self._spark_width()
        self.refresher.interval = self.config.refresh_s
        if self.selected not in self.config.services:
            self.selected = self.config.services[0] if self.config.services else None

    @property
    def panels_refreshing(self) -> int:
        return self.km.cells

    @property
    def requests(self) -> int:
        """The Prometheus requests sent so far (as of the last refresh)."""
        return self.snapshot.requests

    # ---- widgets ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-title")
        table: DataTable[Any] = DataTable(id="metrics-grid", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="metrics-detail")
        yield KeyHints(self.hints)

    @property
    def grid(self) -> DataTable[Any]:
        return self.query_one("#metrics-grid", DataTable)

    def on_mount(self) -> None:
        self._ensure_layout()
        self._show(self.km.snapshot)
        self.grid.focus()
        self.refresher.start()

    async def on_unmount(self) -> None:
        await self.refresher.stop()

    def on_screen_suspend(self, _event: Any) -> None:
        self.refresher.pause()

    def on_screen_resume(self, _event: Any) -> None:
        self.refresher.resume()

    def on_resize(self, _event: Any) -> None:
        """A new width: the sparklines are asked again at a step that fits it (once the resizing settles)."""
        width = self._spark_width()
        if width != self.km.columns:
            self.km.columns = width
            self._show_detail()
        if self.km.range_columns and self.km.range_columns != max(2, width):
            self.km.want_ranges()
            if self._resize_timer is not None:
                self._resize_timer.stop()
            self._resize_timer = self.set_timer(RESIZE_SETTLE_S, self.refresher.kick)

    def _spark_width(self) -> int:
        try:
            w = self.size.width
        except Exception:  # noqa: BLE001 - not mounted yet
            w = 80
        return max(SPARK_MIN, min(SPARK_MAX, (w or 80) - 52))  # 2 padding, 24 value, 26 thresholds

    def _ensure_layout(self) -> None:
        cfg = self.config
        layout = (cfg.services, tuple(p.id for p in cfg.columns))
        if layout == self._layout:
            return
        self._layout = layout
        grid = self.grid
        grid.clear(columns=True)    # only when the services or panels themselves change (a context switch)
        self._shown.clear()
        grid.add_column("SERVICE", key="service")
        for p in cfg.columns:
            grid.add_column(p.title, key=p.id, width=max(len(p.title), 11))
        names = short_names(cfg.services)
        for s in cfg.services:
            grid.add_row(Text(one_line(names[s], 40)), *[Text("…") for _ in cfg.columns], key=s)
        if self.selected in cfg.services:
            grid.move_cursor(row=cfg.services.index(self.selected))

    # ---- refresh ----------------------------------------------------------------------------------

    async def _tick(self) -> None:
        self._bind_workspace()
        snap = await self.km.refresh()
        if self.is_mounted:
            self._show(snap)

    def action_refresh_now(self) -> None:
        self.km.want_ranges()
        self.refresher.kick()

    def _cell(self, r: Reading) -> Text:
        style = self._styles().get(LEVEL_STYLE.get(r.level, ""), "")
        return Text(one_line(r.text or r.level.value, 12), style=style)

    def _show(self, snap: GridSnapshot) -> None:
        self.snapshot = snap
        self._ensure_layout()
        grid = self.grid
        for s in self.config.services:
            for p in self.config.columns:
                r = snap.reading(s, p.id) if self.config.panel(s, p.id) else Reading(Level.OFF, text="-")
                shown = (r.text, r.level.value)
                if self._shown.get((s, p.id)) != shown:
                    self._shown[(s, p.id)] = shown
                    grid.update_cell(s, p.id, self._cell(r))
        self._show_title()
        self._show_detail()

    def _show_title(self) -> None:
        snap, cfg = self.snapshot, self.config
        ctx = self.ws.profile.context if self.ws is not None else ""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" key metrics ", style="bold")
        t.append(f"│ {one_line(ctx, 40)} │ ns {cfg.namespace} │ [{cfg.window}] every {cfg.refresh_s:g}s")
        problem = self.config_error or snap.message or self._grid_problem(snap)
        if problem:
            t.append(" │ ")
            t.append(one_line(problem, 200), style=self._styles().get("critical", ""))
        elif snap.at:
            t.append(f" │ {time.strftime('%H:%M:%S', time.localtime(snap.at))} ({snap.elapsed_s:.1f}s)")
        self.query_one("#metrics-title", Static).update(t, layout=False)   # one fixed line: no re-layout

    @staticmethod
    def _grid_problem(snap: GridSnapshot) -> str:
        """When every cell failed the same way (Prometheus down), say it once in the title."""
        levels = {r.level for r in snap.cells.values()}
        if snap.cells and levels == {Level.UNREACHABLE}:
            first = next(iter(snap.cells.values()))
            return first.error or "prometheus unreachable"
        return ""

    def _show_detail(self) -> None:
        if not self.is_mounted:
            return
        svc = self.selected
        out = Text(no_wrap=True, overflow="ellipsis")
        if svc is None:
            self._set_detail(out)
            return
        styles = self._styles()
        width = self.km.columns
        out.append(f"{svc}", style="bold")
        out.append(f"  ({self.config.range_minutes:g} min sparklines)\n", style=styles.get("muted", ""))
        for p in self.config.panels_for(svc):
            r = self.snapshot.reading(svc, p.id)
            style = styles.get(LEVEL_STYLE.get(r.level, ""), "")
            out.append(f"{one_line(p.title, 10):<10} ")
            out.append(f"{one_line(r.text or r.level.value, 12):<12} ", style=style)
            out.append(sparkline(r.history, width) if r.history else " " * width)
            out.append(f" {format_thresholds(p)}\n", style=styles.get("muted", ""))
            if r.error:
                out.append(f"{'':<10} {one_line(r.error, 300)}\n", style=style)
        self._set_detail(out)

    def _set_detail(self, out: Text) -> None:
        """The detail area has a fixed height (1fr): a re-layout of the screen is needed only when its line count
        changes (its scrollable height); a cursor move that shows another service's lines repaints it alone."""
        lines = out.plain.count("\n")
        self.query_one("#metrics-detail", Static).update(out, layout=lines != self._detail_lines)
        self._detail_lines = lines

    # ---- keys -------------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        grid = self.grid
        if grid.row_count:
            grid.move_cursor(row=max(0, min(grid.row_count - 1, grid.cursor_row + delta)))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key is not None and key != self.selected:
            self.selected = str(key)
            self._show_detail()

    def action_back(self) -> None:
        self.dismiss(None)


def selected_service(app: Any, services: tuple[str, ...]) -> str | None:
    """The service under the cursor of the table screen on top (a Deployment/pod/service/HPA row)."""
    screen = app.screen
    tables = getattr(screen, "tables", None)
    active = getattr(screen, "active", None)
    if not tables or active not in tables:
        return None
    key = tables[active].cursor_key
    if not key:
        return None
    name = str(key)
    if active == "horizontalpodautoscalers" or name.endswith("-hpa"):
        name = name.removesuffix("-hpa")
    return service_for(name, services)


def open_metrics(app: Any) -> None:
    """[metrics]: the grid for the active context, following the workload under the cursor."""
    hints = app.hints(HINT_IDS, HINT_LABELS)
    try:
        services = parse_metrics(app.workspace.profile.metrics).services
    except PanelConfigError:
        services = ()
    service = selected_service(app, services)
    if isinstance(app.screen, MetricsScreen):
        return
    screen = app.screen_class(MetricsScreen)(lambda: app.workspace, styles=lambda: app.cell_styles,
                                             hints=hints, service=service)
    app.push_screen(screen)
