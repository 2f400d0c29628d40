"""[port_forward] dialog and the [port_forwards] pane on a fake manager: offered ports (container / service ports,
TCP only), local port prefilled when free else 0, a non-loopback address warned about, a port in use shown in the
dialog (which stays open), the outcome said in one line; the pane lists forwards and presets with state colours,
updates by version, and its keys start / stop / restart / remove."""
from __future__ import annotations

import socket

from ecotui.forward.model import ForwardState, Target
from ecotui.keymap import load_keymap
from ecotui.kube.writegate import WriteGate
from ecotui.ui.app import EcotuiApp
from ecotui.ui.forward_flow import ForwardDialog, Offer, address_warning, offered_ports, parse_local, parse_port
from ecotui.ui.screens.forwards import ForwardsScreen, human_bytes
from ecotui.workspace import Profile, Workspace
from tests.unit.health_fakes import FakeManager
from test_cockpit import make_session
from ui_fakes import FakeKubeAPI, T0, pilot_until, screen_text

KEYMAP, _ = load_keymap()
POD = {"spec": {"containers": [
    {"name": "app", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 5353, "protocol": "UDP"}]},
    {"name": "side", "ports": [{"containerPort": 9090}, {"containerPort": 8080}]}]}}
SVC = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"port": 53, "protocol": "UDP"},
                          {"name": "metrics", "port": 9100, "targetPort": 9100}]}}
DEPLOY = {"spec": {"template": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8082,
                                                                                     "name": "http"}]}]}}}}


def key(a: str) -> str:
    return KEYMAP.keys_for(a)[0]


def make_app(mgr: FakeManager | None = None):
    session = make_session()
    gate = WriteGate(session.context, False)
    ws = Workspace(Profile(session.context, session.namespace), session, gate, FakeKubeAPI(gate), "tester")
    mgr = mgr or FakeManager()
    ws._forwards = mgr
    session.objects[("pods", "ecotrack", "web-1")] = POD
    return EcotuiApp(ws, clock=lambda: T0 + 65, poll_interval=0.05), session, mgr


async def wait_for(pilot, pred, n=40):
    return await pilot_until(pilot, pred, n=n)


# ---- pure parts --------------------------------------------------------------------------------------------

def test_offered_ports_tcp_only_in_order():
    assert offered_ports("pods", POD) == [Offer(8080, "8080/http (container app)"), Offer(9090, "9090 (container side)")]
    assert offered_ports("services", SVC) == [Offer(80, "80/http → http"), Offer(9100, "9100/metrics")]
    assert offered_ports("deployments", DEPLOY) == [Offer(8082, "8082/http (container app)")]
    assert offered_ports("statefulsets", {"spec": {}}) == [] and offered_ports("pods", None) == []


def test_parsing_and_the_address_warning():
    assert parse_port("8080") == 8080 and parse_port("http") == "http"
    for bad in ("0", "70000", "", "a b", "-x"):
        try:
            parse_port(bad)
        except ValueError as exc:
            assert str(exc).startswith("target port:")
        else:
            raise AssertionError(bad)
    assert parse_local("") == 0 and parse_local("3000") == 3000
    assert address_warning("127.0.0.1") == "" and address_warning("localhost") == ""
    assert address_warning("0.0.0.0").startswith("! 0.0.0.0 is not loopback")
    assert human_bytes(10) == "10B" and human_bytes(1536) == "1.5K" and human_bytes(5 << 20) == "5.0M"


# ---- the dialog --------------------------------------------------------------------------------------------

