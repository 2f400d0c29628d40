"""Top [top]: nodes and pods by CPU and memory, against allocatable, requests and limits, with 30-minute
sparklines and the selected pod's containers.

    open_top(app)   # pushes app.screen_class(TopScreen)(lambda: app.workspace, app._table_cls, app.ui)

Data: the workspace's `UsageSource` (metrics.k8s.io at its resolution, else Prometheus; held while this screen
is open) and its `AllocSource` (requests / limits / allocatable informers). A 1 s timer looks at their
versions and does nothing unless one moved; rows are computed by `ecotui.metrics.top` and handed to the tables
as keyed diffs (only rows whose cells changed). A failure is a line above the tables, never a zero.
"""
from __future__ import annotations

import asyncio
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
from ecotui.metrics.history import WINDOW_S, SampleHistory, resample, sparkline
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
NODE_CHUNK = 50   # nodes whose cells (two sparklines each) are built between two turns of the loop
CHUNK = 500          # pods per slice when rows are rebuilt (the loop runs between slices)
WARN_PCT, CRIT_PCT = 75, 90

NODE_COLUMNS = [("name", "NAME"), ("cpu", "CPU"), ("cpu_pct", "CPU%"), ("mem", "MEM"), ("mem_pct", "MEM%"),
                ("cpu_req", "CPU REQ"), ("cpu_lim", "CPU LIM"), ("mem_req", "MEM REQ"), ("mem_lim", "MEM LIM"),
                ("pods", "PODS"), ("cpu_trend", "CPU 30m"), ("mem_trend", "MEM 30m")]
# pods: no sparkline per row (10,000 of them every sample would cost the UI seconds); the selected pod's
# 30-minute sparklines are in the detail lines under the table
POD_COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("cpu", "CPU"), ("cpu_req", "%CPU/R"),
               ("cpu_lim", "%CPU/L"), ("mem", "MEM"), ("mem_req", "%MEM/R"), ("mem_lim", "%MEM/L"), ("node", "NODE")]
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


def history(h: SampleHistory, key: Any, now: float, cells: int) -> list[float]:
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


def pod_cells(r: top.PodRow) -> tuple[Cell, ...]:
    return (Cell(one_line(r.namespace, 63), r.namespace), Cell(one_line(r.name, 253), r.name),
            Cell(top.fmt_cpu(r.cpu), _num(r.cpu)), pct_cell(top.cpu_pct(r.cpu, r.req_cpu), alarm=False),
            pct_cell(top.cpu_pct(r.cpu, r.lim_cpu)), Cell(top.fmt_mem(r.memory), _num(r.memory)),
            pct_cell(top.pct(r.memory, r.req_mem), alarm=False), pct_cell(top.pct(r.memory, r.lim_mem)),
            Cell(one_line(r.node, 63) or "—", r.node))


