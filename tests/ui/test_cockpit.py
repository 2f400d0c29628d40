"""The cockpit against a scriptable FakeSession: panes, filter, sort, drill-down, describe, header."""
from __future__ import annotations

import time

import pytest

from ecotui.kube.store import Connection, ConnState
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.text_view import DescribeScreen
from ui_fakes import T0, FakeSession, event, node, pod, screen_text, workspace

SIZES = [(80, 24), (200, 50)]


def make_session(**kw) -> FakeSession:
    s = FakeSession(**kw)
    s.set_nodes([node("node-a"), node("node-b", cordoned=True, pressure="MemoryPressure"),
                 node("node-c", ready=False)])
    s.set_pods([
        pod("web-1", node="node-a", labels={"app": "web", "tier": "front"}, ip="10.0.0.11"),
        pod("web-2", node="node-b", labels={"app": "web", "tier": "front"}, ip="10.0.0.12"),
        pod("api-1", node="node-a", labels={"app": "api", "tier": "back"}, ip="10.0.0.21"),
        pod("crash-1", node="node-b", labels={"app": "pay"}, waiting="CrashLoopBackOff", restarts=7,
            last_reason="OOMKilled"),
        pod("pull-1", node="node-a", labels={"app": "img"}, waiting="ImagePullBackOff"),
    ])
    s.set_events([
        event("e-normal", reason="Pulled", message="pulled image", last="2023-11-14T22:10:00Z"),
        event("e-old-warn", type_="Warning", reason="BackOff", obj="crash-1", message="back-off",
              last="2023-11-14T21:00:00Z"),
        event("e-new-warn", type_="Warning", reason="FailedPull", obj="pull-1", message="pull failed",
              last="2023-11-14T22:00:00Z"),
    ])
    s.set_namespaces(["default", "ecotrack", "observability"])
    return s


def make_app(session: FakeSession, *, readonly: bool = False, **kw) -> EcotuiApp:
    kw.setdefault("clock", lambda: T0)
    kw.setdefault("poll_interval", 0.05)
    return EcotuiApp(workspace(session, readonly=readonly), **kw)


def table(app: EcotuiApp, name: str):
    return app.cockpit.tables[name]


def column(app: EcotuiApp, pane: str, col: str) -> list[str]:
    t = table(app, pane)
    return [str(t.get_cell(k, col)) for k in t.keys]


@pytest.mark.parametrize("size", SIZES)
async def test_panes_fill_and_render(size):
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        pods = table(app, "pods")
        assert pods.keys == sorted(s.snapshot("pods").items)
        status = dict(zip(pods.keys, column(app, "pods", "status")))
        assert status["ecotrack/crash-1"] == "CrashLoopBackOff"
        assert status["ecotrack/pull-1"] == "ImagePullBackOff"
        assert status["ecotrack/web-1"] == "Running"
        nodes = dict(zip(table(app, "nodes").keys, column(app, "nodes", "status")))
        assert nodes == {"node-a": "Ready", "node-b": "Ready,SchedulingDisabled", "node-c": "NotReady"}
        counts = dict(zip(table(app, "nodes").keys, column(app, "nodes", "pods")))
        assert counts == {"node-a": "3", "node-b": "2", "node-c": "0"}
        # events: warnings first, newest first
        assert table(app, "events").keys == ["ecotrack/e-new-warn", "ecotrack/e-old-warn", "ecotrack/e-normal"]
        text = screen_text(app)
        assert "ctx test-ctx" in text and "● live" in text
        assert "CrashLoopBackOff" in text
        assert len(text.splitlines()) == size[1]
        assert app.export_screenshot()          # renders without exceptions


async def test_one_namespace_hides_namespace_column():
    s = make_session(namespace="ecotrack")
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [k for k, _ in table(app, "pods").shown_columns][:2] == ["name", "ready"]
        assert "ns ecotrack" in app.cockpit.query_one("#header").plain


