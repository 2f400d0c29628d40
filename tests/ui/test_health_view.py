"""The health grid [health] on a fake forward manager and a mock actuator: five rows UP with component columns,
one DOWN after a re-run (critical colour, the failing component named), a forward that cannot start as one ERROR
line, automatic re-runs while visible (none while covered), open → the Service's pods, logs → its Deployment's,
80×24 and hostile names inert."""
from __future__ import annotations

import httpx
import pytest

from ecotui.health.grid import HealthGrid
from ecotui.health.settings import HealthSettings
from ecotui.keymap import load_keymap
from ecotui.kube.writegate import WriteGate
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens import health_view
from ecotui.ui.screens.health_view import HealthScreen
from ecotui.ui.screens.hpa_view import TargetPodsScreen
from ecotui.ui.screens.text_view import HelpScreen
from ecotui.workspace import Profile, Workspace
from tests.unit.health_fakes import FakeManager
from test_cockpit import make_session
from ui_fakes import FakeKubeAPI, T0, screen_text

KEYMAP, _ = load_keymap()
SERVICES = ["user-service", "product-service", "order-service", "payment-service", "notification-service"]
UP = {"status": "UP", "components": {"db": {"status": "UP"}, "diskSpace": {"status": "UP"},
                                     "ping": {"status": "UP"}, "redis": {"status": "UP"}}}
DOWN = {"status": "DOWN", "components": {
    "db": {"status": "DOWN", "details": {"error": "CannotGetJdbcConnectionException: Connection refused"}},
    "diskSpace": {"status": "UP"}, "ping": {"status": "UP"}, "redis": {"status": "UP"}}}


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class Actuator:
    """Answers per forward's local port; `down` names the services answering 503 DOWN."""

    def __init__(self, mgr: FakeManager) -> None:
        self.mgr, self.down, self.requests = mgr, set(), 0
        self.body: dict | None = None

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests += 1
        svc = next(v.spec.target.name for v in self.mgr.views() if v.local.endswith(f":{req.url.port}"))
        if self.body is not None:
            return httpx.Response(200, json=self.body)
        return httpx.Response(503, json=DOWN) if svc in self.down else httpx.Response(200, json=UP)


def make_app(monkeypatch, settings: HealthSettings | None = None, mgr: FakeManager | None = None):
    session = make_session()
    gate = WriteGate(session.context, False)
    ws = Workspace(Profile(session.context, session.namespace, health=settings or HealthSettings()), session, gate,
                   FakeKubeAPI(gate), "tester")
    mgr = mgr or FakeManager()
    ws._forwards = mgr          # the workspace's manager (its real one needs a cluster)
    act = Actuator(mgr)

    def factory(w, s):
        return HealthGrid(s, w.forwards, w.profile.context,
                          client=httpx.AsyncClient(transport=httpx.MockTransport(act)))
    monkeypatch.setattr(health_view, "default_grid", factory)
    app = EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05)
    return app, session, mgr, act


async def open_grid(pilot, app, runs: int = 1) -> HealthScreen:
    await pilot.pause()
    await pilot.press(key("health"))
    for _ in range(60):
        await pilot.pause(0.05)
        s = app.screen
        if isinstance(s, HealthScreen) and s.grid is not None and s.grid.runs >= runs and not s.grid.running:
            await pilot.pause(0.6)
            return s
    raise AssertionError("no health screen with a finished run")


def cells(screen: HealthScreen, service: str) -> dict[str, str]:
    t = screen.table
    return {k: str(t.get_cell(service, k)) for k, _ in t.columns_spec}


