"""The health grid [health] through the real app on the testbed: the five EcoTrack services' /actuator/health,
each through ecotui's own managed port-forward to svc/NAME port `http`, all UP; `incident health-down --target
order-service` → order-service DOWN (db DOWN) after a re-run, the others UP; `incident clear` → UP again."""
from __future__ import annotations

import asyncio
import time

import pytest

from ecotui.forward.model import ForwardState
from ecotui.keymap import load_keymap
from ecotui.ui.screens.health_view import HealthScreen
from e2e_app import make_app, wait
from testbed import incidents

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
SERVICES = ["user-service", "product-service", "order-service", "payment-service", "notification-service"]
TARGET = "order-service"


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def statuses(screen: HealthScreen) -> dict[str, str]:
    return {s: str(screen.table.get_cell(s, "status")) for s in screen.table.keys}


async def rerun_until(pilot, screen: HealthScreen, pred, timeout: float, what: str) -> None:
    """Press [health_rerun] whenever no run is going until `pred()` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not screen.grid.running:
            if pred():
                return
            await pilot.press(key("health_rerun"))
        await pilot.pause(0.3)
    raise AssertionError(f"timed out after {timeout}s: {what}; rows: {statuses(screen)}; "
                         f"errors: {[r.error for r in screen.grid.rows if r.error]}")


async def test_health_grid_all_up_one_down_and_back(testbed):
    app = make_app(testbed)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        t0 = time.monotonic()
        await pilot.press(key("health"))
        screen = await wait(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen, 10, "health grid")
        await wait(pilot, lambda: screen.grid.runs >= 1 and not screen.grid.running, 30, "first run")
        first = time.monotonic() - t0
        await rerun_until(pilot, screen, lambda: all(r.status == "UP" for r in screen.grid.rows), 30, "all UP")
        assert list(screen.table.keys) == SERVICES
        assert all(v == "UP" for v in statuses(screen).values())
        assert str(screen.table.get_cell(TARGET, "c:db")) == "UP"
        rows = {r.service: r for r in screen.grid.rows}
        for s in SERVICES:
            assert rows[s].pod and rows[s].pod.startswith(f"ecotrack/{s}-"), rows[s]
            assert rows[s].url.startswith("http://127.0.0.1:") and rows[s].url.endswith("/actuator/health")
        fwds = {v.spec.target.name: v for v in app.workspace.forwards.views()}
        assert all(fwds[s].state is ForwardState.ACTIVE and fwds[s].spec.port == "http" for s in SERVICES)
        lat = sorted(r.latency_ms for r in screen.grid.rows if r.latency_ms is not None)
        print(f"\nhealth grid: first run done {first:.2f}s after the key; latency ms {[round(x, 1) for x in lat]}")

        await asyncio.to_thread(incidents.run, "health-down", TARGET)
        try:
            t1 = time.monotonic()

            def one_down() -> bool:
                st = {r.service: r for r in screen.grid.rows}
                if st[TARGET].status != "DOWN":
                    if not any(e.get("name") == "health-down" for e in incidents._load_applied()):
                        incidents.run("health-down", TARGET)      # cleared by another test meanwhile
                    return False
                return True
            await rerun_until(pilot, screen, one_down, 45, f"{TARGET} DOWN")
            down = screen.grid.row(TARGET)
            assert down is not None and down.component("db").status == "DOWN" and down.http_status == 503
            assert down.error == ""
            assert str(screen.table.get_cell(TARGET, "c:db")) == "DOWN"
            assert screen.table.get_cell(TARGET, "status").style == app.cell_styles["critical"]
            assert str(screen.table.get_cell(TARGET, "problem")).startswith("db DOWN")
            others = {r.service: r.status for r in screen.grid.rows if r.service != TARGET}
            assert all(v == "UP" for v in others.values()), others
            print(f"health-down: {TARGET} DOWN after {time.monotonic() - t1:.1f}s")
        finally:
            await asyncio.to_thread(incidents.run, "clear", None)
        await rerun_until(pilot, screen, lambda: all(r.status == "UP" for r in screen.grid.rows), 45,
                          "all UP after clear")
        assert statuses(screen)[TARGET] == "UP"
        lat = sorted(r.latency_ms for r in screen.grid.rows if r.latency_ms is not None)
        print(f"after clear: all UP; latency ms (forwards warm) {[round(x, 1) for x in lat]}")
