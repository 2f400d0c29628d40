"""Incident mode in the UI (fake session, real store in tmp): the start dialog pre-filled from the selected
Deployment with the severity matrix shown, the clock bar on the cockpit / a kind view / the log screen (80 columns),
an injected clock (a P0 16 min old and not acked is overdue in the critical style; ack → met), the bell once per
deadline, note / escalate / severity on the timeline, the edited status update is what is copied and saved, and a
second app on the same state dir sees the first's incident after its tick."""
from __future__ import annotations

from ecotui.incident.clock import bells_due, clock_view
from ecotui.keymap import load_keymap
from ecotui.ops.journal import Journal
from ecotui.ui.app import EcotuiApp
from ecotui.ui.incident_flow import IncidentFlow, flow_of
from ecotui.ui.screens.confirm import FormScreen
from ecotui.ui.screens.incident_dialogs import ChoiceDialog, StartDialog
from ecotui.ui.screens.incident_view import IncidentScreen
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.screens.logs import LogScreen
from ecotui.ui.screens.pickers import PickerScreen
from ecotui.ui.screens.status_update import StatusUpdateScreen
from ecotui.ui.widgets.incident_bar import IncidentBar
from test_cockpit import make_session
from test_kind_views import deployment, items
from test_log_view import FakeSource
from ui_fakes import T0, pilot_until, screen_text, workspace

KEYMAP, _ = load_keymap()


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_app(tmp_path, session=None, clock=None) -> EcotuiApp:
    s = session or make_session()
    return EcotuiApp(workspace(s), clock=clock or (lambda: T0), poll_interval=0.05,
                     journal=Journal(tmp_path / "journal.jsonl"))


async def wait_for(pilot, pred, what, n=60):
    return await pilot_until(pilot, pred, what, n)


def flow(app) -> IncidentFlow:
    return flow_of(app)     # made on first use (the App only stats the store until there is an incident)


def start(app, severity="P1", services=("payment-service",), title="payments failing"):
    inc = flow(app).store.start(title=title, services=services, namespaces=("ecotrack",), severity=severity,
                                impact="checkout fails", context="test-ctx", user="tester")
    flow(app).tick()
    return inc


def top_line(app) -> str:
    lines = screen_text(app).splitlines()
    return lines[0] if lines else ""


def bar(app) -> IncidentBar:
    return app.screen.query_one(IncidentBar)


async def test_start_dialog_prefills_the_service_from_the_selected_deployment_and_shows_the_matrix(tmp_path):
    s = make_session()
    s.set_items("deployments", items("deployments", [deployment("ecotrack", "payment-service", 3, 1),
                                                     deployment("ecotrack", "order-service", 2, 2)]))
    app = make_app(tmp_path, s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"deploy", "enter")
        view = await wait_for(pilot, lambda: isinstance(app.screen, KindScreen) and app.screen, "deploy view")
        assert view.table.move_to_key("ecotrack/payment-service")
        await pilot.press(key("incident_start"))
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "start dialog")
        assert dialog.query_one("#field-services").value == "payment-service"
        assert dialog.query_one("#field-namespaces").value == "ecotrack"
        # the matrix: every severity with its description, response time and examples
        text = screen_text(app)
        p0 = flow(app).policy.severity("P0")
        assert "P0 Critical" in text and "respond < 15 min" in text and p0.description[:30] in text, text
        assert p0.examples[0][:20] in text
        # an empty title is refused in the dialog, which stays open with what was typed
        dialog.query_one("#field-impact").focus()
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert app.screen is dialog and "a title is needed" in screen_text(app)
        dialog.query_one("#field-title").value = "payments failing"
        dialog.query_one("#field-impact").value = "checkout fails for 30% of users"
        await pilot.press("enter")
        inc = await wait_for(pilot, lambda: flow(app).current, "incident started")
        assert (inc.title, inc.services, inc.namespaces, inc.severity) == (
            "payments failing", ("payment-service",), ("ecotrack",), "P1")
        assert inc.impact == "checkout fails for 30% of users" and inc.user == "tester"
        # a second start says which one is open
        await pilot.press(key("incident_start"))
        await pilot.pause(0.05)
        assert not isinstance(app.screen, StartDialog)
        assert any(f"already open: {inc.id}" in n for n in app.notices)


