"""Log generator: files per service, Loki pushes attributed to Running pods from a fake Kubernetes API."""
import asyncio
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from testbed.incident import SERVICES
from testbed.loggen import LogGen
from testbed.loggen_pods import KubeTarget
from testbed.loggen_push import LokiPusher
from testbed.loki import Store, make_app

TOKEN = "test-token"
SPRING = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ( INFO| WARN|ERROR) 1 --- \[([a-z-]+)\] \[.{15}\] .{40} : ")


def pod(ns, name, app, phase="Running", node="kwok-node-1", deleting=False, container="main"):
    md = {"namespace": ns, "name": name, "labels": {"app": app}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "spec": {"nodeName": node, "containers": [{"name": container}]}, "status": {"phase": phase}}


PODS = [
    pod("ecotrack", "payment-service-7d9f-a", "payment-service", node="kwok-node-1"),
    pod("ecotrack", "payment-service-7d9f-b", "payment-service", node="kwok-node-2"),
    pod("ecotrack", "payment-service-7d9f-c", "payment-service", deleting=True),
    pod("ecotrack", "payment-service-7d9f-d", "payment-service", phase="Pending"),
    pod("ecotrack", "user-service-5c4b-a", "user-service"),
    pod("ecotrack", "postgres-primary-0", "postgres-primary", container="postgres"),
    pod("observability", "promtail-x1", "promtail", container="promtail"),
]


def _selected(p, sel, fsel):
    app = p["metadata"]["labels"].get("app")
    names = set(re.search(r"\((.*)\)", sel).group(1).split(","))
    ok = (app is not None and app not in names) if "notin" in sel else app in names
    if fsel == "status.phase=Running":
        ok = ok and p["status"]["phase"] == "Running"
    return ok


async def list_pods(request):
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"kind": "Status", "code": 401}, status=401)
    items = [p for p in PODS if _selected(p, request.query["labelSelector"], request.query.get("fieldSelector"))]
    limit, start = int(request.query.get("limit", 500)), int(request.query.get("continue") or 0)
    limit = min(limit, 2)  # force pagination
    page = items[start:start + limit]
    cont = str(start + limit) if start + limit < len(items) else ""
    return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": cont}, "items": page})


@pytest_asyncio.fixture
async def env(tmp_path):
    api = web.Application()
    api.router.add_get("/api/v1/pods", list_pods)
    api_srv = TestServer(api, host="127.0.0.1", port=0)
    store = Store()
    loki_srv = TestServer(make_app(store), host="127.0.0.1", port=0)
    await api_srv.start_server()
    await loki_srv.start_server()
    kc = tmp_path / "kubeconfig"
    kc.write_text(f"""apiVersion: v1
kind: Config
current-context: tb
clusters: [{{name: tb, cluster: {{server: "{str(api_srv.make_url('')).rstrip('/')}"}}}}]
users: [{{name: tb, user: {{token: {TOKEN}}}}}]
contexts: [{{name: tb, context: {{cluster: tb, user: tb}}}}]
""")
    yield {"dir": tmp_path / "state", "kubeconfig": kc, "loki": str(loki_srv.make_url("")).rstrip("/"), "store": store}
    await api_srv.close()
    await loki_srv.close()


CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F (.*)$", re.S)


def lines_of(path: Path) -> list[str]:
    """The log lines of a file the fake kubelet serves: every line must be in CRI format."""
    out = []
    for raw in path.read_bytes().decode("utf-8").split("\n")[:-1]:  # only \n ends a CRI line
        m = CRI_LINE.match(raw)
        assert m, f"not a CRI log line: {raw!r}"
        out.append(m.group(1))
    return out


async def query(env, q, limit=5000):
    async with httpx.AsyncClient(base_url=env["loki"]) as c:
        r = await c.get("/loki/api/v1/query_range", params={"query": q, "limit": str(limit), "since": "2h"})
        assert r.status_code == 200, r.text
        return r.json()["data"]["result"]


