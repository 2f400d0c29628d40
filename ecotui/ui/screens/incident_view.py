"""[incident_timeline] The incident view (key 9): a summary, the clock with every deadline's time, and the
timeline that writes itself (own entries, notes, updates sent, the journal's actions, Warning events, rollouts,
HPA scaling, metric breaches) as a keyed-diff table, filterable with the filter key:

    /journal undo      → only journal entries whose text has "undo"
    /event,rollout     → Warning events and rollouts;  /payment → any source, text "payment"

(a word that names a source — incident note update journal event rollout hpa metric — picks sources; the rest
is text). Rows are rebuilt only when the incident's version or the filter changed; the App's flow ticks at 1 Hz.
Keys: the incident group's (severity, ack, escalate, resolve, update, export, snapshot), note, refresh (collect
now), back. The view stays on a just-resolved incident so it can still be exported.
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ecotui.incident.model import SOURCES, ClockView, Deadline, Incident, TimelineEntry
from ecotui.kube.render import Cell
from ecotui.textsafe import inert, one_line
from ecotui.ui.widgets.filter_bar import FilterBar
from ecotui.ui.widgets.incident_bar import short
from ecotui.ui.widgets.resource_table import ResourceTable
from ecotui.ui.widgets.status import KeyHints

INCIDENT_IDS = ("incident_severity", "incident_ack", "incident_escalate", "incident_resolve", "incident_update",
                "incident_export", "incident_snapshot")
COLUMNS = [("time", "TIME"), ("source", "SOURCE"), ("kind", "KIND"), ("text", "TEXT")]
MAX_WIDTHS = {"kind": 22, "text": 400}
SOURCE_STYLE = {"incident": "", "note": "ok", "update": "ok", "journal": "warning", "event": "critical",
                "rollout": "", "hpa": "", "metric": "warning"}
TABLE_IDS = ("cursor_down", "cursor_up", "cursor_top", "cursor_bottom", "page_down", "page_up")
HINT_IDS = ("back", "incident_note", "incident_ack", "incident_update", "incident_severity", "incident_escalate",
            "incident_resolve", "incident_export", "incident_snapshot", "filter")
HINT_LABELS = {"back": "back", "incident_note": "note", "incident_ack": "ack", "incident_update": "update",
               "incident_severity": "severity", "incident_escalate": "escalate", "incident_resolve": "resolve",
               "incident_export": "export", "incident_snapshot": "snapshot", "filter": "filter"}


def parse_filter(text: str) -> tuple[set[str] | None, str]:
    """("journal,event undo" → ({"journal", "event"}, "undo")); no source word → (None, the whole text)."""
    sources: set[str] = set()
    words = []
    for word in text.split():
        parts = [p for p in word.lower().split(",") if p]
        if parts and all(p in SOURCES for p in parts):
            sources.update(parts)
        else:
            words.append(word)
    return (sources or None), " ".join(words)


def entry_cells(e: TimelineEntry) -> tuple[Cell, ...]:
    t = time.strftime("%H:%M:%S", time.localtime(e.time))
    return (Cell(t, e.time), Cell(e.source, e.source, SOURCE_STYLE.get(e.source, "")),
            Cell(inert(one_line(e.kind, 40)), e.kind), Cell(inert(one_line(e.text, 400)), e.text))


def hhmm(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


def deadline_line(d: Deadline, now: float) -> tuple[str, str]:
    if d.state == "met":
        return f"{d.label}: met", "ok"
    left = d.at - now
    when = f"overdue {short(-left)}" if left < 0 else f"in {short(left)}"
    return f"{d.label} {hhmm(d.at)} ({when})", d.state


def summary_text(inc: Incident, view: ClockView | None, now: float, styles: Any) -> Text:
    t = Text(no_wrap=False)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(inc.started))
    t.append(f"{inert(inc.id)} ", style="bold")
    t.append(f"{inc.severity} ", style=styles.get(inc.severity.lower()) or "bold")
    t.append(inert(one_line(inc.title, 120)), style="bold")
    t.append(f"\nservices {inert(', '.join(inc.services))} · ns {inert(', '.join(inc.namespaces))} · "
             f"started {started} by {inert(inc.user or '?')} · {inc.level}")
    if inc.open:
        t.append(f" · {inert(inc.current_status)}" + (f" (ETA {inert(inc.eta)})" if inc.eta else ""))
        t.append(" · acked " + hhmm(inc.acked_at) if inc.acked_at else " · not acknowledged")
    else:
        end = inc.resolved_at or now
        t.append(f" · RESOLVED after {short(end - inc.started)}", style=styles.get("ok") or "")
        t.append(f"\nresolution: {inert(one_line(inc.resolution, 200))} · root cause: "
                 f"{inert(one_line(inc.root_cause, 200))}")
    t.append(f"\nimpact: {inert(one_line(inc.impact or '-', 200))}")
    if view is not None and inc.open:
        t.append(f"\n{view.phase.name} · ")
        ds = [view.response, view.next_update] + ([view.escalation] if view.escalation else [])
        for i, d in enumerate(ds):
            text, sem = deadline_line(d, now)
            t.append(" · " if i else "")
            t.append(text, style=styles.get("ok" if sem == "met" else sem) or "")
    return t


class IncidentScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "filter", "clear_filter", "refresh", *INCIDENT_IDS)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help",
                                            **{a: f"screen.incident('{a}')" for a in INCIDENT_IDS}}
    DEFAULT_CSS = """
    IncidentScreen > #incident-summary { height: auto; max-height: 6; padding: 0 1; }
    IncidentScreen > #incident-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    IncidentScreen > #incident-table { height: 1fr; }
    """

    def __init__(self, flow: Any, *, table_cls: type[ResourceTable], hints: str = "") -> None:
        super().__init__()
        self.flow = flow
        self._table_cls = table_cls
        self.hints = hints
        self.filter_text = ""
        self._seen: tuple[Any, ...] = ()
        self.summary_plain = ""
        self.shown: list[TimelineEntry] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="incident-summary")
        yield Static("", id="incident-title")
        yield FilterBar()
        yield self._table_cls(list(COLUMNS), max_widths=dict(MAX_WIDTHS), styles=self.flow.app.cell_styles,
                              id="incident-table")
        yield KeyHints(self.hints)

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#incident-table", ResourceTable)

    @property
    def incident(self) -> Incident | None:
        return self.flow.current or self.flow.recent

    def on_mount(self) -> None:
        self.flow.on_change(self.refresh_view)
        self.table.focus()
        self.refresh_view(force=True)

    def on_unmount(self) -> None:
        self.flow.off_change(self.refresh_view)

    def on_screen_resume(self, _event: Any) -> None:
        self.table.set_cell_styles(self.flow.app.cell_styles)
        self.refresh_view(force=True)

    def refresh_view(self, force: bool = False) -> None:
        if not self.is_mounted or (not self.is_current and not force):
            return
        inc = self.incident
        now = self.flow.clock()
        styles = self.flow.app.cell_styles
        view = self.flow.view if inc is not None and inc.open else None
        if inc is None:
            self.summary_plain = "no incident: " + (self.flow.app.hints(("incident_start",), {"incident_start":
                                                                                                "start one"}))
            self.query_one("#incident-summary", Static).update(Text(self.summary_plain))
        else:
            t = summary_text(inc, view, now, styles)
            self.summary_plain = t.plain
            self.query_one("#incident-summary", Static).update(t)
        state = (inc.id if inc else None, inc.version if inc else -1, self.filter_text)
        if state == self._seen and not force:
            return
        self._seen = state
        entries = list(inc.entries) if inc is not None else []
        sources, text = parse_filter(self.filter_text)
        if sources is not None or text:
            from ecotui.incident.timeline import filter_entries
            entries = list(filter_entries(entries, sources, text))
        self.shown = entries
        self.table.apply({e.key: entry_cells(e) for e in entries})
        total = len(inc.entries) if inc is not None else 0
        title = f" timeline · {len(entries)}" + (f"/{total}" if len(entries) != total else "")
        if self.filter_text:
            title += f" · filter: {one_line(self.filter_text, 40)}"
        err = getattr(self.flow.collector, "last_error", "") if self.flow.collector is not None else ""
        t = Text(title, no_wrap=True, overflow="ellipsis")
        if err:
            t.append(f" · {one_line(err, 160)}", style=styles.get("warning") or "")
        self.query_one("#incident-title", Static).update(t)

    # ---- keys ----------------------------------------------------------------------------------------------

    def action_incident(self, action: str) -> None:
        from ecotui.ui.incident_actions import run_action
        run_action(self.flow, action)

    def action_refresh(self) -> None:
        self.flow.collect_now()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.filter_text)

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.filter_text = event.text.strip()
        self.refresh_view(force=True)
        if event.final:
            self.query_one(FilterBar).close()
            self.table.focus()

    def action_clear_filter(self) -> None:
        self.filter_text = ""
        self.query_one(FilterBar).clear()
        self.refresh_view(force=True)

    def action_back(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.is_open:
            bar.close()
            self.filter_text = ""
            self.refresh_view(force=True)
            self.table.focus()
            return
        if self.filter_text:
            self.action_clear_filter()
            return
        self.dismiss(None)
