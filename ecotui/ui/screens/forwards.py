"""[port_forwards] The port-forwards pane: every forward of the context's `ForwardManager` (target, local address,
pod in use, state coloured by state, connections open/total, bytes in/out, since, last error) and the context's
presets not started yet (grafana, prometheus, loki, tempo by default), with keys to start a preset, stop,
restart or remove the selected forward.

    open_forwards(app)   # pushes ForwardsScreen for the active workspace

The manager is polled at 2 Hz and the rows rebuilt only when `manager.version` changed (or the second did, for
SINCE); the table is a keyed diff (`ResourceTable.apply`), cursor kept. Manager calls that fail (a port in use
on restart, a preset whose port is taken) say one line; a started forward is awaited in a worker and its
outcome said ("forwarding 127.0.0.1:3000 → observability/svc/grafana:80" or why not).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ecotui.errors import EcotuiError
from ecotui.forward.model import ForwardSpec, ForwardState, ForwardView
from ecotui.kube.render import Cell, human_age
from ecotui.textsafe import inert, one_line
from ecotui.ui.bindings import make_bindings, with_bindings
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints
from ecotui.workspace import WorkspaceAPI

POLL_S = 0.5
PRESET = "preset:"          # row key prefix of a preset not started
COLUMNS = [("target", "TARGET"), ("local", "LOCAL"), ("state", "STATE"), ("pod", "POD"), ("conns", "CONN"),
           ("bytes", "IN/OUT"), ("since", "SINCE"), ("name", "NAME"), ("error", "LAST ERROR")]
MAX_WIDTHS = {"target": 36, "pod": 32, "name": 24, "error": 120}
STATE_STYLE = {ForwardState.ACTIVE: "ok", ForwardState.STARTING: "warning", ForwardState.RECONNECTING: "warning",
               ForwardState.FAILED: "critical", ForwardState.STOPPED: "muted"}
TABLE_IDS = ("forward_start", "forward_stop", "forward_restart", "forward_remove", "cursor_down", "cursor_up",
             "cursor_top", "cursor_bottom", "page_down", "page_up", "sort", "sort_reverse")
TABLE_ACTIONS = {"forward_start": "screen.start", "forward_stop": "screen.stop", "forward_restart": "screen.restart",
                 "forward_remove": "screen.remove"}
HINT_IDS = ("back", "forward_start", "forward_stop", "forward_restart", "forward_remove", "health", "help")
HINT_LABELS = {"back": "back", "forward_start": "start", "forward_stop": "stop", "forward_restart": "restart",
               "forward_remove": "remove", "health": "health", "help": "help"}


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.0f}{unit}" if unit == "B" or size >= 100 else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}G"


def target_text(spec: ForwardSpec) -> str:
    return f"{spec.target}:{spec.port}"


def forward_cells(v: ForwardView, now: float) -> tuple[Cell, ...]:
    pod = v.pod.split("/", 1)[-1] if v.pod else ""
    pod_text = f"{pod}:{v.pod_port}" if pod and v.pod_port else pod or "-"
    problem = v.error or v.warning
    state = v.state.value.upper() + (f" ↻{v.reconnects}" if v.reconnects else "")
    return (Cell(inert(target_text(v.spec)), target_text(v.spec)),
            Cell(inert(v.local), v.local, "warning" if v.warning else ""),
            Cell(state, v.state.value, STATE_STYLE.get(v.state, "")),
            Cell(inert(pod_text), pod_text, "" if pod else "muted"),
            Cell(f"{v.connections}/{v.total_connections}", (v.connections, v.total_connections)),
            Cell(f"{human_bytes(v.bytes_in)}/{human_bytes(v.bytes_out)}", v.bytes_in + v.bytes_out),
            Cell(human_age(now - v.since) if v.since else "-", -v.since),
            Cell(inert(v.spec.name or "-"), v.spec.name, "" if v.spec.name else "muted"),
            Cell(inert(one_line(problem, 200)), problem, "critical" if v.error else "warning" if problem else ""))


def preset_cells(p: Any) -> tuple[Cell, ...]:
    local = f"{p.address}:{p.local_port or 'any'}"
    muted = "muted"
    return (Cell(inert(f"{p.target}:{p.port}"), f"{p.target}:{p.port}"), Cell(inert(local), local, muted),
            Cell("PRESET", "~preset", muted), Cell("-", "", muted), Cell("-", (0, 0), muted), Cell("-", 0, muted),
            Cell("-", 0.0, muted), Cell(inert(p.name), p.name), Cell(f"not started ({p.start})", "", muted))


class ForwardsScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "health")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "health": "app.health"}
    DEFAULT_CSS = """
    ForwardsScreen > #forwards-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    ForwardsScreen > #forwards-table { height: 1fr; }
    ForwardsScreen > #forwards-detail { height: auto; max-height: 5; padding: 0 1; }
    """

    def __init__(self, workspace: Callable[[], WorkspaceAPI], *, table_cls: type[ResourceTable],
                 styles: Callable[[], Mapping[str, Style]], hints: str = "",
                 say: Callable[..., None] | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._workspace = workspace
        self._table_cls = table_cls
        self._styles = styles
        self.hints = hints
        self._say = say
        self.clock = clock
        self._seen: tuple[Any, ...] = ()
        self.error = ""
        self.detail_text = ""
        self.views: dict[str, ForwardView] = {}
        self.presets: dict[str, Any] = {}

    # ---- data -------------------------------------------------------------------------------------

    @property
    def ws(self) -> WorkspaceAPI:
        return self._workspace()

    def manager(self) -> Any:
        """The workspace's ForwardManager (None, with `error` set, when it cannot be had)."""
        try:
            mgr = self.ws.forwards
        except EcotuiError as exc:
            self.error = exc.message
            return None
        except Exception as exc:  # noqa: BLE001 - one line in the title, never a traceback
            self.error = f"port-forwards unavailable: {type(exc).__name__}: {one_line(str(exc), 160)}"
            return None
        self.error = ""
        return mgr

    def compose(self) -> ComposeResult:
        yield Static("", id="forwards-title")
        yield self._table_cls(list(COLUMNS), max_widths=dict(MAX_WIDTHS), styles=self._styles(), id="forwards-table")
        yield Static("", id="forwards-detail")
        yield KeyHints(self.hints)

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#forwards-table", ResourceTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.refresh_rows(force=True)
        self.set_interval(POLL_S, self.refresh_rows)

    def on_screen_resume(self, _event: Any) -> None:
        self.table.set_cell_styles(self._styles())
        self.refresh_rows(force=True)

    def refresh_rows(self, force: bool = False) -> None:
        """Rebuild the rows when the manager's version (or the second, for SINCE) changed."""
        if not self.is_mounted or (not self.is_current and not force):
            return
        ws = self.ws
        mgr = self.manager()
        now = self.clock()
        state = (id(ws), id(mgr), getattr(mgr, "version", -1), int(now), self.table.cursor_key)
        if state == self._seen and not force:
            return
        self._seen = state
        views = list(mgr.views()) if mgr is not None else []
        ctx = ws.profile.context
        running = {(v.spec.target, v.spec.port, v.spec.name) for v in views}
        presets = {f"{PRESET}{p.name}": p for p in getattr(ws.profile, "forwards", ())
                   if (p.target, p.port, p.name) not in running and p.spec(ctx) not in {v.spec for v in views}}
        self.views = {v.id: v for v in views}
        self.presets = presets
        rows: dict[str, tuple[Cell, ...]] = {v.id: forward_cells(v, now) for v in views}
        rows.update({k: preset_cells(p) for k, p in presets.items()})
        self.table.apply(rows)
        self._show_title(views, presets)
        self._show_detail()

    def _show_title(self, views: list[ForwardView], presets: Mapping[str, Any]) -> None:
        styles = self._styles()
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" port-forwards ", style="bold")
        t.append(f"│ {one_line(self.ws.profile.context, 40)} │ ")
        if self.error:
            t.append(one_line(self.error, 200), style=styles.get("critical", ""))
        else:
            counts: dict[ForwardState, int] = {}
            for v in views:
                counts[v.state] = counts.get(v.state, 0) + 1
            parts = [(f"{n} {s.value}", STATE_STYLE.get(s, "")) for s, n in counts.items()] or [("none running", "muted")]
            for i, (text, style) in enumerate(parts):
                t.append(", " if i else "")
                t.append(text, style=styles.get(style, ""))
            if presets:
                t.append(f" │ {len(presets)} preset{'s' if len(presets) != 1 else ''} not started",
                         style=styles.get("muted", ""))
        self.query_one("#forwards-title", Static).update(t)

    def _show_detail(self) -> None:
        key = self.table.cursor_key
        styles = self._styles()
        out = Text(no_wrap=False)
        v = self.views.get(key or "")
        p = self.presets.get(key or "")
        if v is not None:
            out.append(f"{inert(target_text(v.spec))}", style="bold")
            out.append(f"  {v.url}  ")
            out.append(v.state.value, style=styles.get(STATE_STYLE.get(v.state, ""), ""))
            out.append(f"  pod {inert(v.pod or '-')}" + (f" port {v.pod_port}" if v.pod_port else ""))
            if v.reconnects:
                out.append(f"  moved {v.reconnects}× to a new pod")
            if v.error:
                out.append("\n")
                out.append(inert(one_line(v.error, 400)), style=styles.get("critical", ""))
            if v.warning:
                out.append("\n")
                out.append(inert(one_line(v.warning, 400)), style=styles.get("warning", ""))
        elif p is not None:
            out.append(f"preset {inert(p.name)}: {inert(str(p.target))}:{p.port} → {p.address}:"
                       f"{p.local_port or 'a free port'}", style="bold")
            out.append(f"  not started ({inert(p.start)})", style=styles.get("muted", ""))
        self.detail_text = out.plain
        self.query_one("#forwards-detail", Static).update(out)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    # ---- keys -------------------------------------------------------------------------------------

    def say(self, text: str, severity: str = "information") -> None:
        if self._say is not None:
            self._say(text, severity=severity)
        else:
            self.app.notify(text, severity=severity, markup=False)  # type: ignore[arg-type]

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except EcotuiError as exc:
            self.say(f"{what}: {exc.message}", "error")
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self.say(f"{what}: {type(exc).__name__}: {one_line(str(exc), 200)}", "error")
        finally:
            self.refresh_rows(force=True)
        return None

    def action_start(self) -> None:
        """A preset: start it (and say how it went); a stopped or failed forward: start it again."""
        key = self.table.cursor_key or ""
        mgr = self.manager()
        if mgr is None:
            return
        p = self.presets.get(key)
        if p is not None:
            spec = p.spec(self.ws.profile.context)
            fid = self._call(f"port-forward {p.name}", lambda: mgr.start(spec))
            if fid is not None:
                self.run_worker(self._await_ready(mgr, fid, spec), group="forwards-ready", exit_on_error=False)
            return
        v = self.views.get(key)
        if v is None:
            return
        if v.state in (ForwardState.STOPPED, ForwardState.FAILED):
            if self._call(f"port-forward {target_text(v.spec)}", lambda: mgr.restart(v.id) or True):
                self.run_worker(self._await_ready(mgr, v.id, v.spec), group="forwards-ready", exit_on_error=False)
        else:
            self.say(f"{target_text(v.spec)} is {v.state.value} on {v.local}")

    async def _await_ready(self, mgr: Any, fid: str, spec: ForwardSpec) -> None:
        try:
            view = await mgr.wait_ready(fid, 10.0)
        except EcotuiError as exc:
            self.say(f"port-forward {target_text(spec)}: {exc.message}", "error")
            return
        except Exception as exc:  # noqa: BLE001
            self.say(f"port-forward {target_text(spec)}: {type(exc).__name__}: {one_line(str(exc), 200)}", "error")
            return
        self.say(ready_line(view))

    def _selected_forward(self, verb: str) -> ForwardView | None:
        key = self.table.cursor_key or ""
        v = self.views.get(key)
        if v is None and key in self.presets:
            self.say(f"{verb}: preset {self.presets[key].name} is not started", "warning")
        return v

    def action_stop(self) -> None:
        v = self._selected_forward("stop")
        mgr = self.manager()
        if v is not None and mgr is not None:
            self._call(f"stop {target_text(v.spec)}", lambda: mgr.stop(v.id))

    def action_restart(self) -> None:
        v = self._selected_forward("restart")
        mgr = self.manager()
        if v is not None and mgr is not None:
            if self._call(f"restart {target_text(v.spec)}", lambda: mgr.restart(v.id) or True):
                self.run_worker(self._await_ready(mgr, v.id, v.spec), group="forwards-ready", exit_on_error=False)

    def action_remove(self) -> None:
        v = self._selected_forward("remove")
        mgr = self.manager()
        if v is not None and mgr is not None:
            self._call(f"remove {target_text(v.spec)}", lambda: mgr.remove(v.id))

    def action_back(self) -> None:
        self.dismiss(None)


def ready_line(view: ForwardView) -> str:
    """"forwarding 127.0.0.1:8080 → ecotrack/svc/user-service:80 (pod user-service-abc)"."""
    pod = f" (pod {view.pod.split('/', 1)[-1]})" if view.pod else ""
    warn = f" — {view.warning}" if view.warning else ""
    return one_line(f"forwarding {view.local} → {target_text(view.spec)}{pod}{warn}", 300)


def open_forwards(app: Any) -> None:
    """[port_forwards]: the pane for the active context (one at a time)."""
    if isinstance(app.screen, ForwardsScreen):
        return
    table_cls = with_bindings(ResourceTable, make_bindings(app.keymap, TABLE_IDS, actions=TABLE_ACTIONS))
    screen = app.screen_class(ForwardsScreen)(lambda: app.workspace, table_cls=table_cls,
                                              styles=lambda: app.cell_styles,
                                              hints=app.hints(HINT_IDS, HINT_LABELS), say=app.say,
                                              clock=app.clock)
    app.push_screen(screen)
