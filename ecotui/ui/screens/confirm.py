"""The dialogs every mutation passes: a small form for its parameters, then the confirmation that shows
exactly what will change, with the context and namespace. On a critical (production) context the dialog
uses the critical colour and asks to type the object's name (several objects: the context's name)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ecotui.ops.outcome import Preview
from ecotui.textsafe import inert, one_line

TITLES = {"cordon": "Cordon", "uncordon": "Uncordon", "drain": "Drain", "rollout_undo": "Undo rollout of",
          "rollout_restart": "Restart", "rollout_pause": "Pause rollout of", "rollout_resume": "Resume rollout of",
          "scale": "Scale", "delete": "Delete", "snapshot_volume": "EBS snapshot of"}


def dialog_title(preview: Preview) -> str:
    verb = TITLES.get(preview.action, preview.action)
    t = preview.targets
    if len(t) == 1:
        return f"{verb} {t[0].kind.rstrip('s')} {t[0].key}"
    return f"{verb} {len(t)} {t[0].kind if t else 'objects'}"


def confirm_word(preview: Preview, context: str) -> str:
    """What a critical context asks to type: the object's name, or the context's name for several."""
    return preview.targets[0].name if len(preview.targets) == 1 else context


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses True (confirmed) or False. A blocked preview can only be closed."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "confirm", "scroll_down", "scroll_up")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
                               border: round $accent; background: $surface; }
    ConfirmScreen.-critical > Vertical { border: heavy $error; }
    ConfirmScreen #confirm-title { height: 1; text-style: bold; padding: 0 1; }
    ConfirmScreen.-critical #confirm-title { background: $error; color: $text; }
    ConfirmScreen #confirm-where { height: 1; padding: 0 1; }
    ConfirmScreen #confirm-body { height: auto; max-height: 16; padding: 0 1; }
    ConfirmScreen #confirm-warn { height: auto; padding: 0 1; color: $warning; }
    ConfirmScreen #confirm-blocked { height: auto; padding: 0 1; color: $error; text-style: bold; }
    ConfirmScreen #confirm-word { height: 1; border: none; padding: 0 1; background: $panel; }
    ConfirmScreen #confirm-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, preview: Preview, *, context: str, namespace: str | None, critical: bool = False,
                 hints: str = "") -> None:
        super().__init__()
        self.preview = preview
        self.context, self.namespace = context, namespace
        self.critical = critical
        self.word = confirm_word(preview, context)
        self.hints = hints

    def compose(self) -> ComposeResult:
        p = self.preview
        with Vertical():
            yield Static(Text(inert(dialog_title(p)), no_wrap=True, overflow="ellipsis"), id="confirm-title")
            where = f"context {one_line(self.context, 60)}  ·  namespace {one_line(self.namespace or 'all', 40)}"
            if self.critical:
                where += "  ·  CRITICAL CONTEXT"
            yield Static(Text(where, no_wrap=True, overflow="ellipsis"), id="confirm-where")
            with VerticalScroll(id="confirm-body"):
                yield Static(Text(inert("\n".join(p.lines) or "(nothing to show)", multiline=True)))
            if p.warnings:
                yield Static(Text(inert("\n".join(f"! {w}" for w in p.warnings), multiline=True)), id="confirm-warn")
            if p.blocked:
                yield Static(Text(inert(f"cannot go ahead: {p.blocked}", multiline=True)), id="confirm-blocked")
                yield Static(Text("escape: close"), id="confirm-keys")
                return
            if self.critical:
                yield Static(Text(f'type "{inert(self.word)}" and press enter to confirm', no_wrap=True),
                             id="confirm-keys")
                yield Input(placeholder=self.word, id="confirm-word")
            else:
                yield Static(Text(self.hints or "enter/y: confirm   escape: cancel", no_wrap=True), id="confirm-keys")

    def on_mount(self) -> None:
        self.set_class(self.critical, "-critical")
        if self.critical and not self.preview.blocked:
            self.query_one("#confirm-word", Input).focus()

    @property
    def typed(self) -> str:
        if not (self.critical and not self.preview.blocked):
            return ""
        return self.query_one("#confirm-word", Input).value

    def action_confirm(self) -> None:
        if self.preview.blocked:
            return
        if self.critical and self.typed.strip() != self.word:
            self.notify(f'type "{self.word}" exactly to confirm', severity="warning", markup=False)
            return
        self.dismiss(True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_back(self) -> None:
        self.dismiss(False)

    def action_scroll_down(self) -> None:
        self.query_one("#confirm-body", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#confirm-body", VerticalScroll).scroll_up(animate=False)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    default: str = ""


class FormScreen(ModalScreen[dict[str, str] | None]):
    """A few labelled inputs (tab moves, enter on the last one submits, escape cancels). `validate`
    returns an error line to show (the form stays open) or "" to accept."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back",)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical { width: 72; max-width: 100%; height: auto; border: round $accent; background: $surface; }
    FormScreen #form-title { height: 1; text-style: bold; padding: 0 1; }
    FormScreen .form-label { height: 1; padding: 0 1; color: $text-muted; }
    FormScreen Input { height: 1; border: none; padding: 0 1; background: $panel; }
    FormScreen #form-error { height: auto; padding: 0 1; color: $error; }
    FormScreen #form-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, title: str, fields: Sequence[Field],
                 validate: Callable[[dict[str, str]], str] | None = None) -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(inert(self.form_title), no_wrap=True, overflow="ellipsis"), id="form-title")
            for f in self.fields:
                yield Static(Text(f.label, no_wrap=True, overflow="ellipsis"), classes="form-label")
                yield Input(value=f.default, id=f"field-{f.key}")
            yield Static("", id="form-error")
            yield Static(Text("tab: next field   enter: continue   escape: cancel", no_wrap=True), id="form-keys")

    def on_mount(self) -> None:
        if self.fields:
            self.query_one(f"#field-{self.fields[0].key}", Input).focus()

    def values(self) -> dict[str, str]:
        return {f.key: self.query_one(f"#field-{f.key}", Input).value for f in self.fields}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        ids = [f"field-{f.key}" for f in self.fields]
        i = ids.index(str(event.input.id)) if event.input.id in ids else len(ids) - 1
        if i < len(ids) - 1:
            self.query_one(f"#{ids[i + 1]}", Input).focus()
            return
        self.submit()

    def submit(self) -> None:
        vals = self.values()
        err = self.validate(vals) if self.validate else ""
        if err:
            self.query_one("#form-error", Static).update(Text(inert(err)))
            return
        self.dismiss(vals)

    def action_back(self) -> None:
        self.dismiss(None)
