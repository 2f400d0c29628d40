"""ecotui.ops.drain against a small in-test fake of the KubeAPI slice: kubectl's filters, the run's retries,
cancel, timeout, connection loss, read-only, node deletion."""
from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import msgspec
import pytest

from ecotui.errors import ConnectError, ReadOnlyError
from ecotui.kube.client import HttpStatusError
from ecotui.ops import drain_run
from ecotui.ops.api import STRATEGIC
from ecotui.ops.drain import DrainOptions, DrainRun, plan_drain

NODE = "node-a"
FAST = DrainOptions(retry_delay=0.05, timeout=10)


def pod(name: str, ns: str = "app", node: str = NODE, *, owner: str | None = "ReplicaSet", labels=None,
        emptydir=False, phase="Running", mirror=False, uid: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": uid or f"uid-{ns}-{name}",
                            "labels": labels or {"app": name}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": f"{name}-owner", "controller": True}]
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "c"}]}
    if emptydir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def status_error(code: int, msg: str) -> HttpStatusError:
    return HttpStatusError(f"https://127.0.0.1:1: POST /x failed with HTTP {code}: {msg}", status=code)


class FakeAPI:
    """Pods, nodes, DaemonSets and PDBs as dicts. Eviction deletes the pod after `linger` GETs of it."""

    def __init__(self, pods: list[dict[str, Any]], *, daemonsets=(), pdbs=(), unschedulable=False) -> None:
        self.pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
        self.nodes = {NODE: {"metadata": {"name": NODE, "uid": "node-uid"}, "spec": {"unschedulable": unschedulable}},
                      "node-b": {"metadata": {"name": "node-b", "uid": "node-b-uid"}, "spec": {}}}
        self.daemonsets = set(daemonsets)          # (ns, name)
        self.pdbs = list(pdbs)
        self.calls: list[tuple[str, str, Any]] = []
        self.evict_errors: dict[str, list[Exception]] = {}   # pod name -> errors to raise, in order (last repeats)
        self.linger = 0                            # GETs that still see an evicted pod
        self.replace_on_evict = False              # a new pod of the same name (new UID) takes its place
        self.down = False                          # every request: ConnectError
        self.readonly = False
        self._gets_left: dict[tuple[str, str], int] = {}

    async def request(self, method: str, path: str, *, params=None, json=None, content=None, content_type=None,
                      timeout=None) -> Any:
        self.calls.append((method, path, json if json is not None else content_type))
        await asyncio.sleep(0)
        if self.down:
            raise ConnectError("connection to https://127.0.0.1:1 refused")
        if self.readonly and method != "GET":
            raise ReadOnlyError(f"read-only: {method} {path} refused on context 'prod'", "start without --readonly")
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "nodes"]:
            node = self.nodes.get(parts[3])
            if node is None:
                raise status_error(404, f'nodes "{parts[3]}" not found')
            if method == "PATCH":
                assert content_type == STRATEGIC and json == {"spec": {"unschedulable": True}}
                node["spec"]["unschedulable"] = True
            return node
        if parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            key = (parts[3], parts[5])
            if method == "POST" and parts[-1] == "eviction":
                return self._evict(key, json)
            p = self.pods.get(key)
            if p is None:
                raise status_error(404, f'pods "{key[1]}" not found')
            if key in self._gets_left:
                if self._gets_left[key] <= 0:
                    del self._gets_left[key]
                    if self.replace_on_evict:
                        self.pods[key] = pod(key[1], key[0], node="node-b", uid="new-uid")
                        return self.pods[key]
                    del self.pods[key]
                    raise status_error(404, f'pods "{key[1]}" not found')
                self._gets_left[key] -= 1
            return p
        if parts[:2] == ["apis", "apps"] and parts[5] == "daemonsets":
            if (parts[4], parts[6]) not in self.daemonsets:
                raise status_error(404, f'daemonsets.apps "{parts[6]}" not found')
            return {"metadata": {"name": parts[6]}}
        if parts[:2] == ["apis", "policy"]:
            return {"items": [p for p in self.pdbs if p["metadata"]["namespace"] == parts[4]]}
        raise AssertionError(f"unexpected {method} {path}")

    def _evict(self, key: tuple[str, str], body: Any) -> Any:
        assert body["apiVersion"] == "policy/v1" and body["kind"] == "Eviction"
        errs = self.evict_errors.get(key[1])
        if errs:
            e = errs.pop(0) if len(errs) > 1 else errs[0]
            raise e
        p = self.pods.get(key)
        if p is None:
            raise status_error(404, f'pods "{key[1]}" not found')
        assert body["deleteOptions"]["preconditions"]["uid"] == p["metadata"]["uid"]
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        self._gets_left[key] = self.linger
        return {"kind": "Status", "status": "Success"}

    async def get(self, path: str, type_: Any = Any, *, params=None) -> Any:
        return await self.request("GET", path, params=params)

    async def list(self, path: str, list_type: Any, *, params=None, limit=500):
        self.calls.append(("LIST", path, params))
        if self.down:
            raise ConnectError("connection to https://127.0.0.1:1 refused")
        node = (params or {}).get("fieldSelector", "").removeprefix("spec.nodeName=")
        sel = dict(kv.split("=") for kv in (params or {}).get("labelSelector", "").split(",") if kv)
        # ignores the node field selector on purpose: the plan must re-check spec.nodeName itself
        items = [p for p in self.pods.values()
                 if all(p["metadata"]["labels"].get(k) == v for k, v in sel.items())]
        assert node == NODE
        return msgspec.convert({"items": items, "metadata": {}}, list_type).items, "1"

    def mutations(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.calls if m in ("POST", "PATCH", "PUT", "DELETE")]


