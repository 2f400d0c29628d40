"""[incident_update] A status update: the runbook's template (Initial / Update / Resolution) filled from the
incident's state, edited in place, then sent = copied with OSC 52 (`App.copy_to_clipboard`: works over SSH and,
with `set -g set-clipboard on`, tmux) AND appended to the updates file (config `incident.updates_file`, default
`<incident dir>/updates.md`), and recorded in the store (on the timeline; the next-update countdown restarts).

Keys: typing edits (the subject line, then the body; tab moves); `back` (escape) leaves the editor, a second
`back` closes without sending; `copy` (y) outside the editor sends. Closing never loses a sent update; an
unsent edit is only dropped by that second escape.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from ecotui.textsafe import inert
from ecotui.ui.widgets.status import KeyHints

KINDS = ("initial", "update", "resolution")
KIND_LABELS = {"initial": "Initial alert", "update": "Status update", "resolution": "Resolution"}


def update_block(kind: str, subject: str, body: str, now: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    return f"## {stamp} — {KIND_LABELS.get(kind, kind)}\n\n{subject}\n\n{body.rstrip()}\n\n"


def append_update(path: Path, block: str) -> None:
    """Append and fsync (the file is the record someone pastes from when the clipboard failed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(block)
        f.flush()
        os.fsync(f.fileno())


def clipboard_text(subject: str, body: str) -> str:
    return f"{subject}\n\n{body.rstrip()}\n"


class StatusUpdateScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "copy", "quit", "help")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "copy": "screen.send"}
    DEFAULT_CSS = """
    StatusUpdateScreen > #update-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    StatusUpdateScreen > #update-subject { height: 1; border: none; padding: 0 1; background: $panel; }
    StatusUpdateScreen > TextArea { height: 1fr; }
    StatusUpdateScreen > #update-state { height: 1; padding: 0 1; }
    """

    def __init__(self, kind: str, incident_id: str, subject: str, body: str,
                 send: Callable[[str, str, str], str | None], hints: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.incident_id = incident_id
        self.initial = (subject, body)
        self._send = send
        self.hints = hints
        self.sent = ""

    def compose(self) -> ComposeResult:
        yield Static(Text(f" {KIND_LABELS.get(self.kind, self.kind)} for {inert(self.incident_id)} — edit, then "
                          "escape and send", no_wrap=True, overflow="ellipsis"), id="update-title")
        yield Input(value=self.initial[0], id="update-subject")
        yield TextArea(self.initial[1], id="update-body", soft_wrap=True, tab_behavior="focus")
        yield Static("", id="update-state")
        yield KeyHints(self.hints)

    def on_mount(self) -> None:
        self.query_one("#update-body", TextArea).focus()

    @property
    def subject(self) -> str:
        return self.query_one("#update-subject", Input).value

    @property
    def body(self) -> str:
        return self.query_one("#update-body", TextArea).text

    def _editing(self) -> bool:
        return isinstance(self.focused, (Input, TextArea))

    def action_back(self) -> None:
        if self._editing():
            self.set_focus(None)
            self.query_one("#update-state", Static).update(
                Text("editor left: " + (self.hints or "y: send   escape: close"), no_wrap=True))
            return
        self.dismiss(None)

    def action_send(self) -> None:
        if self._editing():
            return
        err = self._send(self.kind, self.subject.strip(), self.body)
        if err:
            self.query_one("#update-state", Static).update(Text(inert(err)))
            return
        self.sent = clipboard_text(self.subject.strip(), self.body)
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#update-body", TextArea).focus()
