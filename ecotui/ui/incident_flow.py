"""Incident mode, App side: the store and the policy, the 1 Hz clock, the bells, the timeline collector, and the
actions behind the incident keys (dialogs in `screens/incident_dialogs.py`, the view in
`screens/incident_view.py`, status updates in `screens/status_update.py`).

    IncidentFlow(app, settings)   made by the App on mount; `.start()` starts the tick
      tick (1 Hz): store.refresh() (a second ecotui process's changes show within a second) ─> clock_view
        ─> bells_due: App.bell() once per deadline (settings.bell), recorded with store.mark_bells (so a restart
           or a second process does not ring again) ─> the IncidentBar of the visible full screen (mounted on
           every full screen, docked at the top, hidden while no incident is open)
      collector: TimelineCollector(store, workspace, journal).run() in an App worker while an incident is open
        in the active workspace's context (restarted on a context switch or a new incident)

Every store call is a small local write (lock, write, fsync, rename) done on the loop like the journal's appends;
an IncidentError/EcotuiError is one line to the user, never a traceback. Read-only contexts run incidents too:
nothing here writes to the cluster (the snapshot only reads).
"""
from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from ecotui.errors import EcotuiError
from ecotui.incident.clock import bells_due, clock_view
from ecotui.incident.model import ClockView, Incident, Policy
from ecotui.incident.paths import incidents_root
from ecotui.incident.policy import load_policy
from ecotui.incident.settings import IncidentSettings
from ecotui.incident.store import IncidentStore
from ecotui.textsafe import one_line
from ecotui.ui.widgets.incident_bar import IncidentBar

TICK_S = 1.0
COLLECT_S = 5.0


def store_root(settings: IncidentSettings) -> Path:
    """settings.state_dir (config `incident: {state_dir: …}`) + /incidents, else `$ECOTUI_STATE_DIR` or the XDG
    state dir + /incidents (ecotui/incident/paths.py, which the App asks before importing this module)."""
    return incidents_root(settings)


