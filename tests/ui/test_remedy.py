"""Remediation keys in the UI (fake session + recording API): marks, confirm with context and namespace,
read-only sends nothing, RBAC denial in one clear line, critical contexts ask for the name, scale refuses
bad input before any request, and every action lands in the journal."""
from __future__ import annotations

import json

from ecotui.errors import ForbiddenError
from ecotui.keymap import load_keymap
from ecotui.ops.journal import Journal
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.confirm import ConfirmScreen, FormScreen
from ecotui.ui.screens.text_view import TextScreen
from test_cockpit import make_session
from test_kind_views import deployment, items
from ui_fakes import T0, pilot_until, screen_text, workspace

KEYMAP, _ = load_keymap()


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def make_app(session, tmp_path, *, readonly=False, critical=False):
    ws = workspace(session, readonly=readonly, critical=critical)
    app = EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05, journal=Journal(tmp_path / "journal.jsonl"))
    return app, ws.api


def journal(tmp_path) -> list[dict]:
    p = tmp_path / "journal.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


async def wait_for(pilot, pred, what, n=50):
    return await pilot_until(pilot, pred, what, n)


def node_routes(api, name, unschedulable=False):
    api.routes[("GET", f"/api/v1/nodes/{name}")] = {"metadata": {"name": name},
                                                   "spec": {"unschedulable": unschedulable}}
    api.routes[("PATCH", f"/api/v1/nodes/{name}")] = lambda body: {"metadata": {"name": name}}


