"""Opening logs from any row: [logs] / [logs_previous] on pods (a container picker when a single pod has
several), workloads (all their pods, stern-like), nodes (their pods) and namespaces; [logs_query] for a
LogQL query or a label selector typed by the user; [logs_source] switches Loki ↔ Kubernetes in an open
viewer. The source is chosen by `ecotui.logs.open.open_source` (Loki when configured and ready)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from textual.app import App

from ecotui.errors import EcotuiError
from ecotui.kinds.registry import by_id
from ecotui.logs.model import Selection
from ecotui.logs.open import KUBERNETES, LOKI, Opened, open_source
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.screens.logs import LogScreen
from ecotui.ui.screens.pickers import PickerScreen, PromptScreen
from ecotui.workspace import WorkspaceAPI

WORKLOADS = ("deployments", "statefulsets", "daemonsets", "replicasets", "jobs")
ALL_CONTAINERS = "(all containers)"


class Host(Protocol):
    workspace: WorkspaceAPI
    ui: UiContext
    log_buffer_lines: int

    def screen_class(self, base: type[Any]) -> type[Any]: ...

    def hints(self, ids: Sequence[str], labels: Mapping[str, str]) -> str: ...

    def say(self, message: str, *, severity: Any = "information", title: str = "",
            timeout: float | None = None) -> None: ...


def selection_for(kind: str, keys: list[str], *, previous: bool, namespace: str | None) -> tuple[Selection, str]:
    """(Selection, title) for rows of a registry kind; ValueError with a one-line reason otherwise."""
    if not keys:
        raise ValueError("logs: no row selected")
    if kind == "pods":
        return Selection(pods=tuple(keys), previous=previous, follow=not previous), (
            f"{'previous ' if previous else ''}logs of pod {keys[0]}" if len(keys) == 1
            else f"{'previous ' if previous else ''}logs of {len(keys)} pods")
    if kind in WORKLOADS:
        spec = by_id(kind)
        return Selection(workload=(kind, keys[0]), previous=previous, follow=not previous), (
            f"{'previous ' if previous else ''}logs of {spec.kind.lower()} {keys[0]}")
    if kind == "nodes":
        return Selection(node=keys[0], previous=previous, follow=not previous), f"logs of the pods on node {keys[0]}"
    if kind == "namespaces":
        return Selection(namespace=keys[0], previous=previous, follow=not previous), f"logs of namespace {keys[0]}"
    raise ValueError("logs: pick a pod, a workload (:deploy, :sts, :ds, :rs), a node or a namespace")


def query_selection(text: str, namespace: str | None) -> tuple[Selection, str]:
    """What the user typed at [logs_query]: a LogQL query (starts with `{`) or a label selector."""
    t = text.strip()
    if not t:
        raise ValueError("logs: type a LogQL query ({app=\"x\"} |= \"error\") or a label selector (app=x)")
    if t.startswith("{"):
        return Selection(logql=t), f"LogQL {t}"
    return Selection(selector=t, namespace=namespace), f"pods {t}" + (f" in {namespace}" if namespace else "")


class LogsOpener:
    def __init__(self, host: Host, app: App[Any]) -> None:
        self.host, self.app = host, app
        self.opened: dict[int, tuple[Opened, Selection, str]] = {}   # id(screen) -> what it shows

    # ---- entry points ------------------------------------------------------------------------

    def request(self, kind: str, keys: list[str], previous: bool) -> None:
        try:
            sel, title = selection_for(kind, keys, previous=previous, namespace=self.host.workspace.session.namespace)
        except ValueError as exc:
            self.host.say(str(exc), severity="warning")
            return
        containers = self._containers(keys[0]) if kind == "pods" and len(keys) == 1 else []
        if len(containers) > 1:
            def chosen(c: str | None) -> None:
                if c:
                    s = sel if c == ALL_CONTAINERS else Selection(
                        pods=sel.pods, container=c, previous=sel.previous, follow=sel.follow)
                    self._open(s, title + ("" if c == ALL_CONTAINERS else f" [{c}]"))
            self.app.push_screen(self.host.screen_class(PickerScreen)(
                f"Container of {one_line(keys[0], 60)}", [ALL_CONTAINERS, *containers], ALL_CONTAINERS), chosen)
            return
        self._open(sel, title)

    def query(self) -> None:
        def typed(text: str | None) -> None:
            if text is None:
                return
            try:
                sel, title = query_selection(text, self.host.workspace.session.namespace)
            except ValueError as exc:
                self.host.say(str(exc), severity="warning")
                return
            self._open(sel, title)
        self.app.push_screen(self.host.screen_class(PromptScreen)(
            "logs:", '{namespace="ecotrack",app="user-service"} |= "error"   or   app=user-service'), typed)

    def switch(self, screen: LogScreen) -> None:
        """[logs_source] in a viewer: the same selection from the other source."""
        got = self.opened.get(id(screen))
        if got is None:
            return
        opened, sel, _ = got
        other = KUBERNETES if opened.source.name == LOKI else LOKI
        self.app.run_worker(self._switch(screen, sel, other), group="logs-open", exit_on_error=False)

    def closed(self, screen: LogScreen) -> None:
        got = self.opened.pop(id(screen), None)
        if got is not None:
            self.app.run_worker(got[0].close(), group="logs-close", exit_on_error=False)

    # ---- helpers -----------------------------------------------------------------------------

    def _containers(self, key: str) -> list[str]:
        pod = self.host.workspace.session.snapshot("pods").items.get(key)
        spec = getattr(pod, "spec", None)
        return [c.name for c in getattr(spec, "containers", ()) or ()]

    def _kube_client(self) -> Any:
        return getattr(self.host.workspace.session, "client", None)

    def _open(self, sel: Selection, title: str) -> None:
        self.app.run_worker(self._open_async(sel, title), group="logs-open", exit_on_error=False)

    async def _open_async(self, sel: Selection, title: str) -> None:
        ws = self.host.workspace
        try:
            opened = await open_source(sel, loki=ws.loki, kube_client=self._kube_client())
        except EcotuiError as exc:
            self.host.say(exc.message, severity="error")
            return
        screen = self.host.screen_class(LogScreen)(opened.source, self.host.ui,
                                                   capacity=self.host.log_buffer_lines, title=title)
        self.opened[id(screen)] = (opened, sel, title)
        await self.app.push_screen(screen, lambda _: self.closed(screen))
        if opened.note:
            self.host.say(opened.note, severity="warning", timeout=6)

    async def _switch(self, screen: LogScreen, sel: Selection, prefer: str) -> None:
        ws = self.host.workspace
        try:
            new = await open_source(sel, loki=ws.loki, kube_client=self._kube_client(), prefer=prefer)
        except EcotuiError as exc:
            self.host.say(exc.message, severity="error")
            return
        old, _, title = self.opened[id(screen)]
        self.opened[id(screen)] = (new, sel, title)
        screen.set_source(new.source, keep=False)
        await old.close()
        self.host.say(f"log source: {new.source.name}" + (f" ({new.note})" if new.note else ""), timeout=4)