class IncidentFlow:
    def __init__(self, app: Any, settings: IncidentSettings | None = None,
                 clock: Callable[[], float] = time.time, collect_interval: float = COLLECT_S) -> None:
        self.app = app
        self.settings = settings if settings is not None else IncidentSettings()
        self.clock = clock
        self.collect_interval = collect_interval
        self.problem = ""
        try:
            self.policy: Policy = load_policy(self.settings.policy)
        except EcotuiError as exc:
            self.problem = exc.message
            self.policy = load_policy(None)
        self.store = IncidentStore(store_root(self.settings), clock=clock,
                                   levels=tuple(lv.key for lv in self.policy.levels))
        self.recent: Incident | None = None      # the open incident, else the last one seen in this process
        self.view: ClockView | None = None
        self.rung: list[str] = []                # deadline ids this process rang the bell for
        self.collector: Any = None
        self._worker: Worker[Any] | None = None
        self._collector_key: tuple[int, str] | None = None
        self._listeners: list[Callable[[], None]] = []
        self.last_export: Path | None = None
        self.last_snapshot: Path | None = None

    # ---- state ------------------------------------------------------------------------------------------------

    @property
    def current(self) -> Incident | None:
        """The open incident (None when there is none)."""
        inc = self.store.current
        return inc if inc is not None and inc.open else None

    def start(self) -> None:
        if self.problem:
            self.app.say(self.problem, severity="warning", timeout=10)
        self.app.set_interval(TICK_S, self.tick)
        self.app.screen_change_signal.subscribe(self.app, lambda _s: self.app.call_after_refresh(self.show))
        self.tick()

    def on_change(self, fn: Callable[[], None]) -> None:
        """Called after every tick (the incident view redraws when the incident's version moved)."""
        self._listeners.append(fn)

    def off_change(self, fn: Callable[[], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def tick(self) -> None:
        try:
            self.store.refresh()
        except EcotuiError as exc:
            self._problem(exc.message)
        inc = self.current
        if self.store.current is not None:
            self.recent = self.store.current     # open, else the last one (resolved: the view can still export it)
        now = self.clock()
        self.view = clock_view(inc, self.policy, now) if inc is not None else None
        if inc is not None and self.view is not None:
            due = [d for d in bells_due(inc, self.view) if d not in self.rung]
            if due:
                if self.settings.bell:
                    for _ in due:       # once per deadline
                        self.app.bell()
                self.rung.extend(due)
                self._write(lambda: self.store.mark_bells(due), "mark bells")
        self._ensure_collector(inc)
        self.show()
        for fn in list(self._listeners):
            fn()

    def show(self) -> None:
        """The clock on the visible full screen (a bar is mounted on it the first time)."""
        screen = self._full_screen()
        if screen is None or not screen.is_mounted:
            return
        bars = screen.query(IncidentBar)
        if not bars:
            if self.current is None:
                return
            bar = IncidentBar(id="incident-bar")
            screen.mount(bar)
        else:
            bar = bars.first()
        inc = self.current
        view = self.view if inc is not None else None
        bar.show(inc, view, self.clock(), self.app.cell_styles)

    def _full_screen(self) -> Screen[Any] | None:
        for screen in reversed(self.app.screen_stack):
            if not isinstance(screen, ModalScreen):
                return screen
        return None

    def _problem(self, line: str) -> None:
        if line != self.problem:
            self.problem = line
            self.app.say(line, severity="error", timeout=10)

    # ---- the collector ------------------------------------------------------------------------------------------

    def _ensure_collector(self, inc: Incident | None) -> None:
        ws = self.app.workspace
        want = inc is not None and ws.profile.context == inc.context
        key = (id(ws), inc.id) if inc is not None else None
        running = self._worker is not None and not self._worker.is_finished
        if want and running and key == self._collector_key:
            return
        self.stop()
        if not want:
            self._collector_key = None
            return
        from ecotui.incident.collect import TimelineCollector
        self.collector = TimelineCollector(self.store, ws, self.app.journal, interval=self.collect_interval,
                                           clock=self.clock)
        self._collector_key = key
        # a worker: cancelled with the App (a context switch or a new incident starts another one)
        self._worker = self.app.run_worker(self.collector.run(), group="incident-collector", exit_on_error=False)

    def collect_now(self) -> None:
        """One collection pass at once (after an action, or the view's refresh key)."""
        if self.collector is not None and self.current is not None:
            self.app.run_worker(self._collect_once(), group="incident-collect", exclusive=True, exit_on_error=False)

    async def _collect_once(self) -> None:
        try:
            await self.collector.collect_once()
        except EcotuiError as exc:
            self.app.say(exc.message, severity="error")
        self.tick()

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()
        self._worker = None

    # ---- writes ---------------------------------------------------------------------------------------------------

    def _write(self, fn: Callable[[], Any], what: str) -> Any:
        """One store call; an error is one line (the dialog's input is never lost: the caller keeps it open)."""
        try:
            return fn()
        except EcotuiError as exc:
            self.app.say(exc.message, severity="error")
        except OSError as exc:
            self.app.say(f"{what}: {one_line(str(exc), 200)}", severity="error")
        return None

    def changed(self, inc: Incident | None, line: str = "") -> None:
        if inc is not None:
            self.recent = inc
            if line:
                self.app.say(line, timeout=4)
        self.tick()

    def need_open(self) -> Incident | None:
        inc = self.current
        if inc is None:
            keys = self.app.hints(("incident_start",), {"incident_start": "starts one"})
            self.app.say(f"no open incident ({keys})" if keys else "no open incident", severity="warning")
        return inc

    async def user(self) -> str:
        try:
            return str(await self.app.workspace.access.user())
        except Exception:  # noqa: BLE001 - any answer is better than none here
            try:
                return getpass.getuser()
            except Exception:  # noqa: BLE001
                return "unknown"


def flow_of(app: Any) -> IncidentFlow:
    """The App's flow (made and started on first use if the App did not start it on mount)."""
    flow = getattr(app, "incidents", None)
    if flow is None:
        flow = app.incidents = IncidentFlow(app, getattr(app, "incident_settings", None), clock=app.clock)
        flow.start()
    return flow
