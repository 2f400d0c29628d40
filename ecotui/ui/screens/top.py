"""Top [top]: nodes and pods by CPU and memory, against allocatable, requests and limits, with 30-minute
sparklines and the selected pod's containers.

    open_top(app)   # pushes app.screen_class(TopScreen)(lambda: app.workspace, app._table_cls, app.ui)

Data: the workspace's `UsageSource` (metrics.k8s.io at its resolution, else Prometheus; held while this screen
is open) and its `AllocSource` (requests / limits / allocatable informers). A 1 s timer looks at their
versions and does nothing unless one moved; rows are computed by `ecotui.metrics.top` and handed to the tables
as keyed diffs (only rows whose cells changed). A failure is a line above the tables, never a zero.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ecotui.kube.render import Cell
from ecotui.metrics import top
from ecotui.metrics.history import WINDOW_S, History, resample, sparkline
from ecotui.metrics.usage import UsageSnapshot, UsageSource
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.messages import DescribeRequested
from ecotui.ui.widgets.pane import Pane
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints, clock

TICK = 1.0
SPARK = 12           # sparkline cells in the tables: the last 30 minutes, 2.5 minutes a cell
DETAIL_SPARK = 20    # in the selected pod's line: 1.5 minutes a cell
BAR = 6
WARN_PCT, CRIT_PCT = 75, 90

NODE_COLUMNS = [("name", "NAME"), ("cpu", "CPU"), ("cpu_pct", "CPU%"), ("mem", "MEM"), ("mem_pct", "MEM%"),
                ("cpu_req", "CPU REQ"), ("cpu_lim", "CPU LIM"), ("mem_req", "MEM REQ"), ("mem_lim", "MEM LIM"),
                ("pods", "PODS"), ("cpu_trend", "CPU 30m"), ("mem_trend", "MEM 30m")]
POD_COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("cpu", "CPU"), ("cpu_req", "%CPU/R"),
               ("cpu_lim", "%CPU/L"), ("mem", "MEM"), ("mem_req", "%MEM/R"), ("mem_lim", "%MEM/L"),
               ("cpu_trend", "CPU 30m"), ("mem_trend", "MEM 30m"), ("node", "NODE")]
HINT_IDS = ("back", "top_sort_cpu", "top_sort_memory", "next_pane", "describe", "sort", "help")
HINT_LABELS = {"back": "back", "top_sort_cpu": "by cpu", "top_sort_memory": "by mem", "next_pane": "nodes/pods",
               "describe": "describe", "sort": "sort col", "help": "help"}


def level(p: int | None) -> str:
    if p is None:
        return ""
    return "critical" if p >= CRIT_PCT else "warning" if p >= WARN_PCT else ""


def _num(v: float | None) -> float:
    return -1.0 if v is None else v


def pct_cell(p: int | None, with_bar: bool = False, alarm: bool = True) -> Cell:
    """A percentage; `alarm` colours it warning/critical when high (usage against allocatable or a limit —
    usage above a request, or limits overcommitted, are normal and stay plain)."""
    text = top.fmt_pct(p)
    if with_bar:
        text = f"{top.bar(p, BAR)} {text:>4}"
    return Cell(text, -1 if p is None else p, level(p) if alarm else "")


def alloc_cell(v: float, of: float | None, fmt: Callable[[float | None], str], alarm: bool = True) -> Cell:
    """`475m (23%)` as `kubectl describe node` prints an allocated total."""
    p = top.cpu_pct(v, of) if fmt is top.fmt_cpu else top.pct(v, of)
    return Cell(f"{fmt(v)} ({p}%)" if p is not None else fmt(v), v, level(p) if alarm else "")


def history(h: History, key: Any, now: float, cells: int) -> list[float]:
    """The last 30 minutes of a key in `cells` buckets (NaN where no sample fell)."""
    return resample(h.points(key), now - WINDOW_S, now, cells)


def trend(values: Sequence[float]) -> Cell:
    last = next((v for v in reversed(values) if v == v), -1.0)
    return Cell(sparkline(values, SPARK, lo=0.0), last, "muted")


def node_cells(r: top.NodeRow, cpu_hist: Sequence[float], mem_hist: Sequence[float]) -> tuple[Cell, ...]:
    cap = r.pod_capacity
    pods_p = top.pct(r.pods, cap)
    return (Cell(one_line(r.name, 63), r.name), Cell(top.fmt_cpu(r.cpu), _num(r.cpu)), pct_cell(r.cpu_pct, True),
            Cell(top.fmt_mem(r.memory), _num(r.memory)), pct_cell(r.mem_pct, True),
            alloc_cell(r.req_cpu, r.cpu_alloc, top.fmt_cpu), alloc_cell(r.lim_cpu, r.cpu_alloc, top.fmt_cpu, False),
            alloc_cell(r.req_mem, r.mem_alloc, top.fmt_mem), alloc_cell(r.lim_mem, r.mem_alloc, top.fmt_mem, False),
            Cell(f"{r.pods}/{cap}" if cap is not None else str(r.pods), r.pods, level(pods_p)),
            trend(cpu_hist), trend(mem_hist))


def pod_cells(r: top.PodRow, cpu_hist: Sequence[float], mem_hist: Sequence[float]) -> tuple[Cell, ...]:
    return (Cell(one_line(r.namespace, 63), r.namespace), Cell(one_line(r.name, 253), r.name),
            Cell(top.fmt_cpu(r.cpu), _num(r.cpu)), pct_cell(top.cpu_pct(r.cpu, r.req_cpu), alarm=False),
            pct_cell(top.cpu_pct(r.cpu, r.lim_cpu)), Cell(top.fmt_mem(r.memory), _num(r.memory)),
            pct_cell(top.pct(r.memory, r.req_mem), alarm=False), pct_cell(top.pct(r.memory, r.lim_mem)),
            trend(cpu_hist), trend(mem_hist), Cell(one_line(r.node, 63) or "—", r.node))


def container_lines(r: top.PodRow) -> list[str]:
    rows = [("CONTAINER", "CPU", "REQ", "LIM", "MEM", "REQ", "LIM")]
    for c in r.containers:
        rows.append((one_line(c.name, 40), top.fmt_cpu(c.cpu), _opt(c.req_cpu, top.fmt_cpu, c.cpu, 1000.0),
                     _opt(c.lim_cpu, top.fmt_cpu, c.cpu, 1000.0), top.fmt_mem(c.memory), _opt(c.req_mem, top.fmt_mem, c.memory),
                     _opt(c.lim_mem, top.fmt_mem, c.memory)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]


def _opt(spec: float | None, fmt: Callable[[float | None], str], used: float | None, scale: float = 1.0) -> str:
    if spec is None:
        return "-"
    p = top.pct(used, spec, scale)
    return f"{fmt(spec)}" + (f" {p}%" if p is not None else "")


class TopScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "top_sort_cpu", "top_sort_memory", "next_pane",
                                          "prev_pane", "focus_nodes", "focus_pods", "refresh")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "prev_pane": "next_pane",
                                             "refresh": "kick"}

    DEFAULT_CSS = """
    TopScreen > #top-title { height: 1; background: $panel; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    TopScreen > #top-problem { height: auto; max-height: 3; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    TopScreen > #top-panes { height: 1fr; }
    TopScreen #top-nodes-pane { height: 1fr; }
    TopScreen #top-pods-pane { height: 1fr; }
    TopScreen .pane.-active > PaneTitle { color: $accent; text-style: bold; }
    TopScreen > #top-detail { height: auto; max-height: 6; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, workspace: Callable[[], Any], table_cls: type[ResourceTable], ui: UiContext) -> None:
        super().__init__()
        self._workspace = workspace
        self.ui = ui
        styles = ui.styles
        self.tables = {"nodes": table_cls(NODE_COLUMNS, styles=styles, max_widths={"name": 34}, id="top-nodes"),
                       "pods": table_cls(POD_COLUMNS, styles=styles, max_widths={"name": 40, "node": 28},
                                         id="top-pods")}
        self.panes = {"nodes": Pane("nodes", self.tables["nodes"], id="top-nodes-pane"),
                      "pods": Pane("pods", self.tables["pods"], id="top-pods-pane")}
        self.sort_by = "cpu"
        self.active = "pods"
        self._source: UsageSource | None = None
        self._visible = True
        self._ws: Any = None
        self._token = 0
        self._seen: tuple[Any, ...] | None = None
        self._cells: dict[str, dict[str, tuple[Cell, ...]]] = {"nodes": {}, "pods": {}}
        self._pod_rows: dict[str, top.PodRow] = {}
        self.node_rows: list[top.NodeRow] = []
        self.pod_rows: list[top.PodRow] = []
        self.snapshot = UsageSnapshot()

    def compose(self) -> ComposeResult:
        yield Static("top", id="top-title")
        yield Static("", id="top-problem")
        with Vertical(id="top-panes"):
            yield self.panes["nodes"]
            yield self.panes["pods"]
        yield Static("", id="top-detail")
        yield KeyHints(self.ui.hints(HINT_IDS, HINT_LABELS), id="hints")

    def on_mount(self) -> None:
        self._use_source()
        self.set_interval(TICK, self.refresh_data)
        self.focus_pane("pods")
        self.refresh_data()

    def on_unmount(self) -> None:
        self._drop_source()

    def on_screen_suspend(self, _event: Any) -> None:
        """Covered (describe, help): stop holding the poller."""
        self._visible = False
        self._drop_source()

    def on_screen_resume(self, _event: Any) -> None:
        self._visible = True
        self._use_source()

    # ---- the source ---------------------------------------------------------------------------------------

    def _use_source(self) -> None:
        """Hold the active workspace's usage source while visible; a new workspace (context switch) starts over."""
        ws = self._workspace()
        if ws is not self._ws:
            self._drop_source()
            self._ws = ws
            self._seen = None
            for name in self.tables:
                self._cells[name] = {}
                if self.is_mounted:
                    self.tables[name].clear()
        if self._source is None and self._visible:
            self._source = getattr(ws, "usage", None)
            if self._source is not None:
                self._token = self._source.acquire()

    def _drop_source(self) -> None:
        if self._source is not None:
            self._source.release(self._token)
        self._source = None

    def action_kick(self) -> None:
        if self._source is not None:
            self._source.kick()

    # ---- refresh ------------------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Recompute only when the usage sample, the allocations or the sort changed."""
        self._use_source()
        src = self._source
        if src is None:
            return
        snap = src.snapshot
        pods_alloc, nodes_alloc = src.alloc.pods(), src.alloc.nodes()
        state = (snap.seq, snap.polled, pods_alloc.version, nodes_alloc.version, self.sort_by)
        if state == self._seen:
            return
        self._seen = state
        self.snapshot = snap
        self.node_rows = top.node_rows(snap, nodes_alloc.items, pods_alloc.items)
        self.pod_rows = top.pod_rows(snap, pods_alloc.items, self.sort_by)
        self._pod_rows = {r.key: r for r in self.pod_rows}
        cpu, mem, now = src.cpu, src.memory, snap.at
        nodes = {r.name: node_cells(r, history(cpu, ("node", r.name), now, SPARK),
                                    history(mem, ("node", r.name), now, SPARK)) for r in self.node_rows}
        pods = {r.key: pod_cells(r, history(cpu, ("pod", r.key), now, SPARK), history(mem, ("pod", r.key), now, SPARK))
                for r in self.pod_rows}
        with self.app.batch_update():
            self._apply("nodes", nodes, {r.name: i for i, r in enumerate(self.node_rows)})
            self._apply("pods", pods, {r.key: top.sort_key(r, self.sort_by) for r in self.pod_rows})
            self._show_lines(snap)
            self._show_detail()

    def _apply(self, name: str, rows: Mapping[str, tuple[Cell, ...]], natural: Mapping[str, Any]) -> None:
        """Keyed diff: only the rows whose cells (or order) changed, and the rows gone."""
        last = self._cells[name]
        table = self.tables[name]
        upserts = {k: c for k, c in rows.items() if last.get(k) != c or natural[k] != table_nat(table, k)}
        removed = [k for k in last if k not in rows]
        if upserts or removed:
            table.apply_changes(upserts, removed, {k: natural[k] for k in upserts})
        self._cells[name] = dict(rows)
        count = f"{len(rows)} {name}"
        sort = f"by {self.sort_by}" if name == "pods" else ""
        label = table.sort_label
        self.panes[name].set_title(" · ".join(p for p in (count, sort, f"sort: {label}" if label else "") if p))

    def _show_lines(self, snap: UsageSnapshot) -> None:
        parts = ["top"]
        if snap.source:
            parts.append(f"from {snap.source}")
            if snap.window:
                parts.append(f"window {snap.window:.0f}s")
            parts.append(f"sample {clock(snap.at)}")
        elif snap.loading:
            parts.append("reading metrics…")
        parts.append(f"pods by {'CPU' if self.sort_by == 'cpu' else 'memory'}")
        self.query_one("#top-title", Static).update(Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"))
        styles = self.ui.styles
        line = Text()
        if snap.problem:
            text = one_line(snap.problem, 200)
            if snap.note:      # said first, so a narrow terminal still shows it
                head, _, why = text.partition(": ")
                text = f"{head} — {snap.note}: {why}" if why else f"{text} — {snap.note}"
            line.append(text, styles.get("warning"))
        if snap.error:
            if line:
                line.append("\n")
            line.append(one_line(snap.error, 200), styles.get("critical"))
        src = self._source
        if src is not None and src.alloc.running:
            conn = src.alloc.connection()
            if conn.message and conn.state.value == "error":
                if line:
                    line.append("\n")
                line.append(f"requests/limits unavailable: {one_line(conn.message, 160)}", styles.get("warning"))
        problem = self.query_one("#top-problem", Static)
        problem.update(line)
        problem.display = bool(line)

    def _show_detail(self) -> None:
        key = self.tables["pods"].cursor_key
        row = self._pod_rows.get(key) if key else None
        if row is None:
            self.query_one("#top-detail", Static).update("")
            return
        src = self._source
        at = self.snapshot.at
        cpu = history(src.cpu, ("pod", row.key), at, DETAIL_SPARK) if src else []
        mem = history(src.memory, ("pod", row.key), at, DETAIL_SPARK) if src else []
        head = f"{one_line(row.key, 120)} on {one_line(row.node, 63) or '—'}"
        spark = (f"CPU {top.fmt_cpu(row.cpu):>6} {sparkline(cpu, DETAIL_SPARK, lo=0.0)}   "
                 f"MEM {top.fmt_mem(row.memory):>7} {sparkline(mem, DETAIL_SPARK, lo=0.0)}   (30 min)")
        self.query_one("#top-detail", Static).update(
            Text("\n".join([head, spark, *container_lines(row)]), no_wrap=True, overflow="ellipsis"))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.tables["pods"]:
            self._show_detail()

    # ---- keys ---------------------------------------------------------------------------------------------

    def action_top_sort_cpu(self) -> None:
        self._sort("cpu")

    def action_top_sort_memory(self) -> None:
        self._sort("memory")

    def _sort(self, by: str) -> None:
        self.sort_by = by
        table = self.tables["pods"]
        if table.sort_column is not None:       # back to the natural (usage) order
            table.sort_column = None
            table._resort()
        self.refresh_data()
        table.move_cursor(row=0)

    def focus_pane(self, name: str) -> None:
        self.active = name
        for n, pane in self.panes.items():
            pane.set_class(n == name, "-active")
        self.tables[name].focus()

    def action_next_pane(self) -> None:
        self.focus_pane("nodes" if self.active == "pods" else "pods")

    def action_focus_nodes(self) -> None:
        self.focus_pane("nodes")

    def action_focus_pods(self) -> None:
        self.focus_pane("pods")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_open_row(self) -> None:
        self.action_describe()

    def action_describe(self) -> None:
        key = self.tables[self.active].cursor_key
        if key is not None:
            self.post_message(DescribeRequested(self.active, key))


def table_nat(table: ResourceTable, key: str) -> Any:
    return table._nat.get(key)


def open_top(app: Any) -> None:
    """Push the top screen (keymap bindings applied); it follows the app's active workspace."""
    app.push_screen(app.screen_class(TopScreen)(lambda: app.workspace, app._table_cls, app.ui))
