"""The data layer against the real API server: equality with kubectl, API restart, forced 410 relist."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import yaml

from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession
from ecotui.kube.store import ConnState
from testbed import cluster, ports

from e2e_app import until
from tcpproxy import CuttableProxy

pytestmark = pytest.mark.e2e


def kubectl_pod_keys(tb, ns: str | None = None) -> set[str]:
    args = ["get", "pods", "-o", "json"] + (["-n", ns] if ns else ["-A"])
    items = json.loads(tb.kubectl(*args).stdout)["items"]
    return {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in items}


async def settle_equal(session, tb, ns=None, timeout=30.0):
    """Wait until the session's pods equal kubectl's (both can move: compare repeatedly)."""
    deadline = time.monotonic() + timeout
    while True:
        want = await asyncio.to_thread(kubectl_pod_keys, tb, ns)
        have = set(session.snapshot("pods").items)
        if have == want:
            return have
        if time.monotonic() > deadline:
            raise AssertionError(f"session != kubectl: only in session {sorted(have - want)[:5]}, "
                                 f"only in kubectl {sorted(want - have)[:5]}")
        await asyncio.sleep(0.5)


async def test_session_matches_kubectl(testbed):
    s = ClusterSession(load_kubeconfig(str(testbed.kubeconfig)))
    await s.start()
    try:
        await until(lambda: s.connection.state is ConnState.LIVE and s.snapshot("pods").synced, 20, "synced")
        await settle_equal(s, testbed)
        nodes = json.loads(testbed.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        assert set(s.snapshot("nodes").items) == {n["metadata"]["name"] for n in nodes}
    finally:
        await s.stop()


@pytest.mark.disruptive
async def test_api_server_restart_reconnects_within_10s(testbed):
    s = ClusterSession(load_kubeconfig(str(testbed.kubeconfig)))
    await s.start()
    try:
        await until(lambda: s.connection.state is ConnState.LIVE and s.snapshot("pods").synced, 20, "synced")
        await asyncio.to_thread(cluster.stop_component, "kube-apiserver")
        await until(lambda: s.connection.state in (ConnState.RECONNECTING, ConnState.STALE), 15, "reconnecting")
        await asyncio.to_thread(cluster.start_component, "kube-apiserver")
        back = time.monotonic()
        await until(lambda: s.connection.state is ConnState.LIVE, 10, "LIVE within 10 s of the API returning")
        recovered = time.monotonic() - back
        assert recovered <= 10
        await settle_equal(s, testbed)
    finally:
        await s.stop()
        await asyncio.to_thread(testbed.wait_settled)


@pytest.mark.disruptive
async def test_forced_410_relists_without_ghosts_or_duplicates(testbed, tmp_path):
    """Partition the session from the API server, change pods, restart the API server (its new watch cache
    starts after our resourceVersion, so our watch gets 410 Expired), heal: the relist must drop pods deleted
    in the gap, add the new ones, and duplicate nothing."""
    ns = f"e2e-410-{uuid.uuid4().hex[:6]}"
    testbed.create_namespace(ns)
    for i in range(4):
        testbed.kubectl("run", f"doomed-{i}", "--image=busybox:1.36", "-n", ns, "--restart=Never")
    proxy = CuttableProxy(ports.APISERVER)
    await proxy.start()
    kc = yaml.safe_load(testbed.kubeconfig.read_text())
    kc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    kc_path = tmp_path / "kubeconfig"
    kc_path.write_text(yaml.safe_dump(kc))
    s = ClusterSession(load_kubeconfig(str(kc_path)), namespace=ns)
    await s.start()
    try:
        await until(lambda: len(s.snapshot("pods").items) == 4, 30, "4 pods in the session")
        pods_inf = s.informers["pods"]
        expired_before, lists_before = pods_inf.stats["expired"], pods_inf.stats["lists"]
        proxy.cut()
        await until(lambda: s.connection.state in (ConnState.RECONNECTING, ConnState.STALE), 15, "partitioned")
        await asyncio.to_thread(testbed.kubectl, "delete", "pod", "doomed-0", "doomed-1", "-n", ns, "--grace-period=0",
                                "--force")
        for i in range(3):
            await asyncio.to_thread(testbed.kubectl, "run", f"born-{i}", "--image=busybox:1.36", "-n", ns,
                                    "--restart=Never")
        await asyncio.to_thread(cluster.stop_component, "kube-apiserver")
        await asyncio.to_thread(cluster.start_component, "kube-apiserver")
        proxy.restore()
        await until(lambda: s.connection.state is ConnState.LIVE, 15, "LIVE after healing")
        have = await settle_equal(s, testbed, ns)
        assert have == {f"{ns}/doomed-2", f"{ns}/doomed-3", f"{ns}/born-0", f"{ns}/born-1", f"{ns}/born-2"}
        assert pods_inf.stats["expired"] > expired_before, pods_inf.stats  # the watch really got 410
        assert pods_inf.stats["lists"] > lists_before
        assert len(s.snapshot("pods").items) == 5  # no duplicates
    finally:
        await s.stop()
        await proxy.stop()
        testbed.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        await asyncio.to_thread(testbed.wait_settled)
