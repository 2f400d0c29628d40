"""ecotui.health.grid: every service checked concurrently through its own on-demand forward (reused next run,
healed when FAILED/STOPPED), rows in the configured order, errors as one line per row, version bumps."""
from __future__ import annotations

import asyncio
import time

import httpx

from ecotui.forward.model import ForwardState
from ecotui.health.grid import HealthGrid, ago, component_names, forward_spec
from ecotui.health.settings import HealthSettings
from tests.unit.health_fakes import FakeManager

UP = {"status": "UP", "components": {"db": {"status": "UP"}, "redis": {"status": "UP"}, "ping": {"status": "UP"},
                                     "diskSpace": {"status": "UP"}}}
DOWN = {"status": "DOWN", "components": {"db": {"status": "DOWN", "details": {"error": "refused"}},
                                         "ping": {"status": "UP"}}}
SETTINGS = HealthSettings()


def make(handler, manager=None, **kw):
    mgr = manager or FakeManager()
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HealthGrid(SETTINGS, mgr, "ctx", client=client, clock=lambda: 1234.0, **kw), mgr, client


async def test_all_services_up_in_order_each_through_its_own_forward():
    paths = []

    def handler(req):
        paths.append((req.url.port, req.url.path))
        return httpx.Response(200, json=UP)
    grid, mgr, client = make(handler)
    rows = await grid.run()
    await client.aclose()
    assert [r.service for r in rows] == list(SETTINGS.services)
    assert all(r.status == "UP" and not r.running and r.checked_at == 1234.0 for r in rows)
    assert {p for _, p in paths} == {"/actuator/health"}
    assert len({port for port, _ in paths}) == 5             # five forwards, one per service
    specs = [v.spec for v in mgr.views()]
    assert specs[0] == forward_spec("ctx", SETTINGS, "user-service")
    assert specs[0].target.kind == "service" and specs[0].port == "http" and specs[0].address == "127.0.0.1"
    assert rows[0].pod == "ecotrack/user-service-abc12"
    assert rows[0].url.endswith("/actuator/health")


async def test_one_down_the_others_up_and_forwards_reused_next_run():
    def handler(req):
        port = req.url.port
        return httpx.Response(503, json=DOWN) if port == down_port[0] else httpx.Response(200, json=UP)
    down_port = [0]
    grid, mgr, client = make(handler)
    await grid.run()
    order = next(v for v in mgr.views() if v.spec.target.name == "order-service")
    down_port[0] = int(order.local.rsplit(":", 1)[1])
    v0 = grid.version
    rows = {r.service: r for r in await grid.run()}
    await client.aclose()
    assert rows["order-service"].status == "DOWN" and rows["order-service"].error == ""
    assert rows["order-service"].component("db").status == "DOWN"
    assert all(r.status == "UP" for s, r in rows.items() if s != "order-service")
    assert len(mgr.views()) == 5                            # the same forwards
    assert grid.version > v0


async def test_a_forward_that_cannot_start_is_that_rows_error_only():
    mgr = FakeManager()
    mgr.start_errors["payment-service"] = "127.0.0.1:0 is in use"
    mgr.ready_errors["product-service"] = "no ready pod behind service ecotrack/product-service"
    grid, mgr, client = make(lambda r: httpx.Response(200, json=UP), mgr)
    rows = {r.service: r for r in await grid.run()}
    await client.aclose()
    assert rows["payment-service"].status == "ERROR"
    assert rows["payment-service"].error == "port-forward: 127.0.0.1:0 is in use"
    assert rows["product-service"].error == "port-forward: no ready pod behind service ecotrack/product-service"
    assert rows["user-service"].status == "UP"


async def test_a_failed_forward_is_restarted_on_the_next_run():
    mgr = FakeManager()
    mgr.ready_errors["user-service"] = "pod gone"
    grid, mgr, client = make(lambda r: httpx.Response(200, json=UP), mgr)
    await grid.run()
    fid = next(v.id for v in mgr.views() if v.spec.target.name == "user-service")
    assert mgr.view(fid).state is ForwardState.FAILED
    del mgr.ready_errors["user-service"]
    rows = {r.service: r for r in await grid.run()}
    await client.aclose()
    assert ("restart", fid) in mgr.calls
    assert rows["user-service"].status == "UP"


async def test_checks_run_concurrently():
    mgr = FakeManager()
    mgr.ready_delay = 0.3
    grid, mgr, client = make(lambda r: httpx.Response(200, json=UP), mgr)
    t0 = time.monotonic()
    await grid.run()
    await client.aclose()
    assert time.monotonic() - t0 < 1.0                      # 5 × 0.3 s sequentially would be 1.5 s


async def test_a_second_run_while_one_is_going_waits_for_it():
    mgr = FakeManager()
    mgr.ready_delay = 0.2
    grid, mgr, client = make(lambda r: httpx.Response(200, json=UP), mgr)
    a = asyncio.create_task(grid.run())
    await asyncio.sleep(0.05)
    assert grid.running and all(r.running for r in grid.rows)
    await asyncio.wait_for(grid.run(), 3)
    await a
    await client.aclose()
    assert grid.runs == 1


async def test_selected_services_only_and_request_errors_are_rows():
    def handler(req):
        raise httpx.ConnectError("All connection attempts failed")
    grid, mgr, client = make(handler, services=["order-service"])
    rows = await grid.run()
    await client.aclose()
    assert [r.service for r in rows] == ["order-service"]
    assert rows[0].status == "ERROR" and "cannot connect" in rows[0].error


def test_component_columns_keep_their_place_and_spring_order():
    from ecotui.health.actuator import Component
    from ecotui.health.grid import HealthRow
    r1 = HealthRow("a", "ns", "UP", (Component("ping", "UP"), Component("custom", "UP"), Component("db", "UP")))
    assert component_names([r1]) == ["db", "ping", "custom"]
    r2 = HealthRow("b", "ns", "UP", (Component("redis", "UP"),))
    assert component_names([r1, r2], ["db", "ping", "custom"]) == ["db", "ping", "custom", "redis"]
    assert ago(3) == "3s ago" and ago(125) == "2m ago" and ago(7300) == "2h ago"