async def test_files_and_pushes_attributed_to_running_pods(env):
    kube = KubeTarget(env["kubeconfig"])
    gen = LogGen(env["dir"], rate=6, loki=env["loki"], kube=kube, seed=11)
    async with kube.client() as kc:
        await gen.pods.refresh(kc)
    assert [p.name for p in gen.pods.by_app["payment-service"]] == ["payment-service-7d9f-a", "payment-service-7d9f-b"]
    now = time.time_ns()
    for i in range(5):
        gen.tick(now - (5 - i) * 1_000_000_000)
    async with httpx.AsyncClient() as c:
        assert await gen.pusher.push(c)
    for app in SERVICES:
        lines = lines_of(env["dir"] / "logs" / f"{app}.log")
        assert len(lines) >= 10, app
        spring = [ln for ln in lines if SPRING.match(ln)]
        assert spring and all(SPRING.match(ln).group(2) == app for ln in spring)
    assert len(lines_of(env["dir"] / "logs" / "default.log")) >= 10

    pay = await query(env, '{app="payment-service"}')
    pods = Counter()
    for s in pay:
        assert s["stream"]["namespace"] == "ecotrack" and s["stream"]["container"] == "payment-service"
        assert s["stream"]["node"] in ("kwok-node-1", "kwok-node-2")
        pods[s["stream"]["pod"]] += len(s["values"])
    assert set(pods) == {"payment-service-7d9f-a", "payment-service-7d9f-b"}  # never the terminating/pending pods
    file_lines = lines_of(env["dir"] / "logs" / "payment-service.log")
    assert sum(pods.values()) == len(file_lines)  # every file line was pushed once
    pushed = sorted(v[1] for s in pay for v in s["values"])
    assert pushed == sorted(file_lines)

    other = await query(env, '{app=~"postgres-primary|promtail"}')
    labels = {(s["stream"]["namespace"], s["stream"]["pod"], s["stream"]["container"]) for s in other}
    assert labels <= {("ecotrack", "postgres-primary-0", "postgres"), ("observability", "promtail-x1", "promtail")}
    assert labels
    # services without pods still get their lines into Loki, labelled by app
    prod = await query(env, '{app="product-service"}')
    assert prod and all("pod" not in s["stream"] for s in prod)


def test_content_mix_json_stacktraces_hostile(tmp_path):
    gen = LogGen(tmp_path, rate=150, seed=5)
    now = time.time_ns()
    for i in range(10):
        gen.tick(now + i * 1_000_000_000)
    lines = lines_of(tmp_path / "logs" / "notification-service.log")
    json_lines = [json.loads(ln) for ln in lines if ln.startswith("{")]
    assert 0.05 < len(json_lines) / len(lines) < 0.16
    assert all({"@timestamp", "level", "logger", "message", "traceId"} <= set(j) for j in json_lines)
    assert any(ln.startswith("\tat com.ecotrack.") for ln in lines)
    assert {" INFO", " WARN", "ERROR"} <= {m.group(1) for ln in lines if (m := SPRING.match(ln))}
    hostile = [ln for ln in lines if "\x1b" in ln]
    assert 0 < len(hostile) < len(lines) / 100
    user = (tmp_path / "logs" / "user-service.log").read_text()
    assert "\x1b" not in user
    assert re.search(r"slow|timeout|latency", user, re.I) and re.search(r"Unauthorized|Forbidden|Authentication", user)


def _levels(path):
    c = Counter()
    for ln in lines_of(path):
        m = SPRING.match(ln)
        if m:
            c[m.group(1).strip()] += 1
    return c


def test_incidents_shape_the_logs(tmp_path):
    gen = LogGen(tmp_path, rate=40, seed=8)
    logs = tmp_path / "logs"
    now = time.time_ns()
    (tmp_path / "incident.json").write_text(json.dumps({"name": "error-spike", "target": "order-service", "since": 0}))
    gen.incidents.interval = 0
    for i in range(5):
        gen.tick(now + i * 1_000_000_000)
    order, user = _levels(logs / "order-service.log"), _levels(logs / "user-service.log")
    assert order["ERROR"] / sum(order.values()) > 0.4
    assert user["ERROR"] / sum(user.values()) < 0.15
    assert "HTTP 500" in (logs / "order-service.log").read_text()

    for f in logs.iterdir():
        f.unlink()
    (tmp_path / "incident.json").write_text(json.dumps({"name": "latency-spike", "target": None, "since": 0}))
    for i in range(3):
        gen.tick(now + (10 + i) * 1_000_000_000)
    warn = [ln for ln in lines_of(logs / "payment-service.log")
            if (m := SPRING.match(ln)) and m.group(1) == " WARN" and re.search("slow|timeout|latency", ln, re.I)]
    assert len(warn) > 20
    assert all(any(2000 <= int(x) <= 5000 for x in re.findall(r"[=\s](\d{4})ms", ln)) for ln in warn)

    for f in logs.iterdir():
        f.unlink()
    (tmp_path / "incident.json").write_text(json.dumps({"name": "crashloop", "target": "user-service", "since": 0}))
    for i in range(3):
        gen.tick(now + (20 + i) * 1_000_000_000)
    text = (logs / "user-service.log").read_text()
    assert "APPLICATION FAILED TO START" in text and "Connection refused: postgres-primary:5432" in text
    assert text.count("APPLICATION FAILED TO START") == 1  # one start attempt per ~10 s
    assert " GET /api/" not in text  # a crashing app serves nothing
    assert "APPLICATION FAILED TO START" not in (logs / "order-service.log").read_text()


