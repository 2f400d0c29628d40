"""Loki and Prometheus configured as in-cluster Services (`observability/loki-query-frontend:3100`,
`observability/prometheus-server:80`): ecotui reaches them through its own managed port-forwards, exactly the
runbook's `kubectl port-forward` way, and the log viewer and the metrics client use them (issue 10 part 4)."""
from __future__ import annotations

import time

import pytest
import yaml

from ecotui.config import load_config
from ecotui.forward.model import ForwardState
from e2e_app import make_app, until
from test_logs_e2e import fresh_line_latency, lines, open_deployment_logs

pytestmark = pytest.mark.e2e
LOKI_SVC = "observability/loki-query-frontend:3100"
PROM_SVC = "observability/prometheus-server:80"


def through_cluster_config(testbed, tmp_path):
    raw = yaml.safe_load(testbed.ecotui_config.read_text())
    ctx = raw["contexts"][testbed.context]
    ctx["loki_url"], ctx["prometheus_url"] = LOKI_SVC, PROM_SVC
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config(str(path))


async def test_loki_configured_as_a_service_serves_the_log_viewer_through_its_forward(testbed, tmp_path):
    app = make_app(testbed, through_cluster_config(testbed, tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_deployment_logs(pilot, app, "user-service")
        assert screen.source.name == "loki"
        await until(lambda: lines(screen), 20, "Loki's backfill through the forward")
        latency = await fresh_line_latency(pilot, screen, time.time_ns())
        assert latency < 3.0, f"a fresh line took {latency:.2f}s through the forward"
        views = [v for v in app.workspace.forwards.views() if v.spec.target.name == "loki-query-frontend"]
        assert len(views) == 1, views                       # one managed forward, reused
        v = views[0]
        assert v.state is ForwardState.ACTIVE and v.local.startswith("127.0.0.1:")
        assert v.pod and v.pod.startswith("observability/loki-query-frontend-"), v.pod
        assert v.total_connections >= 1 and v.bytes_in > 0
        assert app.workspace.loki.url == v.url              # what the log viewer was given
    await app.workspace.stop()
    assert app.workspace._forwards is None                  # closed with the workspace


async def test_prometheus_configured_as_a_service_answers_through_its_forward(testbed, tmp_path):
    app = make_app(testbed, through_cluster_config(testbed, tmp_path))
    ws = app.workspace
    try:
        prom = ws.prometheus
        assert prom is not None
        result = await prom.query("vector(1)", timeout=10)
        assert result.samples and result.samples[0].value == 1.0
        (v,) = [v for v in ws.forwards.views() if v.spec.target.name == "prometheus-server"]
        assert v.state is ForwardState.ACTIVE and v.pod_port == 9090 and prom.config.url.startswith(v.url)
    finally:
        await ws.stop()
