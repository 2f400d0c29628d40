"""The top screen with a scripted usage source: tables by keyed diff, sort keys, the selected pod's containers,
the metrics-API / Prometheus lines (never zeros), 80x24, and polling held only while the screen is open."""
from __future__ import annotations

from types import MappingProxyType

import msgspec
import pytest

from ecotui.keymap import load_keymap
from ecotui.kube.store import Connection, ConnState, Snapshot
from ecotui.metrics.alloc import WireNode, WirePod, to_node_alloc, to_pod_alloc
from ecotui.metrics.prom import PromError
from ecotui.metrics.usage import ContainerUsage, Figures, NodeUsage, PodUsage, UsageSource
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.top import TopScreen
from test_cockpit import make_session
from ui_fakes import T0, pilot_until, screen_text, workspace

KEYMAP, _ = load_keymap()


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class FakeAlloc:
    def __init__(self) -> None:
        self.running = False
        pods = [msgspec.convert({"metadata": {"name": n, "namespace": "ecotrack"}, "spec": {"nodeName": node,
                "containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                             "limits": {"cpu": "500m", "memory": "256Mi"}}},
                               {"name": "proxy", "resources": {"requests": {"cpu": "10m"}}}]},
                "status": {"phase": "Running"}}, WirePod) for n, node in (("web-1", "node-a"), ("api-1", "node-a"),
                                                                          ("web-2", "node-b"))]
        nodes = [msgspec.convert({"metadata": {"name": n}, "status": {"allocatable": {
            "cpu": "2", "memory": "4Gi", "pods": "29"}}}, WireNode) for n in ("node-a", "node-b")]
        self._pods = Snapshot("top-pods", MappingProxyType({f"ecotrack/{p.metadata.name}": to_pod_alloc(p)
                                                            for p in pods}), 1, True)
        self._nodes = Snapshot("top-nodes", MappingProxyType({n.metadata.name: to_node_alloc(n) for n in nodes}), 1,
                               True)

    def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def cancel(self) -> list:
        self.running = False
        return []

    def pods(self) -> Snapshot:
        return self._pods

    def nodes(self) -> Snapshot:
        return self._nodes

    def connection(self) -> Connection:
        return Connection(ConnState.LIVE, 0.0)


def figures(t: float, web1_cpu: float = 0.45) -> Figures:
    def pod(name: str, cpu: float, mem: float) -> PodUsage:
        return PodUsage("ecotrack", name, cpu, mem, (ContainerUsage("app", cpu - 0.005, mem - 2**20),
                                                      ContainerUsage("proxy", 0.005, 2**20)))
    pods = {p.key: p for p in (pod("web-1", web1_cpu, 200 * 2**20), pod("api-1", 0.2, 250 * 2**20),
                               pod("web-2", 0.05, 64 * 2**20))}
    return Figures("metrics-server", MappingProxyType({"node-a": NodeUsage("node-a", 1.9, 2**30),
                                                       "node-b": NodeUsage("node-b", 0.25, 3 * 2**30)}),
                   MappingProxyType(pods), t, 15.0)


class Script:
    def __init__(self) -> None:
        self.next: Figures | Exception = figures(T0)
        self.calls = 0

    async def __call__(self) -> Figures:
        self.calls += 1
        if isinstance(self.next, Exception):
            raise self.next
        return self.next


def make_app(script: Script | None = None, prom=None):
    ws = workspace(make_session())
    if script is not None:
        ws._usage = UsageSource(None, (lambda: prom), read_api=script, interval=0.05, alloc=FakeAlloc())  # type: ignore
    return EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05), ws


async def until(pilot, pred, n: int = 60) -> None:
    await pilot_until(pilot, pred, "condition not met", n)


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
async def test_top_shows_nodes_and_pods_against_allocatable_requests_and_limits(size):
    script = Script()
    app, ws = make_app(script)
    async with app.run_test(size=size) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.pod_rows)
        screen = app.screen
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "from metrics-server" in text and "node-a" in text and "1900m" in text and "95%" in text
        assert [r.name for r in screen.pod_rows] == ["web-1", "api-1", "web-2"]
        nodes = {r.name: r for r in screen.node_rows}
        assert nodes["node-a"].req_cpu == pytest.approx(0.22) and nodes["node-a"].pods == 2
        assert screen._cells["nodes"]["node-a"][2].style == "critical"      # 95 % of allocatable CPU
        assert screen._cells["nodes"]["node-a"][5].text == "220m (11%)"     # CPU requests allocated
        # the selected pod's containers with their requests and limits
        assert "CONTAINER" in text and "proxy" in text and "ecotrack/web-1 on node-a" in text
        await pilot.press(key("top_sort_memory"))
        await pilot.pause(0.1)
        assert [r.name for r in screen.pod_rows] == ["api-1", "web-1", "web-2"]
        assert screen.tables["pods"].cursor_key == "ecotrack/api-1"
        assert "pods by memory" in screen_text(app)
        await pilot.press(key("top_sort_cpu"))
        await pilot.pause(0.1)
        assert screen.tables["pods"].cursor_key == "ecotrack/web-1"


