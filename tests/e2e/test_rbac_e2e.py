"""RBAC on the real API server: a ServiceAccount that may read everything but change nothing. Its action keys
are struck out after the access reviews, and pressing one says "not allowed for USER: verb resource" in one
line — before any form, confirmation or mutating request. (The testbed's audit policy records only its
on-call users, so the "no request" proof here is the journal: refused, never requested.)"""
from __future__ import annotations

import json

import pytest

from ecotui.config import Config
from ecotui.keymap import load_keymap
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.ops.journal import Journal
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.confirm import ConfirmScreen, FormScreen
from ecotui.workspace import WorkspaceFactory
from e2e_app import wait
from e2e_objects import ViewerAccount

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()


async def test_forbidden_actions_are_struck_out_and_refused_in_one_line(testbed, tmp_path):
    with ViewerAccount(testbed, "rbac-e2e", tmp_path) as viewer:
        user = viewer.user
        kubeconfig = load_kubeconfig(viewer.kubeconfig)
        factory = WorkspaceFactory(kubeconfig, Config(), first_context=testbed.context, all_namespaces=True)
        app = EcotuiApp(factory.build(testbed.context), keymap=KEYMAP, journal=Journal(tmp_path / "j.jsonl"))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: app.cockpit.tables["nodes"].keys and app.cockpit.tables["pods"].keys, 30,
                       "nodes and pods shown")
            await pilot.press(KEYMAP.keys_for("focus_nodes")[0])
            key = (testbed.context, "nodes", None)
            denied = await wait(pilot, lambda: app.cockpit.denied.get(key), 15, "access reviews of node actions")
            assert denied == {"cordon", "uncordon", "drain"}
            await pilot.press(KEYMAP.keys_for("cordon")[0])
            line = f"not allowed for {user}: patch nodes"
            await wait(pilot, lambda: any(line in n for n in app.notices), 10, f"{line} in {app.notices}")
            await pilot.press(KEYMAP.keys_for("focus_pods")[0])
            await pilot.press(KEYMAP.keys_for("delete")[0])
            await wait(pilot, lambda: any(f"not allowed for {user}: delete pods" in n for n in app.notices), 10,
                       "delete pods refused")
            assert not isinstance(app.screen, (ConfirmScreen, FormScreen))
        await app.workspace.stop()
        refused = [e for e in app.journal.read() if e["event"] == "refused"]
        assert [e["action"] for e in refused] == ["cordon", "delete"]
        assert all(e["user"] == user and e["reason"].startswith("not allowed for") for e in refused)
        # refused before any request: no "requested" event (a late 403 would be journaled requested + failed),
        # and the cluster is unchanged
        assert not [e for e in app.journal.read() if e["event"] == "requested"]
        assert not any(n["spec"].get("unschedulable") for n in json.loads(
            testbed.kubectl("get", "nodes", "-o", "json").stdout)["items"] if not n["metadata"]["name"].startswith(
            ("drain-e2e", "remedy-e2e")))
