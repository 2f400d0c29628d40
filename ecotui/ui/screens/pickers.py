"""Small modal dialogs: pick one name from a list (context, namespace, theme) and the `:` prompt."""
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ecotui.textsafe import one_line


class PickerScreen(ModalScreen[str | None]):
    """A titled list; Enter picks (dismisses with the name), `back` cancels (None)."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit"}

    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical { width: 60; max-width: 100%; height: auto; max-height: 80%; border: round $accent; background: $surface; }
    PickerScreen #picker-title { height: 1; text-style: bold; padding: 0 1; }
    PickerScreen OptionList { height: auto; max-height: 20; border: none; }
    """

    def __init__(self, title: str, names: Sequence[str], current: str | None = None,
                 labels: Sequence[str] | None = None) -> None:
        super().__init__()
        self.picker_title = title
        self.names = list(names)
        self.labels = list(labels) if labels is not None else list(self.names)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.picker_title, no_wrap=True), id="picker-title")
            options = [
                Option(Text(("● " if n == self.current else "  ") + one_line(lbl, 80)), id=f"o{i}")
                for i, (n, lbl) in enumerate(zip(self.names, self.labels))
            ]
            yield OptionList(*options)

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.current in self.names:
            ol.highlighted = self.names.index(self.current)
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.names[event.option_index])

    def action_back(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """One-line input at the bottom (the `:` command prompt). Enter submits, `back` cancels."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back",)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}

    DEFAULT_CSS = """
    PromptScreen { align: left bottom; background: transparent; }
    PromptScreen > Input { dock: bottom; width: 100%; height: 1; border: none; padding: 0; background: $panel; }
    """

    def __init__(self, prompt: str = ":", placeholder: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_back(self) -> None:
        self.dismiss(None)
