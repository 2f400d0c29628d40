"""The write gate (nothing mutating is sent while read-only) and the per-context workspace factory."""
from __future__ import annotations

import httpx
import pytest

from ecotui.config import Config, ContextConfig
from ecotui.errors import ReadOnlyError
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, ContextInfo, KubeConfig, UserInfo
from ecotui.kube.writegate import WriteGate, is_mutating
from ecotui.workspace import WorkspaceFactory


def client_with(gate: WriteGate, seen: list[httpx.Request]) -> KubeClient:
    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={})
    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    return KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster),
                      transport=httpx.MockTransport(handler), gate=gate)


@pytest.mark.parametrize("method,path,mutating", [
    ("GET", "/api/v1/pods", False),
    ("PATCH", "/api/v1/nodes/n1", True),
    ("POST", "/api/v1/namespaces/x/pods/p/eviction", True),
    ("DELETE", "/apis/apps/v1/namespaces/x/deployments/d", True),
    ("PUT", "/apis/apps/v1/namespaces/x/deployments/d/scale", True),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", False),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews?x=1", False),
    ("POST", "/api/v1/namespaces/x/pods/p/portforward", False),
    ("GET", "/api/v1/namespaces/x/pods/p/portforward?ports=80", False),
    ("GET", "/api/v1/namespaces/x/pods/p/exec?command=sh&stdin=true", True),   # a WebSocket exec starts a process
    ("GET", "/api/v1/namespaces/x/pods/p/attach", True),
    ("GET", "/api/v1/namespaces/exec/pods", False),
])
def test_what_counts_as_a_write(method, path, mutating):
    assert is_mutating(method, path) is mutating


async def test_readonly_gate_refuses_writes_without_sending_them():
    seen: list[httpx.Request] = []
    gate = WriteGate("prod", readonly=True)
    client = client_with(gate, seen)
    try:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(ReadOnlyError) as exc:
                await client.request(method, "/api/v1/nodes/n1", json={"spec": {"unschedulable": True}})
            assert "read-only" in exc.value.message and "'prod'" in exc.value.message
        assert seen == [] and gate.refused == 4
        await client.get("/api/v1/nodes")                       # reads still go out
        await client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json={})
        assert [r.method for r in seen] == ["GET", "POST"]
        gate.set_readonly(False)                                 # the gate follows the profile live
        await client.request("PATCH", "/api/v1/nodes/n1", json={})
        assert [r.method for r in seen] == ["GET", "POST", "PATCH"]
    finally:
        await client.aclose()


def kubeconfig() -> KubeConfig:
    return KubeConfig(
        source="test", current_context="dev", clusters={"c": {"server": "https://127.0.0.1:6443"}},
        users={"u": {"token": "t"}},
        contexts=[ContextInfo(name="dev", cluster="c", user="u", namespace="team-a"),
                  ContextInfo(name="prod", cluster="c", user="u", namespace=None)])


def test_factory_builds_one_workspace_per_context_with_its_profile():
    config = Config(readonly=False, contexts={
        "prod": ContextConfig(namespace="ecotrack", readonly=True, prometheus_url="http://127.0.0.1:29090",
                              loki_url="http://127.0.0.1:23100", aws_profile="oncall", aws_region="us-east-1",
                              eks_cluster="ecotrack-prod")})
    made: list[tuple[str, str | None, bool]] = []

    class S:
        def __init__(self, kc, context, namespace, gate):
            self.context, self.namespace, self.gate = context, namespace, gate
            made.append((context, namespace, gate.readonly))

    f = WorkspaceFactory(kubeconfig(), config, first_context="dev", all_namespaces=True, make_session=S)
    assert f.contexts == ["dev", "prod"]
    dev = f.build("dev")
    assert dev.profile.namespace is None and not dev.readonly          # -A applies to the first context
    prod = f.build("prod")
    assert prod.readonly and prod.gate.readonly and prod.session.gate is prod.gate
    assert prod.profile.namespace == "ecotrack"
    assert prod.profile.prometheus_url == "http://127.0.0.1:29090" and prod.profile.loki_url.endswith(":23100")
    assert (prod.profile.aws.profile, prod.profile.aws.region, prod.profile.aws.cluster) == \
        ("oncall", "us-east-1", "ecotrack-prod")
    assert made == [("dev", None, False), ("prod", "ecotrack", True)]
    # --readonly holds for every context; a context's own namespace is used when the config has none
    ro = WorkspaceFactory(kubeconfig(), Config(), first_context="prod", readonly=True, make_session=S)
    assert ro.build("dev").readonly and ro.build("dev").profile.namespace == "team-a"