def container_lines(r: top.PodRow) -> list[str]:
    rows = [("CONTAINER", "CPU", "REQ", "LIM", "MEM", "REQ", "LIM")]
    for c in r.containers():
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
        self._natural: dict[str, Any] = {}          # the pods' natural (usage) order keys, as the table has them
        self._busy = False
        self._cursor_top = False
        self._pod_rows: dict[str, top.PodRow] = {}
        self.node_rows: list[top.NodeRow] = []
        self.pod_rows: list[top.PodRow] = []
        self.snapshot = UsageSnapshot()
        self.failure = ""                            # the last row rebuild's error, shown above the tables

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
            self._natural = {}
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
        """Read now. The key only reaches a visible screen: hold the source again if it was let go (covered,
        or a context switch) rather than ignore the key."""
        if self.is_current:
            self._visible = True
        self._use_source()
        if self._source is not None:
            self._source.kick()
        else:
            self.app.notify("top: no usage source for this workspace", severity="warning")

    # ---- refresh ------------------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Recompute only when the usage sample, the allocations or the sort changed. The rows are built in a
        worker, in slices (`build_rows`), from immutable snapshots; then the keyed diff is applied."""
        self._use_source()
        src = self._source
        if src is None or self._busy:
            return
        snap = src.snapshot
        pods_alloc, nodes_alloc = src.alloc.pods(), src.alloc.nodes()
        state = (snap.seq, snap.polled, pods_alloc.version, nodes_alloc.version, self.sort_by)
        if state == self._seen:
            return
        self._seen = state
        self._busy = True
        self.run_worker(self._rebuild(src, snap, pods_alloc.items, nodes_alloc.items, self.sort_by),
                        group="top-rows", exit_on_error=False)

    async def _rebuild(self, src: UsageSource, snap: UsageSnapshot, pods_alloc: Mapping[str, Any],
                       nodes_alloc: Mapping[str, Any], sort_by: str) -> None:
        try:
            last, nat = self._cells["pods"], self._natural
            node_rows, pod_rows, pods, natural, upserts, removed = await build_rows(
                snap, pods_alloc, nodes_alloc, sort_by, last, nat)
            if src is not self._source:          # switched away meanwhile
                return
            self.snapshot = snap
            self.node_rows, self.pod_rows = node_rows, pod_rows
            self._pod_rows = {r.key: r for r in pod_rows}
            cpu, mem, now = src.cpu, src.memory, snap.at
            nodes: dict[str, Any] = {}
            for i in range(0, len(node_rows), NODE_CHUNK):   # 500 nodes' sparklines: ~0.14 s in one go
                await asyncio.sleep(0)
                for r in node_rows[i:i + NODE_CHUNK]:
                    nodes[r.name] = node_cells(r, history(cpu, ("node", r.name), now, SPARK),
                                               history(mem, ("node", r.name), now, SPARK))
            if src is not self._source:
                return
            with self.app.batch_update():
                self._apply_nodes(nodes)
                if upserts or removed:
                    self.tables["pods"].apply_changes(upserts, removed, {k: natural[k] for k in upserts})
                self._cells["pods"], self._natural = pods, natural
                self._title("pods", len(pods))
                self._show_lines(snap)
                self._show_detail()
            if self._cursor_top:
                self._cursor_top = False
                self.tables["pods"].move_cursor(row=0)
            self.failure = ""
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a line above the tables, never a traceback
            self.failure = f"top: could not build the rows: {one_line(f'{type(exc).__name__}: {exc}', 200)}"
            self._show_lines(snap)
        finally:
            self._busy = False
        self.call_later(self.refresh_data)      # anything that changed while building (a sort key pressed)

    def _apply_nodes(self, rows: Mapping[str, tuple[Cell, ...]]) -> None:
        last = self._cells["nodes"]
        upserts = {k: c for k, c in rows.items() if last.get(k) != c}
        removed = [k for k in last if k not in rows]
        if upserts or removed:   # natural order: by name (the rows come sorted)
            self.tables["nodes"].apply_changes(upserts, removed, {k: k for k in upserts})
        self._cells["nodes"] = dict(rows)
        self._title("nodes", len(rows))

    def _title(self, name: str, n: int) -> None:
        label = self.tables[name].sort_label
        parts = [f"{n} {name}", f"by {self.sort_by}" if name == "pods" else "", f"sort: {label}" if label else ""]
        self.panes[name].set_title(" · ".join(p for p in parts if p))

    def _show_lines(self, snap: UsageSnapshot) -> None:
        parts = ["top"]
        if snap.stale:          # the last good figures (the latest poll failed): said first, it fits 80 columns
            parts.append(f"STALE {snap.age:.0f}s old")
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
        if self.failure:
            if line:
                line.append("\n")
            line.append(self.failure, styles.get("critical"))
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
        self._cursor_top = True
        self.refresh_data()

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


async def build_rows(snap: UsageSnapshot, pods_alloc: Mapping[str, Any], nodes_alloc: Mapping[str, Any],
                     sort_by: str, last: Mapping[str, tuple[Cell, ...]], last_natural: Mapping[str, Any]
                     ) -> tuple[Any, ...]:
    """Rows, pod cells and the pods table's keyed diff against what it shows, from immutable snapshots, in
    slices of CHUNK pods with the loop let through between them (10,000 pods are ~0.3 s of Python: done in one
    go it would hold every keypress for that long)."""
    node_rows = top.node_rows(snap, nodes_alloc, pods_alloc)
    pod_rows: list[top.PodRow] = []
    items = list(snap.pods.items())
    for i in range(0, len(items), CHUNK):
        pod_rows.extend(top.pod_row(u, pods_alloc.get(k)) for k, u in items[i:i + CHUNK])
        await asyncio.sleep(0)
    pod_rows.sort(key=lambda r: top.sort_key(r, sort_by))
    pods: dict[str, tuple[Cell, ...]] = {}
    natural: dict[str, Any] = {}
    upserts: dict[str, tuple[Cell, ...]] = {}
    for i in range(0, len(pod_rows), CHUNK):
        await asyncio.sleep(0)
        for r in pod_rows[i:i + CHUNK]:
            k = r.key
            c = pods[k] = pod_cells(r)
            n = natural[k] = top.sort_key(r, sort_by)
            if last.get(k) != c or last_natural.get(k) != n:
                upserts[k] = c
    removed = [k for k in last if k not in pods]
    return node_rows, pod_rows, pods, natural, upserts, removed


def open_top(app: Any) -> None:
    """Push the top screen (keymap bindings applied); it follows the app's active workspace."""
    app.push_screen(app.screen_class(TopScreen)(lambda: app.workspace, app._table_cls, app.ui))
