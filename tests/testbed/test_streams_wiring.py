"""The testbed's port-forward and exec wiring (issue 10): KWOK's explicit forwards per pod port, its ClusterExec
running the fake-bin programs with kwok's PATH = the fake bin, the services' named `http` ports, the per-service
actuator listeners, and `up` noticing an older scenario."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from testbed import components, fakebin, kwokcfg, ports, scenario


def test_ports_are_distinct_loopback_ports():
    values = [v for k, v in vars(ports).items() if k.isupper() and isinstance(v, int)]
    values += list(ports.HEALTH_SERVICES.values())
    assert len(values) == len(set(values))
    assert set(ports.HEALTH_SERVICES) == set(scenario.SERVICES)


def test_forwards_per_port_without_default():
    t = kwokcfg.forward_targets()
    assert {t[scenario.SERVICE_PORTS[s]] for s in scenario.SERVICES} == set(ports.HEALTH_SERVICES.values())
    assert t[scenario.SERVICE_PORTS["order-service"]] == ports.HEALTH_SERVICES["order-service"]
    assert t[3100] == ports.LOKI and t[9090] == ports.PROMETHEUS and t[3000] == t[3200] == ports.HEALTH
    assert t[9000] == ports.BENCH_SINK == 28090  # bench/forward.py's sink
    assert 9999 not in t and 5432 not in t and 6379 not in t
    assert sorted(scenario.SERVICE_PORTS.values()) == [8080, 8081, 8082, 8083, 8084]


def test_kwok_config_docs(tmp_path, monkeypatch):
    monkeypatch.setattr(kwokcfg, "_upstream_docs", lambda: [])
    docs = kwokcfg.kwok_config(tmp_path, tmp_path / "pki")
    pf = [d for d in docs if d["kind"] == "ClusterPortForward"]
    assert len(pf) == 1
    forwards = pf[0]["spec"]["forwards"]
    assert all(f["ports"] for f in forwards)  # no default forward: port 9999 -> "no forward found"
    assert all(f["target"]["address"] == "127.0.0.1" for f in forwards)
    ex = next(d for d in docs if d["kind"] == "ClusterExec")
    (target,) = ex["spec"]["execs"]
    assert "containers" not in target and "selector" not in ex["spec"]  # every pod, every container
    envs = {e["name"]: e["value"] for e in target["local"]["envs"]}
    assert envs["PATH"] == str(tmp_path / "exec" / "bin")
    assert target["local"]["workDir"] == str(tmp_path / "exec" / "sandbox")
    yaml.safe_dump_all(docs)  # serialisable as kwok.yaml


def test_kwok_runs_with_the_fake_bin_as_its_only_path(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOTUI_TESTBED_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(kwokcfg, "_upstream_docs", lambda: [])
    kwok = {c.name: c for c in components.components(tmp_path / "bin", write=False)}["kwok"]
    assert kwok.env == {"PATH": str(tmp_path / "state" / "exec" / "bin")}
    assert fakebin.bin_dir() == tmp_path / "state" / "exec" / "bin"
    # the stubs' text (interpreter, fakesh path) is part of kwok's fingerprint
    before = kwok.fingerprint
    monkeypatch.setattr(fakebin, "fingerprint", lambda: "other")
    again = {c.name: c for c in components.components(tmp_path / "bin", write=False)}["kwok"]
    assert again.fingerprint != before


def test_healthserver_component_listens_per_service(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOTUI_TESTBED_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(kwokcfg, "_upstream_docs", lambda: [])
    hs = {c.name: c for c in components.components(tmp_path / "bin", write=False)}["healthserver"]
    for svc, port in ports.HEALTH_SERVICES.items():
        assert f"--service={svc}={port}" in hs.argv
    assert set(components.PORTS["healthserver"]) == {ports.HEALTH, *ports.HEALTH_SERVICES.values()}


def test_scenario_services_have_named_http_ports():
    objs = scenario.objects() + scenario.service_deployments(scenario.APP_VERSION[1])
    deps = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] in scenario.SERVICES]
    svcs = [o for o in objs if o["kind"] == "Service" and o["metadata"].get("namespace") == "ecotrack"]
    for d in deps:
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert c["ports"] == [{"containerPort": scenario.SERVICE_PORTS[d["metadata"]["name"]], "name": "http"}]
    for s in svcs:
        if s["metadata"]["name"] in scenario.SERVICES:
            assert s["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert scenario.outdated(deps, svcs) == []


def test_outdated_names_what_an_older_testbed_has():
    old = []
    for d in scenario.service_deployments("1.4.2"):
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8080, "name": "http"}]
        old.append(d)
    svcs = [{"metadata": {"name": s}, "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
            for s in scenario.SERVICES]
    got = scenario.outdated(old, svcs)
    assert "deployment/order-service port" in got and "deployment/user-service port" not in got  # 8080 is right
    assert "service/user-service targetPort" in got
    assert scenario.outdated([], []) == []  # nothing there: not "outdated" (missing is another check)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")


def test_healthserver_process_serves_each_listener_and_stops_on_sigterm(tmp_path: Path):
    generic, user, order = _free_port(), _free_port(), _free_port()
    p = subprocess.Popen([sys.executable, "-m", "testbed.healthserver", "--port", str(generic),
                          f"--service=user-service={user}", f"--service=order-service={order}",
                          "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for port in (generic, user, order):
            _wait_listening(port)
        (tmp_path / "incident.json").write_text('{"name": "health-down", "target": "order-service", "since": 0}')
        deadline = time.monotonic() + 10
        while httpx.get(f"http://127.0.0.1:{order}/actuator/health").status_code != 503:
            assert time.monotonic() < deadline, "order-service never went DOWN"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{user}/actuator/health").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{generic}/actuator/health").status_code == 200
        p.terminate()
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_healthserver_port_in_use_is_one_line(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "testbed.healthserver", "--port", str(_free_port()),
                            f"--service=user-service={port}", "--state-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    line = p.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"testbed.healthserver: cannot listen on 127.0.0.1:{port}: ") and "in use" in line
    p = subprocess.run([sys.executable, "-m", "testbed.healthserver", "--host", "0.0.0.0", "--state-dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "loopback only" in p.stderr


@pytest.mark.parametrize("bad", ["user-service", "=1", "x=y"])
def test_healthserver_rejects_bad_service_args(tmp_path, bad):
    p = subprocess.run([sys.executable, "-m", "testbed.healthserver", f"--service={bad}", "--state-dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "SERVICE=PORT" in p.stderr
