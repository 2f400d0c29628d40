"""The key-metrics grid and the PromQL screen against a mock Prometheus: cells by level, the detail follows the
cursor and the workload the user was on, refreshes pause while covered and stop when closed, 80×24 fits,
hostile labels render inert, and the failure texts."""
from __future__ import annotations

import re
import urllib.parse

import httpx

from ecotui.keymap import load_keymap
from ecotui.metrics.levels import Level
from ecotui.metrics.prom import PromClient, PromConfig
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.metrics_view import MetricsScreen
from ecotui.ui.screens.promql import PromqlScreen
from ecotui.ui.screens.text_view import HelpScreen
from ecotui.workspace import Profile, Workspace
from test_cockpit import make_session
from ui_fakes import FakeKubeAPI, FakeSession, T0, pod, screen_text
from ecotui.kube.writegate import WriteGate

KEYMAP, _ = load_keymap()
SERVICES = ["user-service", "product-service", "order-service", "payment-service", "notification-service"]


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


class PromWorkspace(Workspace):
    def __init__(self, session, client: PromClient | None, metrics=None) -> None:
        gate = WriteGate(session.context, False)
        super().__init__(Profile(session.context, session.namespace, metrics=metrics), session, gate,
                         FakeKubeAPI(gate), "tester")
        self._client = client

    @property
    def prometheus(self):
        return self._client


def prom(log: list[str] | None = None) -> PromClient:
    def handler(req: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(req.content.decode()))
        q = form["query"]
        if log is not None and 'namespace="ecotrack"' in q:   # the grid's queries (not top's fallback)
            log.append(q)
        if q.startswith("bad"):
            return httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                                             "error": 'invalid parameter "query": 1:4: parse error: unexpected end'})
        if req.url.path.endswith("query_range"):
            start = float(form["start"])
            m = re.search(r'app=~"([^"]*)"', q)
            apps = m.group(1).split("|") if m else ["x\x1b[31m"]     # the grid's, or a hostile label
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"app": a}, "values": [[start + 60 * i, str(i)] for i in range(30)]} for a in apps]}})
        if q.startswith("sum by (app)(rate(x{"):     # typed at the PromQL prompt
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"app": "evil\x1b]52;c;Zm9v\x07"}, "value": [T0, "4"]},
                {"metric": {"app": "payment-service"}, "value": [T0, "7"]}]}})
        m = re.search(r'app=~"([^"]*)"', q)     # a grid query: one series per service
        apps = m.group(1).split("|") if m else [""]

        def value(app: str) -> str:
            if "5.." in q:
                return "0.3" if app == "payment-service" else "0.004"
            return "0.25" if "histogram_quantile" in q else "0.004"
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"app": a} if a else {}, "value": [T0, value(a)]} for a in apps]}})
    return PromClient(PromConfig("http://127.0.0.1:9"), transport=httpx.MockTransport(handler))


def app_with(client, metrics=None, session: FakeSession | None = None) -> EcotuiApp:
    return EcotuiApp(PromWorkspace(session or make_session(), client, metrics), clock=lambda: T0, poll_interval=0.05)


async def open_grid(pilot, app) -> MetricsScreen:
    await pilot.pause()
    await pilot.press(key("metrics"))
    for _ in range(50):
        await pilot.pause(0.05)
        if isinstance(app.screen, MetricsScreen) and app.screen.snapshot.refreshes:
            return app.screen
    raise AssertionError("no metrics screen with a refresh")


async def test_grid_levels_detail_and_cursor():
    app = app_with(prom(), {"refresh_s": 60})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        assert screen.panels_refreshing == 25 and screen.requests == 10    # a grid query per panel
        snap = screen.snapshot
        assert snap.reading("payment-service", "err").level is Level.CRIT
        assert snap.reading("user-service", "err").level is Level.OK
        cell = screen.grid.get_cell("payment-service", "err")
        assert cell.plain == "30.0 %" and cell.style == app.cell_styles["critical"]
        text = screen_text(app)
        for title in ("req/s", "5xx", "p95", "heap", "db pool"):
            assert title in text
        assert "notification" in text and "key metrics" in text
        detail = str(screen.query_one("#metrics-detail").render())
        assert detail.startswith("user-service") and "warn≥1.0 % crit≥5.0 %" in detail and "▁" in detail
        await pilot.press(key("cursor_down"))
        await pilot.pause(0.05)
        assert screen.selected == "product-service"
        assert str(screen.query_one("#metrics-detail").render()).startswith("product-service")


