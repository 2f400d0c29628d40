"""kubectl's service/workload → pod and port rules (ecotui.forward.resolve) on an in-test fake API."""
from __future__ import annotations

import pytest

from ecotui.forward.model import Target
from ecotui.forward.resolve import (ForwardError, Resolved, container_ports, label_selector, rank, resolve,
                                    service_target_port)
from ecotui.kube.client import HttpStatusError


def pod(name, *, phase="Running", ready=True, ready_at="2026-01-01T00:00:10Z", created="2026-01-01T00:00:00Z",
        restarts=0, node="n1", deleting=False, labels=None, ports=(("http", 8080),), rv="5"):
    meta = {"name": name, "namespace": "ns", "labels": labels or {"app": "web"}, "creationTimestamp": created,
            "resourceVersion": rv}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T01:00:00Z"
    return {"metadata": meta,
            "spec": {"nodeName": node, "containers": [
                {"name": "app", "ports": [{"name": n, "containerPort": p} for n, p in ports]},
                {"name": "sidecar", "ports": [{"containerPort": 9090, "protocol": "TCP"},
                                             {"containerPort": 53, "protocol": "UDP", "name": "dns"}]}]},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": ready_at}],
                       "containerStatuses": [{"restartCount": restarts}]}}


def svc(ports, selector=None, cluster_ip="10.0.0.1"):
    return {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"} if selector is None else selector,
                                                  "clusterIP": cluster_ip, "ports": ports}}


class FakeAPI:
    def __init__(self, objects: dict[str, dict], pods: list[dict]) -> None:
        self.objects = objects
        self.pods = pods
        self.selectors: list[str] = []

    async def get(self, path, type_=None, *, params=None):
        if path == "/api/v1/namespaces/ns/pods":
            sel = params["labelSelector"]
            self.selectors.append(sel)
            want = dict(kv.split("=") for kv in sel.split(",") if "=" in kv)
            return {"items": [p for p in self.pods if all(p["metadata"]["labels"].get(k) == v
                                                          for k, v in want.items())]}
        for p in self.pods:
            if path == f"/api/v1/namespaces/ns/pods/{p['metadata']['name']}":
                return p
        if path in self.objects:
            return self.objects[path]
        raise HttpStatusError("not found", status=404)


SVC = "/api/v1/namespaces/ns/services/web"


async def test_service_named_target_port_goes_to_the_best_pod():
    pods = [pod("young", ready_at="2026-01-01T00:05:00Z"), pod("old", ready_at="2026-01-01T00:01:00Z"),
            pod("unready", ready=False), pod("pending", phase="Pending", ready=False),
            pod("going", deleting=True, ready_at="2026-01-01T00:00:01Z"), pod("other", labels={"app": "x"})]
    api = FakeAPI({SVC: svc([{"name": "http", "port": 80, "targetPort": "http"}])}, pods)
    r = await resolve(api, Target("service", "ns", "web"), 80)
    assert r == Resolved("ns", "old", 8080, "app", "5", True)   # ready the longest; the one being deleted last
    assert api.selectors == ["app=web"]
    assert (await resolve(api, Target("service", "ns", "web"), "http")).pod_port == 8080   # by service port name


@pytest.mark.parametrize("port_spec,cluster_ip,expect", [
    ({"port": 80, "targetPort": 8080}, "10.0.0.1", (8080, "app")),
    ({"port": 9090}, "10.0.0.1", (9090, "sidecar")),            # no targetPort: the port itself
    ({"port": 9090, "targetPort": 0}, "10.0.0.1", (9090, "sidecar")),
    ({"port": 80, "targetPort": "http"}, "None", (80, None)),    # headless: the number as is
    ({"port": 80, "targetPort": "8080"}, "10.0.0.1", (8080, "app")),
])
def test_service_port_translation(port_spec, cluster_ip, expect):
    assert service_target_port(svc([port_spec], cluster_ip=cluster_ip), pod("p"), 80 if port_spec["port"] == 80
                               else 9090) == expect


