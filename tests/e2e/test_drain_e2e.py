"""ecotui.ops.drain against the real API server: side by side with `kubectl drain`, a node deleted during the
drain, the API server unreachable mid-drain (a cuttable proxy; the real API server keeps running).

Every test makes its own KWOK nodes (tainted `drain-e2e=true:NoSchedule`, so nothing of the scenario lands
there and the scenario's DaemonSets stay away) and its own namespace, and deletes them in `finally`."""
from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
import yaml

from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession
from ecotui.ops.drain import DrainOptions, DrainRun, plan_drain
from testbed import ports

from e2e_app import until
from e2e_objects import (apply, cleanup, generic, node_manifest, node_set, pod_template, pods_on, unschedulable,
                         wait_running)
from tcpproxy import CuttableProxy

pytestmark = pytest.mark.e2e


def client_for(kubeconfig_path: str) -> KubeClient:
    return ClusterSession(load_kubeconfig(kubeconfig_path)).client


async def test_drain_matches_kubectl_drain(testbed):
    """Two identical nodes: `kubectl drain A` and our drain of B at the same time, same options."""
    rid = uuid.uuid4().hex[:5]
    ns, a, b = f"drain-e2e-{rid}", f"drain-e2e-a-{rid}", f"drain-e2e-b-{rid}"
    testbed.create_namespace(ns)
    client = client_for(str(testbed.kubeconfig))
    try:
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns},
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "template": {**pod_template("agent", None),
                                    "spec": {**pod_template("agent", None)["spec"],
                                             "nodeSelector": {"drain-e2e": rid}}}}}
        apply(testbed, [node_manifest(a, rid), node_manifest(b, rid)])
        apply(testbed, [ds, *node_set(testbed, ns, a, "a"), *node_set(testbed, ns, b, "b")])
        await asyncio.to_thread(wait_running, testbed, ns, {a: 5, b: 5})

        opts = DrainOptions(ignore_daemonsets=True, delete_emptydir_data=True, timeout=15, retry_delay=5)
        plan = await plan_drain(client, b, opts)
        assert not plan.preview.blocked, plan.preview.blocked
        assert {s.reason for s in plan.skipped} == {"DaemonSet"} and len(plan.skipped) == 1
        assert [(x.pdb, x.disruptions_allowed) for x in plan.pdb_blocked] == [("guarded-b-pdb", 0)]
        assert any(line.startswith(f"evict {ns}/cache-b-") and "[emptyDir]" in line for line in plan.preview.lines)

        kubectl = asyncio.create_task(asyncio.to_thread(
            testbed.kubectl, "drain", a, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=15s",
            check=False, timeout=40))
        t0 = time.monotonic()
        out = await plan.apply(client)
        ours_s = time.monotonic() - t0
        k = await kubectl
        text = k.stdout + k.stderr
        assert k.returncode != 0 and "global timeout reached" in text, text

        kubectl_evicted = {generic(m) for m in re.findall(r"pod/(\S+) evicted", text)}
        ours_evicted = {generic(key.split("/", 1)[1]) for key, v in out.details["pods"].items()
                        if v["state"] == "evicted"}
        assert kubectl_evicted == ours_evicted == {"web", "cache"}, (text, out.details)
        assert not out.ok and 14 <= ours_s < 20
        assert f"{ns}/guarded-b-pdb (disruptionsAllowed 0)" in out.message, out.message
        assert out.details["blocking_pdbs"] == [{"namespace": ns, "name": "guarded-b-pdb", "disruptionsAllowed": 0}]
        # both leave the guarded pod (and the DaemonSet pod) on their node, both nodes stay cordoned
        left = {(p["spec"].get("nodeName"), generic(p["metadata"]["name"]))
                for p in pods_on(testbed, ns) if not p["metadata"].get("deletionTimestamp")}
        assert {g for n, g in left if n == a} == {g for n, g in left if n == b} == {"guarded", "agent"}
        assert unschedulable(testbed, a) and unschedulable(testbed, b)
    finally:
        await client.aclose()
        cleanup(testbed, ns, [a, b])