async def test_forward_from_a_pod_row_prefills_and_starts():
    app, session, mgr = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press(key("focus_pods"))
        app.cockpit.tables["pods"].move_to_key("ecotrack/web-1")
        await pilot.pause(0.05)
        await pilot.press(key("port_forward"))
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ForwardDialog) and app.screen)
        local = dialog.query_one("#fwd-local").value
        assert local in ("8080", "0")              # 8080 when free here
        with socket.socket() as s:                 # hold 9090: picking it prefills 0
            s.bind(("127.0.0.1", 0))
            dialog._free = lambda n: n != 9090
            await pilot.press("down")
            await pilot.pause(0.05)
            assert dialog.query_one("#fwd-local").value == "0"
            await pilot.press("up")
            await pilot.pause(0.05)
        text = screen_text(app)
        assert "Port-forward ecotrack/pod/web-1" in text and "8080/http (container app)" in text
        assert "5353" not in text                  # UDP is not offered
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ForwardDialog))
        v = mgr.views()[0]
        assert v.spec.target == Target("pod", "ecotrack", "web-1") and v.spec.port == 8080
        assert v.spec.address == "127.0.0.1"
        await wait_for(pilot, lambda: any("forwarding 127.0.0.1:" in n for n in app.notices))
        line = next(n for n in app.notices if "forwarding" in n)
        assert "→ ecotrack/pod/web-1:8080 (pod web-1-abc12)" in line


async def test_port_in_use_stays_in_the_dialog_and_non_loopback_warns():
    mgr = FakeManager()
    app, session, mgr = make_app(mgr)
    session.objects[("services", "ecotrack", "user-service")] = SVC
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        from ecotui.ui.forward_flow import request_forward
        request_forward(app, "services", ["ecotrack/user-service"])
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ForwardDialog) and app.screen)
        mgr.start_errors["user-service"] = "127.0.0.1:3000 is in use (Address already in use)"
        dialog.query_one("#fwd-local").value = "3000"
        dialog.query_one("#fwd-address").value = "0.0.0.0"
        await pilot.pause(0.05)
        assert dialog.warning.startswith("! 0.0.0.0 is not loopback")
        dialog.query_one("#fwd-local").focus()
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert isinstance(app.screen, ForwardDialog)
        assert dialog.error == "127.0.0.1:3000 is in use (Address already in use)"
        assert "127.0.0.1:3000 is in use" in screen_text(app)
        del mgr.start_errors["user-service"]
        dialog.query_one("#fwd-local").value = "abc"
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert dialog.error.startswith("local port: a number")
        dialog.query_one("#fwd-local").value = "0"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ForwardDialog))
        v = mgr.views()[0]
        assert v.spec.target == Target("service", "ecotrack", "user-service") and v.spec.port == 80
        assert v.spec.address == "0.0.0.0"
        await wait_for(pilot, lambda: any("forwarding 0.0.0.0:" in n and "not loopback" in n for n in app.notices))


async def test_wrong_kind_missing_object_and_failure_are_one_line():
    mgr = FakeManager()
    app, session, mgr = make_app(mgr)
    session.objects[("deployments", "ecotrack", "order-service")] = DEPLOY
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        from ecotui.ui.forward_flow import request_forward
        request_forward(app, "nodes", ["node-a"])
        request_forward(app, "pods", ["ecotrack/nope"])
        await wait_for(pilot, lambda: any("not found" in n for n in app.notices))
        assert any("pick a pod, a Service, a Deployment or a StatefulSet" in n for n in app.notices)
        mgr.ready_errors["order-service"] = "no ready pod for deployment ecotrack/order-service"
        request_forward(app, "deployments", ["ecotrack/order-service"])
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("no ready pod for deployment" in n for n in app.notices))
        assert any(n.startswith("error: port-forward ecotrack/deploy/order-service:8082: no ready pod") for n in
                   app.notices)


# ---- the pane ----------------------------------------------------------------------------------------------

async def open_pane(pilot, app) -> ForwardsScreen:
    await pilot.pause(0.1)
    await pilot.press(key("port_forwards"))
    return await wait_for(pilot, lambda: isinstance(app.screen, ForwardsScreen) and app.screen)


