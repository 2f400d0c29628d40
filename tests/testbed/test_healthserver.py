"""Actuator look-alike used as the port-forward target."""
import json

import httpx
import pytest_asyncio
from aiohttp.test_utils import TestServer

from testbed.healthserver import READER, make_app


async def _serve(tmp_path, service):
    app = make_app(str(tmp_path), service)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    c = httpx.AsyncClient(base_url=str(server.make_url("")))
    c.state_dir = tmp_path
    c.app = app
    c.server = server
    return c


@pytest_asyncio.fixture
async def health(tmp_path):
    """payment-service's actuator."""
    c = await _serve(tmp_path, "payment-service")
    yield c
    await c.aclose()
    await c.server.close()


@pytest_asyncio.fixture
async def others(tmp_path):
    """order-service's actuator and the generic one (grafana/tempo ports), same state dir."""
    cs = [await _serve(tmp_path, "order-service"), await _serve(tmp_path, "")]
    yield cs
    for c in cs:
        await c.aclose()
        await c.server.close()


def _set_incident(client, data):
    (client.state_dir / "incident.json").write_text(json.dumps(data))
    client.app[READER].interval = 0  # re-read immediately


async def test_health_up_by_default(health):
    r = await health.get("/actuator/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "UP"
    assert body["components"]["db"] == {"status": "UP", "details": {"database": "PostgreSQL",
                                                                    "validationQuery": "isValid()"}}
    assert {k: v["status"] for k, v in body["components"].items()} == {
        "db": "UP", "diskSpace": "UP", "ping": "UP", "redis": "UP"}
    assert "json" in r.headers["content-type"]


async def test_health_down_during_crashloop_or_error_spike_only(health):
    for name in ("crashloop", "error-spike", "health-down"):
        _set_incident(health, {"name": name, "target": "payment-service", "since": 0})
        r = await health.get("/actuator/health")
        assert r.status_code == 503
        assert r.json()["status"] == "DOWN" and r.json()["components"]["db"]["status"] == "DOWN"
        active = (await health.get("/actuator/metrics/hikaricp.connections.active")).json()
        assert active["measurements"][0]["value"] == 10.0
    _set_incident(health, {"name": "latency-spike", "target": None, "since": 0})
    assert (await health.get("/actuator/health")).json()["status"] == "UP"
    (health.state_dir / "incident.json").write_text("{not json")  # malformed: ignored, no crash
    assert (await health.get("/actuator/health")).status_code == 200


async def test_info_metrics_and_root(health):
    assert (await health.get("/actuator/info")).json()["app"]["name"] == "ecotrack"
    m = (await health.get("/actuator/metrics/hikaricp.connections.active")).json()
    assert m["name"] == "hikaricp.connections.active"
    assert 0 <= m["measurements"][0]["value"] <= 10
    assert (await health.get("/actuator/metrics/hikaricp.connections.max")).json()["measurements"][0]["value"] == 10.0
    assert (await health.get("/actuator/metrics/nope")).status_code == 404
    r = await health.get("/")
    assert r.status_code == 200 and "health" in r.text


async def test_only_the_targets_health_goes_down(health, others):
    order, generic = others
    for c in (health, order, generic):
        c.app[READER].interval = 0
    for name in ("health-down", "error-spike", "crashloop"):
        _set_incident(health, {"name": name, "target": "order-service", "since": 0})
        assert (await order.get("/actuator/health")).status_code == 503
        assert (await health.get("/actuator/health")).status_code == 200  # payment-service stays UP
        assert (await generic.get("/actuator/health")).status_code == 200
    _set_incident(health, {"name": "health-down", "target": None, "since": 0})  # null target: every service
    assert (await health.get("/actuator/health")).status_code == 503
    assert (await order.get("/actuator/health")).status_code == 503
    assert (await generic.get("/actuator/health")).status_code == 200  # the generic listener never goes DOWN
    (health.state_dir / "incident.json").unlink()
    assert (await order.get("/actuator/health")).json()["status"] == "UP"
    assert (await order.get("/actuator/info")).json()["app"]["service"] == "order-service"
    assert "order-service" in (await order.get("/")).text