async def test_live_updates_keep_cursor_and_match_snapshot():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pods = table(app, "pods")
        pods.move_to_key("ecotrack/web-1")
        items = dict(s.snapshot("pods").items)
        for i in range(20):                      # rows sorting before web-1 arrive
            items[f"ecotrack/aaa-{i:02d}"] = pod(f"aaa-{i:02d}")
        items["ecotrack/web-1"] = pod("web-1", node="node-a", waiting="CrashLoopBackOff", restarts=2)
        del items["ecotrack/api-1"]
        s.set_items("pods", items)
        await pilot.pause(0.2)
        assert pods.cursor_key == "ecotrack/web-1"
        assert pods.keys == sorted(items)
        assert str(pods.get_cell("ecotrack/web-1", "status")) == "CrashLoopBackOff"


@pytest.mark.parametrize("size", SIZES)
async def test_filter_text_then_selector_then_clear(size):
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await pilot.press(*"crash")
        await pilot.press("enter")
        await pilot.pause()
        assert table(app, "pods").keys == ["ecotrack/crash-1"]
        assert "filter: crash" in app.cockpit.panes["pods"].title_text
        assert app.focused is table(app, "pods")
        # label selector
        await pilot.press("slash", "ctrl+u")
        await pilot.press(*"tier=front")
        await pilot.press("enter")
        await pilot.pause()
        assert table(app, "pods").keys == ["ecotrack/web-1", "ecotrack/web-2"]
        # escape clears the filter
        await pilot.press("escape")
        await pilot.pause()
        assert len(table(app, "pods").keys) == 5


async def test_bad_selector_shows_message_and_keeps_bar_open():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await pilot.press(*"app in (a")
        await pilot.press("enter")
        await pilot.pause()
        msg = str(app.cockpit.query_one("#filter-msg").render())
        assert "label selector" in msg and "')'" in msg
        assert app.cockpit.filter_open
        await pilot.press("escape")
        await pilot.pause()
        assert not app.cockpit.filter_open
        assert len(table(app, "pods").keys) == 5


async def test_filter_applies_to_focused_pane():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("1", "slash", *"node-c", "enter")
        await pilot.pause()
        assert table(app, "nodes").keys == ["node-c"]
        assert len(table(app, "pods").keys) == 5


async def test_sort_key_cycles_columns():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pods = table(app, "pods")
        pods.move_to_key("ecotrack/web-2")
        n = len(pods.shown_columns)
        names = [k for k, _ in pods.shown_columns]
        await pilot.press(*["s"] * (names.index("restarts") + 1))
        await pilot.pause()
        assert pods.sort_label == "RESTARTS↑"
        assert pods.keys[-1] == "ecotrack/crash-1"
        assert "sort: RESTARTS↑" in app.cockpit.panes["pods"].title_text
        assert pods.cursor_key == "ecotrack/web-2"
        await pilot.press("S")
        assert pods.keys[0] == "ecotrack/crash-1"
        assert n == 8


async def test_enter_on_node_shows_its_pods_and_back_returns():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("1")
        table(app, "nodes").move_to_key("node-b")
        await pilot.press("enter")
        await pilot.pause()
        assert table(app, "pods").keys == ["ecotrack/crash-1", "ecotrack/web-2"]
        assert "node: node-b" in app.cockpit.panes["pods"].title_text
        assert app.focused is table(app, "pods")
        await pilot.press("escape")
        await pilot.pause()
        assert len(table(app, "pods").keys) == 5
        assert app.focused is table(app, "nodes")
        assert table(app, "nodes").cursor_key == "node-b"


async def test_describe_pod_shows_state_last_termination_and_events():
    s = make_session()
    s.events_for_pods[("ecotrack", "crash-1")] = [
        event("e-x", type_="Warning", reason="BackOff", obj="crash-1", message="Back-off restarting failed")]
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table(app, "pods").move_to_key("ecotrack/crash-1")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        scr = app.screen
        assert isinstance(scr, DescribeScreen)
        assert s.pod_events_calls == [("ecotrack", "crash-1")]
        assert "CrashLoopBackOff" in scr.text
        assert "OOMKilled" in scr.text
        assert "Back-off restarting failed" in scr.text
        assert "OOMKilled" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, DescribeScreen)


async def test_describe_node():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("1")
        table(app, "nodes").move_to_key("node-b")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DescribeScreen)
        assert "node-b" in app.screen.text
        assert "crash-1" in app.screen.text      # its pods are listed


