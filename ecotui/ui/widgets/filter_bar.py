"""The `/` filter bar: an input line and a one-line error, hidden until opened. Posts `FilterBar.Applied`
on every edit (final=False) and on enter (final=True); the screen applies the text to its rows and says
whether it parsed (`show_error`)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from ecotui.textsafe import one_line


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar { height: auto; display: none; }
    FilterBar.-open { display: block; }
    FilterBar > Input { height: 1; border: none; padding: 0 1; background: $panel; }
    FilterBar > Static { height: auto; color: $error; padding: 0 1; }
    """

    class Applied(Message):
        def __init__(self, text: str, final: bool) -> None:
            super().__init__()
            self.text, self.final = text, final

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: text, or a label selector (app=web,tier!=db)", id="filter-input")
        yield Static("", id="filter-msg")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, value: str) -> None:
        self.add_class("-open")
        inp = self.query_one(Input)
        inp.value = value
        self.show_error("")
        inp.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.show_error("")

    def clear(self) -> None:
        if self.is_open:
            self.query_one(Input).value = ""

    def show_error(self, message: str) -> None:
        self.query_one("#filter-msg", Static).update(one_line(message, 200))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Applied(event.value, False))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(event.value, True))
