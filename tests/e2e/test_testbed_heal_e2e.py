"""`python -m testbed up` / `status` against the real testbed: honest status, healing a partial testbed, and a
fast "already up" on a healthy one."""
from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from testbed import cluster

pytestmark = pytest.mark.e2e

STOPPED = ("loki", "loggen")


def run_testbed(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", *args], capture_output=True, text=True, timeout=timeout)


def test_up_on_a_healthy_testbed_says_already_up_and_is_fast(testbed):
    t0 = time.monotonic()
    p = run_testbed("up", timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    assert "already up" in p.stdout, p.stdout
    assert "starting" not in p.stdout, p.stdout
    assert took < 15, f"`up` on a healthy testbed took {took:.1f}s"


@pytest.mark.disruptive
def test_up_restarts_stopped_components_and_status_tells(testbed):
    try:
        for name in STOPPED:
            cluster.stop_component(name)
        st = run_testbed("status", timeout=60)
        assert st.returncode != 0, st.stdout
        assert f"not healthy: {', '.join(STOPPED)}" in st.stderr, st.stderr
        for name in STOPPED:
            assert any(line.startswith(name) and "stopped" in line for line in st.stdout.splitlines()), st.stdout

        up = run_testbed("up")
        print(up.stdout)
        assert up.returncode == 0, up.stdout + up.stderr
        for name in STOPPED:
            assert f"{name}: not running — starting" in up.stdout, up.stdout
            assert f"{name} ready" in up.stdout, up.stdout
        assert "already up" not in up.stdout and "seeding" not in up.stdout, up.stdout
        assert "etcd: healthy" in up.stdout

        st = run_testbed("status", timeout=60)
        assert st.returncode == 0, st.stdout + st.stderr
        assert httpx.get(f"{testbed.loki_url}/ready", timeout=5).status_code == 200

        def loki_lines():  # the restarted log generator feeds the restarted Loki again
            r = httpx.get(f"{testbed.loki_url}/loki/api/v1/query_range", timeout=10,
                          params={"query": '{namespace="ecotrack"}', "limit": 5,
                                  "start": str(int((time.time() - 60) * 1e9))}).json()
            return r["data"]["result"]
        deadline = time.monotonic() + 30
        while not loki_lines():
            assert time.monotonic() < deadline, "no log lines in Loki 30 s after `up` restarted it"
            time.sleep(1)
    finally:  # never leave the shared testbed broken
        if any(not h.healthy for h in cluster.check_all()):
            cluster.ensure_up()
