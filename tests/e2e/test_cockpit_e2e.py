"""The real app on the real testbed: tables equal kubectl, and an API server restart is survived."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from e2e_app import make_app, wait
from testbed import cluster

pytestmark = pytest.mark.e2e


def kubectl_keys(tb, kind: str) -> set[str]:
    items = json.loads(tb.kubectl("get", kind, "-A" if kind == "pods" else "--show-kind=false", "-o", "json").stdout)["items"]
    if kind == "pods":
        return {f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items}
    return {i["metadata"]["name"] for i in items}


def header(app) -> str:
    return app.cockpit.query_one("#header").plain


async def tables_equal_kubectl(app, pilot, tb, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        want_pods, want_nodes = await asyncio.to_thread(kubectl_keys, tb, "pods"), await asyncio.to_thread(kubectl_keys, tb, "nodes")
        have_pods, have_nodes = set(app.cockpit.tables["pods"].keys), set(app.cockpit.tables["nodes"].keys)
        if have_pods == want_pods and have_nodes == want_nodes:
            assert len(app.cockpit.tables["pods"].keys) == len(have_pods)  # no duplicated rows
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"pods only in table {sorted(have_pods - want_pods)[:5]}, only in kubectl "
                                 f"{sorted(want_pods - have_pods)[:5]}; nodes diff {have_nodes ^ want_nodes}")
        await pilot.pause(0.5)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_cockpit_tables_equal_kubectl(testbed, size):
    app = make_app(testbed)
    async with app.run_test(size=size) as pilot:
        await wait(pilot, lambda: "live" in header(app), 20, "live")
        assert "ecotui-testbed" in header(app)
        await tables_equal_kubectl(app, pilot, testbed)
        # node -> its pods: the pods pane then holds exactly that node's pods
        await pilot.press("1")
        node = app.cockpit.tables["nodes"].cursor_key
        await pilot.press("enter")
        await pilot.pause(0.5)
        on_node = json.loads(testbed.kubectl("get", "pods", "-A", "--field-selector", f"spec.nodeName={node}",
                                             "-o", "json").stdout)["items"]
        assert set(app.cockpit.tables["pods"].keys) == {f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                                                        for p in on_node}


@pytest.mark.disruptive
async def test_cockpit_survives_api_server_restart(testbed):
    app = make_app(testbed)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, lambda: "live" in header(app), 20, "live")
        await tables_equal_kubectl(app, pilot, testbed)
        await asyncio.to_thread(cluster.stop_component, "kube-apiserver")
        await wait(pilot, lambda: "reconnecting" in header(app) or "stale" in header(app), 15, "reconnecting shown")
        await asyncio.to_thread(cluster.start_component, "kube-apiserver")
        back = time.monotonic()
        await wait(pilot, lambda: "live" in header(app), 10, "live again within 10 s of the API returning")
        assert time.monotonic() - back <= 10
        await tables_equal_kubectl(app, pilot, testbed)
    await asyncio.to_thread(testbed.wait_settled)
