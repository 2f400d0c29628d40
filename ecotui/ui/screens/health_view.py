"""[health] The health grid: `/actuator/health` of every configured service (the context's `health:` settings,
the runbook's five EcoTrack services by default), each through a managed port-forward started on demand.

    open_health(app)   # pushes HealthScreen for the active workspace

One row per service: STATUS (UP ok, DOWN critical, anything else a warning), one column per component the
services report (db, redis, diskSpace, ping ...), LATENCY, CHECKED ("3s ago"), and the first problem; under the
grid the selected service explained (each component's details, the pod and URL used). Checks run in a worker
(`ecotui.health.grid.HealthGrid`, concurrently) when the grid opens, on [health_rerun] / [refresh], and every
`interval_s` while the grid is visible (paused while another screen covers it). The table is a keyed diff
(`ResourceTable.apply`), polled at 2 Hz. `open` on a row → its pods (the Service's selector), [logs] → the
logs of its Deployment.
"""
from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ecotui.errors import EcotuiError
from ecotui.health.actuator import ERROR, severity
from ecotui.health.grid import PENDING, HealthGrid, HealthRow, ago, component_names
from ecotui.health.settings import HealthSettings
from ecotui.kinds.deployments import selector_text
from ecotui.kinds.registry import by_id
from ecotui.kube.render import Cell
from ecotui.textsafe import inert, one_line
from ecotui.ui.bindings import make_bindings, with_bindings
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints
from ecotui.workspace import WorkspaceAPI

POLL_S = 0.5
TABLE_IDS = ("open", "logs", "health_rerun", "cursor_down", "cursor_up", "cursor_top", "cursor_bottom", "page_down",
             "page_up", "sort", "sort_reverse")
TABLE_ACTIONS = {"open": "screen.open_pods", "logs": "screen.logs", "health_rerun": "screen.rerun"}
HINT_IDS = ("back", "health_rerun", "open", "logs", "port_forwards", "help")
HINT_LABELS = {"back": "back", "health_rerun": "re-run", "open": "pods", "logs": "logs",
               "port_forwards": "forwards", "help": "help"}
GridFactory = Callable[[WorkspaceAPI, HealthSettings], HealthGrid]


def settings_of(ws: WorkspaceAPI) -> HealthSettings:
    got = getattr(ws.profile, "health", None)
    return got if isinstance(got, HealthSettings) else HealthSettings()


def default_grid(ws: WorkspaceAPI, settings: HealthSettings) -> HealthGrid:
    return HealthGrid(settings, ws.forwards, ws.profile.context)


def short_name(service: str, services: tuple[str, ...]) -> str:
    """Row labels: the `-service` every EcoTrack service shares is dropped so the grid fits 80 columns."""
    suffix = "-service"
    if all(s.endswith(suffix) and len(s) > len(suffix) for s in services):
        return service[: -len(suffix)]
    return service


def first_problem(row: HealthRow) -> str:
    if row.error:
        return row.error
    bad = [c for c in row.components if c.status != "UP"]
    if bad:
        c = bad[0]
        return f"{c.name} {c.status}" + (f": {c.detail}" if c.detail else "")
    return ""


def row_cells(row: HealthRow, comps: list[str], services: tuple[str, ...], now: float) -> tuple[Cell, ...]:
    st = row.status
    shown = "…" if st == PENDING else st
    cells = [Cell(inert(short_name(row.service, services)), row.service),
             Cell(inert(shown), shown, "muted" if st == PENDING else severity(st))]
    for name in comps:
        c = row.component(name)
        cells.append(Cell("-", "", "muted") if c is None else Cell(inert(c.status), c.status, severity(c.status)))
    lat = row.latency_ms
    cells.append(Cell("-" if lat is None else f"{lat:.0f} ms", -1.0 if lat is None else lat,
                      "muted" if lat is None else ""))
    if row.running:
        checked = Cell("checking…", -1.0, "muted")
    elif row.checked_at is None:
        checked = Cell("never", -2.0, "muted")
    else:
        checked = Cell(ago(now - row.checked_at), row.checked_at)
    cells.append(checked)
    problem = first_problem(row)
    cells.append(Cell(inert(one_line(problem, 200)), problem, "critical" if st == "DOWN" else "warning"
                      if problem else ""))
    return tuple(cells)


