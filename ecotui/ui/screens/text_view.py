"""Scrollable plain-text screens: `kubectl describe`-style detail and the help screen."""
from __future__ import annotations

from typing import ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ecotui.textsafe import inert
from ecotui.ui.widgets.status import KeyHints


class ScrollKeys:
    """back + the describe group's scroll keys for a screen whose text scrolls in its `body` (a VerticalScroll)."""

    @property
    def body(self) -> VerticalScroll:
        raise NotImplementedError

    def action_back(self) -> None:
        cast(Screen[None], self).dismiss(None)

    def action_scroll_down(self) -> None:
        self.body.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.body.scroll_up(animate=False)

    def action_scroll_top(self) -> None:
        self.body.scroll_home(animate=False)

    def action_scroll_bottom(self) -> None:
        self.body.scroll_end(animate=False)


class TextScreen(ScrollKeys, Screen[None]):
    """Title line, a scrollable body of literal text (never markup), and a key-hint line."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "scroll_down", "scroll_up", "scroll_top", "scroll_bottom")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit"}
    HINT_IDS: ClassVar[tuple[str, ...]] = ("back", "scroll_down", "scroll_up", "quit")

    DEFAULT_CSS = """
    TextScreen > #view-title { height: 1; background: $panel; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    TextScreen > #view-body { height: 1fr; }
    TextScreen #view-text { width: auto; padding: 0 1; }
    """

    def __init__(self, title: str, text: str, hints: str = "") -> None:
        super().__init__()
        self.view_title = title
        self.text = text
        self.hints = hints

    def compose(self) -> ComposeResult:
        yield Static(Text(inert(self.view_title), no_wrap=True), id="view-title")
        with VerticalScroll(id="view-body"):
            yield Static(Text(inert(self.text, multiline=True)), id="view-text")
        yield KeyHints(self.hints)

    def set_text(self, text: str) -> None:
        self.text = text
        if self.is_mounted:
            self.query_one("#view-text", Static).update(Text(inert(text, multiline=True)))

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#view-body", VerticalScroll)

    def on_mount(self) -> None:
        self.body.focus()



class DescribeScreen(TextScreen):
    """`kubectl describe` text for one pod or node; the events part may arrive later."""


class HelpScreen(TextScreen):
    """Every action id, its current keys and what it does, plus start-up problems."""
