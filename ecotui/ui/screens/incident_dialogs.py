"""The incident dialogs: start (title, services pre-filled from the selected row, severity chosen from the runbook
matrix shown with descriptions, response times and examples, impact), severity change with a reason, escalate
(the levels matrix shown, the next level preselected), and the small forms (note, resolve) built on FormScreen.

A dialog keeps its input when it is refused: the error line says why ("a title is needed") and it stays open.
Everything shown from the policy file or the cluster goes through textsafe.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ecotui.incident.model import Level, Policy, Severity
from ecotui.textsafe import inert, one_line
from ecotui.ui.screens.confirm import Field, FormScreen

WORKLOADS = ("deployments", "statefulsets", "daemonsets", "replicasets", "pods", "services", "jobs",
             "horizontalpodautoscalers")


def severity_option(s: Severity, width: int = 74) -> Text:
    mins = s.response_minutes
    resp = f"{mins // 60} h" if mins >= 60 and mins % 60 == 0 else f"{mins} min"
    t = Text(no_wrap=False)
    t.append(f"{s.key} {inert(s.name)}", style="bold")
    t.append(f" — respond < {resp}; update every {s.update_minutes} min; {inert(one_line(s.escalation, 60))}\n")
    t.append(f"   {inert(one_line(s.description, width))}")
    if s.examples:
        t.append(f"\n   e.g. {inert(one_line('; '.join(s.examples), width))}")
    return t


def level_option(lv: Level, after: int | None) -> Text:
    t = Text(no_wrap=False)
    t.append(f"{lv.key} {inert(lv.name)}", style="bold")
    t.append(f" — responds < {lv.response_minutes} min" + (f"; due after {after} min unresolved" if after else ""))
    t.append(f"\n   {inert(one_line(lv.responsibilities, 74))}")
    if lv.criteria:
        t.append(f"\n   escalate when: {inert(one_line(lv.criteria, 70))}")
    return t


def escalate_after(policy: Policy, severity: str, level: Level) -> int | None:
    try:
        over = policy.severity(severity).escalate_after.get(level.key)
    except KeyError:
        over = None
    return over if over is not None else level.after_minutes


def row_prefill(app: Any) -> tuple[str, str]:
    """(services, namespaces) from the row under the cursor of the visible table screen: a workload's or pod's
    `app` label (else its name), its namespace; ("", the session's namespace) when there is no such row."""
    screen = app.screen
    ns = getattr(app.session, "namespace", None) or ""
    tables = getattr(screen, "tables", None)
    kind = getattr(screen, "active", None)
    if not tables or kind not in WORKLOADS or kind not in tables:
        return "", ns
    key = tables[kind].cursor_key
    if not key:
        return "", ns
    obj = app.session.snapshot(kind).items.get(key)
    rns, _, name = key.rpartition("/")
    if obj is None:
        return name, rns or ns
    md = getattr(obj, "metadata", None)
    labels = dict(getattr(md, "labels", None) or {})
    if kind == "pods":
        service = labels.get("app") or labels.get("app.kubernetes.io/name") or name.rsplit("-", 2)[0]
    else:
        service = labels.get("app") or labels.get("app.kubernetes.io/name") or name
    return one_line(service, 80), rns or ns


class StartDialog(ModalScreen["dict[str, str] | None"]):
    """Dismisses {title, services, namespaces, severity, impact} or None (escape). Enter moves to the next field;
    on the last one it submits."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back",)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}
    DEFAULT_CSS = """
    StartDialog { align: center middle; }
    StartDialog > Vertical { width: 80; max-width: 100%; height: auto; max-height: 100%; border: round $accent;
                             background: $surface; }
    StartDialog #start-title { height: 1; text-style: bold; padding: 0 1; }
    StartDialog .form-label { height: 1; padding: 0 1; color: $text-muted; }
    StartDialog Input, StartDialog Input:focus { height: 1; border: none; padding: 0 1; background: $panel; }
    StartDialog OptionList, StartDialog OptionList:focus { height: auto; max-height: 10; border: none; padding: 0; }
    StartDialog #form-error { height: auto; padding: 0 1; color: $error; }
    StartDialog #form-keys { height: 1; padding: 0 1; color: $text-muted; }
    """
    ORDER = ("title", "services", "namespaces", "severity", "impact")

    def __init__(self, policy: Policy, *, services: str = "", namespaces: str = "", severity: str = "P1") -> None:
        super().__init__()
        self.policy = policy
        self.prefill = {"services": services, "namespaces": namespaces}
        keys = [s.key for s in policy.severities]
        self.initial_severity = keys.index(severity) if severity in keys else 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Start an incident", no_wrap=True), id="start-title")
            with VerticalScroll():
                yield Static("title (the brief description)", classes="form-label")
                yield Input(id="field-title")
                yield Static("affected services (comma-separated)", classes="form-label")
                yield Input(value=self.prefill["services"], id="field-services")
                yield Static("namespaces", classes="form-label")
                yield Input(value=self.prefill["namespaces"], id="field-namespaces")
                yield Static(f"severity (the runbook matrix, {inert(one_line(self.policy.source, 50))})",
                             classes="form-label")
                yield OptionList(*[Option(severity_option(s), id=s.key) for s in self.policy.severities],
                                 id="field-severity")
                yield Static("user impact", classes="form-label")
                yield Input(id="field-impact")
            yield Static("", id="form-error")
            yield Static(Text("tab/enter: next field   up/down: severity   enter on impact: start   escape: cancel",
                              no_wrap=True, overflow="ellipsis"), id="form-keys")

    def on_mount(self) -> None:
        self.query_one("#field-severity", OptionList).highlighted = self.initial_severity
        self.query_one("#field-title", Input).focus()

    @property
    def severity(self) -> str:
        idx = self.query_one("#field-severity", OptionList).highlighted
        return self.policy.severities[idx if idx is not None else self.initial_severity].key

    def values(self) -> dict[str, str]:
        out = {k: self.query_one(f"#field-{k}", Input).value.strip() for k in self.ORDER if k != "severity"}
        out["severity"] = self.severity
        return out

    def _next(self, after: str) -> None:
        i = self.ORDER.index(after)
        if i == len(self.ORDER) - 1:
            self.submit()
        else:
            self.query_one(f"#field-{self.ORDER[i + 1]}").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._next(str(event.input.id).removeprefix("field-"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._next("severity")

    def submit(self) -> None:
        v = self.values()
        err = ("a title is needed" if not v["title"] else
               "at least one affected service is needed" if not split_list(v["services"]) else "")
        if err:
            self.query_one("#form-error", Static).update(Text(err))
            return
        self.dismiss(v)

    def action_back(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen["tuple[str, str] | None"]):
    """A matrix to pick from (severities or levels) and a reason line; dismisses (key, reason) or None."""

    KEY_IDS: ClassVar[tuple[str, ...]] = ("back",)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {}
    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical { width: 80; max-width: 100%; height: auto; max-height: 100%; border: round $accent;
                              background: $surface; }
    ChoiceDialog #choice-title { height: 1; text-style: bold; padding: 0 1; }
    ChoiceDialog .form-label { height: 1; padding: 0 1; color: $text-muted; }
    ChoiceDialog OptionList, ChoiceDialog OptionList:focus { height: auto; max-height: 14; border: none; }
    ChoiceDialog Input, ChoiceDialog Input:focus { height: 1; border: none; padding: 0 1; background: $panel; }
    ChoiceDialog #form-error { height: auto; padding: 0 1; color: $error; }
    ChoiceDialog #form-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, title: str, keys: Sequence[str], labels: Sequence[Text], current: str | None,
                 *, reason_label: str = "reason", validate: Callable[[str, str], str] | None = None) -> None:
        super().__init__()
        self.choice_title = title
        self.keys = list(keys)
        self.labels = list(labels)
        self.current = current
        self.reason_label = reason_label
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(inert(self.choice_title), no_wrap=True, overflow="ellipsis"), id="choice-title")
            yield OptionList(*[Option(lbl, id=k) for k, lbl in zip(self.keys, self.labels)], id="field-choice")
            yield Static(self.reason_label, classes="form-label")
            yield Input(id="field-reason")
            yield Static("", id="form-error")
            yield Static(Text("up/down: choose   enter: to the reason   enter on the reason: go   escape: cancel",
                              no_wrap=True, overflow="ellipsis"), id="form-keys")

    def on_mount(self) -> None:
        ol = self.query_one("#field-choice", OptionList)
        if self.current in self.keys:
            ol.highlighted = self.keys.index(self.current)
        ol.focus()

    @property
    def choice(self) -> str:
        idx = self.query_one("#field-choice", OptionList).highlighted
        return self.keys[idx if idx is not None else 0]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#field-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        reason = self.query_one("#field-reason", Input).value.strip()
        err = self.validate(self.choice, reason) if self.validate else ""
        if err:
            self.query_one("#form-error", Static).update(Text(err))
            return
        self.dismiss((self.choice, reason))

    def action_back(self) -> None:
        self.dismiss(None)


def split_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in text.replace(" ", ",").split(",") if p.strip()))


def severity_dialog(policy: Policy, current: str, cls: type[ChoiceDialog] = ChoiceDialog) -> ChoiceDialog:
    def check(key: str, reason: str) -> str:
        if key == current:
            return f"the incident is already {current}: pick another severity"
        return "" if reason else "a reason is needed (it goes on the timeline)"
    return cls(f"Change severity (now {current})", [s.key for s in policy.severities],
                        [severity_option(s) for s in policy.severities], current, validate=check)


def escalate_dialog(policy: Policy, severity: str, level: str,
                    cls: type[ChoiceDialog] = ChoiceDialog) -> ChoiceDialog:
    keys = [lv.key for lv in policy.levels]
    nxt = keys[keys.index(level) + 1] if level in keys and keys.index(level) + 1 < len(keys) else None

    def check(key: str, reason: str) -> str:
        if key in keys and level in keys and keys.index(key) <= keys.index(level):
            return f"already at {level}: pick a higher level"
        return ""
    return cls(f"Escalate (now {level})", keys,
                        [level_option(lv, escalate_after(policy, severity, lv)) for lv in policy.levels],
                        nxt or level, validate=check)


def note_form(incident_id: str, cls: type[FormScreen] = FormScreen) -> FormScreen:
    return cls(f"Note for {incident_id}", [Field("note", "note (goes on the timeline)")],
                      validate=lambda v: "" if v["note"].strip() else "the note is empty")


def resolve_form(incident_id: str, cls: type[FormScreen] = FormScreen) -> FormScreen:
    def check(v: dict[str, str]) -> str:
        if not v["resolution"].strip():
            return "a resolution is needed"
        return "" if v["root_cause"].strip() else "a root cause is needed (\"unknown\" is an answer)"
    return cls(f"Resolve {incident_id}", [Field("resolution", "resolution (what fixed it)"),
                                                 Field("root_cause", "root cause"),
                                                 Field("post_mortem", "post-mortem link (optional)")],
                      validate=check)
