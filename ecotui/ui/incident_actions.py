"""What the incident keys do (the App's global keys and the incident view's group), on top of `IncidentFlow`:

    start (I)      StartDialog, services/namespace from the selected row → store.start
    timeline (9)   the incident view
    note (N)       a one-line form → store.note
    severity (v) · ack (a) · escalate (e) · resolve (o)   dialogs → the store; each change on the timeline
    update (u)     pick Initial / Update / Resolution → StatusUpdateScreen (send = OSC 52 + the updates file +
                   store.record_update)
    export (w)     write_export → `<incident dir>/postmortem-<id>.md`, the path said in one line
    snapshot (B)   the affected namespaces as YAML through the workspace's client, in a worker (reads only)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.incident.model import Incident
from ecotui.kube.render import pod_status
from ecotui.textsafe import one_line
from ecotui.ui.incident_flow import IncidentFlow, flow_of
from ecotui.ui.screens.confirm import FormScreen
from ecotui.ui.screens.incident_dialogs import (ChoiceDialog, StartDialog, escalate_dialog, note_form, resolve_form, row_prefill,
                                                severity_dialog, split_list)
from ecotui.ui.screens.status_update import KIND_LABELS, KINDS, StatusUpdateScreen, append_update, update_block


def start_incident(app: Any) -> None:
    flow = flow_of(app)
    inc = flow.current
    if inc is not None:
        app.say(f"an incident is already open: {inc.id}", severity="warning")
        return
    services, ns = row_prefill(app)
    dialog = app.screen_class(StartDialog)(flow.policy, services=services, namespaces=ns)

    def done(v: dict[str, str] | None) -> None:
        if v is not None:
            app.run_worker(_start(flow, v), group="incident-start", exit_on_error=False)
    app.push_screen(dialog, done)


async def _start(flow: IncidentFlow, v: dict[str, str]) -> None:
    user = await flow.user()
    ws = flow.app.workspace
    inc = flow._write(lambda: flow.store.start(
        title=v["title"], services=split_list(v["services"]),
        namespaces=split_list(v["namespaces"]) or ((ws.session.namespace,) if ws.session.namespace else ()),
        severity=v["severity"], impact=v["impact"], context=ws.profile.context, user=user), "start")
    if inc is not None:
        flow.changed(inc, f"{inc.id} started: {inc.severity} {', '.join(inc.services)}")
        flow.collect_now()


def open_timeline(app: Any) -> None:
    from ecotui.ui.bindings import make_bindings, with_bindings
    from ecotui.ui.screens.incident_view import HINT_IDS, HINT_LABELS, TABLE_IDS, IncidentScreen
    from ecotui.ui.widgets.resource_table import ResourceTable
    if isinstance(app.screen, IncidentScreen):
        return
    flow = flow_of(app)
    table_cls = with_bindings(ResourceTable, make_bindings(app.keymap, TABLE_IDS))
    app.push_screen(app.screen_class(IncidentScreen)(flow, table_cls=table_cls,
                                                     hints=app.hints(HINT_IDS, HINT_LABELS)))


def add_note(app: Any) -> None:
    flow = flow_of(app)
    inc = flow.need_open()
    if inc is None:
        return

    def done(v: dict[str, str] | None) -> None:
        if v is not None:
            app.run_worker(_note(flow, v["note"].strip()), group="incident-note", exit_on_error=False)
    app.push_screen(note_form(inc.id, app.screen_class(FormScreen)), done)


async def _note(flow: IncidentFlow, text: str) -> None:
    user = await flow.user()
    inc = flow._write(lambda: flow.store.note(text, user=user), "note")
    flow.changed(inc, "note added" if inc is not None else "")


def run_action(flow: IncidentFlow, action: str) -> None:
    app = flow.app
    if action == "incident_export":
        export(flow)
        return
    inc = flow.need_open()
    if inc is None:
        return
    if action == "incident_ack":
        if inc.acked_at is not None:
            app.say(f"{inc.id} was already acknowledged", timeout=3)
            return
        app.run_worker(_ack(flow), group="incident-ack", exit_on_error=False)
    elif action == "incident_severity":
        def severity(r: tuple[str, str] | None) -> None:
            if r is not None:
                flow.changed(flow._write(lambda: flow.store.set_severity(r[0], reason=r[1]), "severity"),
                             f"severity: {r[0]}")
        app.push_screen(severity_dialog(flow.policy, inc.severity, app.screen_class(ChoiceDialog)), severity)
    elif action == "incident_escalate":
        keys = [lv.key for lv in flow.policy.levels]
        if inc.level in keys and keys.index(inc.level) == len(keys) - 1:
            app.say(f"already at the highest level ({inc.level})", severity="warning")
            return

        def escalate(r: tuple[str, str] | None) -> None:
            if r is not None:
                flow.changed(flow._write(lambda: flow.store.escalate(r[0], reason=r[1]), "escalate"),
                             f"escalated to {r[0]}")
        app.push_screen(escalate_dialog(flow.policy, inc.severity, inc.level, app.screen_class(ChoiceDialog)),
                        escalate)
    elif action == "incident_resolve":
        def resolve(v: dict[str, str] | None) -> None:
            if v is not None:
                flow.changed(flow._write(lambda: flow.store.resolve(
                    v["resolution"].strip(), v["root_cause"].strip(), v["post_mortem"].strip()), "resolve"),
                    f"{inc.id} resolved")
        app.push_screen(resolve_form(inc.id, app.screen_class(FormScreen)), resolve)
    elif action == "incident_update":
        pick_update(flow, inc)
    elif action == "incident_snapshot":
        app.run_worker(snapshot(flow, inc), group="incident-snapshot", exclusive=True, exit_on_error=False)


async def _ack(flow: IncidentFlow) -> None:
    user = await flow.user()
    inc = flow._write(lambda: flow.store.ack(user), "ack")
    flow.changed(inc, f"acknowledged by {user}" if inc is not None else "")


# ---- status updates -----------------------------------------------------------------------------------------

def facts(flow: IncidentFlow, inc: Incident) -> Any:
    """What the templates need beyond the incident: the affected pods and their states, the last actions."""
    from ecotui.incident.templates import Facts
    pods: list[tuple[str, str]] = []
    try:
        items = flow.app.session.snapshot("pods").items
    except Exception:  # noqa: BLE001 - no pods is a valid answer here
        items = {}
    for key, p in items.items():
        md = p.metadata
        if inc.namespaces and md.namespace not in inc.namespaces:
            continue
        if (dict(md.labels or {}).get("app") or "") in inc.services:
            pods.append((key, pod_status(p)))
    actions = tuple(e.text for e in inc.entries if e.source == "journal")[-5:]
    return Facts(pods=tuple(sorted(pods)[:20]), last_actions=actions, now=flow.clock())


def pick_update(flow: IncidentFlow, inc: Incident) -> None:
    from ecotui.ui.screens.pickers import PickerScreen
    app = flow.app
    current = "initial" if not inc.updates else "update"

    def chosen(kind: str | None) -> None:
        if kind:
            open_update(flow, kind)
    app.push_screen(app.screen_class(PickerScreen)("Status update: which template?", list(KINDS), current,
                                                   [KIND_LABELS[k] for k in KINDS]), chosen)


def open_update(flow: IncidentFlow, kind: str) -> None:
    from ecotui.incident.templates import fill
    app = flow.app
    inc = flow.current or flow.recent
    if inc is None:
        return
    subject, body = fill(flow.policy, kind, inc, facts(flow, inc))
    hints = app.hints(("copy", "back"), {"copy": "copy + save (outside the editor)", "back": "leave editor / close"})
    app.push_screen(app.screen_class(StatusUpdateScreen)(kind, inc.id, subject, body,
                                                         lambda k, s, b: send_update(flow, k, s, b), hints))


def updates_path(flow: IncidentFlow, inc: Incident) -> Path:
    f = flow.settings.updates_file
    return Path(f).expanduser() if f else flow.store.dir_for(inc) / "updates.md"


def send_update(flow: IncidentFlow, kind: str, subject: str, body: str) -> str | None:
    """Copy (OSC 52), append to the file, record on the timeline. An error line, or None when sent."""
    inc = flow.current or flow.recent
    if inc is None:
        return "no incident"
    if not subject:
        return "the subject is empty"
    from ecotui.ui.screens.status_update import clipboard_text
    app = flow.app
    app.copy_to_clipboard(clipboard_text(subject, body))
    try:
        path = updates_path(flow, inc)
        append_update(path, update_block(kind, subject, body, flow.clock()))
    except (OSError, EcotuiError) as exc:
        msg = exc.message if isinstance(exc, EcotuiError) else one_line(str(exc), 200)
        return f"copied, but not saved: {msg}"
    got = flow._write(lambda: flow.store.record_update(kind, subject, body, str(path)), "record update")
    if got is None:
        return "copied and saved, but not recorded on the timeline (see the message)"
    flow.changed(got, f"{KIND_LABELS[kind]} copied (OSC 52) and saved to {path}")
    return None


# ---- evidence -----------------------------------------------------------------------------------------------

def export(flow: IncidentFlow) -> None:
    from ecotui.incident.export import write_export
    inc = flow.current or flow.recent
    if inc is None:
        flow.need_open()
        return
    path = flow._write(lambda: write_export(flow.store, inc, flow.policy, flow.clock()), "export")
    if path is not None:
        flow.app.say(f"exported: {path}", timeout=8)
        flow.last_export = path


async def snapshot(flow: IncidentFlow, inc: Incident) -> None:
    from ecotui.incident.snapshot import snapshot_namespaces, write_snapshot
    app = flow.app
    ws = app.workspace
    if ws.profile.context != inc.context:
        app.say(f"the incident is in context {inc.context}; switch to it for a snapshot", severity="warning")
        return
    client = ws.api
    try:
        text = await snapshot_namespaces(client, list(inc.namespaces))
        path = write_snapshot(flow.store, inc, text, flow.clock())
    except EcotuiError as exc:
        app.say(f"snapshot: {exc.message}", severity="error")
        return
    except OSError as exc:
        app.say(f"snapshot: {one_line(str(exc), 200)}", severity="error")
        return
    flow.last_snapshot = path
    app.say(f"snapshot: {path}", timeout=8)
