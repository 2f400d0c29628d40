"""ClusterSession: start/stop, the four informers, namespace switching, pod events, aggregate state."""
from __future__ import annotations

import asyncio
import gc
import socket
import time

import pytest

from conftest import FAST, wait_for, write_kubeconfig
from ecotui.errors import AuthError, ConnectError, EcotuiError, KubeconfigError
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession
from ecotui.kube.store import ConnState
from fake_apiserver import event, namespace, node, pod, status_body


def seed(api) -> None:
    api.seed("namespaces", [namespace("ecotrack"), namespace("observability")])
    api.seed("nodes", [node("node-1"), node("node-2")])
    api.seed("pods", [pod("ecotrack", "order-service-1"), pod("ecotrack", "payment-service-1"),
                      pod("observability", "grafana-0")])
    api.seed("events", [event("ecotrack", "ev-old", "order-service-1", "2026-01-01T10:00:00Z", "Pulled"),
                        event("ecotrack", "ev-new", "order-service-1", "2026-01-01T10:05:00Z", "BackOff"),
                        event("ecotrack", "ev-other", "payment-service-1", "2026-01-01T10:06:00Z"),
                        event("observability", "ev-g", "grafana-0", "2026-01-01T10:07:00Z")])


def session_for(tmp_path, url: str, namespace: str | None = None, **kw) -> ClusterSession:
    kc = load_kubeconfig(write_kubeconfig(tmp_path / "config", url))
    return ClusterSession(kc, None, namespace, timing=FAST, health_interval=0.05, **kw)


def synced(s: ClusterSession) -> bool:
    return all(s.snapshot(k).synced for k in ("nodes", "namespaces", "pods", "events"))


async def test_start_syncs_all_kinds_and_stop_cancels_everything(tmp_path, api):
    seed(api)
    s = session_for(tmp_path, api.url, "ecotrack")
    assert s.context == "fake" and s.server == api.url and s.connection.state is ConnState.CONNECTING
    v0 = s.version
    await s.start()
    try:
        await wait_for(lambda: synced(s), what="sync")
        assert s.server_version == "v1.36.3-fake"
        assert set(s.snapshot("nodes").items) == {"node-1", "node-2"}
        assert set(s.snapshot("namespaces").items) == {"ecotrack", "observability"}
        assert set(s.snapshot("pods").items) == {"ecotrack/order-service-1", "ecotrack/payment-service-1"}
        assert set(s.snapshot("events").items) == {"ecotrack/ev-old", "ecotrack/ev-new", "ecotrack/ev-other"}
        assert s.connection.state is ConnState.LIVE and s.version > v0
        assert api.requests[0].resource == "version"
        assert {r.namespace for r in api.lists("pods")} == {"ecotrack"}
        assert {r.namespace for r in api.lists("nodes")} == {None}
    finally:
        await s.stop()
    leftovers = [t for t in asyncio.all_tasks() if (t.get_name() or "").startswith("ecotui-")]
    assert leftovers == []


async def test_set_namespace_switches_pods_and_events(tmp_path, api):
    seed(api)
    s = session_for(tmp_path, api.url, "ecotrack")
    await s.start()
    try:
        await wait_for(lambda: synced(s))
        v = s.version
        await s.set_namespace(None)
        assert s.namespace is None and s.version > v
        await wait_for(lambda: len(s.snapshot("pods").items) == 3, what="all namespaces")
        assert "observability/grafana-0" in s.snapshot("pods").items
        await wait_for(lambda: "observability/ev-g" in s.snapshot("events").items)
        await s.set_namespace("observability")
        await wait_for(lambda: set(s.snapshot("pods").items) == {"observability/grafana-0"})
        assert len([t for t in asyncio.all_tasks() if t.get_name() == "ecotui-informer-pods"]) == 1
    finally:
        await s.stop()


async def test_pod_events_newest_first_from_a_fresh_get(tmp_path, api):
    seed(api)
    s = session_for(tmp_path, api.url, "ecotrack")
    try:
        evs = await s.pod_events("ecotrack", "order-service-1")  # works without start(): not from the cache
    finally:
        await s.stop()
    assert [e.metadata.name for e in evs] == ["ev-new", "ev-old"]
    req = api.lists("events")[-1]
    assert req.namespace == "ecotrack"
    assert req.query["fieldSelector"] == ("involvedObject.kind=Pod,involvedObject.namespace=ecotrack,"
                                          "involvedObject.name=order-service-1")


