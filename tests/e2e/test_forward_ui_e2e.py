"""[port_forward] from the services view (`:svc`) through the real app on the testbed: the dialog offers
user-service's Service port 80/http, the forward starts, [port_forwards] lists it ACTIVE with the pod behind it,
and a GET through its local port returns the service's health JSON; stop and restart from the pane keep the same
local port and work again."""
from __future__ import annotations

import httpx
import pytest

from ecotui.forward.model import ForwardState, Target
from ecotui.keymap import load_keymap
from ecotui.ui.forward_flow import ForwardDialog
from ecotui.ui.screens.forwards import ForwardsScreen
from ecotui.ui.screens.kind_view import KindScreen
from e2e_app import make_app, wait

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
SVC = "ecotrack/user-service"


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


async def get_health(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as c:
        return await c.get(url + "/actuator/health")


async def test_forward_a_service_from_its_row_and_manage_it_in_the_pane(testbed, tmp_path):
    from ecotui.ops.journal import Journal
    app = make_app(testbed, journal=Journal(tmp_path / "journal.jsonl"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press(key("command"))
        await pilot.press(*"svc", "enter")
        screen = await wait(pilot, lambda: isinstance(app.screen, KindScreen) and app.screen.kind == "services"
                            and SVC in app.screen.table.keys and app.screen, 20, "services view with user-service")
        assert screen.table.move_to_key(SVC)
        await pilot.pause(0.1)
        await pilot.press(key("port_forward"))
        dialog = await wait(pilot, lambda: isinstance(app.screen, ForwardDialog) and app.screen, 10, "dialog")
        assert [o.label for o in dialog.offers] == ["80/http → http"]
        dialog.query_one("#fwd-local").value = "0"       # a free port (80 may be taken by someone else's test)
        await pilot.press("enter")
        await wait(pilot, lambda: any("forwarding 127.0.0.1:" in n for n in app.notices), 15, "forwarding line")
        line = next(n for n in app.notices if "forwarding 127.0.0.1:" in n)
        assert "→ ecotrack/svc/user-service:80 (pod user-service-" in line, line

        mgr = app.workspace.forwards
        view = next(v for v in mgr.views() if v.spec.target == Target("service", "ecotrack", "user-service")
                    and v.spec.port == 80 and not v.spec.name)
        resp = await get_health(view.url)
        assert resp.status_code == 200 and resp.json()["status"] == "UP"
        assert set(resp.json()["components"]) >= {"db", "redis", "diskSpace", "ping"}

        await pilot.press(key("port_forwards"))
        pane = await wait(pilot, lambda: isinstance(app.screen, ForwardsScreen) and app.screen, 10, "forwards pane")
        t = pane.table
        await wait(pilot, lambda: view.id in t.keys and str(t.get_cell(view.id, "state")) == "ACTIVE", 10, "ACTIVE")
        cur = mgr.view(view.id)
        assert cur is not None and cur.pod and cur.pod.startswith("ecotrack/user-service-")
        assert str(t.get_cell(view.id, "pod")).startswith(cur.pod.split("/")[1])
        assert str(t.get_cell(view.id, "target")) == "ecotrack/svc/user-service:80"
        assert str(t.get_cell(view.id, "local")) == view.local
        done = [e for e in app.journal.read() if e["action"] == "port_forward"]
        assert [e["event"] for e in done] == ["requested", "done"], done       # journalled like every action
        assert done[1]["targets"] == ["services/ecotrack/user-service"] and done[1]["local"] == view.local, done[1]
        assert t.get_cell(view.id, "state").style == app.cell_styles["ok"]
        await wait(pilot, lambda: int(str(t.get_cell(view.id, "conns")).split("/")[1]) >= 1, 5,
                   "the GET counted as a connection (open/total)")
        for preset in ("grafana", "prometheus", "loki", "tempo"):
            assert f"preset:{preset}" in t.keys or any(v.spec.name == preset for v in mgr.views())

        t.move_to_key(view.id)
        await pilot.pause(0.1)
        await pilot.press(key("forward_stop"))
        await wait(pilot, lambda: str(t.get_cell(view.id, "state")) == "STOPPED", 10, "STOPPED")
        with pytest.raises(httpx.HTTPError):
            await get_health(view.url)
        await pilot.press(key("forward_restart"))
        await wait(pilot, lambda: mgr.view(view.id).state is ForwardState.ACTIVE, 15, "ACTIVE again")
        assert mgr.view(view.id).local == view.local
        resp = await get_health(view.url)
        assert resp.status_code == 200 and resp.json()["status"] == "UP"
        await pilot.press(key("forward_remove"))
        await wait(pilot, lambda: view.id not in t.keys, 10, "removed")
        assert mgr.view(view.id) is None
