"""A titled pane holding one ResourceTable (nodes, pods or events)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ecotui.ui.widgets.resource_table import ResourceTable


class PaneTitle(Static):
    DEFAULT_CSS = """
    PaneTitle { height: 1; text-wrap: nowrap; text-overflow: ellipsis; color: $text-muted; }
    """


class Pane(Vertical):
    """`title` line + table. The screen toggles the `-active` class (the active pane is taller)."""

    DEFAULT_CSS = """
    Pane { height: 1fr; }
    Pane.-active > PaneTitle { color: $accent; text-style: bold; }
    """

    def __init__(self, name: str, table: ResourceTable, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.pane_name = name
        self.table = table
        self.title_text = name

    def compose(self) -> ComposeResult:
        yield PaneTitle(Text(self.title_text, no_wrap=True, overflow="ellipsis"))
        yield self.table

    def set_title(self, text: str) -> None:
        if text != self.title_text:
            self.title_text = text
            if self.is_mounted:   # else compose() shows it
                self.query_one(PaneTitle).update(Text(text, no_wrap=True, overflow="ellipsis"))
