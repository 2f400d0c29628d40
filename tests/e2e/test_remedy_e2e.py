"""Remediation driven through the UI (keys by action id) against the testbed, checked with kubectl:
cordon/uncordon, a drain side by side with `kubectl drain` on an identical node (same evicted set, the
PDB honoured and named), rollout undo/restart/pause/resume, scale, status and history views, undo out of
`incident crashloop`, a drain blocked by `incident pdb-blocks-drain` — and every action in the journal."""
from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest

from ecotui.keymap import load_keymap
from ecotui.ops.journal import Journal
from ecotui.ops.template_diff import without_hash
from ecotui.ui.screens.confirm import ConfirmScreen, FormScreen
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.screens.text_view import TextScreen
from e2e_app import make_app, wait
from e2e_objects import (apply, cleanup, deployment, generic, node_manifest, node_set, pod_template, pods_on,
                         unschedulable, wait_running)
from testbed import incidents

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def journal(app) -> list[dict]:
    return app.journal.read()


async def pick(pilot, app, name: str) -> None:
    """Filter the active table down to `name` and put the cursor on it."""
    await pilot.press("slash", *name, "enter")
    table = app.screen.tables[app.screen.active]
    await wait(pilot, lambda: table.keys and all(name in k for k in table.keys), 20, f"row {name}")
    assert table.move_to_key(next(k for k in table.keys if k.endswith(name)))


async def open_deployment(pilot, app, ns: str, name: str) -> None:
    """Wait for the session, open `:deploy` and put the cursor on ns/name."""
    await wait(pilot, lambda: "live" in app.screen.query_one("#header").plain, 30, "live")
    await pilot.press("colon", *"deploy", "enter")
    await wait(pilot, lambda: isinstance(app.screen, KindScreen), 5, "deployments view")
    await wait(pilot, lambda: f"{ns}/{name}" in app.screen.table.keys, 30, f"{ns}/{name} listed")
    await pick(pilot, app, name)


async def act(pilot, app, action: str, form: dict[str, str] | None = None, timeout: float = 20) -> ConfirmScreen:
    """Press the action's key, fill its form (if any), and return the confirmation dialog."""
    before = app.remedy.last_outcome
    app.remedy.last_outcome = None
    await pilot.press(key(action))
    if form is not None:
        f = await wait(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen, timeout, f"{action} form")
        for k, v in form.items():
            f.query_one(f"#field-{k}").value = v
        for _ in f.fields:
            await pilot.press("enter")
    dialog = await wait(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, timeout,
                        f"{action} confirmation (last outcome {before})")
    await pilot.pause(0.1)
    return dialog


async def confirm(pilot, app, timeout: float = 20):
    await pilot.press(key("confirm"))
    return await wait(pilot, lambda: app.remedy.last_outcome, timeout, "outcome")


def node_json(tb, name: str) -> dict:
    return json.loads(tb.kubectl("get", "node", name, "-o", "json").stdout)


