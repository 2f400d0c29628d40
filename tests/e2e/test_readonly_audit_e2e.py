"""Read-only follows the context, and a read-only session that opens every view and presses every key sends
no create/update/patch/delete request — counted in the real API server's audit log."""
from __future__ import annotations

import json
import time

import pytest
import yaml

from ecotui.actions import ACTIONS, MUTATING_ACTIONS, REMEDY_ACTIONS
from ecotui.config import load_config
from ecotui.errors import ReadOnlyError
from ecotui.keymap import load_keymap
from ecotui.kinds.registry import all_specs
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.ui.app import EcotuiApp
from ecotui.workspace import WorkspaceFactory
from e2e_app import wait
from testbed import paths

pytestmark = pytest.mark.e2e
WRITES = {"create", "update", "patch", "delete", "deletecollection"}
NOT_A_CHANGE = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
REMEDY = ("mark", "mark_all", "clear_marks", *REMEDY_ACTIONS)


def two_contexts(tb, tmp_path):
    """The testbed's kubeconfig with a second context on the same cluster, read-only in the config."""
    kc = yaml.safe_load(tb.kubeconfig.read_text())
    ctx = kc["contexts"][0]
    kc["contexts"].append({"name": "testbed-ro", "context": dict(ctx["context"])})
    kc["current-context"] = "testbed-ro"
    kpath = tmp_path / "kubeconfig"
    kpath.write_text(yaml.safe_dump(kc))
    cpath = tmp_path / "config.yaml"
    cpath.write_text(yaml.safe_dump({"contexts": {"testbed-ro": {"readonly": True},
                                                  ctx["name"]: {"readonly": False}}}))
    return load_kubeconfig(str(kpath)), load_config(str(cpath)), ctx["name"]


def audited(t0: float) -> list[dict]:
    out, seen = [], set()
    for line in paths.audit_log().read_text(errors="replace").splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not ev.get("userAgent", "").startswith("ecotui/") or ev["auditID"] in seen:
            continue
        ts = ev["requestReceivedTimestamp"].replace("Z", "+00:00")
        import datetime as dt
        if dt.datetime.fromisoformat(ts).timestamp() < t0:
            continue
        seen.add(ev["auditID"])
        out.append(ev)
    return out


async def test_readonly_session_sends_no_writes_and_follows_the_context(testbed, tmp_path):
    kubeconfig, config, rw_context = two_contexts(testbed, tmp_path)
    factory = WorkspaceFactory(kubeconfig, config, first_context="testbed-ro", all_namespaces=True)
    keymap, problems = load_keymap()
    assert not problems
    t0 = time.time() - 1
    app = EcotuiApp(factory.build("testbed-ro"), keymap=keymap, workspace_factory=factory.build,
                    contexts=factory.contexts)
    header = lambda: app.screen.query_one("#header").plain  # noqa: E731
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: "live" in header(), 20, "live")
        assert app.readonly and "RO" in header()
        # every key of every action, on the cockpit (dialogs it opens are closed again)
        keys = [k for aid, ks in keymap.bindings.items() if aid != "quit" for k in ks]
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
            while len(app.screen_stack) > 1 or getattr(app.screen, "filter_open", False):
                await pilot.press("escape")
                await pilot.pause(0.05)
        # every remediation key on the nodes and the pods pane (a dialog would be closed; none may open)
        remedy_keys = [k for aid in REMEDY for k in keymap.bindings.get(aid, ())[:1]]
        for pane in ("focus_nodes", "focus_pods"):
            await pilot.press(keymap.bindings[pane][0])
            for key in remedy_keys:
                await pilot.press(key)
                await pilot.pause(0.05)
                while len(app.screen_stack) > 1:
                    await pilot.press("escape")
                    await pilot.pause(0.05)
        # every view of the registry, with describe, sort, filter, every remediation key and back
        table_keys = [k for aid in ("cursor_down", "describe", "sort", "sort_reverse", "open", "refresh")
                      for k in keymap.bindings.get(aid, ())[:1]] + remedy_keys
        for spec in all_specs():
            await pilot.press("colon", *spec.names[-1], "enter")
            await pilot.pause(0.3)
            for key in table_keys:
                await pilot.press(key)
                await pilot.pause(0.1)
                while len(app.screen_stack) > 2 or (app.screen.__class__.__name__.startswith("Describe")):
                    await pilot.press("escape")
                    await pilot.pause(0.05)
            while len(app.screen_stack) > 1:
                await pilot.press("escape")
                await pilot.pause(0.05)
        # a write through the data layer is refused before it is sent
        with pytest.raises(ReadOnlyError):
            await app.session.client.request(  # type: ignore[attr-defined]
                "PATCH", "/api/v1/nodes/does-not-matter", json={"metadata": {"labels": {"x": "y"}}})
        assert app.workspace.gate.refused >= 1
        # read-only follows the context: off on the read-write context, on again at once when switching back
        await pilot.press("colon", *f"ctx {rw_context}", "enter")
        await wait(pilot, lambda: app.workspace.profile.context == rw_context, 20, "switched to rw")
        assert not app.readonly
        await wait(pilot, lambda: "RO" not in header(), 5, "RO badge gone")
        # the read-write context does send writes (and this one proves the audit check below sees them)
        probe = "/api/v1/namespaces/default"
        await app.session.client.request(  # type: ignore[attr-defined]
            "PATCH", probe, json={"metadata": {"annotations": {"ecotui.dev/audit-probe": str(t0)}}},
            content_type="application/merge-patch+json")
        await pilot.press("colon", *"ctx testbed-ro", "enter")
        await wait(pilot, lambda: app.workspace.profile.context == "testbed-ro", 20, "switched back")
        assert app.readonly and app.workspace.gate.readonly
        await wait(pilot, lambda: "RO" in header(), 5, "RO badge back")
        await pilot.pause(1.0)
    await app.workspace.stop()
    time.sleep(1.5)  # the audit backend writes in batches
    events = audited(t0)
    resources = {(e.get("objectRef") or {}).get("resource") for e in events}
    verbs = {e["verb"] for e in events}
    assert {"list", "watch"} <= verbs, f"the audit log shows no reads of ours: {verbs}"
    assert {s.id for s in all_specs()} <= resources, f"views not all opened: missing {set(s.id for s in all_specs()) - resources}"
    writes = [f"{e['verb']} {e['requestURI']}" for e in events if e["verb"] in WRITES
              and (e.get("objectRef") or {}).get("resource") not in NOT_A_CHANGE
              and (e.get("objectRef") or {}).get("subresource") != "portforward"]
    assert writes == [f"patch {probe}"], "only the read-write context's probe may write"
    assert ACTIONS  # the action registry is what the keymap binds
    # each refusal is in the journal: cordon/drain on nodes, delete on pods, rollouts and scale on workloads
    refused = {e["action"] for e in app.journal.read() if e["event"] == "refused" and e["reason"] == "read-only"}
    assert refused == set(MUTATING_ACTIONS), set(MUTATING_ACTIONS) - refused