async def test_start_raises_mapped_errors(tmp_path, api):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    s = session_for(tmp_path, f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectError, match="refused"):
        await s.start()
    assert s.informers == {}
    await s.stop()
    api.tokens = {"other"}
    s = session_for(tmp_path, api.url)
    with pytest.raises(AuthError, match=r"rejected \(401\)"):
        await s.start()
    await s.stop()


def test_bad_context_raises_in_constructor(tmp_path):
    kc = load_kubeconfig(write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1"))
    with pytest.raises(KubeconfigError, match="context 'prod' not found"):
        ClusterSession(kc, "prod")


async def test_worst_state_wins_and_health_bumps_version(tmp_path, api):
    seed(api)
    api.fail(lambda r: r.resource == "nodes" and not r.watch, 403,
             status_body(403, 'nodes is forbidden: User "dev" cannot list resource "nodes"', "Forbidden"), times=99)
    s = session_for(tmp_path, api.url, "ecotrack")
    await s.start()
    try:
        await wait_for(lambda: s.connection.state is ConnState.ERROR, what="ERROR")
        assert s.connection.message.startswith("nodes: ") and "forbidden" in s.connection.message
        await wait_for(lambda: s.snapshot("pods").synced, what="pods despite nodes being forbidden")
        assert not s.snapshot("nodes").synced
        api.faults.clear()
        await wait_for(lambda: s.connection.state is ConnState.LIVE, what="recovery")
        await wait_for(lambda: synced(s))
        v = s.version
        await api.stop()
        await wait_for(lambda: s.connection.state is ConnState.STALE, what="STALE")
        await wait_for(lambda: s.version > v, what="version bump for STALE")
    finally:
        await s.stop()


async def test_gc_freeze_after_first_big_sync(tmp_path, api):
    seed(api)
    gc.unfreeze()
    s = session_for(tmp_path, api.url, None, freeze_gc_after=5)
    await s.start()
    try:
        await wait_for(lambda: gc.get_freeze_count() > 0, what="gc.freeze")
    finally:
        await s.stop()
        gc.unfreeze()


async def test_describe_gets_full_objects_fresh_and_maps_404(tmp_path, api):
    seed(api)
    api.seed("pods", [{"metadata": {"name": "big-1", "namespace": "ecotrack", "annotations": {"team": "pay"}},
                       "spec": {"nodeName": "node-2", "containers": [
                           {"name": "app", "image": "pay:2", "resources": {"requests": {"cpu": "250m"}}}]},
                       "status": {"phase": "Running", "qosClass": "Burstable"}}])
    api.seed("events", [{"metadata": {"name": "n-ev", "namespace": "default"},
                         "involvedObject": {"kind": "Node", "name": "node-2"}, "reason": "NodeReady",
                         "type": "Normal", "lastTimestamp": "2026-01-01T10:00:00Z"}])
    s = session_for(tmp_path, api.url, "ecotrack")
    try:
        p = await s.get_pod("ecotrack", "big-1")  # works without start(): not from the cache
        assert p.metadata.annotations == {"team": "pay"} and p.status.qosClass == "Burstable"
        assert p.spec.containers[0].image == "pay:2" and p.spec.containers[0].resources.requests == {"cpu": "250m"}
        n = await s.get_node("node-1")
        assert n.metadata.name == "node-1" and n.status.conditions[0].type == "Ready"
        on_node = await s.node_pods("node-2")
        assert [x.metadata.name for x in on_node] == ["big-1"]
        assert (await s.node_events("node-2"))[0].reason == "NodeReady"
        with pytest.raises(EcotuiError, match="not found"):
            await s.get_pod("ecotrack", "gone")
    finally:
        await s.stop()
    assert [(r.resource, r.namespace, r.name) for r in api.gets()] == [
        ("pods", "ecotrack", "big-1"), ("nodes", None, "node-1"), ("pods", "ecotrack", "gone")]
    assert api.lists("pods")[-1].query["fieldSelector"] == "spec.nodeName=node-2"
    assert api.lists("pods")[-1].namespace is None                 # all namespaces, whatever the session's
    assert api.lists("events")[-1].query["fieldSelector"] == "involvedObject.kind=Node,involvedObject.name=node-2"


async def test_heap_is_released_after_the_first_big_sync_and_once_more(tmp_path, api, monkeypatch):
    import ecotui.kube.session as session_mod

    calls: list[float] = []
    monkeypatch.setattr(session_mod, "release_heap", lambda: calls.append(time.monotonic()))
    monkeypatch.setattr(session_mod, "TRIM_AGAIN_AFTER", 0.2)
    seed(api)
    gc.unfreeze()
    s = session_for(tmp_path, api.url, None, freeze_gc_after=5)
    await s.start()
    try:
        await wait_for(lambda: len(calls) == 2, what="two heap releases")
        await asyncio.sleep(0.3)
        assert len(calls) == 2 and calls[1] - calls[0] >= 0.2
    finally:
        await s.stop()
        gc.unfreeze()


def deployment(ns: str, name: str, replicas: int = 2, ready: int = 2) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-d-{name}", "creationTimestamp":
                         "2026-01-01T00:00:00Z"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
            "status": {"replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas,
                       "availableReplicas": ready}}


