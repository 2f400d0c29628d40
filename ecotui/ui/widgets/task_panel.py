"""The panel of a running drain: one summary line and the pods that matter most right now (retrying,
evicting, failed), docked above the key hints. It never takes focus, so the rest of the screen works as
usual while the drain runs; it renders immutable DrainProgress snapshots."""
from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ecotui.ops.drain_run import DrainProgress
from ecotui.textsafe import one_line

ROWS = 5
ORDER = {"retrying": 0, "failed": 1, "evicting": 2, "deleting": 3, "pending": 4, "evicted": 5}
PHASE_STYLE = {"done": "ok", "failed": "critical", "cancelled": "warning"}
STATE_STYLE = {"retrying": "warning", "failed": "critical", "evicted": "ok", "deleting": "muted", "pending": "muted"}


def progress_text(p: DrainProgress, styles: Mapping[str, Style], keys: str = "") -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"drain {one_line(p.node, 50)} ", style="bold")
    t.append(p.phase, style=styles.get(PHASE_STYLE.get(p.phase, ""), "") or "bold")
    t.append(f" · {p.count('evicted')}/{p.total} evicted")
    for state in ("retrying", "failed"):
        if p.count(state):
            t.append(f" · {p.count(state)} {state}", style=styles.get(STATE_STYLE[state], ""))
    if p.skipped:
        t.append(f" · {p.skipped} skipped")
    t.append(f" · {p.elapsed:.0f}s")
    if keys:
        t.append(f"   {keys}", style=styles.get("muted", ""))
    if p.message:
        t.append("\n")
        t.append(one_line(p.message, 300), style=styles.get(PHASE_STYLE.get(p.phase, ""), ""))
    rows = sorted(p.rows, key=lambda r: (ORDER.get(r.state, 9), r.key))[:ROWS]
    for r in rows:
        t.append("\n")
        t.append(f"  {r.state:<9} ", style=styles.get(STATE_STYLE.get(r.state, ""), ""))
        t.append(one_line(r.key, 70))
        if r.message:
            t.append(f"  {one_line(r.message, 120)}", style=styles.get("muted", ""))
    return t


class TaskPanel(Static):
    DEFAULT_CSS = """
    TaskPanel { height: auto; max-height: 8; display: none; background: $surface; border-top: solid $accent;
                padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    TaskPanel.-shown { display: block; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.plain = ""

    def show_progress(self, p: DrainProgress | None, styles: Mapping[str, Style], keys: str = "") -> None:
        if p is None:
            self.set_class(False, "-shown")
            self.plain = ""
            return
        t = progress_text(p, styles, keys)
        self.plain = t.plain
        self.update(t)
        self.set_class(True, "-shown")
