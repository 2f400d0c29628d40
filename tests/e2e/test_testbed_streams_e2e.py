"""The testbed's port-forward targets and exec programs (issue 10), through the real API server with kubectl:
per-service actuators (one incident turns exactly one DOWN), Loki/Prometheus/grafana forwards, KWOK's error for a
port without a forward, and `kubectl exec` running the harmless fake psql/redis-cli/shell (pipes and a pty)."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from contextlib import contextmanager

import httpx
import pytest

from testbed import fakesh, incidents

pytestmark = pytest.mark.e2e

NS = "ecotrack"


def _read_line(stream, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([stream], [], [], 0.2)
        if r:
            return stream.readline()
    return ""


@contextmanager
def forward(tb, target: str, remote: str, ns: str = NS):
    """`kubectl port-forward -n NS TARGET 0:REMOTE` on 127.0.0.1; yields (base URL, the process)."""
    proc = subprocess.Popen([str(tb.bin_dir / "kubectl"), "port-forward", "--address", "127.0.0.1", "-n", ns,
                             target, f"0:{remote}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=tb.env)
    try:
        line = _read_line(proc.stdout, 30)
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            proc.kill()
            raise AssertionError(f"kubectl port-forward {target}: {line!r} {proc.stderr.read()!r}")
        yield f"http://127.0.0.1:{m.group(1)}", proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def wait_status(url: str, want: int, timeout: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout
    r = None
    while time.monotonic() < deadline:
        r = httpx.get(url, timeout=10)
        if r.status_code == want:
            return r
        time.sleep(0.5)
    raise AssertionError(f"{url}: wanted {want}, last {r.status_code if r else None}: {r.text if r else ''}")


def pod_of(tb, selector: str, ns: str = NS) -> str:
    items = json.loads(tb.kubectl("get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]
    running = [p["metadata"]["name"] for p in items
               if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    assert running, f"no Running pod for {selector}"
    return sorted(running)[0]


def test_service_forward_reaches_that_services_actuator(testbed):
    with forward(testbed, "svc/user-service", "80") as (url, _):
        r = httpx.get(f"{url}/actuator/health", timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "UP"
        assert {"db", "redis", "diskSpace"} <= set(r.json()["components"])
        assert httpx.get(f"{url}/actuator/info", timeout=10).json()["app"]["service"] == "user-service"
    svc = json.loads(testbed.kubectl("get", "svc", "order-service", "-n", NS, "-o", "json").stdout)
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
    pod = pod_of(testbed, "app=order-service")
    with forward(testbed, f"pod/{pod}", "8082") as (url, _):
        assert httpx.get(f"{url}/actuator/info", timeout=10).json()["app"]["service"] == "order-service"


def test_health_down_turns_only_its_target_down(testbed):
    try:
        with forward(testbed, "svc/order-service", "http") as (order, _), \
                forward(testbed, "svc/user-service", "80") as (user, _):
            assert httpx.get(f"{order}/actuator/health", timeout=10).status_code == 200
            incidents.start("health-down", "order-service")
            r = wait_status(f"{order}/actuator/health", 503)
            assert r.json()["status"] == "DOWN" and r.json()["components"]["db"]["status"] == "DOWN"
            assert httpx.get(f"{user}/actuator/health", timeout=10).status_code == 200
            incidents.clear()
            assert wait_status(f"{order}/actuator/health", 200).json()["status"] == "UP"
    finally:
        incidents.clear()


def test_observability_forwards(testbed):
    with forward(testbed, "svc/loki-query-frontend", "3100", ns="observability") as (url, _):
        assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
        labels = httpx.get(f"{url}/loki/api/v1/labels", timeout=10).json()
        assert labels["status"] == "success" and "namespace" in labels["data"]
    with forward(testbed, "svc/prometheus-server", "80", ns="observability") as (url, _):
        assert httpx.get(f"{url}/-/ready", timeout=10).status_code == 200
    with forward(testbed, "svc/grafana", "80", ns="observability") as (url, _):
        assert httpx.get(f"{url}/actuator/health", timeout=10).json()["status"] == "UP"


def test_port_without_forward_gets_kwoks_error(testbed):
    pod = pod_of(testbed, "app=user-service")
    with forward(testbed, f"pod/{pod}", "9999") as (url, proc):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/", timeout=10)
        deadline = time.monotonic() + 10
        err = ""
        while "no forward found" not in err and time.monotonic() < deadline:
            line = _read_line(proc.stderr, 1)
            err += line
            if not line and proc.poll() is not None:
                err += proc.stderr.read()
                break
        assert f"no forward found for port 9999 in pod" in err, err


def test_exec_psql_and_redis_cli(testbed):
    p = testbed.kubectl("exec", "-n", NS, "postgres-primary-0", "--", "psql", "-U", "ecotrack", "-d", "ecotrack",
                        "-c", "SELECT 1;", timeout=60)
    assert p.stdout == " ?column? \n----------\n        1\n(1 row)\n" == fakesh.SELECT_1
    p = testbed.kubectl("exec", "-n", NS, "redis-0", "--", "redis-cli", "ping", timeout=60)
    assert p.stdout == "PONG\n"


def test_exec_unknown_command_fails(testbed):
    p = testbed.kubectl("exec", "-n", NS, "redis-0", "--", "nosuchcmd", check=False, timeout=60)
    assert p.returncode != 0
    assert "not found" in p.stderr, p.stderr
    p = testbed.kubectl("exec", "-n", NS, "redis-0", "--", "sh", "-c", "nosuchcmd", check=False, timeout=60)
    assert p.returncode != 0 and "sh: nosuchcmd: not found" in p.stderr and "exit status 127" in p.stderr, p.stderr


def test_exec_shell_with_stdin_pipe(testbed):
    """KWOK never closes the program's stdin pipe (kubectl's EOF is lost): the shell ends at `exit`, or after
    fakesh.PIPE_IDLE s without input."""
    pod = pod_of(testbed, "app=payment-service")
    p = testbed.kubectl("exec", "-i", "-n", NS, pod, "--", "sh", input="echo one\nhostname\nredis-cli ping\nexit\n",
                        timeout=60)
    assert p.stdout == "one\necotrack-testbed\nPONG\n"
    t0 = time.monotonic()
    p = testbed.kubectl("exec", "-i", "-n", NS, pod, "--", "sh", input="echo two\n", timeout=60)
    assert p.stdout == "two\n" and time.monotonic() - t0 < fakesh.PIPE_IDLE + 15


def test_exec_interactive_bash_over_a_tty(testbed):
    """`kubectl exec -it POD -- bash` from a terminal: prompt, echo, exit status."""
    pod = pod_of(testbed, "app=user-service")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(testbed.bin_dir / "kubectl"), "exec", "-it", "-n", NS, pod, "--", "bash"],
                            stdin=slave, stdout=slave, stderr=slave, env=testbed.env, start_new_session=True)
    os.close(slave)
    buf = b""

    def until(needle: bytes, timeout: float = 20) -> bytes:
        nonlocal buf
        deadline = time.monotonic() + timeout
        while needle not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        assert needle in buf, buf
        return buf

    try:
        until(b"$ ")
        os.write(master, b"echo tty-works\r")
        until(b"tty-works\r\n")
        os.write(master, b"psql -c 'SELECT 1;'\r")
        until(b"(1 row)")
        os.write(master, b"exit 3\r")
        rc = proc.wait(timeout=20)
        assert rc != 0  # KWOK reports a non-zero exit as an error status: kubectl exits 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
