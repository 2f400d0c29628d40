"""Smoke tests of the testbed itself: every piece ecotui relies on behaves like a real cluster."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from testbed import incidents, ports

pytestmark = pytest.mark.e2e


def wait_for(check, timeout: float, interval: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def jget(tb, *args):
    return json.loads(tb.kubectl("get", *args, "-o", "json").stdout)


def test_all_nodes_ready(testbed):
    nodes = jget(testbed, "nodes")["items"]
    assert len(nodes) >= 12
    for n in nodes:
        ready = {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"]
        assert ready == "True", n["metadata"]["name"]
        assert all(a["address"] in ("127.0.0.1", "localhost") for a in n["status"]["addresses"])  # loopback only


def test_scenario_has_two_revisions_and_pdbs(testbed):
    out = testbed.kubectl("rollout", "history", "deployment/user-service", "-n", "ecotrack").stdout
    revisions = re.findall(r"^(\d+)\s", out, re.M)
    assert len(revisions) >= 2, out  # undo has a target (incidents may have added revisions since)
    pdbs = {p["metadata"]["name"] for p in jget(testbed, "pdb", "-n", "ecotrack")["items"]}
    assert {f"{s}-pdb" for s in ("user-service", "product-service", "order-service", "payment-service",
                                 "notification-service")} <= pdbs
    ns = jget(testbed, "namespace", "ecotrack")
    assert ns["metadata"]["labels"]["istio-injection"] == "enabled"


def test_rollout_completes(testbed):
    ns = f"e2e-{uuid.uuid4().hex[:6]}"
    testbed.create_namespace(ns)
    try:
        testbed.kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "-n", ns)
        testbed.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=90)
        testbed.kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", ns)
        testbed.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=90)
        d = jget(testbed, "deployment", "web", "-n", ns)
        assert d["status"]["updatedReplicas"] == 3 and d["status"]["availableReplicas"] == 3
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    finally:
        testbed.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_logs_follow_streams_new_line(testbed):
    pod = jget(testbed, "pods", "-n", "ecotrack", "-l", "app=user-service")["items"][0]["metadata"]["name"]
    proc = subprocess.Popen([str(testbed.bin_dir / "kubectl"), "logs", "-f", "--tail=1", "-n", "ecotrack", pod],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=testbed.env)
    try:
        time.sleep(2)  # the follower is attached before the line is written
        token = f"e2e-follow-{uuid.uuid4().hex}"
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with open(testbed.state_dir / "logs" / "user-service.log", "a") as f:
            f.write(f"{stamp} stdout F INFO {token}\n")
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if token in line:
                break
        assert any(token in s for s in seen), seen[-5:]
    finally:
        proc.kill()
        proc.wait()


def test_port_forward_returns_health_json(testbed):
    pod = jget(testbed, "pods", "-n", "ecotrack", "-l", "app=order-service")["items"][0]["metadata"]["name"]
    proc = subprocess.Popen([str(testbed.bin_dir / "kubectl"), "port-forward", "--address", "127.0.0.1", "-n", "ecotrack",
                             f"pod/{pod}", ":8080"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=testbed.env)
    try:
        line = proc.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert m, line
        r = httpx.get(f"http://127.0.0.1:{m.group(1)}/actuator/health", timeout=10)
        body = r.json()
        assert body["status"] in ("UP", "DOWN") and "db" in body["components"]
    finally:
        proc.kill()
        proc.wait()


def test_drain_respects_pdb_like_a_real_cluster(testbed):
    testbed.wait_settled()
    pod = jget(testbed, "pods", "-n", "ecotrack", "-l", "app=payment-service")["items"][0]
    node = pod["spec"]["nodeName"]
    incidents.start("pdb-blocks-drain", "payment-service")
    try:
        p = testbed.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=8s",
                            check=False, timeout=60)
        assert p.returncode != 0
        assert "disruption budget" in (p.stderr + p.stdout) or "global timeout reached" in (p.stderr + p.stdout)
        assert jget(testbed, "node", node)["spec"].get("unschedulable") is True  # cordoned first, like kubectl
    finally:
        incidents.clear()
    try:
        p = testbed.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                            check=False, timeout=90)
        assert p.returncode == 0, p.stderr
        left = [q for q in jget(testbed, "pods", "-A", "--field-selector", f"spec.nodeName={node}")["items"]
                if not any(o["kind"] == "DaemonSet" for o in q["metadata"].get("ownerReferences", []))]
        assert not left, [q["metadata"]["name"] for q in left]
    finally:
        testbed.kubectl("uncordon", node)


def test_metrics_api_serves_node_and_pod_usage(testbed):
    def usage():
        nodes = json.loads(testbed.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", check=False).stdout or "{}")
        pods = json.loads(testbed.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/ecotrack/pods",
                                          check=False).stdout or "{}")
        return (nodes.get("items") and pods.get("items")) and (nodes, pods)
    nodes, pods = wait_for(usage, 90, 3, "metrics.k8s.io data")
    assert any(n["usage"]["cpu"] not in ("0", "0n") for n in nodes["items"])
    assert all("memory" in c["usage"] for p in pods["items"] for c in p["containers"])


def test_hpa_shows_current_metrics(testbed):
    def current():
        hpa = jget(testbed, "hpa", "user-service-hpa", "-n", "ecotrack")
        cm = hpa["status"].get("currentMetrics") or []
        res = (cm[0].get("resource") or {}) if cm else {}
        return res.get("current", {}).get("averageUtilization") is not None and cm
    cm = wait_for(current, 120, 3, "HPA current metrics")
    assert cm[0]["resource"]["name"] == "cpu"


RUNBOOK_QUERIES = [
    "rate(http_requests_total[5m])",
    'rate(http_requests_total{status=~"5.."}[5m])',
    "histogram_quantile(0.95, http_request_duration_seconds_bucket)",
    "jvm_memory_used_bytes / jvm_memory_max_bytes",
    "hikaricp_connections_active / hikaricp_connections_max",
]


@pytest.mark.parametrize("query", RUNBOOK_QUERIES)
def test_runbook_promql_returns_series(testbed, query):
    def series():
        r = httpx.get(f"{testbed.prometheus_url}/api/v1/query", params={"query": query}, timeout=10).json()
        return r["status"] == "success" and r["data"]["result"]
    result = wait_for(series, 60, 2, f"series for {query}")
    apps = {s["metric"].get("app") for s in result}
    assert {"user-service", "payment-service"} <= apps


def test_loki_query_range_and_tail(testbed):
    q = '{namespace="ecotrack", app="payment-service"}'

    def lines():
        r = httpx.get(f"{testbed.loki_url}/loki/api/v1/query_range",
                      params={"query": q, "limit": 50, "start": str(int((time.time() - 300) * 1e9))}, timeout=10).json()
        return r["data"]["result"]
    result = wait_for(lines, 30, 1, "loki lines")
    assert {"namespace", "app", "pod", "container", "node"} <= set(result[0]["stream"])

    import aiohttp

    async def tail_one():
        url = f"ws://{ports.HOST}:{ports.LOKI}/loki/api/v1/tail"
        token = f"e2e-tail-{uuid.uuid4().hex}"
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(url, params={"query": f'{{app="{token}"}}'}) as ws:
                async with httpx.AsyncClient() as c:
                    await c.post(f"{testbed.loki_url}/loki/api/v1/push", json={"streams": [
                        {"stream": {"app": token, "namespace": "e2e"}, "values": [[str(time.time_ns()), token]]}]})
                msg = await asyncio.wait_for(ws.receive_json(), 15)
                return token, msg
    token, msg = asyncio.run(tail_one())
    assert msg["streams"][0]["values"][0][1] == token


def test_incident_crashloop_and_clear(testbed):
    testbed.wait_settled()
    incidents.start("crashloop", "notification-service")
    try:
        def crashing():
            pods = jget(testbed, "pods", "-n", "ecotrack", "-l", "app=notification-service")["items"]
            return [p for p in pods for cs in p["status"].get("containerStatuses", [])
                    if (cs["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff"]
        assert wait_for(crashing, 60, 2, "CrashLoopBackOff pods")
    finally:
        incidents.clear()
    testbed.kubectl("rollout", "status", "deployment/notification-service", "-n", "ecotrack", "--timeout=90s", timeout=120)


def test_incident_node_notready_and_clear(testbed):
    msg = incidents.start("node-notready", None)
    node = msg.rsplit(" ", 1)[-1]
    try:
        def ready_status():
            conds = jget(testbed, "node", node)["status"]["conditions"]
            return {c["type"]: c["status"] for c in conds}["Ready"]
        assert wait_for(lambda: ready_status() != "True" and ready_status(), 30, 1, "node not ready") in ("False", "Unknown")
    finally:
        incidents.clear()
    wait_for(lambda: ready_status() == "True", 60, 2, "node Ready again")


def _counts(text: str, app: str) -> tuple[float, float]:
    """(all requests, 5xx requests) of one app in an exposition text."""
    tot = err = 0.0
    for line in text.splitlines():
        if line.startswith("http_requests_total{") and f'app="{app}"' in line:
            v = float(line.rsplit(" ", 1)[1])
            tot += v
            if re.search(r'status="5\d\d"', line):
                err += v
    return tot, err


def test_incident_error_spike_raises_5xx_for_target(testbed):
    url = f"http://{ports.HOST}:{ports.EXPORTER}/metrics"
    before = httpx.get(url).text
    incidents.start("error-spike", "payment-service")
    try:
        time.sleep(6)
        after = httpx.get(url).text
    finally:
        incidents.clear()

    def share(app):  # 5xx share of the requests counted during the spike
        (t0, e0), (t1, e1) = _counts(before, app), _counts(after, app)
        assert t1 > t0, f"{app} counters did not grow"
        return (e1 - e0) / (t1 - t0)
    assert share("payment-service") > 0.1
    assert share("user-service") < 0.05


def test_incident_hpa_at_max_scales_to_max(testbed):
    incidents.start("hpa-at-max", "user-service")
    try:
        def utilization(hpa) -> int:
            metrics = hpa["status"].get("currentMetrics") or [{}]
            return int(((metrics[0].get("resource") or {}).get("current") or {}).get("averageUtilization") or 0)

        def at_max():  # both: an HPA still at max from an earlier run (scale-down waits 5 min) is not enough
            hpa = jget(testbed, "hpa", "user-service-hpa", "-n", "ecotrack")
            return hpa["status"].get("desiredReplicas") == hpa["spec"]["maxReplicas"] and utilization(hpa) > 70 \
                and hpa
        hpa = wait_for(at_max, 180, 5, "user-service-hpa at maxReplicas with utilization > 70 %")
        assert utilization(hpa) > 70
    finally:
        incidents.clear()


def test_incident_latency_spike_moves_p95(testbed):
    def p95(app: str) -> float:
        q = f'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{app="{app}"}}[30s])))'
        r = httpx.get(f"{testbed.prometheus_url}/api/v1/query", params={"query": q}, timeout=10).json()
        res = r["data"]["result"]
        return float(res[0]["value"][1]) if res else 0.0
    incidents.start("latency-spike", "order-service")
    try:
        slow = wait_for(lambda: p95("order-service") > 1.0 and p95("order-service"), 60, 3, "order-service p95 > 1 s")
    finally:
        incidents.clear()
    assert slow > 1.0 and p95("user-service") < 1.0


def test_every_testbed_socket_is_loopback(testbed):
    """Part 9: every process of the testbed listens on and talks to 127.0.0.1 only."""
    from testbed import cluster, procs
    pids = {procs.pid_of(n) for n in cluster.component_names()} - {None}
    assert len(pids) == len(cluster.component_names())
    out = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True, check=True).stdout
    seen = 0
    for line in out.splitlines():
        m = re.search(r"pid=(\d+)", line)
        if not m or int(m.group(1)) not in pids:
            continue
        seen += 1
        local, peer = line.split()[3:5]
        assert local.startswith("127.0.0.1:"), line
        assert peer.startswith("127.0.0.1:") or peer.startswith("*:") or peer == "0.0.0.0:*", line
    assert seen >= len(pids)
