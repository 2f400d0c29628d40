"""Port-forwards on the testbed (real kube-apiserver → KWOK's port-forward), through a real workspace's
ForwardManager: a forward to svc/user-service port 80 returns the actuator health JSON through the local port;
50 concurrent requests through one forward all succeed; deleting the pod in use → the forward moves to another
pod by itself and the next request succeeds within 5 s; a local port in use, a user without RBAC, a viewer who
may read pods but not create pods/portforward, and a pod port KWOK does not forward each give one clear line."""
from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from ecotui.config import Config
from ecotui.forward.manager import ForwardManager
from ecotui.forward.model import ForwardSpec, ForwardState, Target
from ecotui.forward.resolve import ForwardError
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.workspace import WorkspaceFactory
from test_cli_errors_e2e import kubeconfig, make_cert
from e2e_objects import ViewerAccount

pytestmark = pytest.mark.e2e
NS = "ecotrack"
HEAL_S = 5.0


def workspace(tb):
    factory = WorkspaceFactory(load_kubeconfig(str(tb.kubeconfig)), Config(), first_context=tb.context,
                               all_namespaces=True)
    return factory.build(tb.context)


def svc_spec(tb, name: str = "user-service", port: int | str = 80, local_port: int = 0) -> ForwardSpec:
    return ForwardSpec(tb.context, Target("service", NS, name), port, local_port)


def client_for(kc_path: str) -> KubeClient:
    r = load_kubeconfig(kc_path).resolve()
    return KubeClient(r.cluster, Authenticator(r.user, r.cluster))


async def health(http: httpx.AsyncClient, url: str) -> httpx.Response:
    return await http.get(url + "/actuator/health", timeout=5)


async def test_service_forward_health_json_and_50_concurrent_requests(testbed):
    ws = workspace(testbed)
    fm: ForwardManager = ws.forwards
    try:
        fid = fm.start(svc_spec(testbed))
        assert fm.start(svc_spec(testbed)) == fid           # the same spec → the same forward
        view = await fm.wait_ready(fid, 15)
        assert view.state is ForwardState.ACTIVE and view.local.startswith("127.0.0.1:")
        assert view.pod and view.pod.startswith(f"{NS}/user-service-") and view.pod_port == 8080  # targetPort http
        assert fm.transport(fid) == "spdy"      # kubectl's transport: one SPDY session through one WebSocket
        async with httpx.AsyncClient(trust_env=False) as http:
            r = await health(http, view.url)
            assert r.status_code == 200 and r.json()["status"] == "UP"
            assert {"db", "redis", "diskSpace"} <= set(r.json()["components"])
        before = fm.view(fid).total_connections
        async with httpx.AsyncClient(trust_env=False, limits=httpx.Limits(max_connections=50)) as http:
            rs = await asyncio.gather(*[health(http, view.url) for _ in range(50)], return_exceptions=True)
        ok = [r for r in rs if isinstance(r, httpx.Response) and r.status_code == 200 and r.json()["status"] == "UP"]
        assert len(ok) == 50, [r for r in rs if r not in ok][:3]
        after = fm.view(fid)
        assert after.total_connections - before >= 10      # really concurrent: many connections, one forward
        assert after.bytes_in > 50 * 300 and after.bytes_out > 50 * 30 and after.error == ""
    finally:
        await ws.stop()
    assert all(v.state is ForwardState.STOPPED for v in fm.views())
    with socket.create_server(("127.0.0.1", int(view.local.rsplit(":", 1)[1]))):   # the port was released
        pass


