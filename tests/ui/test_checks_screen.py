"""[run_check] in the app (pilot, fake session, recording API + the fake exec endpoint on 127.0.0.1): both
runbook checks pass and show their output; a failing check shows its exit code and stderr, inert; read-only and
an RBAC denial refuse with one line and send no exec; re-run keys; the journal."""
from __future__ import annotations

import json

import pytest_asyncio

from ecotui.keymap import load_keymap
from ecotui.ops.journal import Journal
from ecotui.podexec.checks import CheckSpec
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.checks import ChecksScreen
from test_cockpit import make_session
from tests.unit.podexec_fakes import FakeExec
from ui_fakes import T0, pilot_until, screen_text, workspace

KEYMAP, _ = load_keymap()
NS = "ecotrack"


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def ready_pod(name: str) -> dict:
    return {"metadata": {"name": name}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


@pytest_asyncio.fixture
async def fake():
    srv = await FakeExec(pods={f"{NS}/postgres-primary-0", f"{NS}/redis-0"}).start()
    try:
        yield srv
    finally:
        await srv.stop()


def make_app(fake, tmp_path, *, readonly=False, checks=None):
    ws = workspace(make_session(), readonly=readonly)
    api = ws.api
    client = fake.client(readonly=readonly)
    api.open_stream = client.open_stream            # exec streams go to the fake endpoint (through the gate)
    for sts, pod in (("postgres-primary", "postgres-primary-0"), ("redis", "redis-0")):
        api.routes[("GET", f"/apis/apps/v1/namespaces/{NS}/statefulsets/{sts}")] = {
            "spec": {"selector": {"matchLabels": {"app": sts}}}}
    api.routes[("GET", f"/api/v1/namespaces/{NS}/pods")] = lambda _: None
    orig = api.request

    async def request(method, path, *, params=None, **kw):   # the pods list answers per label selector
        if path == f"/api/v1/namespaces/{NS}/pods" and params:
            app_label = params["labelSelector"].split("=", 1)[1]
            api.sent.append((method, path, None))
            return {"items": [ready_pod("postgres-primary-0" if app_label == "postgres-primary" else "redis-0")]}
        return await orig(method, path, params=params, **kw)
    api.request = request
    if checks is not None:
        object.__setattr__(ws.profile, "checks", tuple(checks))
    app = EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05, journal=Journal(tmp_path / "journal.jsonl"))
    return app, api, client


async def wait_for(pilot, pred, what, n=100):
    return await pilot_until(pilot, pred, what, n)


def journal(tmp_path) -> list[dict]:
    p = tmp_path / "journal.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


async def test_runbook_checks_pass_and_show_output(fake, tmp_path):
    app, api, client = make_app(fake, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("run_check"))
        await wait_for(pilot, lambda: isinstance(app.screen, ChecksScreen) and app.screen.runs == 1, "checks ran")
        screen = app.screen
        assert [r.ok for r in screen.results.values()] == [True, True]
        assert screen.results[0].pod == "postgres-primary-0" and screen.results[1].pod == "redis-0"
        text = screen_text(app)
        assert "postgres" in text and "redis" in text and text.count("OK") >= 2
        assert "(1 row)" in screen.detail and "exit 0" in screen.detail and "psql -U ecotrack" in screen.detail
        await pilot.press(key("cursor_down"))
        await wait_for(pilot, lambda: "PONG" in screen.detail, "redis detail")
        await pilot.press(key("open"))                  # re-run the selected one
        await wait_for(pilot, lambda: screen.runs == 2, "re-run one")
        await pilot.press(key("run_check"))             # re-run all
        await wait_for(pilot, lambda: screen.runs == 3, "re-run all")
        assert [q["command"][0] for q in fake.requests] == ["psql", "redis-cli", "redis-cli", "psql", "redis-cli"] \
            or sorted(q["command"][0] for q in fake.requests) == ["psql", "psql", "redis-cli", "redis-cli",
                                                                  "redis-cli"]
        await pilot.press(key("back"))
        await wait_for(pilot, lambda: not isinstance(app.screen, ChecksScreen), "back to the cockpit")
    events = [(e["event"], e["action"]) for e in journal(tmp_path)]
    assert events[:2] == [("requested", "run_check"), ("done", "run_check")]
    assert journal(tmp_path)[1]["results"]["redis"]["exit_code"] == 0
    await client.aclose()


async def test_failing_check_shows_exit_code_and_inert_output(fake, tmp_path):
    checks = [CheckSpec("bad", NS, "redis-0", None, ["hostile"]), CheckSpec("nf", NS, "redis-0", None, ["nosuch"])]
    app, api, client = make_app(fake, tmp_path, checks=checks)
    api.routes[("GET", f"/api/v1/namespaces/{NS}/pods/redis-0")] = ready_pod("redis-0")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("run_check"))
        await wait_for(pilot, lambda: isinstance(app.screen, ChecksScreen) and app.screen.runs == 1, "checks ran")
        screen = app.screen
        bad, nf = screen.results[0], screen.results[1]
        assert bad.exit_code == 4 and not bad.ok
        assert "\\x1b[2Jgone" in screen.detail and "\x1b" not in screen.detail and "err" in screen.detail
        assert nf.exit_code is None and "executable file not found" in nf.error
        assert "failed (exit 4)" in screen_text(app)
    await client.aclose()


async def test_read_only_refuses_with_one_line_and_sends_nothing(fake, tmp_path):
    app, api, client = make_app(fake, tmp_path, readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("run_check"))
        await wait_for(pilot, lambda: any("read-only: checks refused" in n for n in app.notices), "refusal")
        assert not isinstance(app.screen, ChecksScreen)
    assert fake.upgrades == 0
    await client.aclose()


async def test_rbac_denied_is_said_and_nothing_sent(fake, tmp_path):
    app, api, client = make_app(fake, tmp_path)
    api.denied.add("create pods/exec")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("run_check"))
        await wait_for(pilot, lambda: isinstance(app.screen, ChecksScreen) and app.screen.runs == 1, "checks ran")
        r = app.screen.results[0]
        assert r.error == "not allowed for tester: create pods/exec in ecotrack" and r.pod == ""
        assert "not allowed" in screen_text(app)
    assert fake.upgrades == 0
    await client.aclose()
