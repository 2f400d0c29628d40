"""[shell] in the app (pilot, fake session, recording API): read-only and an RBAC denial refuse in one line with
nothing sent; a pod with several containers asks which (the default-container annotation preselected); a
StatefulSet row resolves to its ready pod; the app is suspended around the shell and the outcome said in one
line; a terminal that cannot be suspended (headless) is said too; every step in the journal."""
from __future__ import annotations

import json

from ecotui.keymap import load_keymap
from ecotui.ops.journal import Journal
from ecotui.podexec.shell import ShellResult
from ecotui.ui import shell_flow
from ecotui.ui.app import EcotuiApp
from ecotui.ui.messages import StreamRequested
from ecotui.ui.screens.pickers import PickerScreen
from test_cockpit import make_session
from ui_fakes import T0, pilot_until, workspace

KEYMAP, _ = load_keymap()
POD = "/api/v1/namespaces/ecotrack/pods/web-1"


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def make_app(tmp_path, *, readonly=False):
    ws = workspace(make_session(), readonly=readonly)
    app = EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05, journal=Journal(tmp_path / "journal.jsonl"))
    return app, ws.api


def journal(tmp_path) -> list[dict]:
    p = tmp_path / "journal.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


async def wait_for(pilot, pred, what, n=100):
    return await pilot_until(pilot, pred, what, n)


def exec_sent(api) -> list:
    return [r for r in api.sent if r[1].endswith("/exec") or r[1] == POD]


class FakeRun:
    """Stands in for run_suspended: records what would run and returns a result."""

    def __init__(self, result: ShellResult) -> None:
        self.result, self.calls = result, 0

    async def __call__(self, app, run) -> ShellResult:
        self.calls += 1
        return self.result


async def test_read_only_refuses_in_one_line_and_sends_nothing(tmp_path):
    app, api = make_app(tmp_path, readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("focus_pods"))
        await pilot.press(key("shell"))
        await wait_for(pilot, lambda: any("read-only: shell into ecotrack/" in n for n in app.notices), "refusal")
        line = next(n for n in app.notices if "read-only: shell" in n)
        assert "nothing sent" in line and "\n" not in line
    assert exec_sent(api) == []
    assert [(e["event"], e["action"], e["reason"]) for e in journal(tmp_path)] == [("refused", "shell", "read-only")]


async def test_rbac_denied_in_one_line(tmp_path):
    app, api = make_app(tmp_path)
    api.denied.add("create pods/exec")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(StreamRequested("shell", "pods", ["ecotrack/web-1"]))
        await wait_for(pilot, lambda: any("not allowed" in n for n in app.notices), "denial")
        assert any("not allowed for tester: create pods/exec in ecotrack" in n for n in app.notices)
    assert exec_sent(api) == []


async def test_container_picker_then_shell_then_outcome(tmp_path, monkeypatch):
    app, api = make_app(tmp_path)
    api.routes[("GET", POD)] = {"metadata": {"name": "web-1", "annotations": {
        "kubectl.kubernetes.io/default-container": "sidecar"}},
        "spec": {"containers": [{"name": "app"}, {"name": "sidecar"}]}}
    run = FakeRun(ShellResult(0, ("bash",)))
    monkeypatch.setattr(shell_flow, "run_suspended", run)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(StreamRequested("shell", "pods", ["ecotrack/web-1"]))
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), "container picker")
        assert "web-1" in app.screen.picker_title
        assert app.screen.names == ["app", "sidecar"] and app.screen.current == "sidecar"
        await pilot.press("enter")                      # the preselected default container
        await wait_for(pilot, lambda: any("shell (bash) in" in n for n in app.notices), "outcome")
    assert run.calls == 1
    assert any("shell (bash) in ecotrack/web-1 [sidecar] ended" in n for n in app.notices)
    ev = journal(tmp_path)
    assert [(e["event"], e["targets"]) for e in ev] == [("requested", ["pods/ecotrack/web-1"]),
                                                      ("done", ["pods/ecotrack/web-1"])]
    assert ev[0]["params"] == {"container": "sidecar"} and ev[1]["exit_code"] == 0


async def test_statefulset_row_resolves_to_a_ready_pod_and_exit_code_is_said(tmp_path, monkeypatch):
    app, api = make_app(tmp_path)
    api.routes[("GET", "/apis/apps/v1/namespaces/ecotrack/statefulsets/redis")] = {
        "spec": {"selector": {"matchLabels": {"app": "redis"}}}}
    api.routes[("GET", "/api/v1/namespaces/ecotrack/pods")] = {"items": [
        {"metadata": {"name": "redis-1"}, "status": {"phase": "Pending"}},
        {"metadata": {"name": "redis-0"}, "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}]}
    api.routes[("GET", "/api/v1/namespaces/ecotrack/pods/redis-0")] = {"spec": {"containers": [{"name": "redis"}]}}
    run = FakeRun(ShellResult(3, ("/bin/sh",)))
    monkeypatch.setattr(shell_flow, "run_suspended", run)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(StreamRequested("shell", "statefulsets", ["ecotrack/redis"]))
        await wait_for(pilot, lambda: run.calls == 1 and app.notices, "shell ran")
        await wait_for(pilot, lambda: any("exit code 3" in n for n in app.notices), "outcome")
    assert any("shell (/bin/sh) in ecotrack/redis-0 [redis] ended with exit code 3" in n for n in app.notices)


async def test_headless_terminal_cannot_suspend_said_in_one_line(tmp_path):
    app, api = make_app(tmp_path)
    api.routes[("GET", POD)] = {"spec": {"containers": [{"name": "app"}]}}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(StreamRequested("shell", "pods", ["ecotrack/web-1"]))
        await wait_for(pilot, lambda: any("needs ecotui running in a terminal" in n for n in app.notices),
                       "headless refusal")
    assert [e["event"] for e in journal(tmp_path)] == ["requested", "failed"]


async def test_not_a_pod_row(tmp_path):
    app, api = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(StreamRequested("shell", "nodes", ["node-a"]))
        await wait_for(pilot, lambda: any("shell works on pods" in n for n in app.notices), "refusal")
        app.post_message(StreamRequested("shell", "pods", ["ecotrack/gone-1"]))
        await wait_for(pilot, lambda: any(n.startswith("error: shell:") and "not found" in n for n in app.notices),
                       "pod not found")
    assert exec_sent(api) == []