async def test_follows_the_workload_under_the_cursor():
    session = make_session()
    session.set_pods([pod("payment-service-7d9f-x2k4q", labels={"app": "payment-service"}),
                      pod("user-service-5c-abcde", labels={"app": "user-service"})])
    app = app_with(prom(), {"refresh_s": 60}, session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press(key("focus_pods"))
        table = app.cockpit.tables["pods"]
        table.move_to_key("ecotrack/payment-service-7d9f-x2k4q")
        await pilot.pause(0.05)
        screen = await open_grid(pilot, app)
        assert screen.selected == "payment-service"
        assert screen.grid.cursor_row == SERVICES.index("payment-service")


async def test_refresh_pauses_while_covered_and_stops_when_closed():
    log: list[str] = []
    app = app_with(prom(log), {"refresh_s": 1, "range_refresh_s": 3600})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        await pilot.press(key("help"))
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen) and screen.refresher.paused
        n = len(log)
        await pilot.pause(1.5)
        assert len(log) == n                      # nothing while covered
        await pilot.press(key("back"))
        await pilot.pause(0.3)
        assert not screen.refresher.paused and len(log) > n
        await pilot.press(key("back"))
        await pilot.pause(0.2)
        assert app.screen is app.cockpit and screen.refresher._task is None
        n = len(log)
        await pilot.pause(1.3)
        assert len(log) == n


async def test_broken_panel_and_no_prometheus():
    app = app_with(prom(), {"refresh_s": 60, "panels": [{"id": "err"}, {"id": "b", "title": "broken", "query": "bad("}]})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        r = screen.snapshot.reading("user-service", "b")
        assert r.level is Level.ERROR and r.text == "error" and "parse error" in r.error
        assert "parse error: unexpected end" in str(screen.query_one("#metrics-detail").render())
    app = app_with(None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        assert "no Prometheus configured" in str(screen.query_one("#metrics-title").render())
        assert screen.grid.get_cell("user-service", "err").plain == "off"


async def test_promql_table_sparklines_errors_and_inert_labels():
    app = app_with(prom())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("promql"))
        await pilot.pause(0.1)
        await pilot.press(*'sum by (app)(rate(x{namespace="n"}[5m]))', "enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, PromqlScreen) and app.screen.done:
                break
        screen = app.screen
        assert isinstance(screen, PromqlScreen) and screen.done
        lines = screen.text.splitlines()
        assert lines[0] == "2 series now" and lines[1].split() == ["APP", "VALUE"]
        assert lines[2].split() == ["payment-service", "7"]       # highest first
        assert "\x1b" not in screen.text and "\x07" not in screen.text
        assert "last 30 min" in screen.text and "▁" in screen.text
        await pilot.press(key("promql"))
        await pilot.pause(0.1)
        assert app.screen.query_one("#prompt-input").value.startswith("sum by (app)")   # prefilled
        await pilot.press(key("clear_filter"), *"bad(", "enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, PromqlScreen) and app.screen.expr == "bad(" and app.screen.done:
                break
        assert app.screen.text.startswith('error: invalid parameter "query": 1:4: parse error')
    app = app_with(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("promql"))
        await pilot.pause(0.1)
        await pilot.press("u", "p", "enter")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, PromqlScreen)
        assert any("no Prometheus configured" in n for n in app.notices)


def test_hostile_service_names_cannot_break_queries():
    from ecotui.metrics.panels import parse_metrics
    cfg = parse_metrics(None)
    q = cfg.expr(cfg.panels[0], 'x"} or vector(1) #')
    assert '"x\\"} or vector(1) #"' in q


async def test_a_resize_asks_the_sparklines_again_at_the_new_width():
    app = app_with(prom(), {"refresh_s": 60, "range_refresh_s": 3600})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_grid(pilot, app)
        for _ in range(40):
            if screen.km.range_columns:
                break
            await pilot.pause(0.05)
        assert screen.km.range_columns == 80 - 52
        n = screen.snapshot.refreshes
        await pilot.resize_terminal(140, 30)
        for _ in range(60):
            await pilot.pause(0.05)
            if screen.snapshot.refreshes > n and screen.km.range_columns == 140 - 52:
                break
        assert screen.km.range_columns == 140 - 52                 # asked again, well before refresh_s
        assert len(screen.snapshot.reading("user-service", "err").history) == 140 - 52


async def test_a_failing_promql_run_shows_its_error_not_running(monkeypatch):
    from ecotui.ui.screens import promql

    def broken(*a, **k):
        raise ValueError("boom in the renderer")
    monkeypatch.setattr(promql, "result_text", broken)
    app = app_with(prom())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("promql"))
        await pilot.pause(0.1)
        await pilot.press("u", "p", "enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, PromqlScreen) and app.screen.done:
                break
        screen = app.screen
        assert isinstance(screen, PromqlScreen) and screen.done
        assert screen.text == "promql failed: ValueError: boom in the renderer"
        assert "running…" not in screen_text(app) and "boom in the renderer" in screen_text(app)
