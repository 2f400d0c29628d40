"""The one-line header (context, namespace, connection state, RO badge) and the key-hint footer."""
from __future__ import annotations

import time
from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ecotui.kube.store import ConnState, Connection
from ecotui.textsafe import one_line


def clock(ts: float) -> str:
    """HH:MM:SS in local time."""
    return time.strftime("%H:%M:%S", time.localtime(ts))


def connection_text(conn: Connection, error: str = "") -> tuple[str, str]:
    """(text, semantic style) for the header's connection part."""
    if error:
        return f"error: {one_line(error, 120)}", "critical"
    state = conn.state
    if state is ConnState.LIVE:
        return "● live", "ok"
    if state is ConnState.CONNECTING:
        return "◌ connecting", "warning"
    if state is ConnState.RECONNECTING:
        return "◌ reconnecting", "warning"
    if state is ConnState.STALE:
        return f"stale since {clock(conn.since)}", "critical"
    msg = one_line(conn.message or "connection failed", 120)
    return f"error: {msg}", "critical"


class StatusHeader(Static):
    """`ecotui │ ctx NAME │ ns NAME │ ● live │ RO`; rebuilt only when one of its inputs changed."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; color: $foreground; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._last: tuple[object, ...] | None = None
        self.plain = ""

    def show(
        self,
        context: str,
        namespace: str | None,
        conn: Connection,
        *,
        readonly: bool,
        error: str = "",
        styles: Mapping[str, Style] | None = None,
        critical: bool = False,
    ) -> None:
        key = (context, namespace, conn, readonly, error, id(styles), critical)
        if key == self._last:
            return
        self._last = key
        styles = styles or {}
        state, sem = connection_text(conn, error)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" ecotui ", style="bold")
        t.append("│ ctx ")
        t.append(one_line(context, 60), style=(styles.get("critical") or "bold") if critical else "bold")
        if critical:
            t.append(" (critical)", style=styles.get("critical") or "")
        t.append(" │ ns ")
        t.append(one_line(namespace, 60) if namespace else "all", style="bold")
        t.append(" │ ")
        t.append(state, style=styles.get(sem) or "")
        if readonly:
            t.append(" │ ")
            t.append(" RO ", style="reverse bold")
        self.plain = t.plain
        self.update(t)


class KeyHints(Static):
    """Footer line built from the keymap (see ecotui.ui.bindings.hint_line)."""

    DEFAULT_CSS = """
    KeyHints { height: 1; background: $panel; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    """
