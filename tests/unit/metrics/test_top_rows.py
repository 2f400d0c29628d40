"""Top's computation: requests/limits as kubectl's resource helpers (init containers, sidecars, pod-level
resources, overhead), node rows (allocated, pod counts, % of allocatable), pod rows and their order, kubectl's
formatting."""
from __future__ import annotations

import msgspec
import pytest

from ecotui.metrics import top
from ecotui.metrics.alloc import WireNode, WirePod, pod_requests_limits, to_node_alloc, to_pod_alloc
from ecotui.metrics.usage import ContainerUsage, NodeUsage, PodUsage, UsageSnapshot


def wire_pod(name: str, node: str = "n1", *, containers=(), init=(), phase="Running", pod_res=None,
             overhead=None, ns: str = "a") -> WirePod:
    spec: dict = {"nodeName": node, "containers": list(containers), "initContainers": list(init)}
    if pod_res is not None:
        spec["resources"] = pod_res
    if overhead:
        spec["overhead"] = overhead
    return msgspec.convert({"metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"phase": phase}},
                           WirePod)


def ctr(name: str, req: dict | None = None, lim: dict | None = None, restart: str = "") -> dict:
    d: dict = {"name": name, "resources": {"requests": req or {}, "limits": lim or {}}}
    if restart:
        d["restartPolicy"] = restart
    return d


def test_requests_sum_containers_and_take_the_largest_init_container():
    p = wire_pod("p", containers=[ctr("a", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "1"}),
                                  ctr("b", {"cpu": "200m"}, {"cpu": "500m", "memory": "1Gi"})],
                 init=[ctr("init", {"cpu": "1", "memory": "32Mi"}, {"cpu": "2"})])
    req, lim = pod_requests_limits(p.spec)
    assert req == {"cpu": 1.0, "memory": 64 * 2**20}
    assert lim == {"cpu": 2.0, "memory": 2**30}


def test_sidecars_add_to_the_sum_and_to_later_init_containers():
    p = wire_pod("p", containers=[ctr("app", {"cpu": "100m"})],
                 init=[ctr("side", {"cpu": "50m"}, restart="Always"), ctr("late-init", {"cpu": "120m"})])
    req, _ = pod_requests_limits(p.spec)
    # sum = app 100m + sidecar 50m = 150m; the plain init after the sidecar needs 120m + 50m = 170m
    assert req["cpu"] == pytest.approx(0.17)


def test_pod_level_resources_and_overhead():
    p = wire_pod("p", containers=[ctr("a", {"cpu": "100m", "memory": "64Mi"}, {"memory": "128Mi"})],
                 pod_res={"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}, overhead={"cpu": "10m", "memory": "1Mi"})
    req, lim = pod_requests_limits(p.spec)
    assert req["cpu"] == pytest.approx(1.01) and req["memory"] == 65 * 2**20
    assert lim["cpu"] == pytest.approx(2.01) and lim["memory"] == 129 * 2**20
    no_lim = wire_pod("q", containers=[ctr("a", {"cpu": "100m"})], overhead={"cpu": "10m"})
    assert "cpu" not in pod_requests_limits(no_lim.spec)[1]   # overhead only where a limit exists


def test_node_rows_allocated_counts_and_percent():
    pods = {f"a/{n}": to_pod_alloc(p) for n, p in {
        "p1": wire_pod("p1", containers=[ctr("c", {"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"})]),
        "p2": wire_pod("p2", containers=[ctr("c", {"cpu": "250m"})]),
        "done": wire_pod("done", containers=[ctr("c", {"cpu": "4"})], phase="Succeeded"),
        "elsewhere": wire_pod("elsewhere", node="n2", containers=[ctr("c", {"cpu": "1"})]),
    }.items()}
    n1 = to_node_alloc(msgspec.convert({"metadata": {"name": "n1"}, "status": {
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "58"}}}, WireNode))
    snap = UsageSnapshot("metrics-server", {"n1": NodeUsage("n1", 0.4, 1.5 * 2**30)}, {})
    rows = top.node_rows(snap, {"n1": n1}, pods)
    r = {x.name: x for x in rows}["n1"]
    assert (r.req_cpu, r.lim_cpu, r.req_mem, r.lim_mem) == (0.75, 1.0, 2**30, 2 * 2**30)
    assert r.pods == 2 and r.pod_capacity == 58
    assert r.cpu_pct == 10 and r.mem_pct == 10          # 0.4/3.92 = 10.2 % truncated, 1.5/15 = 10 %
    assert top.allocated(pods, "n1") == (0.75, 2**30, 1.0, 2 * 2**30)
    n2 = {x.name: x for x in rows}["n2"] if "n2" in {x.name for x in rows} else None
    assert n2 is None   # a node neither listed nor measured has no row


def test_pod_rows_sort_and_containers():
    pods = {"a/big": to_pod_alloc(wire_pod("big", containers=[ctr("c", {"cpu": "100m"}, {"cpu": "200m"})]))}
    usage = {"a/big": PodUsage("a", "big", 0.15, 10 * 2**20, (ContainerUsage("c", 0.15, 10 * 2**20),)),
             "a/small": PodUsage("a", "small", 0.01, 900 * 2**20, ()),
             "a/unknown": PodUsage("a", "unknown", None, None, ())}
    snap = UsageSnapshot("metrics-server", {}, usage)
    rows = top.pod_rows(snap, pods, "cpu")
    assert [r.name for r in rows] == ["big", "small", "unknown"]
    assert [r.name for r in top.pod_rows(snap, pods, "memory")] == ["small", "big", "unknown"]
    big = rows[0]
    assert big.node == "n1" and big.req_cpu == 0.1 and big.lim_cpu == 0.2 and big.req_mem is None
    assert big.containers()[0].req_cpu == 0.1 and top.cpu_pct(big.cpu, big.req_cpu) == 150


def test_kubectl_formatting():
    assert top.fmt_cpu(0.226924347) == "227m" and top.fmt_cpu(0.3) == "300m" and top.fmt_cpu(None) == "—"
    assert top.fmt_mem(1037 * 2**20 + 5) == "1037Mi" and top.fmt_mem(None) == "—"
    assert top.fmt_mem(12 * 2**30) == "12.0Gi"
    assert top.pct(1, 0) is None and top.pct(None, 1) is None and top.pct(0.5, 1) == 100
    assert top.pct(2**29, 2**30) == 50 and top.cpu_pct(0.5, 1) == 50 and top.cpu_pct(0.0004, 1) == 0
    assert top.bar(50, 6) == "███░░░" and top.bar(None, 3) == "···" and top.bar(250, 4) == "████"
