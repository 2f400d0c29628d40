"""[run_check] The configured one-shot checks (defaults: the runbook's `psql … -c "SELECT 1;"` in
sts/postgres-primary and `redis-cli ping` in sts/redis), run at once, each shown as it finishes.

    open_checks(app)     # the App calls it on [run_check]; on this screen it runs them all again

A row per check (CHECK, POD, EXIT, TIME, RESULT) and, under it, the selected check in full: target → pod, the
command, exit code, duration, stdout and stderr (made inert: they come from the cluster). Keys: [open] re-runs
the selected check, [run_check] / [refresh] all of them, [page_down]/[page_up] scroll the output.

Refused in read-only (exec starts a process in the cluster: one line, nothing sent); a check whose namespace
the user may not `create pods/exec` in is shown with the review's line and not sent. The checks come from the
context's `checks:` (Profile.checks) else `ecotui.podexec.checks.DEFAULT_CHECKS`. Requests and outcomes go
to the action journal.
"""
from __future__ import annotations

import asyncio
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ecotui.ops.outcome import Target
from ecotui.podexec.run import exec_verbs
from ecotui.podexec.checks import DEFAULT_CHECKS, CheckResult, CheckSpec, run_check
from ecotui.textsafe import inert, one_line
from ecotui.ui.widgets.status import KeyHints

TIMEOUT_S = 30.0
COLUMNS = (("check", "CHECK"), ("pod", "POD"), ("exit", "EXIT"), ("time", "TIME"), ("result", "RESULT"))
HINT_IDS = ("back", "open", "run_check", "page_down", "page_up", "quit")
HINT_LABELS = {"back": "back", "open": "re-run this", "run_check": "re-run all", "page_down": "output down",
               "page_up": "output up", "quit": "quit"}
RUNNING = "running…"
POD_W, RESULT_W = 24, 30     # cells cut so a row fits 80 columns (the detail below has the whole text)


def profile_checks(app: Any) -> tuple[CheckSpec, ...]:
    return tuple(getattr(app.workspace.profile, "checks", None) or DEFAULT_CHECKS)


def row_cells(spec: CheckSpec, res: CheckResult | None, styles: Mapping[str, Style]) -> list[Text]:
    name = Text(one_line(spec.name, 16))
    if res is None:
        muted = styles.get("muted", "")
        return [name, Text(one_line(spec.target, POD_W), style=muted), Text(""), Text(""), Text(RUNNING, style=muted)]
    code = res.exit_code
    if res.ok:
        result, style = "OK", styles.get("ok", "")
    elif res.error:
        result, style = res.error, styles.get("critical", "")
    else:
        result, style = f"failed (exit {code})", styles.get("critical", "")
    return [name, Text(one_line(res.pod or spec.target, POD_W)), Text("" if code is None else str(code), style=style),
            Text(f"{res.duration:.2f}s"), Text(one_line(result, RESULT_W), style=style)]


def detail_text(spec: CheckSpec, res: CheckResult | None, styles: Mapping[str, Style]) -> Text:
    out = Text()
    out.append(f"{one_line(spec.name, 60)}", style="bold")
    out.append(f"  {one_line(spec.namespace, 60)}/{one_line(spec.target, 80)}")
    if res is not None and res.pod:
        out.append(f" → pod {one_line(res.pod, 80)}" + (f" [{one_line(spec.container, 40)}]" if spec.container else ""))
    out.append("\n$ " + one_line(shlex.join(spec.command), 400) + "\n")
    if res is None:
        out.append(RUNNING + "\n", style=styles.get("muted", ""))
        return out
    style = styles.get("ok" if res.ok else "critical", "")
    code = "—" if res.exit_code is None else str(res.exit_code)
    out.append(f"exit {code} in {res.duration:.2f}s", style=style)
    if res.error:
        out.append(f"  {res.error}", style=styles.get("critical", ""))
    out.append("\n")
    if res.result is not None:
        for label, body in (("stdout", res.result.stdout), ("stderr", res.result.stderr)):
            out.append(f"── {label} ──\n", style="bold")
            if body:
                out.append(inert(body, multiline=True).rstrip("\n") + "\n")
            else:
                out.append("(empty)\n", style=styles.get("muted", ""))
    return out


class ChecksScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "open", "run_check", "refresh", "cursor_down",
                                          "cursor_up", "page_down", "page_up")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "open": "rerun_one",
                                             "run_check": "rerun", "refresh": "rerun", "cursor_down": "cursor(1)",
                                             "cursor_up": "cursor(-1)"}
    DEFAULT_CSS = """
    ChecksScreen > #checks-title { height: 1; background: $panel; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    ChecksScreen > #checks-table { height: auto; max-height: 12; }
    ChecksScreen > #checks-detail-scroll { height: 1fr; border-top: solid $ecotui-muted; }
    ChecksScreen #checks-detail { width: 1fr; padding: 0 1; }
    """

    def __init__(self, specs: Sequence[CheckSpec], app_host: Any, *, styles: Mapping[str, Style] | None = None,
                 hints: str = "", timeout: float = TIMEOUT_S) -> None:
        super().__init__()
        self.specs = tuple(specs)
        self.host = app_host
        self.cell_styles = styles or {}
        self.hints = hints
        self.timeout = timeout
        self.results: dict[int, CheckResult | None] = {i: None for i in range(len(self.specs))}
        self.runs = 0          # finished runs of all checks (tests wait on it)
        self.detail = ""       # plain text of the detail area (tests read it)

    def compose(self) -> ComposeResult:
        ctx = one_line(self.host.workspace.profile.context, 60)
        yield Static(Text(f" Checks │ context {ctx} │ {len(self.specs)} checks", no_wrap=True), id="checks-title")
        table: DataTable[Text] = DataTable(id="checks-table", cursor_type="row", zebra_stripes=False)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for i, spec in enumerate(self.specs):
            table.add_row(*row_cells(spec, None, self.cell_styles), key=str(i))
        yield table
        with VerticalScroll(id="checks-detail-scroll"):
            yield Static("", id="checks-detail")
        yield KeyHints(self.hints)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#checks-table", DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.action_rerun()

    # ---- running ------------------------------------------------------------------------------

    def action_rerun(self) -> None:
        self._run(list(range(len(self.specs))))

    def action_rerun_one(self) -> None:
        if self.specs:
            self._run([self.table.cursor_row])

    @work(exclusive=True, group="checks", exit_on_error=False)
    async def _run(self, which: list[int]) -> None:
        ws = self.host.workspace
        for i in which:
            self._show(i, None)
        user = await ws.access.user()
        who = {"context": ws.profile.context, "user": user}
        targets = [Target("checks", f"{self.specs[i].name}", self.specs[i].namespace) for i in which]
        self.host.journal.append("requested", "run_check", namespace=None, targets=targets, **who)

        async def one(i: int) -> CheckResult:
            spec = self.specs[i]
            denied = await ws.access.first_denied(exec_verbs(spec.namespace))
            res = CheckResult(spec, "", None, denied) if denied else await run_check(ws.api, spec,
                                                                                    timeout=self.timeout)
            self._show(i, res)
            return res

        got = await asyncio.gather(*(one(i) for i in which))
        self.runs += 1
        self.host.journal.append("done", "run_check", namespace=None, targets=targets, **who,
                                 results={r.spec.name: {"pod": r.pod, "exit_code": r.exit_code, "error": r.error}
                                          for r in got})

    def _show(self, i: int, res: CheckResult | None) -> None:
        self.results[i] = res
        table = self.table
        for (col, _), cell in zip(COLUMNS, row_cells(self.specs[i], res, self.cell_styles)):
            table.update_cell(str(i), col, cell, update_width=True)
        if table.cursor_row == i:
            self._show_detail()

    def _show_detail(self) -> None:
        if not self.specs:
            self.detail = "no checks configured (checks: in the config)"
            self.query_one("#checks-detail", Static).update(Text(self.detail))
            return
        i = min(max(self.table.cursor_row, 0), len(self.specs) - 1)
        text = detail_text(self.specs[i], self.results[i], self.cell_styles)
        self.detail = text.plain
        self.query_one("#checks-detail", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:   # enter on the table (it takes the key before the screen's [open])
        self.action_rerun_one()

    # ---- keys ---------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        t = self.table
        if t.row_count:
            t.move_cursor(row=min(max(t.cursor_row + step, 0), t.row_count - 1))

    def action_page_down(self) -> None:
        self.query_one("#checks-detail-scroll", VerticalScroll).scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.query_one("#checks-detail-scroll", VerticalScroll).scroll_page_up(animate=False)

    def action_back(self) -> None:
        self.dismiss(None)


def open_checks(app: Any) -> None:
    """[run_check]: refused in read-only; on the checks screen runs them all again; else opens it."""
    ws = app.workspace
    if ws.readonly:
        app.say(f"read-only: checks refused, nothing sent (exec starts a process in the cluster; context "
                f"{ws.profile.context!r} is read-only)", severity="warning")
        return
    if isinstance(app.screen, ChecksScreen):
        app.screen.action_rerun()
        return
    hints = app.hints(HINT_IDS, HINT_LABELS)
    app.push_screen(app.screen_class(ChecksScreen)(profile_checks(app), app, styles=app.cell_styles, hints=hints))