def test_service_port_errors_are_kubectls():
    with pytest.raises(ForwardError, match=r"service web does not have a service port 81 \(it has 80 \(http\)\)"):
        service_target_port(svc([{"name": "http", "port": 80, "targetPort": "http"}]), pod("p"), 81)
    with pytest.raises(ForwardError, match="does not have a named port 'metrics'"):
        service_target_port(svc([{"port": 80, "targetPort": "metrics"}]), pod("p"), 80)
    with pytest.raises(ForwardError, match="service web does not have a named port 'grpc'"):
        service_target_port(svc([{"name": "http", "port": 80}]), pod("p"), "grpc")


async def test_refusals_one_line():
    api = FakeAPI({SVC: svc([{"port": 80}])}, [pod("p", phase="Pending", ready=False)])
    with pytest.raises(ForwardError, match=r"pod p is not running\. Current status=Pending"):
        await resolve(api, Target("service", "ns", "web"), 80)
    with pytest.raises(ForwardError, match="service ns/gone not found"):
        await resolve(api, Target("service", "ns", "gone"), 80)
    with pytest.raises(ForwardError, match="pod ns/nope not found"):
        await resolve(api, Target("pod", "ns", "nope"), 80)
    api2 = FakeAPI({SVC: svc([{"port": 80}], selector={})}, [])
    with pytest.raises(ForwardError, match="has no selector"):
        await resolve(api2, Target("service", "ns", "web"), 80)
    api3 = FakeAPI({SVC: svc([{"port": 80}])}, [])
    with pytest.raises(ForwardError, match=r"no pods found for service ns/web \(selector app=web\)"):
        await resolve(api3, Target("service", "ns", "web"), 80)


async def test_pod_and_workload_ports():
    dep = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    api = FakeAPI({"/apis/apps/v1/namespaces/ns/deployments/web": dep,
                   "/apis/apps/v1/namespaces/ns/statefulsets/web": dep}, [pod("a", restarts=3), pod("b")])
    assert await resolve(api, Target("deployment", "ns", "web"), "http") == Resolved("ns", "b", 8080, "app", "5")
    assert (await resolve(api, Target("statefulset", "ns", "web"), 7777)).container is None   # undeclared: allowed
    assert (await resolve(api, Target("pod", "ns", "a"), 9090)) == Resolved("ns", "a", 9090, "sidecar", "5")
    with pytest.raises(ForwardError, match="pod a does not have a named port 'grpc'"):
        await resolve(api, Target("pod", "ns", "a"), "grpc")
    with pytest.raises(ForwardError, match="not a valid port"):
        await resolve(api, Target("pod", "ns", "a"), 70000)


def test_container_ports_and_selectors():
    assert container_ports(pod("p")) == [("http", 8080, "app"), (None, 9090, "sidecar")]   # TCP only
    assert label_selector({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "x", "operator": "NotIn", "values": ["y"]},
        {"key": "e", "operator": "Exists"}, {"key": "d", "operator": "DoesNotExist"}]}) == \
        "a=1,b=2,tier in (web,api),x notin (y),e,!d"
    assert label_selector({"app": "web"}) == "app=web"


def test_rank_is_kubectls_active_pods_reversed():
    order = [pod("ready-old", ready_at="2026-01-01T00:00:01Z"), pod("ready-new", ready_at="2026-01-01T00:09:00Z"),
             pod("ready-new-restarts", ready_at="2026-01-01T00:09:00Z", restarts=2),
             pod("running-unready", ready=False), pod("unknown", phase="Unknown", ready=False),
             pod("pending", phase="Pending", ready=False), pod("unscheduled", phase="Pending", ready=False, node=""),
             pod("deleting", deleting=True, ready_at="2026-01-01T00:00:00Z")]
    shuffled = order[::-1]
    assert [p["metadata"]["name"] for p in sorted(shuffled, key=rank)] == [p["metadata"]["name"] for p in order]