async def test_a_new_sample_updates_only_what_changed_and_history_grows():
    script = Script()
    app, ws = make_app(script)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.pod_rows)
        screen = app.screen
        table = screen.tables["pods"]
        table.move_to_key("ecotrack/api-1")
        applied: list = []
        orig = table.apply_changes
        table.apply_changes = lambda up, rm=(), nat=None: (applied.append((dict(up), list(rm))), orig(up, rm, nat))
        script.next = figures(T0 + 15, web1_cpu=0.1)
        ws.usage.kick()
        await until(pilot, lambda: applied)
        up, rm = applied[-1]
        assert set(up) <= {"ecotrack/web-1", "ecotrack/api-1", "ecotrack/web-2"} and not rm
        assert table.cursor_key == "ecotrack/api-1"           # the cursor stays on its row
        assert [r.name for r in screen.pod_rows] == ["api-1", "web-1", "web-2"]
        assert len(ws.usage.cpu.points(("pod", "ecotrack/web-1"))) == 2


async def test_without_metrics_api_and_prometheus_it_says_so_and_shows_no_figures():
    script = Script()
    script.next = PromError("http", "GET /apis/metrics.k8s.io/v1beta1/nodes failed with HTTP 404: not found")
    down = PromError("unreachable", "prometheus unreachable at http://127.0.0.1:1: connection refused")

    class DeadProm:
        async def query(self, *a, **k):
            raise down
    app, ws = make_app(script, prom=DeadProm())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.snapshot.polled)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "metrics API not available" in text and "using Prometheus" in text
        assert "prometheus unreachable" in text
        assert app.screen.pod_rows == [] and app.screen.tables["pods"].row_count == 0
        # nodes are listed (allocatable) but their usage is unknown: a dash, never 0
        assert app.screen._cells["nodes"]["node-a"][1].text == "—"


async def test_polling_is_held_only_while_top_is_open():
    script = Script()
    app, ws = make_app(script)
    async with app.run_test(size=(80, 24)) as pilot:
        cockpit = app.screen
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and script.calls)
        top_screen = app.screen
        token = top_screen._token
        assert ws.usage.active and token in ws.usage._holders
        await pilot.pause(1.2)
        assert cockpit._usage is None                 # the covered cockpit holds nothing
        await pilot.press(key("back"))
        await pilot.pause(0.1)
        assert app.screen is cockpit and token not in ws.usage._holders
        await pilot.press(key("help"))                 # the cockpit covered too: nobody holds the poller
        await until(pilot, lambda: app.screen is not cockpit and not ws.usage.active)
        assert cockpit._usage is None and not ws.usage._holders
        n = script.calls
        await pilot.pause(0.3)                         # six poll intervals
        assert script.calls == n                       # no more reads


async def test_a_real_workspace_without_client_says_the_metrics_api_is_not_available():
    app, ws = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.snapshot.polled)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "metrics API not available" in text and "no Prometheus configured" in text


# ---- top columns in the cockpit's panes --------------------------------------------------------------------

def cells_of(app, pane: str, key: str) -> dict[str, str]:
    table = app.screen.tables[pane]
    cols = [k for k, _ in table.columns_spec]
    cells = app.screen.models[pane].cells_of(key)
    return {c: cell.text for c, cell in zip(cols, cells or ())}