async def test_pane_lists_forwards_and_presets_with_state_colours():
    from ecotui.forward.model import ForwardSpec
    mgr = FakeManager()
    app, session, mgr = make_app(mgr)
    spec = ForwardSpec("test-ctx", Target("service", "ecotrack", "user-service"), 80, 8080)
    async with app.run_test(size=(80, 24)) as pilot:
        fid = mgr.start(spec)
        await mgr.wait_ready(fid)
        mgr.set(fid, connections=2, total_connections=7, bytes_in=2048, bytes_out=100, since=T0)
        screen = await open_pane(pilot, app)
        t = screen.table
        assert t.keys[0] == fid
        assert [k for k in t.keys[1:]] == ["preset:grafana", "preset:prometheus", "preset:loki", "preset:tempo"]
        cells = {k: str(t.get_cell(fid, k)) for k, _ in t.columns_spec}
        assert cells["target"] == "ecotrack/svc/user-service:80" and cells["local"] == "127.0.0.1:8080"
        assert cells["state"] == "ACTIVE" and cells["pod"] == "user-service-abc12:8080"
        assert cells["conns"] == "2/7" and cells["bytes"] == "2.0K/100B" and cells["since"] == "65s"
        assert t.get_cell(fid, "state").style == app.cell_styles["ok"]
        assert str(t.get_cell("preset:grafana", "state")) == "PRESET"
        assert str(t.get_cell("preset:grafana", "local")) == "127.0.0.1:3000"
        text = screen_text(app)
        assert "port-forwards" in text and "1 active" in text and "4 presets not started" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        assert "pod ecotrack/user-service-abc12 port 8080" in screen.detail_text
        # the manager changes: the row follows (version polled)
        mgr.set(fid, state=ForwardState.RECONNECTING, pod=None, error="pod ecotrack/user-service-abc12 deleted",
                reconnects=1)
        await wait_for(pilot, lambda: str(t.get_cell(fid, "state")) == "RECONNECTING ↻1")
        assert t.get_cell(fid, "state").style == app.cell_styles["warning"]
        assert str(t.get_cell(fid, "error")) == "pod ecotrack/user-service-abc12 deleted"
        mgr.set(fid, state=ForwardState.FAILED)
        await wait_for(pilot, lambda: t.get_cell(fid, "state").style == app.cell_styles["critical"])


async def test_pane_keys_start_stop_restart_remove():
    mgr = FakeManager()
    app, session, mgr = make_app(mgr)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_pane(pilot, app)
        t = screen.table
        t.move_to_key("preset:grafana")
        await pilot.pause(0.05)
        await pilot.press(key("forward_stop"))
        await pilot.pause(0.05)
        assert any("preset grafana is not started" in n for n in app.notices)
        await pilot.press(key("forward_start"))
        await wait_for(pilot, lambda: any("forwarding 127.0.0.1:3000 → observability/svc/grafana:80" in n
                                          for n in app.notices))
        fid = mgr.views()[0].id
        await wait_for(pilot, lambda: "preset:grafana" not in t.keys and fid in t.keys)
        assert mgr.views()[0].spec.name == "grafana"
        t.move_to_key(fid)
        await pilot.pause(0.05)
        await pilot.press(key("forward_stop"))
        await wait_for(pilot, lambda: str(t.get_cell(fid, "state")) == "STOPPED")
        assert ("stop", fid) in mgr.calls
        await pilot.press(key("forward_start"))             # a stopped forward starts again
        await wait_for(pilot, lambda: ("restart", fid) in mgr.calls and str(t.get_cell(fid, "state")) == "ACTIVE")
        await pilot.press(key("forward_restart"))
        await wait_for(pilot, lambda: mgr.calls.count(("restart", fid)) == 2)
        await pilot.press(key("forward_remove"))
        await wait_for(pilot, lambda: fid not in t.keys and "preset:grafana" in t.keys)
        assert ("remove", fid) in mgr.calls


async def test_pane_manager_failure_is_a_title_line():
    app, session, mgr = make_app()
    ws = app.workspace
    ws._forwards = None
    import ecotui.workspace as W
    orig = W.Workspace.forwards
    try:
        W.Workspace.forwards = property(lambda self: (_ for _ in ()).throw(ImportError("no module named manager")))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pane(pilot, app)
            assert screen.error == "port-forwards unavailable: ImportError: no module named manager"
            assert "port-forwards unavailable: ImportError" in screen_text(app)
            await pilot.press(key("forward_start"))
            await pilot.pause(0.05)
    finally:
        W.Workspace.forwards = orig