async def test_node_deleted_during_drain(testbed):
    rid = uuid.uuid4().hex[:5]
    ns, c = f"drain-e2e-{rid}", f"drain-e2e-c-{rid}"
    testbed.create_namespace(ns)
    client = client_for(str(testbed.kubeconfig))
    try:
        apply(testbed, [node_manifest(c, rid)])
        apply(testbed, node_set(testbed, ns, c, "c"))
        await asyncio.to_thread(wait_running, testbed, ns, {c: 4})
        opts = DrainOptions(timeout=30, retry_delay=1)
        run = DrainRun(client, await plan_drain(client, c, opts), opts)
        task = asyncio.create_task(run.run())
        await until(lambda: run.snapshot().count("evicted") == 3 and run.snapshot().count("retrying") == 1, 15,
                    "3 pods evicted, the guarded one retrying")
        await asyncio.to_thread(testbed.kubectl, "delete", "node", c)
        t0 = time.monotonic()
        out = await asyncio.wait_for(task, 10)
        assert time.monotonic() - t0 < 4
        assert not out.ok
        assert out.message.startswith(f"node {c} was deleted during the drain: 3 of 4 pod(s) evicted"), out.message
        assert run.snapshot().phase == "failed"
    finally:
        await client.aclose()
        cleanup(testbed, ns, [c])


async def test_api_unreachable_mid_drain_waits_and_resumes(testbed, tmp_path):
    rid = uuid.uuid4().hex[:5]
    ns, d = f"drain-e2e-{rid}", f"drain-e2e-d-{rid}"
    testbed.create_namespace(ns)
    proxy = CuttableProxy(ports.APISERVER)
    await proxy.start()
    kc = yaml.safe_load(testbed.kubeconfig.read_text())
    for cl in kc["clusters"]:
        cl["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"   # certificate names unchanged
    kc_path = tmp_path / "kubeconfig"
    kc_path.write_text(yaml.safe_dump(kc))
    client = client_for(str(kc_path))
    try:
        apply(testbed, [node_manifest(d, rid)])
        apply(testbed, node_set(testbed, ns, d, "d", web=4))
        await asyncio.to_thread(wait_running, testbed, ns, {d: 6})
        opts = DrainOptions(timeout=35, retry_delay=0.5)
        plan = await plan_drain(client, d, opts)
        run = DrainRun(client, plan, opts)
        task = asyncio.create_task(run.run())
        await until(lambda: run.snapshot().count("evicted") == 5 and run.snapshot().count("retrying") == 1, 15,
                    "5 pods evicted, the guarded one retrying")
        proxy.cut()
        await until(lambda: any("unreachable" in r.message for r in run.snapshot().rows), 5,
                    "progress shows the API server unreachable")
        # while we are cut off, the PDB is relaxed (directly, not through the proxy)
        await asyncio.to_thread(testbed.kubectl, "patch", "pdb", "guarded-d-pdb", "-n", ns, "--type=merge",
                                "-p", '{"spec":{"maxUnavailable":1}}')
        await asyncio.sleep(2)
        snap = run.snapshot()
        assert snap.phase == "evicting" and not task.done()
        evicted = {r.key for r in snap.rows if r.state == "evicted"}
        assert len(evicted) == 5 and not any(k.startswith(f"{ns}/guarded-d-") for k in evicted)
        proxy.restore()
        out = await asyncio.wait_for(task, 25)
        assert out.ok, out.message
        assert {v["state"] for v in out.details["pods"].values()} == {"evicted"} and len(out.details["pods"]) == 6
        assert unschedulable(testbed, d)
        assert not [p for p in pods_on(testbed, ns) if p["spec"].get("nodeName") == d
                    and not p["metadata"].get("deletionTimestamp")]
    finally:
        await client.aclose()
        await proxy.stop()
        cleanup(testbed, ns, [d])