async def test_all_up_with_component_columns_at_80x24(monkeypatch):
    app, _s, mgr, _a = make_app(monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        assert list(screen.table.keys) == SERVICES
        assert [k for k, _ in screen.table.columns_spec] == ["service", "status", "c:db", "c:redis", "c:diskSpace",
                                                              "c:ping", "latency", "checked", "problem"]
        for s in SERVICES:
            c = cells(screen, s)
            assert c["status"] == "UP" and c["c:db"] == "UP" and c["latency"].endswith(" ms")
            assert c["checked"].endswith("s ago") and c["problem"] == ""
        text = screen_text(app)
        assert "SERVICE" in text and "diskSpace" in text and "notification" in text and "5 UP" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        assert [v.spec.target.name for v in mgr.views()] == SERVICES
        assert "ecotrack/svc/user-service" in screen.detail_text and "via pod ecotrack/user-service-abc12" in \
            screen.detail_text


async def test_one_down_after_a_rerun_in_the_critical_colour(monkeypatch):
    app, _s, mgr, act = make_app(monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        act.down.add("order-service")
        await pilot.press(key("health_rerun"))
        for _ in range(40):
            await pilot.pause(0.05)
            if cells(screen, "order-service")["status"] == "DOWN":
                break
        c = cells(screen, "order-service")
        assert c["status"] == "DOWN" and c["c:db"] == "DOWN" and c["c:redis"] == "UP"
        assert c["problem"].startswith("db DOWN: CannotGetJdbcConnectionException")
        assert screen.table.get_cell("order-service", "status").style == app.cell_styles["critical"]
        assert all(cells(screen, s)["status"] == "UP" for s in SERVICES if s != "order-service")
        assert "4 UP 1 DOWN" in screen_text(app)
        screen.table.move_to_key("order-service")
        await pilot.pause(0.1)
        assert "db           DOWN   CannotGetJdbcConnectionException" in screen.detail_text
        assert len(mgr.views()) == 5       # the forwards are reused


async def test_a_forward_that_cannot_start_is_one_error_line(monkeypatch):
    mgr = FakeManager()
    mgr.ready_errors["payment-service"] = "forbidden: user tester cannot create pods/portforward in ecotrack"
    app, _s, mgr, _a = make_app(monkeypatch, mgr=mgr)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        c = cells(screen, "payment-service")
        assert c["status"] == "ERROR" and c["problem"].startswith("port-forward: forbidden: user tester")
        assert screen.table.get_cell("payment-service", "status").style == app.cell_styles["warning"]
        assert cells(screen, "user-service")["status"] == "UP"


async def test_reruns_by_itself_while_visible_and_not_while_covered(monkeypatch):
    app, _s, _m, act = make_app(monkeypatch, HealthSettings(interval_s=0.5))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        runs = screen.grid.runs
        await pilot.pause(1.6)
        assert screen.grid.runs >= runs + 1
        await pilot.press(key("help"))
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        covered = screen.grid.runs
        await pilot.pause(1.5)
        assert screen.grid.runs == covered
        await pilot.press(key("back"))
        await pilot.pause(1.0)
        assert screen.grid.runs > covered


async def test_open_goes_to_the_services_pods_and_logs_to_its_deployment(monkeypatch):
    from ecotui.kinds.registry import by_id
    app, session, _m, _a = make_app(monkeypatch)
    session.objects[("services", "ecotrack", "order-service")] = {"spec": {"selector": {"app": "order-service"}}}
    asked = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        monkeypatch.setattr(app.logs, "request", lambda kind, keys, prev: asked.append((kind, keys, prev)))
        screen.table.move_to_key("order-service")
        await pilot.pause(0.05)
        await pilot.press(key("logs"))
        await pilot.pause(0.05)
        assert asked == [("deployments", ["ecotrack/order-service"], False)]
        await pilot.press(key("open"))
        for _ in range(20):
            await pilot.pause(0.05)
            if isinstance(app.screen, TargetPodsScreen):
                break
        pods = app.screen
        assert isinstance(pods, TargetPodsScreen) and pods.scope_ns == "ecotrack" and pods.origin == \
            "svc/order-service"
        assert by_id("services").id == "services"
        for _ in range(3):                            # the filter is cleared first, then the view closes
            if isinstance(app.screen, HealthScreen):
                break
            await pilot.press(key("back"))
            await pilot.pause(0.1)
        assert app.screen is screen
        screen.table.move_to_key("user-service")      # no Service object: one line, no crash
        await pilot.press(key("open"))
        await pilot.pause(0.2)
        assert isinstance(app.screen, HealthScreen)
        assert any("svc/user-service" in n and "not found" in n for n in app.notices)


async def test_hostile_component_names_and_statuses_are_inert(monkeypatch):
    app, _s, _m, act = make_app(monkeypatch, HealthSettings(services=("user-service",)))
    act.body = {"status": "UP\x1b[2J", "components": {"evil\x1b]52;c;Zm9v\x07": {"status": "DOWN\x1b[31m",
                                                                                  "details": {"error": "x\x1b[1m"}}}}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        text = screen_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "\x1b" not in screen.detail_text
        assert list(screen.table.keys) == ["user-service"]


@pytest.mark.parametrize("width", [80])
async def test_no_manager_is_a_title_line_not_a_crash(monkeypatch, width):
    app, _s, _m, _a = make_app(monkeypatch)

    def broken(w, s):
        raise RuntimeError("forward manager not available")
    monkeypatch.setattr(health_view, "default_grid", broken)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.press(key("health"))
        await pilot.pause(0.3)
        assert isinstance(app.screen, HealthScreen)
        assert "RuntimeError: forward manager not available" in screen_text(app)
        await pilot.press(key("health_rerun"))
        await pilot.pause(0.1)


async def test_marked_deployments_are_the_grid(monkeypatch):
    from ecotui.kinds.registry import by_id
    from ecotui.ui.screens.kind_view import KindScreen
    app, session, mgr, _a = make_app(monkeypatch)
    from ecotui.kube.render import Cell
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        view = app.screen_class(KindScreen)(by_id("deployments"), app._table_cls, app.ui, app.workspace)
        await app.push_screen(view)
        await pilot.pause(0.1)
        table = view.tables["deployments"]
        n = len(table.columns_spec)
        table.apply({k: tuple(Cell(k, k) for _ in range(n)) for k in
                     ("ecotrack/order-service", "ecotrack/user-service", "ecotrack/redis")})
        table.toggle_mark("ecotrack/order-service")
        table.toggle_mark("ecotrack/user-service")
        screen = await open_grid(pilot, app)
        assert list(screen.table.keys) == ["order-service", "user-service"]
        assert [v.spec.target.name for v in mgr.views()] == ["order-service", "user-service"]