async def test_cordon_uncordon_and_drain_like_kubectl(testbed, tmp_path):
    rid = uuid.uuid4().hex[:5]
    ns, a, b = f"remedy-e2e-{rid}", f"remedy-e2e-a-{rid}", f"remedy-e2e-b-{rid}"
    testbed.create_namespace(ns)
    try:
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns},
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "template": {**pod_template("agent", None),
                                    "spec": {**pod_template("agent", None)["spec"], "nodeSelector": {"drain-e2e": rid}}}}}
        apply(testbed, [node_manifest(a, rid), node_manifest(b, rid)])
        apply(testbed, [ds, *node_set(testbed, ns, a, "a"), *node_set(testbed, ns, b, "b")])
        await asyncio.to_thread(wait_running, testbed, ns, {a: 5, b: 5})
        app = make_app(testbed, journal=Journal(tmp_path / "journal.jsonl"))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: b in app.session.snapshot("nodes").items, 30, "our node in the cache")
            await pilot.press(key("focus_nodes"))
            await pick(pilot, app, b)
            # cordon, then uncordon: exactly spec.unschedulable, seen by kubectl and in the nodes pane
            dialog = await act(pilot, app, "cordon")
            assert f"node {b}: spec.unschedulable false → true (SchedulingDisabled)" in dialog.preview.lines
            out = await confirm(pilot, app)
            assert out.ok and unschedulable(testbed, b)
            nodes = app.cockpit.tables["nodes"]
            await wait(pilot, lambda: "SchedulingDisabled" in str(nodes.get_cell(b, "status")), 10, "pane shows it")
            await act(pilot, app, "uncordon")
            out = await confirm(pilot, app)
            assert out.ok and "unschedulable" not in node_json(testbed, b)["spec"]
            # drain b through the UI while kubectl drains the identical node a, same options
            dialog = await act(pilot, app, "drain", {"timeout": "15"})
            text = "\n".join(dialog.preview.lines)
            assert "guarded-b-pdb" in text and "[emptyDir]" in text and "DaemonSet" in text, text
            kubectl = asyncio.create_task(asyncio.to_thread(
                testbed.kubectl, "drain", a, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=15s",
                check=False, timeout=40))
            await pilot.press(key("confirm"))
            await wait(pilot, lambda: app.remedy.drain_running, 5, "drain started")
            panel = app.cockpit.query_one("#task-panel")
            await wait(pilot, lambda: f"drain {b}" in panel.plain, 5, "the task panel shows the drain")
            # the UI is not blocked while the drain runs: the pods pane takes the focus and filters
            await pilot.press(key("focus_pods"))
            assert app.cockpit.active == "pods"
            out = await wait(pilot, lambda: not app.remedy.drain_running and app.remedy.last_outcome, 30,
                             "drain finished")
            k = await kubectl
            # run again: the plan resumes with what is left; cancel it while the PDB still blocks
            await pilot.press(key("focus_nodes"))
            assert app.cockpit.tables["nodes"].cursor_key == b
            dialog = await act(pilot, app, "drain", {"timeout": "60"})
            assert [line for line in dialog.preview.lines if line.startswith("evict ")] == [
                line for line in dialog.preview.lines if f"/guarded-b-" in line and line.startswith("evict ")]
            assert len([line for line in dialog.preview.lines if line.startswith("evict ")]) == 1
            await pilot.press(key("confirm"))
            await wait(pilot, lambda: app.remedy.drain_progress and app.remedy.drain_progress.count("retrying"),
                       15, "the guarded pod retrying")
            await pilot.press(key("cancel_drain"))
            cancelled = await wait(pilot, lambda: not app.remedy.drain_running and app.remedy.last_outcome, 10,
                                   "cancelled")
            assert not cancelled.ok and app.remedy.drain_progress.phase == "cancelled"
            # relax the PDB and drain again: it finishes with the one pod left
            testbed.kubectl("patch", "pdb", "guarded-b-pdb", "-n", ns, "--type=merge",
                            "-p", '{"spec":{"maxUnavailable":1}}')
            await act(pilot, app, "drain", {"timeout": "30"})
            await pilot.press(key("confirm"))
            resumed = await wait(pilot, lambda: not app.remedy.drain_running and app.remedy.last_outcome, 30,
                                 "resumed drain finished")
            assert resumed.ok, resumed.message
            await pilot.press(key("cancel_drain"))          # closes the finished drain's panel
            await wait(pilot, lambda: not panel.display or "-shown" not in panel.classes, 5, "panel closed")
        ktext = k.stdout + k.stderr
        assert k.returncode != 0 and "global timeout reached" in ktext, ktext
        kubectl_evicted = {generic(m) for m in re.findall(r"pod/(\S+) evicted", ktext)}
        ours = {generic(kk.split("/", 1)[1]) for kk, v in out.details["pods"].items() if v["state"] == "evicted"}
        assert kubectl_evicted == ours == {"web", "cache"}, (ktext, out.details)
        assert not out.ok and "guarded-b-pdb" in out.message
        assert unschedulable(testbed, a) and unschedulable(testbed, b)
        left = {(p["spec"].get("nodeName"), generic(p["metadata"]["name"]))
                for p in pods_on(testbed, ns) if not p["metadata"].get("deletionTimestamp")}
        assert {g for n, g in left if n == a} == {"guarded", "agent"}
        assert {g for n, g in left if n == b} == {"agent"}     # after the resumed drain
        entries = journal(app)
        events = [(e["event"], e["action"]) for e in entries]
        assert events[:6] == [("requested", "cordon"), ("done", "cordon"), ("requested", "uncordon"),
                              ("done", "uncordon"), ("requested", "drain"), ("failed", "drain")], events
        assert events[6:] == [("requested", "drain"), ("failed", "drain"), ("requested", "drain"),
                              ("done", "drain")], events
        assert entries[7]["details"]["phase"] == "cancelled"
        pods = entries[5]["details"]["pods"]
        # per-pod results: three evicted; the guarded pod still to evict (a drain run again resumes with it)
        assert sorted(v["state"] for v in pods.values()) == ["evicted", "evicted", "evicted", "pending"], pods
        blocked = next(v for k, v in pods.items() if "/guarded-b-" in k)
        assert blocked["state"] == "pending" and "disruption" in blocked["message"], blocked
    finally:
        cleanup(testbed, ns, [a, b])