def columns_for(comps: list[str]) -> list[tuple[str, str]]:
    return [("service", "SERVICE"), ("status", "STATUS"),
            *[(f"c:{c}", one_line(c, 12)) for c in comps],
            ("latency", "LATENCY"), ("checked", "CHECKED"), ("problem", "PROBLEM")]


class HealthScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "refresh", "port_forwards")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "refresh": "rerun",
                                             "port_forwards": "app.port_forwards"}
    DEFAULT_CSS = """
    HealthScreen > #health-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    HealthScreen > #health-grid { height: auto; max-height: 60%; }
    HealthScreen > #health-detail { height: 1fr; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, workspace: Callable[[], WorkspaceAPI], *, table_cls: type[ResourceTable],
                 styles: Callable[[], Mapping[str, Style]], hints: str = "",
                 grid_factory: GridFactory = default_grid, clock: Callable[[], float] = time.time,
                 on_pods: Callable[[str, str, str], None] | None = None,
                 on_logs: Callable[[str, str], None] | None = None,
                 only: tuple[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self._only = only               # (namespace, services): the marked workloads, for this context only
        self._workspace = workspace
        self._table_cls = table_cls
        self._styles = styles
        self.hints = hints
        self._factory = grid_factory
        self.clock = clock
        self._on_pods = on_pods
        self._on_logs = on_logs
        self.ws: WorkspaceAPI | None = None
        self.grid: HealthGrid | None = None
        self.settings = HealthSettings()
        self.comps: list[str] = []
        self._seen: tuple[Any, ...] = ()
        self._next_run = 0.0            # monotonic time of the next automatic run
        self._covered = False
        self.detail_text = ""
        self.grid_error = ""
        self._bind_workspace()

    # ---- workspace --------------------------------------------------------------------------------

    def _bind_workspace(self) -> bool:
        ws = self._workspace()
        if ws is self.ws:
            return False
        old = self.grid
        settings = settings_of(ws)
        if self._only is not None:
            if self.ws is None:
                settings = replace(settings, namespace=self._only[0], services=self._only[1])
            else:
                self._only = None       # another context: its own configured services
        self.ws, self.settings, self.comps, self._seen = ws, settings, [], ()
        try:
            self.grid = self._factory(ws, self.settings)
            self.grid_error = ""
        except EcotuiError as exc:
            self.grid, self.grid_error = None, exc.message
        except Exception as exc:  # noqa: BLE001 - one line in the title, never a traceback
            self.grid, self.grid_error = None, f"{type(exc).__name__}: {one_line(str(exc), 200)}"
        if old is not None:
            self.run_worker(old.aclose(), group="health-close", exit_on_error=False)
        self._next_run = 0.0
        return True

    # ---- widgets ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="health-title")
        yield self._table_cls(columns_for([]), max_widths={"problem": 200, "service": 24}, styles=self._styles(),
                              id="health-grid")
        yield Static("", id="health-detail")
        yield KeyHints(self.hints)

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#health-grid", ResourceTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.refresh_rows(force=True)
        self.set_interval(POLL_S, self._tick)
        self._tick()

    async def on_unmount(self) -> None:
        if self.grid is not None:
            await self.grid.aclose()

    def on_screen_suspend(self, _event: Any) -> None:
        self._covered = True

    def on_screen_resume(self, _event: Any) -> None:
        self._covered = False
        self.table.set_cell_styles(self._styles())
        self._tick()

    # ---- runs -------------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._bind_workspace():
            self.refresh_rows(force=True)
        if self._covered:
            return
        grid = self.grid
        if grid is not None and not grid.running and time.monotonic() >= self._next_run:
            self.rerun()
        self.refresh_rows()

    def action_rerun(self) -> None:
        self.rerun()

    def rerun(self) -> None:
        """Check every service now (a run in progress is not doubled)."""
        grid = self.grid
        if grid is None:
            self.refresh_rows(force=True)
            return
        self._next_run = time.monotonic() + 3600.0       # set when this run ends
        self._run(grid)

    @work(group="health-run", exit_on_error=False)
    async def _run(self, grid: HealthGrid) -> None:
        try:
            await grid.run()
        finally:
            if grid is self.grid:
                self._next_run = time.monotonic() + self.settings.interval_s
            if self.is_mounted:
                self.refresh_rows()

    # ---- rendering --------------------------------------------------------------------------------

    def refresh_rows(self, force: bool = False) -> None:
        if not self.is_mounted:
            return
        grid = self.grid
        rows = grid.rows if grid is not None else ()
        now = self.clock()
        state = (grid.version if grid is not None else -1, int(now), self.table.cursor_key)
        if state == self._seen and not force:
            return
        self._seen = state
        comps = component_names(rows, self.comps)
        table = self.table
        if comps != self.comps:     # a new component column (rare: the first answers): rows re-made, cursor kept
            self.comps = comps
            cursor = table.cursor_key
            table.apply({})
            table.set_columns(columns_for(comps))
            table.apply({r.service: row_cells(r, comps, tuple(x.service for x in rows), now) for r in rows})
            if cursor is not None:
                table.move_to_key(cursor)
        services = tuple(r.service for r in rows)
        table.apply({r.service: row_cells(r, comps, services, now) for r in rows})
        self._show_title(rows)
        self._show_detail()

    def _show_title(self, rows: tuple[HealthRow, ...]) -> None:
        s, styles = self.settings, self._styles()
        ctx = self.ws.profile.context if self.ws is not None else ""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" health │ ", style="bold")
        if self.grid_error:
            t.append(one_line(self.grid_error, 200), style=styles.get("critical", ""))
        else:
            counts: dict[str, int] = {}
            for r in rows:
                counts[r.status or "…"] = counts.get(r.status or "…", 0) + 1
            for i, (st, n) in enumerate(sorted(counts.items(), key=lambda kv: (kv[0] != "UP", kv[0]))):
                t.append(" " if i else "")
                t.append(f"{n} {st}", style=styles.get("muted" if st == "…" else severity(st), ""))
        t.append(f" │ {one_line(ctx, 40)} │ {one_line(s.namespace, 40)} {one_line(s.path, 60)} via svc port "
                 f"{one_line(str(s.port), 20)} │ every {s.interval_s:g}s")
        self.query_one("#health-title", Static).update(t)

    def selected(self) -> HealthRow | None:
        key = self.table.cursor_key if self.is_mounted else None
        return self.grid.row(key) if self.grid is not None and key is not None else None

    def _show_detail(self) -> None:
        row = self.selected()
        styles = self._styles()
        out = Text(no_wrap=False)
        if row is None:
            self.detail_text = ""
            self.query_one("#health-detail", Static).update(out)
            return
        st = row.status or "not checked yet"
        out.append(f"{inert(row.namespace)}/svc/{inert(row.service)}  ", style="bold")
        out.append(inert(st), style=styles.get(severity(row.status) if row.status else "muted", ""))
        if row.http_status is not None:
            out.append(f"  HTTP {row.http_status}")
        if row.latency_ms is not None:
            out.append(f"  {row.latency_ms:.0f} ms")
        if row.checked_at is not None:
            out.append(f"  checked {ago(self.clock() - row.checked_at)}", style=styles.get("muted", ""))
        if row.running:
            out.append("  (checking…)", style=styles.get("muted", ""))
        if row.error:
            out.append("\n")
            out.append(inert(one_line(row.error, 400)), style=styles.get("critical" if row.status == ERROR
                                                                          else "warning", ""))
        for c in row.components:
            out.append(f"\n  {inert(c.name):<12} ")
            out.append(f"{inert(c.status):<6}", style=styles.get(severity(c.status), ""))
            if c.detail:
                out.append(f" {inert(one_line(c.detail, 300))}", style=styles.get("muted", ""))
        if row.pod or row.url:
            out.append(f"\nvia pod {inert(row.pod or '?')}  {inert(row.url)}", style=styles.get("muted", ""))
        self.detail_text = out.plain
        self.query_one("#health-detail", Static).update(out)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    # ---- links ------------------------------------------------------------------------------------

    def action_open_pods(self) -> None:
        row = self.selected()
        if row is not None:
            self._open_pods(row.namespace, row.service)

    @work(group="health-pods", exclusive=True, exit_on_error=False)
    async def _open_pods(self, namespace: str, service: str) -> None:
        """The Service's selector (one GET) → its pods."""
        ws = self.ws
        if ws is None:
            return
        try:
            obj = await ws.session.get_object(by_id("services"), namespace, service)
        except EcotuiError as exc:
            self.app.notify(f"svc/{service}: {exc.message}", severity="error", markup=False)
            return
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self.app.notify(f"svc/{service}: {type(exc).__name__}: {one_line(str(exc), 200)}", severity="error",
                            markup=False)
            return
        sel = obj.get("spec", {}).get("selector") if isinstance(obj, dict) else None
        text = selector_text({"matchLabels": sel}) if isinstance(sel, dict) and sel else "<none>"
        if text == "<none>":
            self.app.notify(f"svc/{service} has no pod selector", severity="warning", markup=False)
            return
        if self._on_pods is not None:
            self._on_pods(namespace, text, f"svc/{service}")

    def action_logs(self) -> None:
        row = self.selected()
        if row is not None and self._on_logs is not None:
            self._on_logs(row.namespace, row.service)

    def action_back(self) -> None:
        self.dismiss(None)