def pdb(name: str, ns: str, match: dict[str, str], allowed: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"selector": {"matchLabels": match}},
            "status": {"disruptionsAllowed": allowed}}


# ---- the plan: kubectl's filters --------------------------------------------------------------------------

async def test_plan_filters_like_kubectl():
    api = FakeAPI([
        pod("web-1"), pod("ds-1", "kube-system", owner="DaemonSet"), pod("static", "kube-system", owner="Node",
                                                                          mirror=True),
        pod("cache", emptydir=True), pod("other-node", node="node-b"),
        pod("job-done", owner=None, phase="Succeeded", emptydir=True),
        pod("guarded", labels={"app": "pay"})],
        daemonsets={("kube-system", "ds-1-owner")}, pdbs=[pdb("pay-pdb", "app", {"app": "pay"}, 0),
                                                         pdb("web-pdb", "app", {"app": "web-1"}, 2)])
    plan = await plan_drain(api, NODE, DrainOptions())
    assert not plan.preview.blocked
    assert [r.key for r in plan.evict] == ["app/cache", "app/guarded", "app/job-done", "app/web-1"]
    assert {s.key: s.reason for s in plan.skipped} == {"kube-system/ds-1": "DaemonSet",
                                                       "kube-system/static": "mirror pod"}
    assert [(b.pod, b.pdb, b.disruptions_allowed) for b in plan.pdb_blocked] == [("app/guarded", "pay-pdb", 0)]
    evict_web = next(r for r in plan.evict if r.name == "web-1")
    assert evict_web.pdbs == ("web-pdb",)
    lines = plan.preview.lines
    assert lines[0] == f"cordon node {NODE}"
    assert "evict app/cache [emptyDir]" in lines
    assert "evict app/guarded [PDB pay-pdb allows 0 disruptions now]" in lines
    assert "evict app/job-done" in lines        # finished: no emptyDir / unmanaged flag
    assert "skip kube-system/ds-1 (DaemonSet)" in lines and "skip kube-system/static (mirror pod)" in lines
    assert not any("other-node" in line for line in lines)   # never another node's pod
    assert any(w.startswith("ignoring DaemonSet-managed Pods: kube-system/ds-1") for w in plan.preview.warnings)
    assert any(w.startswith("deleting Pods with local storage: app/cache") for w in plan.preview.warnings)
    assert any("app/pay-pdb" in w for w in plan.preview.warnings)
    assert plan.preview.action == "drain" and str(plan.preview.targets[0]) == f"nodes/{NODE}"
    assert plan.preview.params["ignore_daemonsets"] is True and plan.preview.params["timeout"] == 300.0
    assert api.mutations() == []                 # GETs only