def rs_of(tb, ns: str, name: str) -> list[dict]:
    items = json.loads(tb.kubectl("get", "rs", "-n", ns, "-l", f"app={name}", "-o", "json").stdout)["items"]
    return sorted(items, key=lambda r: int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def deploy_json(tb, ns: str, name: str) -> dict:
    return json.loads(tb.kubectl("get", "deployment", name, "-n", ns, "-o", "json").stdout)


async def test_rollouts_and_scale_through_the_ui(testbed, tmp_path):
    rid = uuid.uuid4().hex[:5]
    ns, name = f"remedy-e2e-{rid}", f"shop-{rid}"
    testbed.create_namespace(ns)
    try:
        d = deployment(ns, name, "", 2)
        d["spec"]["template"]["spec"].pop("nodeSelector", None)
        apply(testbed, [d])
        testbed.kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=30s")
        testbed.kubectl("set", "image", f"deployment/{name}", f"app=ecotui/{name}:2", "-n", ns)
        testbed.kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=30s")
        assert len(rs_of(testbed, ns, name)) == 2
        app = make_app(testbed, journal=Journal(tmp_path / "journal.jsonl"))
        async with app.run_test(size=(120, 40)) as pilot:
            await open_deployment(pilot, app, ns, name)
            # history and status are read-only views
            await pilot.press(key("rollout_history"))
            await wait(pilot, lambda: isinstance(app.screen, TextScreen), 10, "history view")
            hist = app.screen.text
            assert re.search(r"^\*2\s", hist, re.M) and re.search(r"^ 1\s", hist, re.M) and f"{name}:2" in hist
            await pilot.press(key("back"))
            await pilot.press(key("rollout_status"))
            await wait(pilot, lambda: isinstance(app.screen, TextScreen) and "successfully rolled out" in
                       app.screen.text, 10, "status view")
            await pilot.press(key("back"))
            # undo to the previous revision: the diff first, then the template of revision 1's ReplicaSet
            previous = without_hash(rs_of(testbed, ns, name)[0]["spec"]["template"])
            dialog = await act(pilot, app, "rollout_undo", {"revision": "0"})
            diff = "\n".join(dialog.preview.lines)
            assert f"ecotui/{name}:2" in diff and f"ecotui/{name}:1" in diff, diff
            out = await confirm(pilot, app)
            assert out.ok, out.message
            assert without_hash(deploy_json(testbed, ns, name)["spec"]["template"]) == previous
            # restart: a new ReplicaSet with the restartedAt annotation
            before = {r["metadata"]["name"] for r in rs_of(testbed, ns, name)}
            await act(pilot, app, "rollout_restart")
            out = await confirm(pilot, app)
            assert out.ok, out.message
            await wait(pilot, lambda: {r["metadata"]["name"] for r in rs_of(testbed, ns, name)} - before, 20,
                       "a new ReplicaSet")
            ann = deploy_json(testbed, ns, name)["spec"]["template"]["metadata"]["annotations"]
            assert "kubectl.kubernetes.io/restartedAt" in ann
            # scale: refused input first (nothing sent), then 3
            await pilot.press(key("scale"))
            form = await wait(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen, 10, "scale form")
            form.query_one("#field-replicas").value = "-3"
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert app.screen is form
            await pilot.press(key("back"))
            dialog = await act(pilot, app, "scale", {"replicas": "3"})
            assert "replicas: 2 → 3" in dialog.preview.lines
            out = await confirm(pilot, app)
            assert out.ok and deploy_json(testbed, ns, name)["spec"]["replicas"] == 3
            # pause and resume
            await act(pilot, app, "rollout_pause")
            out = await confirm(pilot, app)
            assert out.ok and deploy_json(testbed, ns, name)["spec"].get("paused") is True
            await act(pilot, app, "rollout_resume")
            out = await confirm(pilot, app)
            assert out.ok and not deploy_json(testbed, ns, name)["spec"].get("paused")
            # delete a pod (grace 0): the dialog says its ReplicaSet re-creates it
            await pilot.press(key("back"), key("back"))
            await wait(pilot, lambda: app.screen is app.cockpit, 5, "back in the cockpit")
            await pilot.press(key("focus_pods"))
            running = lambda: sorted(p["metadata"]["name"] for p in pods_on(testbed, ns)  # noqa: E731
                                     if not p["metadata"].get("deletionTimestamp"))
            await wait(pilot, lambda: len(running()) == 3, 30, "3 pods")
            victim = running()[0]
            await wait(pilot, lambda: f"{ns}/{victim}" in app.session.snapshot("pods").items, 20, "pod cached")
            await pick(pilot, app, victim)
            dialog = await act(pilot, app, "delete", {"grace": "0"})
            assert any("owned by ReplicaSet" in w and "re-created" in w for w in dialog.preview.warnings)
            out = await confirm(pilot, app)
            assert out.ok, out.message
            await wait(pilot, lambda: victim not in running() and len(running()) == 3, 30, "pod replaced")
        done = [(e["event"], e["action"]) for e in journal(app) if e["event"] in ("done", "failed")]
        assert done == [("done", "rollout_undo"), ("done", "rollout_restart"), ("done", "scale"),
                        ("done", "rollout_pause"), ("done", "rollout_resume"), ("done", "delete")], done
        assert all(e["user"] and e["context"] == testbed.context for e in journal(app))
    finally:
        testbed.kubectl("delete", "namespace", ns, "--wait=false", check=False)


async def test_undo_out_of_incident_crashloop_through_the_ui(testbed, tmp_path):
    name, ns = "notification-service", "ecotrack"
    good = without_hash(deploy_json(testbed, ns, name)["spec"]["template"])
    try:
        await asyncio.to_thread(incidents.run, "crashloop", name)
        await asyncio.to_thread(testbed.kubectl, "rollout", "status", f"deployment/{name}", "-n", ns,
                                "--timeout=5s", check=False)
        assert without_hash(deploy_json(testbed, ns, name)["spec"]["template"]) != good
        app = make_app(testbed, journal=Journal(tmp_path / "journal.jsonl"))
        async with app.run_test(size=(120, 40)) as pilot:
            await open_deployment(pilot, app, ns, name)
            dialog = await act(pilot, app, "rollout_undo", {"revision": "0"})
            assert any("crashloop" in line for line in dialog.preview.lines), dialog.preview.lines
            out = await confirm(pilot, app)
            assert out.ok, out.message
        assert without_hash(deploy_json(testbed, ns, name)["spec"]["template"]) == good
    finally:
        await asyncio.to_thread(incidents.run, "clear", None)
        testbed.wait_settled(timeout=120)


async def test_pdb_incident_blocks_the_drain_and_names_the_pdb(testbed, tmp_path):
    pods = json.loads(testbed.kubectl("get", "pods", "-n", "ecotrack", "-l", "app=payment-service",
                                      "-o", "json").stdout)["items"]
    node = sorted(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))[0]
    try:
        await asyncio.to_thread(incidents.run, "pdb-blocks-drain", None)
        app = make_app(testbed, journal=Journal(tmp_path / "journal.jsonl"))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: node in app.session.snapshot("nodes").items, 30, "nodes listed")
            await pilot.press(key("focus_nodes"))
            await pick(pilot, app, node)
            dialog = await act(pilot, app, "drain", {"timeout": "8"})
            assert any("payment-service-pdb" in line for line in dialog.preview.lines), dialog.preview.lines
            await pilot.press(key("confirm"))
            out = await wait(pilot, lambda: not app.remedy.drain_running and app.remedy.last_outcome, 30,
                             "drain finished")
        assert not out.ok and "payment-service-pdb" in out.message, out.message
        assert unschedulable(testbed, node)
        left = [p["metadata"]["name"] for p in pods_on(testbed, "ecotrack")
                if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")
                and p["metadata"]["name"].startswith("payment-service")]
        assert left, "the PDB-protected payment-service pod stays on the node"
    finally:
        testbed.kubectl("uncordon", node, check=False)
        await asyncio.to_thread(incidents.run, "clear", None)
        testbed.wait_settled(timeout=120)