async def test_a_registry_kind_starts_on_first_ask_in_its_api_group_and_stops_when_unused(tmp_path, api):
    seed(api)
    api.seed("deployments", [deployment("ecotrack", "order-service"), deployment("observability", "grafana")])
    now = [0.0]
    s = session_for(tmp_path, api.url, "ecotrack", idle_stop=5.0, monotonic=lambda: now[0])
    await s.start()
    try:
        await wait_for(lambda: synced(s))
        assert "deployments" not in s.running_kinds and not api.lists("deployments")   # nothing asked yet
        assert not s.snapshot("deployments").synced                                        # the ask starts it
        await wait_for(lambda: s.snapshot("deployments").synced, what="deployments")
        assert set(s.snapshot("deployments").items) == {"ecotrack/order-service"}        # namespaced like pods
        req = api.lists("deployments")[0]
        assert req.namespace == "ecotrack"
        await wait_for(lambda: api.watches("deployments"), what="deployments watch")
        now[0] = 4.0
        s.snapshot("deployments")                          # still used
        now[0] = 8.0
        await asyncio.sleep(0.2)
        assert "deployments" in s.running_kinds
        now[0] = 10.0                                      # 6 s without an ask: stopped and forgotten
        await wait_for(lambda: "deployments" not in s.running_kinds, what="idle stop")
        await wait_for(lambda: not [t for t in asyncio.all_tasks() if t.get_name() == "ecotui-informer-deployments"],
                       what="informer task ended")
        assert set(s.running_kinds) == {"nodes", "namespaces", "pods", "events"}       # the cockpit's stay
        with pytest.raises(KeyError):
            s.snapshot("no-such-kind")
    finally:
        await s.stop()


async def test_relist_lists_every_running_kind_again(tmp_path, api):
    seed(api)
    s = session_for(tmp_path, api.url, None)
    await s.start()
    try:
        await wait_for(lambda: synced(s))
        before = {k: len(api.lists(k)) for k in ("nodes", "namespaces", "pods", "events")}
        await api.delete("pods", "ecotrack", "order-service-1")
        await s.relist()
        await wait_for(lambda: all(len(api.lists(k)) > before[k] for k in before), what="relist")
        await wait_for(lambda: synced(s) and "ecotrack/order-service-1" not in s.snapshot("pods").items)
        assert len([t for t in asyncio.all_tasks() if t.get_name() == "ecotui-informer-pods"]) == 1
    finally:
        await s.stop()


async def test_secret_values_never_reach_the_cache(tmp_path, api):
    import base64
    import msgspec
    seed(api)
    value = base64.b64encode(b"hunter2-SECRET").decode()
    api.seed("secrets", [{"metadata": {"name": "db", "namespace": "ecotrack", "uid": "uid-s"},
                          "type": "Opaque", "data": {"password": value, "user": base64.b64encode(b"app").decode()}}])
    s = session_for(tmp_path, api.url, "ecotrack")
    await s.start()
    try:
        s.snapshot("secrets")
        await wait_for(lambda: s.snapshot("secrets").synced, what="secrets")
        cached = s.snapshot("secrets").items["ecotrack/db"]
        dumped = repr(cached) + msgspec.json.encode(cached).decode()
        assert "password" in dumped and "hunter2" not in dumped and value not in dumped
    finally:
        await s.stop()


def test_header_state_is_live_while_a_late_informer_makes_its_first_request(tmp_path, api):
    from types import SimpleNamespace

    from ecotui.kube.store import Connection
    s = session_for(tmp_path, api.url)
    live, first = Connection(ConnState.LIVE, 1.0), Connection(ConnState.CONNECTING, 2.0)
    s._informers = {"pods": SimpleNamespace(connection=live), "events": SimpleNamespace(connection=first)}
    assert s.connection.state is ConnState.LIVE
    s._informers["nodes"] = SimpleNamespace(connection=Connection(ConnState.RECONNECTING, 3.0, "refused"))
    assert s.connection.state is ConnState.RECONNECTING            # any real trouble still wins
    s._informers = {"pods": SimpleNamespace(connection=first)}
    assert s.connection.state is ConnState.CONNECTING