async def test_cordon_marked_nodes_after_confirm_shows_context_and_change(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    for n in ("node-a", "node-b", "node-c"):
        node_routes(api, n, unschedulable=(n == "node-b"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"))
        t = app.cockpit.tables["nodes"]
        assert t.cursor_key == "node-a"
        await pilot.press(key("mark"))        # marks node-a, moves to node-b
        await pilot.press(key("mark"))        # marks node-b
        assert t.selection() == ["node-a", "node-b"]
        assert "2 marked" in app.cockpit.panes["nodes"].title_text
        await pilot.press(key("cordon"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
        text = screen_text(app)
        assert "context test-ctx" in text and "namespace all" in text
        assert "node-a: spec.unschedulable false → true" in text
        assert "node-b: already cordoned (no request)" in text
        assert api.writes() == []             # nothing before the confirmation
        await pilot.press(key("confirm"))
        await wait_for(pilot, lambda: app.remedy.last_outcome is not None, "outcome")
    assert api.writes() == [("PATCH", "/api/v1/nodes/node-a", {"spec": {"unschedulable": True}})]
    events = [(e["event"], e["action"], e["targets"]) for e in journal(tmp_path)]
    assert events == [("requested", "cordon", ["nodes/node-a", "nodes/node-b"]),
                      ("done", "cordon", ["nodes/node-a", "nodes/node-b"])]
    assert journal(tmp_path)[-1]["user"] == "tester" and journal(tmp_path)[-1]["context"] == "test-ctx"


async def test_cancel_sends_nothing_and_is_journaled(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    node_routes(api, "node-a")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"), key("uncordon"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
        assert "nothing to uncordon" in screen_text(app)   # node-a is schedulable: blocked, only close
        await pilot.press(key("confirm"))
        assert isinstance(app.screen, ConfirmScreen)        # confirm does nothing on a blocked preview
        await pilot.press(key("back"))
        await pilot.pause(0.1)
    assert api.writes() == []


async def test_readonly_every_action_key_sends_nothing_and_says_so(tmp_path):
    s = make_session()
    s.set_items("deployments", items("deployments", [deployment("ecotrack", "web", 2, 2)]))
    app, api = make_app(s, tmp_path, readonly=True)
    mutating = ["cordon", "uncordon", "drain", "delete"]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "read-only" in str(app.cockpit.query_one("#action-hints").render())
        for pane in ("focus_nodes", "focus_pods"):
            await pilot.press(key(pane))
            for a in mutating:
                await pilot.press(key(a))
                await pilot.pause(0.05)
        await pilot.press("colon", *"deploy", "enter")
        await pilot.pause(0.2)
        for a in ("rollout_undo", "rollout_restart", "rollout_pause", "rollout_resume", "scale", "delete"):
            await pilot.press(key(a))
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert not isinstance(app.screen, (ConfirmScreen, FormScreen))
        assert any("read-only: cordon node-a not sent" in n for n in app.notices)
    assert api.writes() == []
    assert app.workspace.gate.refused == 0          # refused before even reaching the gate
    refused = [e for e in journal(tmp_path) if e["event"] == "refused"]
    assert {e["action"] for e in refused} >= {"cordon", "uncordon", "drain", "delete", "rollout_undo", "scale"}
    assert all(e["reason"] == "read-only" for e in refused)


async def test_forbidden_is_one_clear_line_before_any_form(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    api.denied.add("patch nodes")
    node_routes(api, "node-a")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"), key("cordon"))
        await wait_for(pilot, lambda: any("not allowed" in n for n in app.notices), "denial")
        assert not isinstance(app.screen, ConfirmScreen)
    assert any("not allowed for tester: patch nodes" in n for n in app.notices)
    assert api.writes() == []
    assert journal(tmp_path)[-1]["event"] == "refused"


async def test_late_403_becomes_the_same_clear_line(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    node_routes(api, "node-a")
    api.routes[("PATCH", "/api/v1/nodes/node-a")] = ForbiddenError("https://x: forbidden: nodes \"node-a\" is forbidden")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"), key("cordon"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
        await pilot.press(key("confirm"))
        await wait_for(pilot, lambda: app.remedy.last_outcome is not None, "outcome")
    assert "not allowed for tester: patch nodes" in app.remedy.last_outcome.message
    assert journal(tmp_path)[-1]["event"] == "failed"


async def test_critical_context_asks_to_type_the_name(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path, critical=True)
    node_routes(api, "node-a")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"), key("cordon"))
        assert "ctx test-ctx (critical)" in app.cockpit.query_one("#header").plain
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
        assert app.screen.has_class("-critical")
        assert 'type "node-a"' in screen_text(app)
        await pilot.press(*"node-b", "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen) and api.writes() == []
        app.screen.query_one("#confirm-word").value = ""
        await pilot.press(*"node-a", "enter")
        await wait_for(pilot, lambda: app.remedy.last_outcome is not None, "outcome")
    assert api.writes() == [("PATCH", "/api/v1/nodes/node-a", {"spec": {"unschedulable": True}})]


async def test_scale_refuses_bad_input_before_any_request_then_scales(tmp_path):
    s = make_session()
    s.set_items("deployments", items("deployments", [deployment("ecotrack", "web", 2, 2)]))
    app, api = make_app(s, tmp_path)
    path = "/apis/apps/v1/namespaces/ecotrack/deployments/web"
    api.routes[("GET", path + "/scale")] = {"spec": {"replicas": 2}}
    api.routes[("GET", "/apis/autoscaling/v2/namespaces/ecotrack/horizontalpodautoscalers")] = {"items": []}
    api.routes[("PATCH", path + "/scale")] = lambda body: {"spec": {"replicas": 5}}
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"deploy", "enter")
        await pilot.pause(0.2)
        await pilot.press(key("scale"))
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "scale form")
        form = app.screen
        assert form.values() == {"replicas": "2"}           # prefilled with the current replicas
        for bad in ("-1", "abc", "2.5"):
            form.query_one("#field-replicas").value = bad
            await pilot.press("enter")
            await pilot.pause(0.05)
            assert app.screen is form and "whole number" in screen_text(app)
        assert [r for r in api.sent if "selfsubject" not in r[1]] == []   # not even a GET
        form.query_one("#field-replicas").value = "5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
        await pilot.pause(0.1)
        assert "2 → 5" in "\n".join(app.screen.preview.lines)
        await pilot.press(key("confirm"))
        await wait_for(pilot, lambda: app.remedy.last_outcome is not None, "outcome")
    writes = api.writes()
    assert len(writes) == 1 and writes[0][1].endswith("/deployments/web/scale")
    assert app.remedy.last_outcome.ok, app.remedy.last_outcome.message


async def test_action_on_wrong_kind_says_where_it_works(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_pods"), key("drain"))
        await pilot.pause(0.1)
    assert any("drain works on nodes" in n for n in app.notices)
    assert [r for r in api.sent if "selfsubject" not in r[1]] == []   # access reviews only


async def test_journal_view_lists_actions_newest_first(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    app.journal.append("refused", "cordon", context="c1", namespace=None, user="u", reason="read-only")
    app.journal.append("done", "scale", context="c1", namespace="ecotrack", user="u", message="scaled 2 → 5 \x1b[2J")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("journal"))
        await pilot.pause(0.1)
        assert isinstance(app.screen, TextScreen)
        text = screen_text(app)
    assert text.index("scale") < text.index("cordon")
    assert "\\x1b[2J" in text and "\x1b" not in text


async def test_hints_strike_out_actions_the_access_review_denies(tmp_path):
    s = make_session()
    app, api = make_app(s, tmp_path)
    api.denied.update({"patch nodes"})
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_nodes"))
        await wait_for(pilot, lambda: ("test-ctx", "nodes", None) in app.cockpit.denied, "review done")
        assert app.cockpit.denied[("test-ctx", "nodes", None)] == {"cordon", "uncordon", "drain"}
        text = app.cockpit.action_hint_text()
        struck = {text.plain[sp.start:sp.end] for sp in text.spans if getattr(sp.style, "strike", False)}
        assert struck == {f"{key('cordon')} cordon", f"{key('uncordon')} uncordon", f"{key('drain')} drain"}
        await pilot.press(key("focus_pods"))
        await wait_for(pilot, lambda: ("test-ctx", "pods", None) in app.cockpit.denied, "pods reviewed")
        assert app.cockpit.denied[("test-ctx", "pods", None)] == frozenset()   # delete pods is allowed
    assert api.writes() == []