async def test_cockpit_panes_get_top_columns_while_figures_exist():
    script = Script()
    app, ws = make_app(script)
    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: app.screen.top.on and "cpu" in dict(app.screen.tables["pods"].columns_spec))
        await pilot.pause(0.2)
        node_a = cells_of(app, "nodes", "node-a")
        assert node_a["cpu"] == "1900m" and node_a["cpu_pct"] == "95%" and node_a["mem"] == "1024Mi"
        assert app.screen.models["nodes"].cells_of("node-a")[-3].style == "critical"
        web1 = cells_of(app, "pods", "ecotrack/web-1")
        assert web1["cpu"] == "450m" and web1["mem"] == "200Mi" and web1["cpu_pct"] == "409%"  # of 110m requested
        assert cells_of(app, "pods", "ecotrack/crash-1")["cpu"] == "—"     # no figures for it: a dash, not 0
        text = screen_text(app)
        assert "%CPU/R" in text and "%MEM" in text and "1900m" in text
        # a new sample: the rows shown are re-rendered with it
        script.next = figures(T0 + 15, web1_cpu=0.1)
        ws.usage.kick()
        await until(pilot, lambda: cells_of(app, "pods", "ecotrack/web-1")["cpu"] == "100m")
        # the metrics go away (and no Prometheus): the columns go, the rows stay
        script.next = PromError("http", "HTTP 503: service unavailable")
        ws.usage.kick()
        await until(pilot, lambda: not app.screen.top.on and "cpu" not in dict(app.screen.tables["pods"].columns_spec))
        await pilot.pause(0.1)
        assert app.screen.tables["pods"].row_count == 5 and "%CPU" not in screen_text(app)


async def test_a_new_sample_re_renders_only_the_visible_pod_rows():
    from ui_fakes import pod as fake_pod
    script = Script()
    many = {f"ecotrack/p{i:04}": PodUsage("ecotrack", f"p{i:04}", 0.01 + i / 1e4, 2.0**20, ()) for i in range(2000)}

    def big(t: float) -> Figures:
        return Figures("metrics-server", MappingProxyType({}), MappingProxyType(many), t, 15.0)
    script.next = big(T0)
    app, ws = make_app(script)
    app.workspace.session.set_pods([fake_pod(f"p{i:04}") for i in range(2000)])  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.top.on and app.screen.tables["pods"].row_count == 2000, 100)
        await pilot.pause(0.2)
        calls = []
        orig = app.screen.top.pod_cells
        app.screen.top.pod_cells = lambda p: (calls.append(p), orig(p))[1]
        script.next = big(T0 + 15)
        ws.usage.kick()
        await until(pilot, lambda: calls)
        await pilot.pause(0.3)
        assert 0 < len(calls) < 100      # the visible rows, not 2,000


async def test_top_follows_a_context_switch():
    script, script2 = Script(), Script()
    script2.next = figures(T0 + 30, web1_cpu=0.3)
    app, ws = make_app(script)
    _, ws2 = make_app(script2)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.pod_rows)
        screen = app.screen
        app.workspace = ws2                      # what the App does on a context switch
        await until(pilot, lambda: screen._source is ws2.usage and screen.snapshot.at == T0 + 30, 80)
        assert not ws.usage.active and ws2.usage.active
        assert {r.name: r.cpu for r in screen.pod_rows}["web-1"] == 0.3


async def test_the_refresh_key_reads_again_after_top_was_covered():
    script = Script()
    app, ws = make_app(script)
    ws._usage.interval = 3600.0                          # only the key makes a read
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.pod_rows)
        top_screen = app.screen
        ws.usage._refresher.interval = 3600.0
        await pilot.press(key("help"))
        await until(pilot, lambda: app.screen is not top_screen)
        await pilot.press(key("back"))
        await until(pilot, lambda: app.screen is top_screen)
        n = script.calls
        await pilot.press(key("refresh"))
        await until(pilot, lambda: script.calls > n)
        assert top_screen._source is ws.usage and ws.usage.active


async def test_a_failing_row_rebuild_is_a_line_not_a_crash(monkeypatch):
    from ecotui.ui.screens import top as top_mod
    script = Script()
    app, ws = make_app(script)

    async def broken(*a, **k):
        raise KeyError("boom")
    monkeypatch.setattr(top_mod, "build_rows", broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.failure)
        await pilot.pause(0.1)
        assert app.is_running and isinstance(app.screen, TopScreen)
        assert "could not build the rows: KeyError: 'boom'" in screen_text(app)


async def test_a_failed_poll_keeps_the_figures_marked_stale():
    script = Script()
    app, ws = make_app(script)
    ws._usage.clock = lambda: T0 + 30                     # the poller's clock: the sample is 30 s old
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key("top"))
        await until(pilot, lambda: isinstance(app.screen, TopScreen) and app.screen.pod_rows)
        screen = app.screen
        script.next = PromError("http", "GET /apis/metrics.k8s.io/v1beta1/pods failed with HTTP 503")
        ws.usage.kick()
        await until(pilot, lambda: screen.snapshot.stale)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "STALE 30s old" in text and "metrics API not available" in text
        assert [r.name for r in screen.pod_rows] == ["web-1", "api-1", "web-2"]      # the figures stay
        assert screen.tables["pods"].row_count == 3 and "1900m" in text