async def test_loki_down_keeps_bounded_buffer_then_recovers(env):
    pusher = LokiPusher("http://127.0.0.1:9", max_buffer=100)  # discard port: connection refused
    t0 = time.time_ns() - 1_000_000_000
    for i in range(150):
        pusher.add({"app": "a", "pod": ""}, t0 + i, f"l{i}")
    async with httpx.AsyncClient(timeout=2) as c:
        assert await pusher.push(c) is False
        assert len(pusher.buffer) == 100 and pusher.dropped == 50
        pusher.url = env["loki"] + "/loki/api/v1/push"
        assert await pusher.push(c) is True
    assert pusher.sent == 100 and not pusher.buffer
    got = await query(env, '{app="a"}')
    # empty label values are not sent (service_name and detected_level are what Loki 3 adds)
    assert got[0]["stream"] == {"app": "a", "service_name": "a", "detected_level": "unknown"}
    assert [v[1] for v in got[0]["values"]][-1] == "l50"  # the oldest 50 were the ones dropped


async def test_cli_runs_pushes_and_stops_on_sigterm(env):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "testbed.loggen", "--state-dir", str(env["dir"]), "--loki", env["loki"],
        "--kubeconfig", str(env["kubeconfig"]), "--rate", "10", "--seed", "1",
        cwd=str(Path(__file__).resolve().parents[2]), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not any("pod" in s.labels for s in env["store"].streams.values()):
            await asyncio.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=8)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b"stopped:" in out
    assert (env["dir"] / "logs" / "user-service.log").stat().st_size > 0
    pods = {s.labels.get("pod") for s in env["store"].streams.values()}
    assert "payment-service-7d9f-a" in pods or "payment-service-7d9f-b" in pods


def test_bad_kubeconfig_is_one_clear_message(tmp_path):
    bad = tmp_path / "kc"
    bad.write_text("current-context: nope\ncontexts: []\n")
    with pytest.raises(ValueError, match="cannot use kubeconfig"):
        KubeTarget(bad)


def _openssl(*args, cwd):
    import subprocess
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


async def test_kubeconfig_https_with_client_certificate_files(tmp_path):
    """The testbed kubeconfig uses file paths for CA, client cert and key; relative paths are kubeconfig-relative."""
    import shutil
    import ssl
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    d = tmp_path / "pki"
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=testca", "-days", "1", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, subj in (("server", "/CN=127.0.0.1"), ("client", "/O=system:masters/CN=admin")):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "1", *(["-extfile", "san.ext"] if name == "server" else []), cwd=d)
    srv_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(d / "ca.crt"))
    srv_ctx.verify_mode = ssl.CERT_REQUIRED
    srv_ctx.load_cert_chain(d / "server.crt", d / "server.key")

    async def pods(request):
        peer = request.transport.get_extra_info("peercert")
        assert peer, "client certificate was not presented"
        return web.json_response({"kind": "PodList", "metadata": {}, "items": [PODS[0]]})

    api = web.Application()
    api.router.add_get("/api/v1/pods", pods)
    runner = web.AppRunner(api)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=srv_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        kc = tmp_path / "kubeconfig"
        kc.write_text(f"""apiVersion: v1
kind: Config
current-context: tb
clusters: [{{name: tb, cluster: {{server: "https://127.0.0.1:{port}", certificate-authority: pki/ca.crt}}}}]
users: [{{name: tb, user: {{client-certificate: {d}/client.crt, client-key: {d}/client.key}}}}]
contexts: [{{name: tb, context: {{cluster: tb, user: tb}}}}]
""")
        gen = LogGen(tmp_path / "state", kube=KubeTarget(kc))
        async with gen.kube.client() as c:
            await gen.pods.refresh(c)
        assert gen.pods.next_pod("payment-service").name == "payment-service-7d9f-a"
    finally:
        await runner.cleanup()


async def test_run_survives_broken_api_and_hanging_loki_and_stops_promptly(tmp_path):
    async def hang(request):
        await asyncio.sleep(30)
        return web.Response(status=204)

    async def broken(request):
        return web.Response(status=500, text="etcd is sad")

    app = web.Application()
    app.router.add_post("/loki/api/v1/push", hang)
    app.router.add_get("/api/v1/pods", broken)
    srv = TestServer(app, host="127.0.0.1", port=0)
    await srv.start_server()
    base = str(srv.make_url("")).rstrip("/")
    kc = tmp_path / "kc"
    kc.write_text(f"current-context: c\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n"
                  f"clusters: [{{name: c, cluster: {{server: '{base}'}}}}]\nusers: [{{name: u, user: {{}}}}]\n")
    gen = LogGen(tmp_path / "st", rate=5, loki=base, kube=KubeTarget(kc), seed=3)
    stop = asyncio.Event()
    task = asyncio.create_task(gen.run(stop, grace=0.5))
    try:
        await asyncio.sleep(1.3)
        assert not task.done()  # neither the 500s nor the hanging push ended it
        t0 = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=3)
        assert time.monotonic() - t0 < 2.0
    finally:
        await srv.close()
    assert gen.written > 0 and (tmp_path / "st" / "logs" / "order-service.log").stat().st_size > 0
    assert len(gen.pusher.buffer) > 0  # nothing confirmed, so nothing lost