async def test_the_clock_bar_shows_on_the_cockpit_a_kind_view_and_the_log_screen(tmp_path):
    s = make_session()
    s.set_items("deployments", items("deployments", [deployment("ecotrack", "payment-service", 3, 1)]))
    app = make_app(tmp_path, s)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query(IncidentBar) or not bar(app).display     # nothing open: no bar
        inc = start(app)
        b = await wait_for(pilot, lambda: app.screen.query(IncidentBar) and bar(app).display and bar(app),
                           "bar on the cockpit")
        assert b.plain.startswith(f" {inc.id}  P1") and len(b.plain) <= 80, b.plain
        await wait_for(pilot, lambda: inc.id in top_line(app), "drawn on the top line")
        await pilot.press("colon", *"deploy", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KindScreen), "deploy view")
        await wait_for(pilot, lambda: inc.id in top_line(app), "bar on the kind view")
        app.push_screen(app.screen_class(LogScreen)(FakeSource(), app.ui, capacity=1000, title="payment-service",
                                                    save_dir=tmp_path))
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), "log screen")
        await wait_for(pilot, lambda: inc.id in top_line(app), "bar on the log screen")
        assert "SLA" in top_line(app)


async def test_p0_past_15_minutes_is_overdue_in_critical_then_ack_meets_it_and_the_bell_rings_once_each(tmp_path):
    clock = Clock(T0 - 16 * 60)
    app = make_app(tmp_path, clock=clock)
    rung: list[float] = []
    app.bell = lambda: rung.append(clock.t)      # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        inc = start(app, severity="P0")
        assert rung == []
        clock.t = T0                             # 16 minutes later, not acknowledged
        flow(app).tick()
        b = await wait_for(pilot, lambda: app.screen.query(IncidentBar) and bar(app), "bar")
        view = flow(app).view
        assert view.response.state == "critical" and view.worst == "critical"
        assert "SLA -1m00s" in b.plain, b.plain
        critical = app.cell_styles["critical"]
        start_at = b.plain.index("SLA -1m00s")
        assert any(sp.start <= start_at < sp.end and sp.style == critical for sp in b.text.spans), b.text.spans
        # once per deadline: the response SLA, the first status update (P0: every 15 min) and L2 (P0: 15 min)
        passed = [d.id for d in view.deadlines if d.state == "critical"]
        assert {"response", "update-0"} <= set(passed) and len(rung) == len(passed), (passed, rung)
        for _ in range(3):
            flow(app).tick()
        assert len(rung) == len(passed)
        assert flow(app).store.current.bells == frozenset(passed)
        # acknowledged late (incident view key): the SLA is missed, no countdown any more
        await pilot.press(key("incident_timeline"))
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), "incident view")
        await pilot.press(key("incident_ack"))
        await wait_for(pilot, lambda: flow(app).current.acked_at is not None, "acked")
        await wait_for(pilot, lambda: "SLA missed" in bar(app).plain, "SLA missed in the bar")
        # a restart (a new flow on the same files) has nothing left to ring for what was rung
        other = IncidentFlow(app, clock=clock)
        assert other.current is not None and other.current.id == inc.id
        assert bells_due(other.current, clock_view(other.current, other.policy, clock.t)) == []
        # a status update starts the next update deadline: it rings once when it passes
        flow(app).store.record_update("update", "s", "b")
        flow(app).tick()
        nxt = flow(app).view.next_update
        assert nxt.state != "critical" and nxt.id not in flow(app).store.current.bells
        clock.t = nxt.at + 1
        flow(app).tick()
        flow(app).tick()
        assert len(rung) == len(passed) + 1 and nxt.id in flow(app).store.current.bells