async def test_plan_blocked_with_kubectls_errors():
    api = FakeAPI([pod("ds-1", owner="DaemonSet"), pod("cache", emptydir=True), pod("bare", owner=None)],
                  daemonsets={("app", "ds-1-owner")})
    plan = await plan_drain(api, NODE, DrainOptions(ignore_daemonsets=False, delete_emptydir_data=False))
    assert plan.preview.blocked == (
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): app/ds-1; "
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): app/cache; "
        "cannot delete Pods that declare no controller (use --force to override): app/bare")
    out = await plan.apply(api)
    assert not out.ok and "not started" in out.message and api.mutations() == []


async def test_force_allows_unmanaged_and_orphaned_daemonset_pods():
    api = FakeAPI([pod("bare", owner=None), pod("orphan", owner="DaemonSet")])
    plan = await plan_drain(api, NODE, DrainOptions())
    assert "cannot delete Pods that declare no controller" in plan.preview.blocked
    assert 'daemonsets.apps "orphan-owner" not found' in plan.preview.blocked
    plan = await plan_drain(api, NODE, DrainOptions(force=True))
    assert not plan.preview.blocked
    assert {r.name: r.flags for r in plan.evict} == {"bare": ("unmanaged",), "orphan": ("orphaned DaemonSet pod",)}
    assert "evict app/bare [unmanaged]" in plan.preview.lines


async def test_plan_pod_selector_and_missing_node():
    api = FakeAPI([pod("a", labels={"tier": "web"}), pod("b", labels={"tier": "db"})])
    plan = await plan_drain(api, NODE, DrainOptions(pod_selector="tier=web"))
    assert [r.name for r in plan.evict] == ["a"]
    assert ("LIST", "/api/v1/pods", {"fieldSelector": f"spec.nodeName={NODE}", "labelSelector": "tier=web"}) \
        in api.calls
    plan = await plan_drain(api, "nope", DrainOptions())
    assert plan.preview.blocked == 'node "nope" not found'


# ---- the run -------------------------------------------------------------------------------------------

async def test_run_cordons_evicts_and_waits():
    api = FakeAPI([pod("a"), pod("b"), pod("c")])
    api.linger = 2
    plan = await plan_drain(api, NODE, FAST)
    run = DrainRun(api, plan, FAST)
    assert run.snapshot().phase == "planning"
    out = await run.run()
    assert out.ok, out.message
    assert out.message == f"node {NODE} drained: 3 pod(s) evicted"
    assert api.nodes[NODE]["spec"]["unschedulable"] is True
    assert api.mutations()[0] == ("PATCH", f"/api/v1/nodes/{NODE}")
    assert {k: v["state"] for k, v in out.details["pods"].items()} == {"app/a": "evicted", "app/b": "evicted",
                                                                         "app/c": "evicted"}
    evictions = [j for m, p, j in api.calls if m == "POST"]
    assert len(evictions) == 3 and all("gracePeriodSeconds" not in j["deleteOptions"] for j in evictions)
    snap = run.snapshot()
    assert snap.phase == "done" and snap.count("evicted") == 3 and snap.total == 3 and snap.finished
    assert snap.rows[0].attempts == 1
    assert run.snapshot().rows is snap.rows     # cached while nothing changes


async def test_already_cordoned_node_is_not_patched_and_grace_period_sent():
    api = FakeAPI([pod("a")], unschedulable=True)
    opts = dataclasses.replace(FAST, grace_period=7)
    out = await (await plan_drain(api, NODE, opts)).apply(api)
    assert out.ok
    assert [m for m, _ in api.mutations()] == ["POST"]
    assert next(j for m, p, j in api.calls if m == "POST")["deleteOptions"]["gracePeriodSeconds"] == 7


async def test_429_retried_then_success_shows_the_pdb_message():
    api = FakeAPI([pod("guarded", labels={"app": "pay"})], pdbs=[pdb("pay-pdb", "app", {"app": "pay"}, 0)])
    msg = "Cannot evict pod as it would violate the pod's disruption budget."
    api.evict_errors["guarded"] = [status_error(429, msg), status_error(429, msg)]
    plan = await plan_drain(api, NODE, dataclasses.replace(FAST, retry_delay=0.2))
    run = DrainRun(api, plan, plan.opts)
    task = asyncio.create_task(run.run())
    seen = ""
    for _ in range(50):
        await asyncio.sleep(0.02)
        row = run.snapshot().rows[0]
        if row.state == "retrying":
            seen = row.message
            break
    api.evict_errors.clear()
    out = await asyncio.wait_for(task, 5)
    assert "disruption budget" in seen and "pay-pdb" in seen and "retrying in 0.2s" in seen
    assert out.ok and out.details["pods"]["app/guarded"]["attempts"] >= 2


