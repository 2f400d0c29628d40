"""Actuator look-alike used as the port-forward target."""
import json

import httpx
import pytest_asyncio
from aiohttp.test_utils import TestServer

from testbed.healthserver import READER, make_app


@pytest_asyncio.fixture
async def health(tmp_path):
    app = make_app(str(tmp_path))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    async with httpx.AsyncClient(base_url=str(server.make_url(""))) as c:
        c.state_dir = tmp_path
        c.app = app
        yield c
    await server.close()


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
    for name in ("crashloop", "error-spike"):
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