async def test_ack_before_the_response_deadline_meets_the_sla(tmp_path):
    clock = Clock(T0 - 10 * 60)
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        start(app, severity="P0")
        clock.t = T0                             # 10 minutes in: 5 left of the 15-minute SLA
        flow(app).tick()
        assert flow(app).view.response.state == "ok" and "SLA 5m00s" in bar(app).plain, bar(app).plain
        clock.t = T0 + 3 * 60                    # 2 minutes left: warning
        flow(app).tick()
        assert flow(app).view.response.state == "warning"
        await pilot.press(key("incident_timeline"))
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), "incident view")
        await pilot.press(key("incident_ack"))
        await wait_for(pilot, lambda: flow(app).current.acked_at is not None, "acked")
        assert flow(app).view.response.state == "met"
        clock.t = T0 + 20 * 60                   # well past the 15 minutes: still met
        flow(app).tick()
        assert flow(app).view.response.state == "met"
        await wait_for(pilot, lambda: "SLA met" in bar(app).plain, "SLA met in the bar")
        assert any(e.kind == "ack" for e in flow(app).current.entries)


async def test_note_escalate_and_severity_change_appear_on_the_timeline(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        start(app)
        await pilot.press(key("incident_timeline"))
        view = await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen) and app.screen, "view")
        # note (global key): empty is refused, then the text lands on the timeline
        await pilot.press(key("incident_note"))
        form = await wait_for(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen, "note form")
        await pilot.press("enter")
        assert app.screen is form and "the note is empty" in screen_text(app)
        await pilot.press(*"db pool exhausted", "enter")
        await wait_for(pilot, lambda: any(e.source == "note" for e in flow(app).current.entries), "note")
        # severity: the matrix, P1 → P0 with a reason
        await pilot.press(key("incident_severity"))
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), "severity dialog")
        assert "P0 Critical" in screen_text(app)
        await pilot.press("up", "enter", *"all payments failing", "enter")
        await wait_for(pilot, lambda: flow(app).current.severity == "P0", "P0")
        # escalate: the next level is preselected
        await pilot.press(key("incident_escalate"))
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "escalate")
        assert dialog.choice == "L2" and "L3" in screen_text(app)
        await pilot.press("enter", *"cannot fix alone", "enter")
        await wait_for(pilot, lambda: flow(app).current.level == "L2", "L2")
        await wait_for(pilot, lambda: app.screen is view and len(view.shown) >= 4, "rows")
        kinds = [e.kind for e in view.shown]
        assert kinds[:1] == ["started"] and {"note", "severity", "escalate"} <= set(kinds), kinds
        texts = "\n".join(str(view.table.get_cell(k, "text")) for k in view.table.keys)
        assert "db pool exhausted" in texts and "P0" in texts and "L2" in texts, texts
        # the filter: only notes
        await pilot.press(key("filter"), *"note", "enter")
        await wait_for(pilot, lambda: [e.source for e in view.shown] == ["note"], "filtered to notes")
        await pilot.press(key("back"))
        await wait_for(pilot, lambda: len(view.shown) >= 4, "filter cleared")


async def test_the_status_update_edited_in_the_textarea_is_what_is_copied_and_saved(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        inc = start(app)
        await pilot.press(key("incident_timeline"))
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), "view")
        await pilot.press(key("incident_update"))
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), "template picker")
        await pilot.press("enter")                                   # Initial (no update sent yet)
        ed = await wait_for(pilot, lambda: isinstance(app.screen, StatusUpdateScreen) and app.screen, "editor")
        assert ed.kind == "initial"
        assert ed.subject == "[P1] payment-service - payments failing", ed.subject
        assert inc.id in ed.body
        await pilot.press(*"EDITED ")                              # typed at the top of the body
        await pilot.press(key("copy"))                               # still in the editor: a letter, not send
        assert ed.body.startswith("EDITED y") and app.clipboard == ""
        await pilot.press("backspace", key("back"), key("copy"))     # leave the editor, then send
        await wait_for(pilot, lambda: flow(app).current.updates, "update recorded")
        sent = flow(app).current.updates[-1]
        assert sent.body.startswith("EDITED ") and sent.template == "initial"
        assert app.clipboard == f"{sent.subject}\n\n{sent.body.rstrip()}\n"
        saved = (flow(app).store.dir_for(inc) / "updates.md").read_text()
        assert sent.body.rstrip() in saved and sent.subject in saved and sent.file.endswith("updates.md")
        assert flow(app).current.last_update_at is not None
        assert any(e.source == "update" for e in flow(app).current.entries)