async def test_eviction_404_is_done_and_uid_change_is_done():
    api = FakeAPI([pod("gone"), pod("sts-0")])
    api.evict_errors["gone"] = [status_error(404, 'pods "gone" not found')]
    api.replace_on_evict, api.linger = True, 1
    plan = await plan_drain(api, NODE, FAST)
    out = await plan.apply(api)
    assert out.ok
    assert out.details["pods"]["app/gone"]["state"] == "evicted"
    assert out.details["pods"]["app/sts-0"]["state"] == "evicted"
    assert api.pods[("app", "sts-0")]["metadata"]["uid"] == "new-uid"   # the replacement is not touched
    assert sum(1 for m, p, _ in api.calls if m == "POST" and "sts-0" in p) == 1


async def test_pod_replaced_before_eviction_is_not_evicted():
    api = FakeAPI([pod("sts-0")])
    plan = await plan_drain(api, NODE, FAST)
    api.pods[("app", "sts-0")] = pod("sts-0", node="node-b", uid="other")
    out = await plan.apply(api)
    assert out.ok and "new pod" in out.details["pods"]["app/sts-0"]["message"]
    assert not any(m == "POST" for m, _ in api.mutations())


async def test_other_errors_fail_that_pod_only():
    api = FakeAPI([pod("a"), pod("b")])
    api.evict_errors["a"] = [status_error(500, "This pod has more than one PodDisruptionBudget")]
    out = await (await plan_drain(api, NODE, FAST)).apply(api)
    assert not out.ok
    assert out.details["pods"]["app/a"]["state"] == "failed"
    assert "more than one PodDisruptionBudget" in out.details["pods"]["app/a"]["message"]
    assert out.details["pods"]["app/b"]["state"] == "evicted"
    assert "1 of 2 pod(s) evicted" in out.message and "app/a" in out.message


async def test_timeout_names_the_blocking_pdb_and_node_stays_cordoned():
    api = FakeAPI([pod("guarded", labels={"app": "pay"}), pod("free")],
                  pdbs=[pdb("pay-pdb", "app", {"app": "pay"}, 0)])
    api.evict_errors["guarded"] = [status_error(429, "Cannot evict pod as it would violate the pod's disruption "
                                                     "budget.")]
    opts = dataclasses.replace(FAST, timeout=0.6)
    t0 = time.monotonic()
    out = await (await plan_drain(api, NODE, opts)).apply(api)
    assert time.monotonic() - t0 < 2
    assert not out.ok
    assert "timed out after 0.6s" in out.message and "app/pay-pdb (disruptionsAllowed 0)" in out.message
    assert "stays cordoned" in out.message and "1 of 2 pod(s) evicted" in out.message
    assert out.details["blocking_pdbs"] == [{"namespace": "app", "name": "pay-pdb", "disruptionsAllowed": 0}]
    assert out.details["pods"]["app/guarded"]["state"] == "pending"
    assert api.nodes[NODE]["spec"]["unschedulable"] is True


async def test_cancel_returns_promptly_and_resume_evicts_the_rest():
    api = FakeAPI([pod("guarded", labels={"app": "pay"}), pod("free")], pdbs=[pdb("pay-pdb", "app", {"app": "pay"}, 0)])
    api.evict_errors["guarded"] = [status_error(429, "Cannot evict pod")]
    plan = await plan_drain(api, NODE, FAST)
    run = DrainRun(api, plan, FAST)
    task = asyncio.create_task(run.run())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if run.snapshot().count("evicted") == 1:
            break
    t0 = time.monotonic()
    run.cancel()
    out = await asyncio.wait_for(task, 2)
    assert time.monotonic() - t0 < 0.5
    assert not out.ok and run.snapshot().phase == "cancelled" and "cancelled" in out.message
    assert out.details["pods"]["app/free"]["state"] == "evicted"
    assert api.nodes[NODE]["spec"]["unschedulable"] is True
    # resume: plan again lists only what is left; the cordoned node is fine
    api.evict_errors.clear()
    plan2 = await plan_drain(api, NODE, FAST)
    assert [r.name for r in plan2.evict] == ["guarded"] and "(already cordoned)" in plan2.preview.lines[0]
    out2 = await plan2.apply(api)
    assert out2.ok and not any(m == "PATCH" for m, _ in api.mutations()[-2:])


