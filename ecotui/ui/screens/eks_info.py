"""[eks_info] (O): the active context's EKS cluster as the runbook's upgrade procedure needs it — cluster
version, status, platform version and the available upgrade; node groups (version, AMI release, desired/min/max,
status, health issues); add-ons (version, status, newest compatible version); updates in progress or failed
(`describe_update`: type, status, errors). Read-only: starting an upgrade is out of scope.

    open_eks_info(app)

The cluster comes from `aws_flow.eks_target` (config, a discovered "eks:…" context, or the kubeconfig's
`aws eks get-token` exec plugin); any other context gets one line, "not an EKS context", and no AWS call.
`ecotui.aws.eks_info.cluster_info` runs in a worker; its failure is one line (`explain`). `refresh` loads again.

Widgets (ids stable for tests): `#eks-title`, `#eks-body` (scrolls) holding `#eks-text`; `EksInfoScreen.text`
is the plain text shown.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ecotui.textsafe import inert, one_line
from ecotui.ui import aws_flow
from ecotui.ui.aws_flow import EksTarget
from ecotui.ui.screens.text_view import ScrollKeys
from ecotui.ui.widgets.status import KeyHints

HINT_IDS = ("back", "refresh", "scroll_down", "scroll_up", "help")
HINT_LABELS = {"back": "back", "refresh": "reload", "scroll_down": "down", "scroll_up": "up", "help": "help"}
NOT_EKS = ("not an EKS context: set aws_profile, aws_region and eks_cluster for it in the config, use a kubeconfig "
           "user with `aws eks get-token`, or connect through the clusters view")
GOOD = {"ACTIVE", "SUCCESSFUL", "ok"}
BAD = {"FAILED", "DEGRADED", "CREATE_FAILED", "DELETE_FAILED", "CANCELLED"}


def _a(obj: Any, *names: str, default: Any = "") -> Any:
    for n in names:
        v = obj.get(n) if isinstance(obj, Mapping) else getattr(obj, n, None)
        if v not in (None, ""):
            return v
    return default


def _s(v: Any, width: int = 200) -> str:
    return inert(one_line("" if v is None else str(v), width))


def _level(status: str) -> str:
    up = status.upper()
    if up in BAD or "FAIL" in up:
        return "critical"
    if up in GOOD or not up:
        return ""
    return "warning"


def info_text(info: Any, target: EksTarget, styles: Mapping[str, Style]) -> Text:
    """The EksInfo as styled text (every value inert; missing data says so, never a blank)."""
    def st(name: str) -> Style | str:
        return styles.get(name, "") if name else ""
    t = Text(no_wrap=False)
    name = _a(info, "name", default=target.cluster)
    t.append(f"Cluster {_s(name, 80)}", style="bold")
    t.append(f"   {target.where}\n")
    status = str(_a(info, "status", default="?"))
    t.append("  Version:   ")
    t.append(_s(_a(info, "version", default="?"), 20), style="bold")
    t.append("   Status: ")
    t.append(_s(status, 30), style=st(_level(status)) or st("ok"))
    t.append(f"   Platform: {_s(_a(info, 'platform_version', default='?'), 30)}\n")
    upgrade = _a(info, "upgrade", "available_upgrade", "next_version", default="")
    note = _a(info, "upgrade_note", "upgrade_source", default="")
    t.append("  Upgrade:   ")
    if upgrade:
        t.append(f"{_s(upgrade, 40)} available", style=st("warning"))
    else:
        t.append("none available (latest)" if not note else "-", style=st("muted"))
    if note:
        t.append(f"  ({_s(note, 120)})", style=st("muted"))
    t.append("\n")

    groups = list(_a(info, "nodegroups", "node_groups", default=()) or ())
    t.append(f"\nNode groups ({len(groups)})\n", style="bold")
    if not groups:
        t.append(f"  {_s(_a(info, 'nodegroups_note', default='none'))}\n", style=st("muted"))
    for g in groups:
        gstatus = str(_a(g, "status", default="?"))
        issues = list(_a(g, "health", "health_issues", default=()) or ())
        t.append(f"  {_s(_a(g, 'name'), 40)}", style="bold")
        gv = str(_a(g, "version", default="?"))
        t.append(f"  v{_s(gv, 12)}", style=st("warning") if gv != str(_a(info, "version", default=gv)) else "")
        t.append(f"  AMI {_s(_a(g, 'release_version', 'releaseVersion', default='?'), 30)}"
                 f"  {_a(g, 'desired', default='?')} desired ({_a(g, 'min', 'min_size', default='?')}-"
                 f"{_a(g, 'max', 'max_size', default='?')})  ")
        t.append(_s(gstatus, 30), style=st(_level(gstatus) or ("critical" if issues else "ok")))
        t.append("\n")
        for issue in issues:
            t.append(f"    ! {_s(issue, 200)}\n", style=st("critical"))

    addons = list(_a(info, "addons", "add_ons", default=()) or ())
    t.append(f"\nAdd-ons ({len(addons)})", style="bold")
    t.append("   (→ a newer compatible version)\n" if addons else "\n", style=st("muted"))
    if not addons:
        t.append(f"  {_s(_a(info, 'addons_note', default='none'))}\n", style=st("muted"))
    for a in addons:
        astatus = str(_a(a, "status", default="?"))
        newest = _a(a, "newest", "newest_version", "latest_version", default="")
        version = _a(a, "version", default="?")
        t.append(f"  {_s(_a(a, 'name'), 40):<18} {_s(version, 40):<20} ")
        t.append(_s(astatus, 20), style=st(_level(astatus) or "ok"))
        if newest and newest != version:
            t.append(f"  → {_s(newest, 40)}", style=st("warning"))
        t.append("\n")
        for issue in list(_a(a, "health", "health_issues", default=()) or ()):
            t.append(f"    ! {_s(issue, 200)}\n", style=st("critical"))

    updates = list(_a(info, "updates", default=()) or ())
    t.append(f"\nUpdates ({len(updates)})\n", style="bold")
    if not updates:
        t.append(f"  {_s(_a(info, 'updates_note', default='none in progress'))}\n", style=st("muted"))
    for u in updates:
        ustatus = str(_a(u, "status", default="?"))
        t.append(f"  {_s(_a(u, 'type', default='?'), 30)}  ")
        t.append(_s(ustatus, 20), style=st(_level(ustatus)))
        what = _a(u, "nodegroup", default="") or "cluster"
        params = ", ".join(str(p) for p in (_a(u, "params", default=()) or ()))
        created = _a(u, "created", "created_at", default="")
        t.append(f"  {_s(what, 40)}  {_s(params, 60)}  {_s(created, 40)}  {_s(_a(u, 'id', default=''), 40)}\n")
        for err in list(_a(u, "errors", default=()) or ()):
            t.append(f"    ! {_s(err, 200)}\n", style=st("critical"))
    for note in list(_a(info, "notes", default=()) or ()):
        t.append(f"\n{_s(note, 300)}", style=st("muted"))
    return t


class EksInfoScreen(ScrollKeys, Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "refresh", "scroll_down", "scroll_up",
                                          "scroll_top", "scroll_bottom")
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help", "refresh": "screen.load"}
    DEFAULT_CSS = """
    EksInfoScreen > #eks-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    EksInfoScreen > #eks-body { height: 1fr; }
    EksInfoScreen #eks-text { width: auto; padding: 0 1; }
    """

    def __init__(self, target: EksTarget | None, *, context: str, styles: Callable[[], Mapping[str, Style]],
                 hints: str = "") -> None:
        super().__init__()
        self.target = target
        self.context = context
        self._styles = styles
        self.hints = hints
        self.text = ""
        self.styled = Text()
        self.info: Any = None
        self.loading = False
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="eks-title")
        with VerticalScroll(id="eks-body"):
            yield Static("", id="eks-text")
        yield KeyHints(self.hints)

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#eks-body", VerticalScroll)

    def on_mount(self) -> None:
        self.body.focus()
        self.action_load()

    def _title(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" EKS cluster ", style="bold")
        t.append(f"│ {one_line(self.context, 50)}")
        if self.target is not None:
            t.append(f" │ {one_line(self.target.cluster, 40)} ({self.target.source})")
        if self.loading:
            t.append(" │ loading…", style=self._styles().get("warning", ""))
        self.query_one("#eks-title", Static).update(t)

    def _set(self, text: Text) -> None:
        self.styled = text
        self.text = text.plain
        self.query_one("#eks-text", Static).update(text)
        self._title()

    def action_load(self) -> None:
        styles = self._styles()
        if self.target is None:
            self._set(Text(NOT_EKS, style=styles.get("warning", "")))
            return
        if self.loading:
            return
        self.loading = True
        self._title()
        self.run_worker(self._load(self.target), group="eks-info", exclusive=True, exit_on_error=False)

    async def _load(self, target: EksTarget) -> None:
        styles = self._styles()
        try:
            info = await asyncio.wait_for(aws_flow._aws_cluster_info(target), aws_flow.AWS_TIMEOUT_S * 2)
        except asyncio.TimeoutError:
            text = Text(f"EKS did not answer within {aws_flow.AWS_TIMEOUT_S * 2:g} s", style=styles.get("critical", ""))
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            text = Text(aws_flow.explain(exc, target.profile), style=styles.get("critical", ""))
        else:
            self.info = info
            text = info_text(info, target, styles)
        finally:
            self.loading = False
            self.loads += 1
        if self.query("#eks-text"):
            self._set(text)


def open_eks_info(app: Any) -> None:
    """[eks_info]: the active context's cluster (one line, no AWS call, when it is not EKS)."""
    if isinstance(app.screen, EksInfoScreen):
        return
    screen = app.screen_class(EksInfoScreen)(aws_flow.eks_target(app), context=app.workspace.profile.context,
                                             styles=lambda: app.cell_styles, hints=app.hints(HINT_IDS, HINT_LABELS))
    app.push_screen(screen)