async def test_a_second_app_on_the_same_state_dir_sees_the_incident_after_its_tick(tmp_path):
    first, second = make_app(tmp_path), make_app(tmp_path)
    async with first.run_test(size=(80, 24)) as p1:
        await p1.pause()
        async with second.run_test(size=(80, 24)) as p2:
            await p2.pause()
            assert flow(second).current is None
            inc = start(first)
            await wait_for(p2, lambda: flow(second).current is not None, "seen by the second app", n=60)
            assert flow(second).current.id == inc.id
            await wait_for(p2, lambda: second.screen.query(IncidentBar) and inc.id in
                           second.screen.query_one(IncidentBar).plain, "bar in the second app")
            flow(second).store.note("from the second app", user="other")
            await wait_for(p1, lambda: any(e.text.endswith("from the second app") or "from the second app" in e.text
                                           for e in flow(first).current.entries), "note seen by the first")


def test_the_bar_text_fits_80_columns_and_shortens_in_steps():
    from ecotui.incident.model import Incident
    from ecotui.incident.policy import load_policy
    from ecotui.ui.widgets.incident_bar import bar_text
    policy = load_policy(None)
    inc = Incident(id="INC-20261201-0213-4f2a", title="t", services=("payment-service",), namespaces=("ecotrack",),
                   severity="P1", impact="", context="c", user="u", started=T0 - 725)
    view = clock_view(inc, policy, T0)
    full = bar_text(inc, view, T0, 200).plain
    assert full == (" INC-20261201-0213-4f2a  P1 payment-service │ 12m05s │ Immediate response │ SLA 47m55s │ "
                    "update in 17m55s │ L2 in 47m55s"), full
    for width in (80, 100):
        t = bar_text(inc, view, T0, width).plain
        assert len(t) <= width and inc.id in t and "12m05s" in t and "SLA" in t and "L2" in t, t
    many = Incident(**{**inc.__dict__, "services": ("payment-service", "order-service", "user-service")})
    t = bar_text(many, clock_view(many, policy, T0), T0, 80).plain
    assert len(t) <= 80 and inc.id in t, t


async def test_read_only_context_runs_an_incident_without_cluster_writes_and_hostile_text_is_inert(tmp_path):
    s = make_session()
    ws = workspace(s, readonly=True)
    app = EcotuiApp(ws, clock=lambda: T0, poll_interval=0.05, journal=Journal(tmp_path / "journal.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key("incident_start"))
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "start dialog")
        dialog.query_one("#field-title").value = "evil \x1b[2J\x1b]52;c;aGk=\x07 title"
        dialog.query_one("#field-services").value = "payment-service"
        dialog.query_one("#field-impact").focus()
        await pilot.press("enter")
        inc = await wait_for(pilot, lambda: flow(app).current, "incident started read-only")
        await pilot.press(key("incident_timeline"))
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen), "view")
        await pilot.press(key("incident_ack"))
        await wait_for(pilot, lambda: flow(app).current.acked_at is not None, "acked")
        text = screen_text(app)
        assert inc.id in text and "\x1b" not in text and "evil" in text
        assert ws.api.writes() == []


async def test_without_any_incident_the_app_only_stats_the_store_until_another_process_starts_one(tmp_path):
    """Start-up cost: no incident on this machine → no flow (no policy, store or collector) until one appears;
    an incident started by another process (a second store on the same state dir) shows within ~1 s."""
    from ecotui.incident.store import IncidentStore
    from ecotui.incident.paths import incidents_root
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.incidents is None and not app.screen.query(IncidentBar)
        other = IncidentStore(incidents_root())
        inc = other.start(title="db down", services=("order-service",), namespaces=("ecotrack",), severity="P0",
                    impact="orders fail", context="test-ctx", user="other")
        await wait_for(pilot, lambda: app.incidents is not None and app.screen.query(IncidentBar)
                       and inc.id in bar(app).plain, "the other process's incident", n=80)