async def test_pods_that_came_after_the_plan_are_reported_not_evicted():
    api = FakeAPI([pod("a"), pod("ds-1", owner="DaemonSet")], daemonsets={("app", "ds-1-owner")})
    plan = await plan_drain(api, NODE, FAST)
    api.pods[("app", "late")] = pod("late")
    api.pods[("app", "ds-2")] = pod("ds-2", owner="DaemonSet")
    out = await plan.apply(api)
    assert not out.ok and "1 pod(s) came after the plan and were not touched (app/late)" in out.message
    assert ("app", "late") in api.pods and not any("late" in p for _, p in api.mutations())
    assert out.details["pods"]["app/a"]["state"] == "evicted" and out.details["cordoned"] is True


async def test_cancel_before_run():
    api = FakeAPI([pod("a")])
    run = DrainRun(api, await plan_drain(api, NODE, FAST), FAST)
    run.cancel()
    out = await run.run()
    assert not out.ok and run.snapshot().phase == "cancelled" and api.mutations() == []


async def test_connection_loss_is_retried_and_progress_says_so():
    api = FakeAPI([pod("a"), pod("b")])
    api.linger = 3
    plan = await plan_drain(api, NODE, FAST)
    run = DrainRun(api, plan, FAST)
    real = api.request
    cut = {"on": False}

    async def flaky(method, path, **kw):
        if method == "POST" and path.endswith("/b/eviction") and not cut["on"]:
            cut["on"] = True
            api.down = True      # the API goes away just as b is evicted
        return await real(method, path, **kw)
    api.request = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(run.run())
    msgs = set()
    for _ in range(40):
        await asyncio.sleep(0.02)
        msgs |= {r.message for r in run.snapshot().rows}
    api.down = False
    out = await asyncio.wait_for(task, 8)
    assert any("API server unreachable" in m for m in msgs)
    assert out.ok, out.message


async def test_readonly_is_a_clear_failed_outcome():
    api = FakeAPI([pod("a")])
    api.readonly = True
    out = await (await plan_drain(api, NODE, FAST)).apply(api)
    assert not out.ok
    assert out.message.startswith(f"cordon {NODE} failed: read-only: PATCH /api/v1/nodes/{NODE}")
    assert out.details["pods"]["app/a"]["state"] == "pending"


async def test_node_deleted_during_the_drain(monkeypatch):
    monkeypatch.setattr(drain_run, "NODE_CHECK_EVERY", 0.05)
    api = FakeAPI([pod("guarded", labels={"app": "pay"}), pod("free")], pdbs=[pdb("pay-pdb", "app", {"app": "pay"}, 0)])
    api.evict_errors["guarded"] = [status_error(429, "Cannot evict pod")]
    plan = await plan_drain(api, NODE, FAST)
    run = DrainRun(api, plan, FAST)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.2)
    del api.nodes[NODE]
    out = await asyncio.wait_for(task, 2)
    assert not out.ok and out.message.startswith(f"node {NODE} was deleted during the drain: 1 of 2 pod(s) evicted")
    assert run.snapshot().phase == "failed"


@pytest.mark.parametrize("phase", ["cordon", "evict"])
async def test_timeout_while_unreachable(phase):
    api = FakeAPI([pod("a")])
    plan = await plan_drain(api, NODE, FAST)
    if phase == "cordon":
        api.down = True
    else:
        api.evict_errors["a"] = [ConnectError("connection to https://127.0.0.1:1 refused")]
    out = await DrainRun(api, plan, dataclasses.replace(FAST, timeout=0.5)).run()
    assert not out.ok and "unreachable" in out.message
