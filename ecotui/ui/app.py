"""EcotuiApp: owns the session, the keymap and the themes; hosts the cockpit and its dialogs.

All cluster I/O happens inside the session (its own tasks) or in workers started here (session start,
context switch, namespace switch, events for describe). Widgets only read immutable snapshots.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.style import Style
from textual import events, on, work
from textual.app import App

from ecotui.errors import EcotuiError
from ecotui.keymap import Keymap, load_keymap
from ecotui.kinds.registry import by_id
from ecotui.kube.session_api import SessionAPI
from ecotui.ops.drain_run import DrainProgress
from ecotui.ops.journal import Journal
from ecotui.textsafe import one_line
from ecotui.themes import DEFAULT_THEME, ThemeSpec, load_themes_with_problems
from ecotui.ui.bindings import hint_line, make_bindings, with_bindings
from ecotui.ui.commands import HELP as COMMAND_HELP
from ecotui.ui.commands import parse_command
from ecotui.ui.context import UiContext
from ecotui.ui.crash import crash_message, write_crash_log
from ecotui.ui.describe_flow import describe
from ecotui.ui.help_text import help_text
from ecotui.ui.logs_flow import LogsOpener
from ecotui.ui.messages import ActionRequested, DescribeRequested, InternalProblem, LogsRequested, StreamRequested
from ecotui.ui.remedy import Remedy
from ecotui.logs.offthread import streams_running
from ecotui.ui.gc_idle import IdleCollector
from ecotui.ui.journal_text import journal_text
from ecotui.ui.screens.cockpit import TABLE_ACTIONS, TABLE_IDS, CockpitScreen
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.screens.logs import SwitchSourceRequested
from ecotui.ui.screens.pickers import PickerScreen, PromptScreen
from ecotui.ui.screens.table_screen import TableScreen
from ecotui.ui.screens.text_view import HelpScreen, TextScreen
from ecotui.ui.theming import DEFAULT_VARIABLES, semantic_styles, to_textual_theme
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.workspace import WorkspaceAPI

WorkspaceFactory = Callable[[str], WorkspaceAPI]


class EcotuiApp(App[int]):
    CSS_PATH = "styles/app.tcss"
    ENABLE_COMMAND_PALETTE = False
    TITLE = "ecotui"

    def __init__(
        self,
        workspace: WorkspaceAPI,
        *,
        keymap: Keymap | None = None,
        keymap_problems: Sequence[str] = (),
        themes: Mapping[str, ThemeSpec] | None = None,
        theme_problems: Sequence[str] = (),
        theme: str | None = None,
        contexts: Sequence[str] = (),
        workspace_factory: WorkspaceFactory | None = None,
        start_workspace: bool = True,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 0.25,
        age_interval: float = 5.0,
        switch_timeout: float = 10.0,
        journal: Journal | None = None,
        log_buffer_lines: int = 100_000,
        incident: Any = None,
    ) -> None:
        super().__init__()
        if keymap is None:
            keymap, loaded_problems = load_keymap(None)
            keymap_problems = [*keymap_problems, *loaded_problems]
        if themes is None:
            themes, loaded = load_themes_with_problems(None)
            theme_problems = [*theme_problems, *loaded]
        self.workspace: WorkspaceAPI = workspace
        self.keymap = keymap
        self.keymap_problems = list(keymap_problems)
        self.theme_problems = list(theme_problems)
        self.theme_specs: dict[str, ThemeSpec] = dict(themes)
        self.contexts = list(contexts)
        self.workspace_factory = workspace_factory
        self.start_workspace = start_workspace
        self.clock = clock
        self.switch_timeout = switch_timeout
        self.start_error = ""
        self.internal_error = ""
        self._last_internal = ""
        self.crash_log = ""
        self.notices: list[str] = []
        self.cell_styles: dict[str, Style] = {}
        self.cockpit: CockpitScreen | None = None
        self.ui = UiContext(hints=self.hints, clock=clock, poll_interval=poll_interval, age_interval=age_interval)
        for spec in self.theme_specs.values():
            self.register_theme(to_textual_theme(spec))
        wanted = theme or (DEFAULT_THEME if DEFAULT_THEME in self.theme_specs else next(iter(self.theme_specs), None))
        if wanted is not None and wanted not in self.theme_specs:
            self.theme_problems.append(f"unknown theme {wanted!r}; available: {', '.join(self.theme_specs)}")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.theme_specs else next(iter(self.theme_specs), None)
        if wanted is not None:
            self.theme = wanted
            self.cell_styles = semantic_styles(self.theme_specs[wanted])
        self.ui.styles = self.cell_styles
        self._table_cls = with_bindings(ResourceTable, make_bindings(keymap, TABLE_IDS, actions=TABLE_ACTIONS))
        self.journal = journal or Journal()
        self.remedy = Remedy(self, self, self.journal)
        self.log_buffer_lines = log_buffer_lines
        self.logs = LogsOpener(self, self)
        self.gc_idle = IdleCollector(streaming=streams_running)  # full GC passes while the keyboard is idle (gc_idle.py)
        self.incident_settings = incident   # IncidentSettings (config `incident:`); None: the defaults
        self.incidents: Any = None          # ecotui.ui.incident_flow.IncidentFlow, made on mount
        self._incident_watch: Any = None    # the 1 Hz stat until the first incident (see _start_incidents)
        for b in make_bindings(keymap, ("incident_start", "incident_timeline", "incident_note")):
            self.bind(b.key, b.action, description=b.description, show=False, key_display=b.key_display)

    # ---- set-up ---------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def screen_class(self, base: type[Any]) -> type[Any]:
        """`base` with BINDINGS for its KEY_IDS taken from the keymap."""
        return with_bindings(base, make_bindings(self.keymap, base.KEY_IDS, actions=base.KEY_ACTIONS))

    def hints(self, ids: Sequence[str], labels: Mapping[str, str]) -> str:
        return hint_line(self.keymap, ids, labels)

    @property
    def session(self) -> SessionAPI:
        """The active workspace's cluster session."""
        return self.workspace.session

    @property
    def readonly(self) -> bool:
        return self.workspace.readonly

    def get_default_screen(self) -> CockpitScreen:
        self.cockpit = self.screen_class(CockpitScreen)(self._table_cls, self.ui, self.workspace)
        return self.cockpit

    def _table_screens(self) -> list[TableScreen]:
        return [s for s in self.screen_stack if isinstance(s, TableScreen)]

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.gc_idle.key()
        await super().on_event(event)

    def on_unmount(self) -> None:
        self.gc_idle.uninstall()

    def on_mount(self) -> None:
        self.gc_idle.install()
        self.set_interval(1.0, self.gc_idle.tick)
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        problems = self.keymap_problems + self.theme_problems
        if problems:
            more = f" (+{len(problems) - 3} more, see help)" if len(problems) > 3 else ""
            self.say("\n".join(problems[:3]) + more, title="Start-up problems", severity="warning", timeout=12)
        if self.start_workspace:
            self._start(self.workspace)
        self._start_incidents()

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _start(self, workspace: WorkspaceAPI) -> None:
        try:
            await workspace.start()
            self._launch_forwards(workspace)
        except EcotuiError as exc:
            self.start_error = exc.message
        except Exception as exc:  # noqa: BLE001 - shown in the header, never a crash
            self.start_error = f"{type(exc).__name__}: {exc}"
        for screen in self._table_screens():
            screen.set_problem(self.start_error)
            screen.refresh_data(force=True)

    def _launch_forwards(self, workspace: WorkspaceAPI) -> None:
        """The context's `start: launch` port-forward presets; a preset that cannot start is one warning line."""
        for line in workspace.start_presets():
            self.say(line, severity="warning", timeout=8)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Toast, and keep a log of them in `notices` (the help screen and tests read it)."""
        self.notices.append(f"{severity}: {title + ': ' if title else ''}{message}")
        del self.notices[:-50]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def say(self, message: str, *, severity: Any = "information", title: str = "",
            timeout: float | None = None) -> None:
        """A toast whose text is literal (it may carry names or messages from the cluster)."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ---- themes ---------------------------------------------------------------------------

    def _on_theme_changed(self, theme: Any) -> None:
        spec = self.theme_specs.get(theme.name)
        if spec is not None:
            self._restyle(semantic_styles(spec))

    def set_theme(self, name: str) -> bool:
        if name not in self.theme_specs:
            self.say(f"unknown theme {one_line(name, 40)!r}; available: {', '.join(self.theme_specs)}",
                        severity="error")
            return False
        self.theme = name
        self._restyle(semantic_styles(self.theme_specs[name]))
        return True

    def _restyle(self, styles: dict[str, Style]) -> None:
        self.cell_styles = styles
        self.ui.styles = styles
        for screen in self._table_screens():
            screen.restyle(styles)

    def action_theme(self) -> None:
        names = list(self.theme_specs)
        if not names:
            return
        i = names.index(self.theme) if self.theme in names else -1
        name = names[(i + 1) % len(names)]
        if self.set_theme(name):
            self.say(f"theme: {name}", timeout=2)

    # ---- dialogs --------------------------------------------------------------------------

    def action_help(self) -> None:
        text = help_text(self.keymap, self.keymap_problems + self.theme_problems, list(self.theme_specs),
                         self.theme)
        hints = self.hints(HelpScreen.HINT_IDS, {"back": "close", "scroll_down": "down", "scroll_up": "up",
                                                 "quit": "quit"})
        self.push_screen(self.screen_class(HelpScreen)("ecotui help — keys (from the loaded keymap)", text, hints))

    def action_command(self) -> None:
        self.push_screen(self.screen_class(PromptScreen)(":", COMMAND_HELP), self._run_command)

    def _run_command(self, line: str | None) -> None:
        if not line or not line.strip():
            return
        try:
            cmd = parse_command(line)
        except ValueError as exc:
            self.say(str(exc), severity="error")
            return
        if cmd.verb == "quit":
            self.exit(0)
        elif cmd.verb == "help":
            self.action_help()
        elif cmd.verb == "theme":
            if cmd.arg:
                self.set_theme(cmd.arg)
            else:
                self.action_theme()
        elif cmd.verb == "focus" and self.cockpit is not None:
            while len(self.screen_stack) > 1 and self.screen is not self.cockpit:
                self.pop_screen()
            self.cockpit.focus_pane(cmd.arg)
        elif cmd.verb == "view":
            self.open_view(cmd.arg)
        elif cmd.verb == "ns":
            self.switch_namespace(None if cmd.arg in ("all", "-A", "*") else cmd.arg)
        elif cmd.verb == "ctx":
            self.switch_context(cmd.arg)
        elif cmd.verb == "clusters":
            self.action_clusters()

    def open_view(self, kind: str) -> None:
        """Open the list view of a registry kind (replacing a kind view already open)."""
        if isinstance(self.screen, KindScreen):
            if self.screen.kind == kind:
                return
            self.pop_screen()
        self.push_screen(self.screen_class(KindScreen)(by_id(kind), self._table_cls, self.ui, self.workspace))

    def action_switch_namespace(self) -> None:
        snap = self.session.snapshot("namespaces")
        names = ["all", *sorted(snap.items)]
        current = self.session.namespace or "all"
        def chosen(n: str | None) -> None:
            if n:
                self.switch_namespace(None if n == "all" else n)
        self.push_screen(self.screen_class(PickerScreen)("Namespace", names, current), chosen)

    def action_all_namespaces(self) -> None:
        self.switch_namespace(None)

    def action_switch_context(self) -> None:
        if not self.contexts or self.workspace_factory is None:
            self.say("no other contexts to switch to", severity="warning")
            return
        def chosen(n: str | None) -> None:
            if n:
                self.switch_context(n)
        self.push_screen(self.screen_class(PickerScreen)("Context", self.contexts, self.session.context), chosen)

    # ---- session changes (workers) --------------------------------------------------------

    def switch_namespace(self, namespace: str | None) -> None:
        if namespace is not None:
            snap = self.session.snapshot("namespaces")
            if snap.synced and snap.items and namespace not in snap.items:
                self.say(f"namespace {one_line(namespace, 60)!r} not found", severity="error")
                return
        if namespace == self.session.namespace:
            return
        self._set_namespace(namespace)

    @work(exclusive=True, group="namespace", exit_on_error=False)
    async def _set_namespace(self, namespace: str | None) -> None:
        try:
            await self.session.set_namespace(namespace)
        except EcotuiError as exc:
            self.say(exc.message, severity="error")
            return
        for screen in self._table_screens():
            screen.reset_data()

    def switch_context(self, name: str) -> None:
        if self.workspace_factory is None:
            self.say("context switching is not available", severity="warning")
            return
        if self.contexts and name not in self.contexts:
            self.say(f"unknown context {one_line(name, 60)!r}; known: {', '.join(self.contexts)}",
                        severity="error")
            return
        if name == self.session.context:
            return
        self.say(f"connecting to {name}…", timeout=3)
        self._switch_context(name)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _switch_context(self, name: str) -> None:
        assert self.workspace_factory is not None
        try:
            new = self.workspace_factory(name)
        except EcotuiError as exc:
            self.say(exc.message, severity="error")
            return
        try:
            await asyncio.wait_for(new.start(), self.switch_timeout)
        except (EcotuiError, asyncio.TimeoutError) as exc:
            msg = exc.message if isinstance(exc, EcotuiError) else f"{name}: no answer within {self.switch_timeout:g} s"
            self.say(msg, severity="error")
            await new.stop()
            return
        old, self.workspace = self.workspace, new
        self._launch_forwards(new)
        self.start_error = ""
        for screen in self._table_screens():
            screen.set_problem("")
            screen.use_workspace(new)
        self.say(f"context: {name}" + (" (read-only)" if new.readonly else ""), timeout=3)
        try:
            await old.stop()
        except Exception:  # noqa: BLE001 - the old session is gone either way
            pass

    # ---- actions that change the cluster (ecotui.ui.remedy) ------------------------------------

    @on(ActionRequested)
    def _action_requested(self, message: ActionRequested) -> None:
        if message.action == "snapshot_volume":     # EBS snapshot (issue 12): ui/snapshot_flow.py
            from ecotui.ui.aws_flow import request_snapshot
            request_snapshot(self, message.kind, message.keys)
            return
        self.remedy.request(message.action, message.kind, message.keys)

    def action_cancel_drain(self) -> None:
        if not self.remedy.cancel_drain():
            self.say("no drain is running", timeout=2)

    def task_panels_show(self, progress: DrainProgress | None) -> None:
        keys = ""
        if progress is not None:
            label = "cancel" if not progress.finished else "close"
            keys = self.hints(("cancel_drain",), {"cancel_drain": label})
        for screen in self._table_screens():
            screen.show_task(progress, keys)

    def action_journal(self) -> None:
        hints = self.hints(TextScreen.HINT_IDS, {"back": "back", "scroll_down": "down", "scroll_up": "up",
                                                 "quit": "quit"})
        text = journal_text(self.journal.read(), self.journal.path)
        self.push_screen(self.screen_class(TextScreen)("action journal (newest first)", text, hints))

    # ---- logs (ecotui.ui.logs_flow) --------------------------------------------------------------

    @on(LogsRequested)
    def _logs_requested(self, message: LogsRequested) -> None:
        self.logs.request(message.kind, message.keys, message.previous)

    @on(SwitchSourceRequested)
    def _switch_log_source(self, message: SwitchSourceRequested) -> None:
        self.logs.switch(message.screen)

    def action_logs_query(self) -> None:
        self.logs.query()

    # ---- load and key metrics: one module per view, each with open_<view>(app) ------------------------

    def action_top(self) -> None:
        from ecotui.ui.screens.top import open_top
        open_top(self)

    def action_hpa(self) -> None:
        from ecotui.ui.screens.hpa_view import open_hpa
        open_hpa(self)

    def action_metrics(self) -> None:
        from ecotui.ui.screens.metrics_view import open_metrics
        open_metrics(self)

    def action_promql(self) -> None:
        from ecotui.ui.screens.promql import open_promql
        open_promql(self)

    # ---- port-forwards, health, shell and checks (issue 10): one module each, imported on first use ---------

    @on(StreamRequested)
    def _stream_requested(self, message: StreamRequested) -> None:
        if message.action == "port_forward":
            from ecotui.ui.forward_flow import request_forward
            request_forward(self, message.kind, message.keys)
        else:
            from ecotui.ui.shell_flow import request_shell
            request_shell(self, message.kind, message.keys)

    def action_port_forwards(self) -> None:
        from ecotui.ui.screens.forwards import open_forwards
        open_forwards(self)

    def action_health(self) -> None:
        from ecotui.ui.screens.health_view import open_health
        open_health(self)

    def action_run_check(self) -> None:
        from ecotui.ui.screens.checks import open_checks
        open_checks(self)

    # ---- AWS / EKS (issue 12): imported on first use (a user without AWS contexts never loads them) ----------

    def action_clusters(self) -> None:
        from ecotui.ui.screens.clusters import open_clusters
        open_clusters(self)

    def action_eks_info(self) -> None:
        from ecotui.ui.screens.eks_info import open_eks_info
        open_eks_info(self)

    # ---- incident mode (issue 11): ecotui/ui/incident_flow.py, incident_actions.py ---------------------------

    def _start_incidents(self) -> None:
        """The incident clock and timeline (a broken incident store is one line, never a crash). Until this
        machine has had an incident (or a key asks for one), only a stat per second: another process may start one."""
        from ecotui.incident.paths import any_incident
        if self.incidents is not None or any_incident(self.incident_settings):
            self._start_incident_flow()
            return
        self._incident_watch = self.set_interval(1.0, self._watch_incidents)

    def _watch_incidents(self) -> None:
        from ecotui.incident.paths import any_incident
        if self.incidents is not None or any_incident(self.incident_settings):
            self._incident_watch.stop()
            if self.incidents is None:
                self._start_incident_flow()

    def _start_incident_flow(self) -> None:
        try:
            from ecotui.ui.incident_flow import flow_of
            flow_of(self)
        except EcotuiError as exc:
            self.say(exc.message, severity="error", timeout=10)

    def action_incident_start(self) -> None:
        from ecotui.ui.incident_actions import start_incident
        start_incident(self)

    def action_incident_timeline(self) -> None:
        from ecotui.ui.incident_actions import open_timeline
        open_timeline(self)

    def action_incident_note(self) -> None:
        from ecotui.ui.incident_actions import add_note
        add_note(self)

    # ---- describe -------------------------------------------------------------------------

    @on(DescribeRequested)
    def _describe_requested(self, message: DescribeRequested) -> None:
        self.describe(message.kind, message.key)

    def describe(self, pane: str, key: str) -> None:
        """Describe a row (ecotui/ui/describe_flow.py)."""
        describe(self, pane, key)

    # ---- crashes --------------------------------------------------------------------------

    @on(InternalProblem)
    def _internal_problem(self, message: InternalProblem) -> None:
        if message.error is None:
            self.clear_internal_error()
        else:
            self.report_internal_error(message.error)
        for screen in self._table_screens():
            screen.set_problem(self.internal_error or self.start_error)

    def report_internal_error(self, exc: Exception) -> None:
        """A bug while turning snapshots into rows: keep the cockpit alive, say it in the header and
        write the traceback once per distinct error."""
        summary = one_line(f"{type(exc).__name__}: {exc}", 120)
        if summary != self._last_internal:
            self._last_internal = summary
            path = write_crash_log(exc)
            self.internal_error = f"internal error: {summary}" + (f" (details in {path})" if path else "")
            self.say(self.internal_error, severity="error", timeout=10)

    def clear_internal_error(self) -> None:
        self.internal_error = ""
        self._last_internal = ""

    def _handle_exception(self, error: Exception) -> None:
        # Textual would print a full traceback (with locals) on exit; keep it in a file instead.
        self.crash_log = write_crash_log(error)
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        if self.crash_log and self._exception is not None:
            self._exit_renderables.clear()
            self.error_console.print(crash_message(self._exception, self.crash_log), markup=False,
                                     highlight=False)
            return
        super()._print_error_renderables()
