"""Opening logs from the cockpit and the kind views: which Selection each row gives, the container picker,
the LogQL prompt, the source switch, and a clear line when no source can serve."""
from __future__ import annotations

import pytest

import ecotui.ui.logs_flow as flow
from ecotui.keymap import load_keymap
from ecotui.logs.model import Selection
from ecotui.logs.open import Opened
from ecotui.ui.app import EcotuiApp
from ecotui.ui.logs_flow import query_selection, selection_for
from ecotui.ui.screens.logs import LogScreen
from ecotui.ui.screens.pickers import PickerScreen, PromptScreen
from test_cockpit import make_session
from test_log_view import FakeSource
from ui_fakes import T0, workspace

KEYMAP, _ = load_keymap()


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


def test_selection_for_each_kind():
    assert selection_for("pods", ["ns/a"], previous=False, namespace=None)[0] == Selection(pods=("ns/a",))
    sel, title = selection_for("deployments", ["ecotrack/user-service"], previous=True, namespace=None)
    assert sel.workload == ("deployments", "ecotrack/user-service") and sel.previous and not sel.follow
    assert "previous logs of deployment ecotrack/user-service" == title
    assert selection_for("nodes", ["n1"], previous=False, namespace=None)[0].node == "n1"
    assert selection_for("namespaces", ["ecotrack"], previous=False, namespace=None)[0].namespace == "ecotrack"
    with pytest.raises(ValueError, match="pick a pod"):
        selection_for("configmaps", ["ns/c"], previous=False, namespace=None)
    assert query_selection('{app="x"} |= "error"', None)[0].logql == '{app="x"} |= "error"'
    assert query_selection("app=x", "ecotrack")[0] == Selection(selector="app=x", namespace="ecotrack")


@pytest.fixture
def opened(monkeypatch):
    calls: list[tuple[Selection, str | None]] = []

    async def fake_open(sel, *, loki, kube_client, prefer=None):
        src = FakeSource("loki" if prefer != "kubernetes" else "kubernetes")
        calls.append((sel, prefer))

        async def close():
            return None
        return Opened(src, "", close)
    monkeypatch.setattr(flow, "open_source", fake_open)
    return calls


def make_app(session):
    return EcotuiApp(workspace(session), clock=lambda: T0, poll_interval=0.05)


async def test_logs_key_on_a_pod_opens_the_viewer_and_switches_source(opened):
    app = make_app(make_session())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_pods"))
        cursor = app.cockpit.tables["pods"].cursor_key
        await pilot.press(key("logs"))
        await pilot.pause(0.2)
        assert isinstance(app.screen, LogScreen)
        assert opened[-1][0] == Selection(pods=(cursor,))
        assert app.screen.source.name == "loki"
        await pilot.press(KEYMAP.keys_for("logs_source")[0])
        await pilot.pause(0.2)
        assert opened[-1][1] == "kubernetes" and app.screen.source.name == "kubernetes"
        await pilot.press(key("back"))
        await pilot.pause(0.1)
        assert app.screen is app.cockpit and not app.logs.opened


async def test_previous_logs_and_node_logs(opened):
    app = make_app(make_session())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"), key("logs"))
        await pilot.pause(0.2)
        assert opened[-1][0].node == "node-a"
        await pilot.press(key("back"), key("focus_pods"), key("logs_previous"))
        await pilot.pause(0.2)
        assert opened[-1][0].previous and not opened[-1][0].follow


async def test_container_picker_for_a_pod_with_several_containers(opened):
    from ecotui.kube.models import Container
    s = make_session()
    pods = dict(s.snapshot("pods").items)
    key0 = sorted(pods)[0]
    p = pods[key0]
    import msgspec
    pods[key0] = msgspec.structs.replace(p, spec=msgspec.structs.replace(
        p.spec, containers=(Container(name="app"), Container(name="istio-proxy"))))
    s.set_items("pods", pods)
    app = make_app(s)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_pods"))
        assert app.cockpit.tables["pods"].move_to_key(key0)
        await pilot.press(key("logs"))
        await pilot.pause(0.1)
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.names == ["(all containers)", "app", "istio-proxy"]
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.2)
        assert opened[-1][0] == Selection(pods=(key0,), container="istio-proxy")


async def test_logs_query_prompt(opened):
    app = make_app(make_session())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("logs_query"))
        await pilot.pause(0.1)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*'{app="user-service"}', "enter")
        await pilot.pause(0.2)
        assert opened[-1][0].logql == '{app="user-service"}'


async def test_no_source_is_one_clear_line():
    app = make_app(make_session())   # no Loki configured, and the fake session has no API client
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_pods"), key("logs"))
        await pilot.pause(0.2)
        assert app.screen is app.cockpit
    assert any("cannot stream logs from the Kubernetes API" in n for n in app.notices)
