"""`python -m testbed scale --nodes N --pods P`: benchmark nodes and pods, on top of the scenario.

Bench nodes are labelled ecotui.testbed/bench=true (node group bench-ng); bench pods live in the
namespace `bench`, pre-bound to nodes (spec.nodeName, as the scheduler would have done) so that
10k pods appear in about a minute on 2 cores. Scaling down deletes the surplus; 0 removes all.
"""
from __future__ import annotations

import asyncio
import json
import time

import httpx

from . import paths, ports, scenario
from .components import admin_ssl
from .kube import get_json

BENCH_LABEL = "ecotui.testbed/bench"
NS = "bench"
CONCURRENCY = 24


def bench_node(i: int) -> dict:
    zone = scenario.ZONES[i % 3]
    name = f"ip-10-1-{i // 250}-{i % 250}.ec2.internal"
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "m5.2xlarge", "topology.kubernetes.io/zone": zone,
            "topology.kubernetes.io/region": scenario.REGION, "eks.amazonaws.com/nodegroup": "bench-ng",
            "eks.amazonaws.com/capacityType": "SPOT", "type": "kwok", BENCH_LABEL: "true"},
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0",
                            "metrics.k8s.io/resource-metrics-path": f"/metrics/nodes/{name}/metrics/resource"}},
        "spec": {"providerID": f"aws:///{zone}/i-0b{i:013x}"},
        "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "nodeInfo": {"kubeletVersion": scenario.KUBELET_VERSION, "osImage": "Amazon Linux 2023.6.20241121",
                                "kernelVersion": "6.1.115-126.197.amzn2023.x86_64", "architecture": "amd64",
                                "containerRuntimeVersion": "containerd://1.7.23", "operatingSystem": "linux"}},
    }
    return node


def bench_pod(i: int, node: str) -> dict:
    app = f"bench-app-{i % 50:02d}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{app}-{i:05d}", "namespace": NS,
                     "labels": {"app": app, "tier": "backend", "team": f"team-{i % 7}", BENCH_LABEL: "true"},
                     "annotations": {"kwok.x-k8s.io/usage-cpu": f"{20 + i % 180}m",
                                     "kwok.x-k8s.io/usage-memory": f"{64 + i % 400}Mi"}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 5, "containers": [
            {"name": "app", "image": f"ecotrack/{app}:2.3.{i % 9}",
             "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 8081, "name": "management"}],
             "env": [{"name": "SPRING_PROFILES_ACTIVE", "value": "bench"}, {"name": "JAVA_OPTS", "value": "-Xmx512m"}],
             "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
             "readinessProbe": {"httpGet": {"path": "/actuator/health/readiness", "port": 8081}}},
            {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.1",
             "resources": {"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}},
        ]},
    }


async def _run_all(c: httpx.AsyncClient, reqs: list[tuple[str, str, dict | None]]) -> int:
    sem = asyncio.Semaphore(CONCURRENCY)
    failures = 0

    async def one(method: str, path: str, body: dict | None) -> None:
        nonlocal failures
        async with sem:
            for attempt in range(5):
                r = await c.request(method, path, content=json.dumps(body) if body else None,
                                    headers={"Content-Type": "application/json"})
                if r.status_code < 300 or r.status_code in (404, 409):
                    return
                await asyncio.sleep(0.2 * (attempt + 1))
            failures += 1

    await asyncio.gather(*(one(*r) for r in reqs))
    return failures


async def _scale(nodes: int, pods: int) -> None:
    async with httpx.AsyncClient(base_url=f"https://{ports.HOST}:{ports.APISERVER}", verify=admin_ssl(paths.pki_dir()),
                                 timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)) as c:
        have_nodes = {n["metadata"]["name"] for n in get_json("/api/v1/nodes", labelSelector=f"{BENCH_LABEL}=true")["items"]}
        want_nodes = [bench_node(i) for i in range(nodes)]
        want_names = [n["metadata"]["name"] for n in want_nodes]
        reqs: list = [("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})]
        reqs += [("POST", "/api/v1/nodes", n) for n in want_nodes if n["metadata"]["name"] not in have_nodes]
        t0 = time.monotonic()
        fails = await _run_all(c, reqs)
        print(f"[testbed] nodes: {len(reqs) - 1} created in {time.monotonic() - t0:.1f}s ({fails} failed)", flush=True)
        have_pods = {p["metadata"]["name"] for p in get_json(f"/api/v1/namespaces/{NS}/pods")["items"]}
        targets = want_names or sorted(have_nodes)
        want_pods = [bench_pod(i, targets[i % len(targets)]) for i in range(pods)] if targets else []
        want_pod_names = {p["metadata"]["name"] for p in want_pods}
        reqs = [("POST", f"/api/v1/namespaces/{NS}/pods", p) for p in want_pods if p["metadata"]["name"] not in have_pods]
        reqs += [("DELETE", f"/api/v1/namespaces/{NS}/pods/{n}?gracePeriodSeconds=0", None)
                 for n in have_pods - want_pod_names]
        t0 = time.monotonic()
        fails = await _run_all(c, reqs)
        print(f"[testbed] pods: {len(reqs)} created/deleted in {time.monotonic() - t0:.1f}s ({fails} failed)", flush=True)
        gone = [("DELETE", f"/api/v1/nodes/{n}", None) for n in have_nodes - set(want_names)]
        if gone:
            await _run_all(c, gone)
            print(f"[testbed] nodes: {len(gone)} deleted", flush=True)


def _running(pods: int) -> tuple[bool, str]:
    running, cont = 0, ""
    while True:
        page = get_json(f"/api/v1/namespaces/{NS}/pods", limit=500, **({"continue": cont} if cont else {}))
        running += sum(1 for p in page["items"] if p["status"].get("phase") == "Running")
        cont = page["metadata"].get("continue", "")
        if not cont:
            break
    return running >= pods, f"{running}/{pods} Running"


def scale(nodes: int, pods: int, wait_s: float = 900) -> float:
    t0 = time.monotonic()
    asyncio.run(_scale(nodes, pods))
    deadline = time.monotonic() + wait_s
    while pods and time.monotonic() < deadline:
        ok, msg = _running(pods)
        if ok:
            break
        print(f"[testbed] waiting: {msg}", flush=True)
        time.sleep(5)
    elapsed = time.monotonic() - t0
    print(f"[testbed] scale to {nodes} nodes / {pods} pods done in {elapsed:.1f}s", flush=True)
    return elapsed