@pytest.mark.parametrize(("conn", "expected"), [
    (Connection(ConnState.STALE, T0), "stale since 22:13:20"),
    (Connection(ConnState.RECONNECTING, T0), "reconnecting"),
    (Connection(ConnState.ERROR, T0, "pods: forbidden"), "error: pods: forbidden"),
])
async def test_header_connection_states(conn, expected, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        s = make_session()
        app = make_app(s, readonly=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            s.set_connection(conn)
            await pilot.pause(0.2)
            header = app.cockpit.query_one("#header").plain
            assert expected in header
            assert "RO" in header
            assert expected in screen_text(app).splitlines()[0]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_start_failure_shows_in_header_not_crash():
    from ecotui.errors import ConnectError

    s = make_session(start_error=ConnectError("connection to https://127.0.0.1:1 refused"))
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "error: connection to https://127.0.0.1:1 refused" in app.cockpit.query_one("#header").plain


async def test_namespace_switch_by_command_and_picker():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"ns ecotrack", "enter")
        await app.workers.wait_for_complete()
        assert s.namespace_calls == ["ecotrack"]
        await pilot.press("colon", *"ns nope", "enter")
        await pilot.pause()
        assert s.namespace_calls == ["ecotrack"]
        assert any("namespace 'nope' not found" in n for n in app.notices)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("home", "enter")          # first entry: "all"
        await app.workers.wait_for_complete()
        assert s.namespace_calls == ["ecotrack", None]


async def test_context_switch_builds_new_session_and_stops_old():
    old = make_session(context="ctx-a")
    new = make_session(context="ctx-b")
    built: list[str] = []

    def factory(name: str):
        built.append(name)
        return workspace(new)

    app = make_app(old, contexts=["ctx-a", "ctx-b"], workspace_factory=factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert built == ["ctx-b"]
        assert app.session is new and new.started and old.stopped
        assert "ctx ctx-b" in app.cockpit.query_one("#header").plain
        await pilot.press("colon", *"ctx nope", "enter")
        await pilot.pause()
        assert any("unknown context 'nope'" in n for n in app.notices)


async def test_theme_switch_key_command_and_unknown():
    s = make_session()
    app = make_app(s, theme="dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "dark"
        critical_before = app.cell_styles["critical"]
        await pilot.press("T")
        await pilot.pause()
        assert app.theme != "dark"
        await pilot.press("colon", *"theme light", "enter")
        await pilot.pause()
        assert app.theme == "light"
        assert app.current_theme.dark is False
        assert app.cell_styles["critical"] != critical_before
        cell = table(app, "pods").get_cell("ecotrack/crash-1", "status")
        assert cell.__rich__().style == app.cell_styles["critical"]
        await pilot.press("colon", *"theme nope", "enter")
        await pilot.pause()
        assert app.theme == "light"
        assert any("unknown theme 'nope'" in n for n in app.notices)


async def test_ansi16_theme_is_ansi():
    s = make_session()
    app = make_app(s, theme="ansi16")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "ansi16"
        assert app.current_theme.ansi is True
        assert app.export_screenshot()


async def test_command_prompt_bad_command_and_quit():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"frobnicate", "enter")
        await pilot.pause()
        assert any("unknown command 'frobnicate'" in n for n in app.notices)
        await pilot.press("colon", "q", "enter")
        await pilot.pause()
    assert app.return_code == 0


async def test_focus_keys_make_the_pane_taller_at_80x24():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        h_pods = app.cockpit.panes["pods"].size.height
        assert h_pods > app.cockpit.panes["nodes"].size.height
        await pilot.press("3")
        await pilot.pause()
        assert app.focused is table(app, "events")
        assert app.cockpit.panes["events"].size.height > app.cockpit.panes["pods"].size.height


async def test_rendering_bug_keeps_cockpit_alive_and_is_logged(tmp_path):
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        good = dict(s.snapshot("pods").items)
        s.set_items("pods", {**good, "ecotrack/broken": object()})      # not a Pod: render fails
        await pilot.pause(0.2)
        assert app.is_running
        header = app.cockpit.query_one("#header").plain
        assert "internal error: AttributeError" in header
        logs = list((tmp_path / "state" / "ecotui").glob("ecotui-crash-*.log"))
        assert len(logs) == 1 and "Traceback" in logs[0].read_text()
        s.set_items("pods", good)
        await pilot.pause(0.2)
        assert "internal error" not in app.cockpit.query_one("#header").plain
        assert table(app, "pods").keys == sorted(good)
