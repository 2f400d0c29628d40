"""The incident clock: one line docked at the top of every full screen while an incident is open.

    INC-20261201-0213-4f2a P1 payment-service │ 12m05s │ Investigation │ SLA 47m55s │ update 17m │ L2 47m

Each deadline part takes the theme's ok / warning / critical style (critical = passed: "SLA -3m10s"); the id
badge takes the worst of them. The line is shortened to the widget's width (80 columns at least keep the id,
the severity, the elapsed time and every deadline): the phase goes to its first word, the services are cut,
then the phase and the services go. Hidden (no space taken) when no incident is open.
"""
from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ecotui.incident.model import ClockView, Deadline, Incident
from ecotui.textsafe import one_line

SEP = " │ "


def short(seconds: float) -> str:
    """"47m55s" under an hour, "1h02m" under a day, "2d03h" beyond; negative values get a leading "-"."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 3600:
        return f"{sign}{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{sign}{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{sign}{s // 86400}d{s % 86400 // 3600:02d}h"


def compact(seconds: float) -> str:
    """`short`, with whole minutes from 10 minutes on ("47m", "-12m", "1h02m")."""
    if 600 <= abs(seconds) < 3600:
        return f"{'-' if seconds < 0 else ''}{int(abs(seconds)) // 60}m"
    return short(seconds)


def deadline_text(d: Deadline, now: float, label: str, level: int = 0) -> str:
    if d.state == "met":
        return f"{label} met"
    return f"{label} {(short if level == 0 else compact)(d.at - now)}"


LEVELS = 5


def bar_parts(inc: Incident, view: ClockView, now: float, level: int) -> list[tuple[str, str]]:
    """(text, semantic style) parts of the line at a verbosity `level`: 0 everything; 1 minutes only from 10 min
    on, short labels, the phase's first word; 2 without the phase; 3 the services cut to 10; 4 without them."""
    services = ",".join(inc.services)
    parts: list[tuple[str, str]] = [(f" {inc.id} ", "badge"), (f" {inc.severity}", "severity")]
    if level < 4:
        parts.append((f" {one_line(services, 10 if level == 3 else 18 if level else 60)}", ""))
    if not inc.open:
        parts.append((f"{SEP}resolved after {short(view.elapsed)}", "ok"))
        return parts
    parts.append((f"{SEP}{short(view.elapsed)}", ""))
    if level < 2:
        phase = view.phase.name if level == 0 else view.phase.name.split()[0][:12]
        parts.append((f"{SEP}{one_line(phase, 30)}", ""))
    if view.response.state == "critical" and inc.acked_at is not None:
        parts.append((f"{SEP}SLA missed", "critical"))      # acknowledged late: no countdown any more
    else:
        parts.append((SEP + deadline_text(view.response, now, "SLA", level), view.response.state))
    parts.append((SEP + deadline_text(view.next_update, now, "update in" if level == 0 else "upd", level),
                  view.next_update.state))
    esc = view.escalation
    if esc is not None:
        lv = esc.id.removeprefix("escalate-") or esc.label
        parts.append((SEP + deadline_text(esc, now, f"{lv} in" if level == 0 else lv, level), esc.state))
    return parts


def bar_text(inc: Incident, view: ClockView, now: float, width: int,
             styles: Mapping[str, Style] | None = None) -> Text:
    """The clock line, as verbose as `width` allows."""
    styles = styles or {}
    parts = bar_parts(inc, view, now, LEVELS - 1)
    for level in range(LEVELS):
        parts = bar_parts(inc, view, now, level)
        if sum(len(p) for p, _ in parts) <= width:
            break
    t = Text(no_wrap=True, overflow="ellipsis")
    worst = view.worst if inc.open else "ok"
    for text, sem in parts:
        if sem == "badge":
            t.append(text, style=(styles.get(worst) or Style()) + Style(reverse=True, bold=True))
        elif sem == "severity":
            t.append(text, style=styles.get(inc.severity.lower()) or Style(bold=True))
        elif sem in ("ok", "warning", "critical"):
            t.append(text, style=styles.get(sem) or "")
        elif sem == "met":
            t.append(text, style=styles.get("ok") or "")
        else:
            t.append(text)
    return t


class IncidentBar(Static):
    """The clock line. `show(None, …)` hides it; it redraws only when its text or style changed."""

    DEFAULT_CSS = """
    IncidentBar { dock: top; height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
                  display: none; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.plain = ""
        self.text = Text()
        self.worst = ""
        self._last: object = None
        self._state: tuple[Incident | None, ClockView | None, float, Mapping[str, Style] | None] = (
            None, None, 0.0, None)

    def show(self, inc: Incident | None, view: ClockView | None, now: float,
             styles: Mapping[str, Style] | None = None) -> None:
        self._state = (inc, view, now, styles)
        if inc is None or view is None:
            self.plain, self.worst, self.text = "", "", Text()
            if self.display:
                self.display = False
            self._last = None
            return
        width = self.size.width or (self.app.size.width if self.is_attached else 80) or 80
        t = bar_text(inc, view, now, width, styles)
        self.worst = view.worst if inc.open else "ok"
        key = (t.plain, self.worst, id(styles))
        if not self.display:
            self.display = True
        if key != self._last:
            self._last = key
            self.plain, self.text = t.plain, t
            self.update(t)

    def on_resize(self) -> None:
        inc, view, now, styles = self._state
        self._last = None
        self.show(inc, view, now, styles)