def marked_workloads(app: Any) -> tuple[str, tuple[str, ...]] | None:
    """The marked rows of a Deployment / StatefulSet / Service view in one namespace: (namespace, names) — the
    grid then checks those (a Deployment's Service is assumed to share its name, as EcoTrack's do)."""
    screen = app.screen
    tables, active = getattr(screen, "tables", None), getattr(screen, "active", None)
    if not tables or active not in ("deployments", "statefulsets", "services"):
        return None
    marked = [k for k in tables[active].selection() if k in tables[active].marked]
    pairs = [k.rpartition("/") for k in marked]
    namespaces = {ns for ns, _, _ in pairs}
    if not marked or len(namespaces) != 1 or "" in namespaces:
        return None
    return namespaces.pop(), tuple(name for _, _, name in pairs)


def open_health(app: Any) -> None:
    """[health]: the grid for the active context (one at a time); the marked workloads only when there are."""
    if isinstance(app.screen, HealthScreen):
        return
    only = marked_workloads(app)
    from ecotui.ui.screens.hpa_view import TargetPodsScreen

    def pods(namespace: str, selector: str, origin: str) -> None:
        screen_cls = app.screen_class(TargetPodsScreen)
        app.push_screen(screen_cls(by_id("pods"), app._table_cls, app.ui, app.workspace, namespace=namespace,
                                   selector=selector, origin=origin))

    def logs(namespace: str, service: str) -> None:
        app.logs.request("deployments", [f"{namespace}/{service}"], False)

    table_cls = with_bindings(ResourceTable, make_bindings(app.keymap, TABLE_IDS, actions=TABLE_ACTIONS))
    screen = app.screen_class(HealthScreen)(lambda: app.workspace, table_cls=table_cls,
                                            styles=lambda: app.cell_styles, hints=app.hints(HINT_IDS, HINT_LABELS),
                                            grid_factory=default_grid, on_pods=pods, on_logs=logs,
                                            only=only)
    app.push_screen(screen)