async def test_pod_deleted_forward_moves_to_another_pod_within_5s(testbed):
    ws = workspace(testbed)
    fm: ForwardManager = ws.forwards
    try:
        fid = fm.start(svc_spec(testbed))
        view = await fm.wait_ready(fid, 15)
        old = view.pod
        assert old is not None
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await health(http, view.url)).status_code == 200
        testbed.kubectl("delete", "pod", "-n", NS, old.split("/")[1], "--wait=false")
        t0 = time.monotonic()
        moved = None
        while time.monotonic() - t0 < HEAL_S:
            v = fm.view(fid)
            if v is not None and v.state is ForwardState.ACTIVE and v.pod != old:
                moved = v
                break
            await asyncio.sleep(0.05)
        assert moved is not None, f"still {fm.view(fid)} {HEAL_S} s after deleting {old}"
        async with httpx.AsyncClient(trust_env=False) as http:   # a new connection: goes to the new pod
            r = await health(http, view.url)
        took = time.monotonic() - t0
        assert r.status_code == 200 and r.json()["status"] == "UP"
        assert took < HEAL_S, took
        v = fm.view(fid)
        assert v.reconnects >= 1 and v.pod != old and v.local == view.local
        print(f"healed: {old} → {v.pod}, request ok {took:.2f} s after the delete")
    finally:
        await ws.stop()


async def test_local_port_in_use_is_one_line(testbed):
    ws = workspace(testbed)
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(ForwardError) as e:
            ws.forwards.start(svc_spec(testbed, local_port=port))
    assert e.value.message == f"127.0.0.1:{port} is in use (another program listens there)"
    assert ws.forwards.views() == []
    await ws.stop()


async def test_pod_port_without_forward_is_kwoks_line(testbed):
    pod = testbed.kubectl("get", "pods", "-n", NS, "-l", "app=user-service", "-o",
                          "jsonpath={.items[0].metadata.name}").stdout.strip()
    ws = workspace(testbed)
    fm: ForwardManager = ws.forwards
    try:
        fid = fm.start(ForwardSpec(testbed.context, Target("pod", NS, pod), 9999))
        with pytest.raises(ForwardError) as e:
            await fm.wait_ready(fid, 15)
        assert "no forward found for port 9999" in e.value.message and "\n" not in e.value.message
        v = fm.view(fid)
        assert v is not None and v.state is ForwardState.FAILED and "no forward found for port 9999" in v.error
        named = fm.start(ForwardSpec(testbed.context, Target("pod", NS, pod), "http"))   # a named container port
        nv = await fm.wait_ready(named, 15)
        assert nv.pod == f"{NS}/{pod}" and nv.pod_port == 8080
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await health(http, nv.url)).json()["status"] == "UP"
    finally:
        await ws.stop()


async def test_user_without_rbac_gets_one_forbidden_line(testbed, tmp_path):
    cert, key = make_cert(tmp_path, "nobody", "/CN=no-rbac-user", testbed.state_dir / "pki")
    client = client_for(kubeconfig(testbed, tmp_path, cert=cert, key=key))
    fm = ForwardManager(client, testbed.context)
    try:
        fid = fm.start(svc_spec(testbed))
        with pytest.raises(ForwardError) as e:
            await fm.wait_ready(fid, 15)
        msg = e.value.message
        assert "forbidden" in msg and "no-rbac-user" in msg and "\n" not in msg, msg
        assert fm.view(fid).state is ForwardState.FAILED
    finally:
        await fm.close()
        await client.aclose()


async def test_viewer_cannot_create_pods_portforward_one_line(testbed, tmp_path):
    """A user who may read pods and services but not create pods/portforward: the WebSocket upgrade itself is
    refused (403) and that is the one line."""
    pods_and_services = [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}]
    with ViewerAccount(testbed, "fwd-e2e", tmp_path, pods_and_services) as viewer:
        client = client_for(viewer.kubeconfig)
        fm = ForwardManager(client, testbed.context)
        try:
            fid = fm.start(svc_spec(testbed))
            deadline = time.monotonic() + 20   # RBAC caches: the binding may take a moment to apply
            while True:
                with pytest.raises(ForwardError) as e:
                    await fm.wait_ready(fid, 15)
                if "pods/portforward" in e.value.message or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
                fm.restart(fid)
            msg = e.value.message
            assert "forbidden" in msg and "pods/portforward" in msg and "\n" not in msg, msg
        finally:
            await fm.close()
            await client.aclose()

