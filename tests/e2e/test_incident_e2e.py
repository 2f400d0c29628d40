"""Issue 11's "Done when", through the UI on the testbed (state in tmp: ECOTUI_STATE_DIR): during `incident
error-spike` a P1 for payment-service is started from its Deployment row; its rollout is undone (rollout_undo,
the remediation flow); a note is added; the timeline shows the Warning event, the undo (from the journal) and the
note in that order; the Initial and Update texts carry the right fields and land in the clipboard (the OSC 52
sequence the app writes to its terminal) and in the updates file; the SLA countdown and the escalation due time
match the matrix; a fresh app on the same state dir (a restart) shows everything; resolve → the export holds
every part. The Deployment is restored and the testbed incident cleared in `finally`.

The Warning event is posted with kubectl (reason HighErrorRate on the Deployment, as an alerting controller would):
the testbed's error-spike only changes what the services answer, KWOK runs no probes that would emit one.
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid

import pytest

from ecotui.ops.template_diff import without_hash
from ecotui.ui.incident_flow import flow_of
from ecotui.ui.screens.confirm import FormScreen
from ecotui.ui.screens.incident_dialogs import ChoiceDialog, StartDialog, escalate_after
from ecotui.ui.screens.incident_view import IncidentScreen
from ecotui.ui.screens.pickers import PickerScreen
from ecotui.ui.screens.status_update import StatusUpdateScreen
from ecotui.ui.widgets.incident_bar import IncidentBar
from e2e_app import make_app, wait
from test_remedy_e2e import act, confirm, deploy_json, key, open_deployment
from testbed import incidents

pytestmark = pytest.mark.e2e
NS, SVC = "ecotrack", "payment-service"
OSC52 = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)(?:\x07|\x1b\\)")


def post_warning(tb, name: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": NS},
          "involvedObject": {"kind": "Deployment", "name": SVC, "namespace": NS, "apiVersion": "apps/v1"},
          "type": "Warning", "reason": "HighErrorRate", "message": "5xx ratio 31% over 5m (threshold 5%)",
          "firstTimestamp": now, "lastTimestamp": now, "count": 1, "source": {"component": "e2e-alerting"}}
    tb.kubectl("create", "-f", "-", input=json.dumps(ev))


def capture_terminal(app) -> list[str]:
    """What the app writes to its (headless) terminal: the OSC 52 sequences land here."""
    out: list[str] = []
    driver = app._driver
    orig = driver.write

    def write(data: str) -> None:
        out.append(data)
        orig(data)
    driver.write = write
    return out


def clipboard_writes(out: list[str]) -> list[str]:
    return [base64.b64decode(m).decode() for m in OSC52.findall("".join(out))]


async def send_update(pilot, app, template: str) -> StatusUpdateScreen:
    await pilot.press(key("incident_update"))
    picker = await wait(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen, 5, "template picker")
    await pilot.pause(0.1)
    ol = picker.query_one("OptionList")
    ol.highlighted = picker.names.index(template)
    await pilot.press("enter")
    ed = await wait(pilot, lambda: isinstance(app.screen, StatusUpdateScreen) and app.screen, 5, "editor")
    await pilot.pause(0.1)
    await pilot.press(key("back"), key("copy"))
    await wait(pilot, lambda: isinstance(app.screen, IncidentScreen), 5, "sent, back in the view")
    return ed


async def test_incident_mode_done_when(testbed, tmp_path):
    good = without_hash(deploy_json(testbed, NS, SVC)["spec"]["template"])
    event_name = f"e2e-incident-{uuid.uuid4().hex[:6]}"
    try:
        await asyncio.to_thread(incidents.run, "error-spike", SVC)
        app = make_app(testbed)
        async with app.run_test(size=(120, 40)) as pilot:
            term = capture_terminal(app)
            flow = flow_of(app)
            policy = flow.policy
            # start from the Deployment's row: the service is pre-filled, P1 chosen from the matrix
            await open_deployment(pilot, app, NS, SVC)
            await pilot.press(key("incident_start"))
            dialog = await wait(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, 5, "start")
            assert dialog.query_one("#field-services").value == SVC
            dialog.query_one("#field-title").value = "payment errors spike"
            dialog.query_one("#field-impact").value = "about 30% of checkouts fail"
            assert dialog.severity == "P1"
            dialog.query_one("#field-impact").focus()
            await pilot.press("enter")
            inc = await wait(pilot, lambda: flow.current, 10, "incident started")
            assert (inc.services, inc.namespaces, inc.severity, inc.context) == ((SVC,), (NS,), "P1", testbed.context)
            # the SLA countdown and the escalation due time match the matrix
            sev = policy.severity("P1")
            view = flow.view
            assert view.response.at == inc.started + sev.response_minutes * 60
            assert view.next_update.at == inc.started + sev.update_minutes * 60
            l2 = policy.level("L2")
            assert view.escalation is not None and view.escalation.id == "escalate-L2"
            assert view.escalation.at == inc.started + escalate_after(policy, "P1", l2) * 60
            bar = await wait(pilot, lambda: app.screen.query(IncidentBar) and app.screen.query_one(IncidentBar),
                             5, "bar")
            m = re.search(r"SLA (\d+)m(\d\d)s", bar.plain)
            assert m, bar.plain
            left = int(m[1]) * 60 + int(m[2])
            assert abs(left - (view.response.at - flow.clock())) <= 3, (bar.plain, left)
            # a Warning event, then the undo through the remediation flow, then a note — a second apart
            await asyncio.to_thread(post_warning, testbed, event_name)
            await asyncio.sleep(1.1)
            dlg = await act(pilot, app, "rollout_undo", {"revision": "0"})
            assert dlg is not None
            out = await confirm(pilot, app)
            assert out.ok, out.message
            await asyncio.sleep(1.1)
            await pilot.press(key("incident_note"))
            await wait(pilot, lambda: isinstance(app.screen, FormScreen), 5, "note form")
            await pilot.press(*"undo to 1.4.1 done, error ratio falling", "enter")
            # the timeline writes itself (the collector: journal + events of ecotrack)
            await pilot.press(key("back"), key("back"))
            await pilot.press(key("incident_timeline"))
            iv = await wait(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen, 5, "view")

            def positions():
                es = flow.current.entries
                ev = [i for i, e in enumerate(es) if e.source == "event" and "HighErrorRate" in (e.kind + e.text)]
                undo = [i for i, e in enumerate(es) if e.source == "journal" and e.text.startswith("done rollout_undo")]
                note = [i for i, e in enumerate(es) if e.source == "note" and "1.4.1" in e.text]
                return (ev, undo, note) if ev and undo and note else None
            ev, undo, note = await wait(pilot, positions, 30, "event, undo and note on the timeline")
            assert ev[0] < undo[0] < note[0], [(e.source, e.kind, e.text) for e in flow.current.entries]
            await wait(pilot, lambda: any("rollout_undo" in str(iv.table.get_cell(k, "text"))
                                          for k in iv.table.keys), 5, "undo row in the view")
            # Initial, then Update: the fields, the clipboard (OSC 52 on the terminal) and the file
            await send_update(pilot, app, "initial")
            await send_update(pilot, app, "update")
            inc = flow.current
            assert [u.template for u in inc.updates] == ["initial", "update"]
            initial, update = inc.updates
            assert initial.subject.startswith(f"[P1] {SVC} - payment errors spike"), initial.subject
            for text in (inc.id, "about 30% of checkouts fail", time.strftime("%Y-%m-%d", time.gmtime(inc.started))):
                assert text in initial.body, (text, initial.body)
            assert inc.id in update.body and "rollout_undo" in update.body, update.body
            assert re.search(rf"{SVC}-\w+-\w+", update.body), update.body          # the affected pods
            copied = clipboard_writes(term)
            assert copied[-2:] == [f"{u.subject}\n\n{u.body.rstrip()}\n" for u in inc.updates], copied
            saved = (flow.store.dir_for(inc) / "updates.md").read_text()
            assert initial.body.rstrip() in saved and update.body.rstrip() in saved
            # the next-update countdown restarted with the last update
            assert flow.view.next_update.at == inc.last_update_at + sev.update_minutes * 60
            # severity lowered with a reason (for the export's severity changes)
            await pilot.press(key("incident_severity"))
            await wait(pilot, lambda: isinstance(app.screen, ChoiceDialog), 5, "severity dialog")
            await pilot.press("down", "enter", *"contained by the undo", "enter")
            await wait(pilot, lambda: flow.current.severity == "P2", 5, "P2")
            entries_before = len(flow.current.entries)
            inc_id = inc.id
        # a restart: a fresh app on the same state dir shows the incident, its clock and its timeline
        app2 = make_app(testbed)
        async with app2.run_test(size=(120, 40)) as pilot:
            flow2 = app2.incidents
            assert flow2.current is not None and flow2.current.id == inc_id
            assert len(flow2.current.entries) >= entries_before and len(flow2.current.updates) == 2
            await wait(pilot, lambda: app2.screen.query(IncidentBar) and inc_id in
                       app2.screen.query_one(IncidentBar).plain, 10, "bar after the restart")
            await pilot.press(key("incident_timeline"))
            iv = await wait(pilot, lambda: isinstance(app2.screen, IncidentScreen) and app2.screen, 5, "view")
            await wait(pilot, lambda: len(iv.table.keys) >= entries_before, 5, "timeline after the restart")
            # the evidence: the affected namespace as YAML next to the incident (reads only; secret values never)
            await pilot.press(key("incident_snapshot"))
            snap = await wait(pilot, lambda: flow2.last_snapshot, 30, "snapshot written")
            text = snap.read_text()
            assert snap.parent == flow2.store.dir_for(flow2.current) and "kind: List" in text
            assert f"name: {SVC}" in text and "kind: Deployment" in text
            # resolve, then export
            await pilot.press(key("incident_resolve"))
            form = await wait(pilot, lambda: isinstance(app2.screen, FormScreen) and app2.screen, 5, "resolve")
            form.query_one("#field-resolution").value = "rolled back to 1.4.1"
            form.query_one("#field-root_cause").value = "1.4.2 broke the card gateway client"
            form.query_one("#field-post_mortem").value = "https://wiki.example/pm/payments"
            form.query_one("#field-post_mortem").focus()
            await pilot.press("enter")
            await wait(pilot, lambda: flow2.current is None and flow2.recent is not None and not flow2.recent.open,
                       5, "resolved")
            await wait(pilot, lambda: not app2.screen.query_one(IncidentBar).display, 5, "bar hidden")
            await pilot.press(key("incident_export"))
            path = await wait(pilot, lambda: flow2.last_export, 5, "export written")
            md = path.read_text()
            for part in ("## Summary", "## Severity changes", "## Timeline", "## Actions and outcomes",
                         "## Status updates sent", "## Post-incident review", "payment errors spike",
                         "P1", "P2", "contained by the undo", "rollout_undo", "HighErrorRate", "1.4.1 done",
                         "1.4.2 broke the card gateway client", "https://wiki.example/pm/payments",
                         initial.subject, update.subject):
                assert part in md, (part, md)
            for heading in policy.postmortem_headings:
                assert heading in md, heading
    finally:
        await asyncio.to_thread(incidents.run, "clear", None)
        testbed.kubectl("delete", "event", event_name, "-n", NS, check=False)
        if without_hash(deploy_json(testbed, NS, SVC)["spec"]["template"]) != good:
            testbed.kubectl("rollout", "undo", f"deployment/{SVC}", "-n", NS)
        testbed.kubectl("rollout", "status", f"deployment/{SVC}", "-n", NS, "--timeout=60s", check=False)
        assert without_hash(deploy_json(testbed, NS, SVC)["spec"]["template"]) == good
