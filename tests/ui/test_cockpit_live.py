"""The cockpit under change: incremental counts and filters, first-list loading, describe from a fresh GET."""
from __future__ import annotations

import msgspec

from ecotui.errors import ConnectError
from ecotui.kube.models import NodeDetail, PodDetail
from ecotui.kube.render import pods_per_node
from ecotui.ui.screens.text_view import DescribeScreen
from test_cockpit import column, make_app, make_session, table
from ui_fakes import pod


async def test_pod_counts_follow_moves_terminations_and_deletions():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        items = dict(s.snapshot("pods").items)
        items["ecotrack/web-1"] = pod("web-1", node="node-c")                      # moved
        items["ecotrack/api-1"] = pod("api-1", node="node-a", phase="Succeeded")   # terminated: not counted
        del items["ecotrack/web-2"]
        items["ecotrack/new-1"] = pod("new-1", node="node-b")
        s.set_items("pods", items)
        await pilot.pause(0.2)
        counts = dict(zip(table(app, "nodes").keys, column(app, "nodes", "pods")))
        want = pods_per_node(items.values())
        assert counts == {n: str(want.get(n, 0)) for n in ("node-a", "node-b", "node-c")}
        assert counts == {"node-a": "1", "node-b": "2", "node-c": "1"}


async def test_label_change_alone_moves_a_pod_in_or_out_of_a_selector_filter():
    s = make_session()
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"tier=front", "enter")
        await pilot.pause()
        assert table(app, "pods").keys == ["ecotrack/web-1", "ecotrack/web-2"]
        items = dict(s.snapshot("pods").items)
        items["ecotrack/web-2"] = pod("web-2", node="node-b", labels={"app": "web", "tier": "back"},
                                      ip="10.0.0.12")                                 # same cells, new labels
        items["ecotrack/api-1"] = pod("api-1", node="node-a", labels={"app": "api", "tier": "front"},
                                      ip="10.0.0.21")
        s.set_items("pods", items)
        await pilot.pause(0.2)
        assert table(app, "pods").keys == ["ecotrack/api-1", "ecotrack/web-1"]


async def test_first_list_shows_loading_until_synced():
    s = make_session()
    s.set_items("pods", dict(list(s.snapshot("pods").items.items())[:2]), synced=False)
    app = make_app(s, poll_interval=5.0)          # the loading poll, not the normal one, must notice
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "loading" in app.cockpit.panes["pods"].title_text
        s.set_pods([pod(f"p{i}") for i in range(7)])
        await pilot.pause(0.3)
        title = app.cockpit.panes["pods"].title_text
        assert title.startswith("Pods · 7") and "loading" not in title


def pod_detail(cached, **spec) -> PodDetail:
    d = msgspec.to_builtins(cached)
    d["spec"]["containers"] = [{"name": "app", "image": "ecotrack/payment:9.9.9", "ports": [{"containerPort": 8443}]}]
    d["spec"].update(spec)
    d["metadata"]["annotations"] = {"team": "payments"}
    return msgspec.convert(d, PodDetail)


async def test_describe_pod_is_built_from_a_fresh_get():
    s = make_session()
    cached = s.snapshot("pods").items["ecotrack/crash-1"]
    s.details[("pod", "ecotrack", "crash-1")] = pod_detail(cached, tolerations=[
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table(app, "pods").move_to_key("ecotrack/crash-1")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = app.screen.text
        assert isinstance(app.screen, DescribeScreen)
        assert ("pod", "ecotrack", "crash-1") in s.get_calls
        assert "ecotrack/payment:9.9.9" in text and "8443/TCP" in text and "team: payments" in text
        assert "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s" in text
        assert "CrashLoopBackOff" in text and "loading" not in text


async def test_describe_falls_back_to_the_cache_when_the_get_fails():
    s = make_session()
    s.get_error = ConnectError("connection to https://127.0.0.1:6443 refused")
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table(app, "pods").move_to_key("ecotrack/crash-1")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = app.screen.text
        assert "showing cached data" in text and "refused" in text
        assert "crash-1" in text and "CrashLoopBackOff" in text and "OOMKilled" in text


async def test_describe_node_gets_the_node_and_lists_its_pods():
    s = make_session()
    d = msgspec.to_builtins(s.snapshot("nodes").items["node-b"])
    d["status"]["allocatable"] = {"cpu": "4", "memory": "16Gi"}
    d["spec"]["taints"] = [{"key": "dedicated", "value": "pay", "effect": "NoSchedule"}]
    s.details[("node", "node-b")] = msgspec.convert(d, NodeDetail)
    app = make_app(s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("1")
        table(app, "nodes").move_to_key("node-b")
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = app.screen.text
        assert ("node", "node-b") in s.get_calls and ("node_pods", "node-b") in s.get_calls
        assert "dedicated=pay:NoSchedule" in text and "memory:  16Gi" in text
        assert "crash-1" in text and "web-2" in text and "web-1" not in text
        assert "Non-terminated Pods:  (2 in total)" in text

