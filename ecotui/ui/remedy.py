"""Every key action that changes the cluster goes through here, in one order:

1. does the action apply to this kind (nodes: cordon/drain; workloads: rollouts, scale …)?
2. read-only context → refused before any request (journaled as refused);
3. SelfSubjectAccessReview (cached per context) → "not allowed for USER: verb resource";
4. parameters (a small form: replicas, revision, grace period, drain options), checked before any request;
5. the plan (GETs only) → the confirmation dialog showing exactly what changes, context and namespace
   (critical contexts: type the name);
6. apply, journal (requested, then done/failed with the details), one line to the user.

A drain runs as a background task with its progress in the screens' task panel (the UI stays usable);
`cancel_drain` stops it. Read-only views (rollout status / history) skip 2, 4 and 5.

Runs in App workers; talks to the App only through the small `Host` protocol below.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from textual.app import App

from ecotui.actions import MUTATING_ACTIONS
from ecotui.errors import EcotuiError
from ecotui.kinds.registry import by_id
from ecotui.kinds.spec import KindSpec
from ecotui.ops.api import KubeAPI
from ecotui.ops.catalog import LABELS, applies, eviction_verbs, verbs
from ecotui.ops.cordon import plan_cordon
from ecotui.ops.delete import parse_grace, plan_delete
from ecotui.ops.drain import DrainOptions, DrainPlan, plan_drain
from ecotui.ops.drain_run import DrainProgress, DrainRun
from ecotui.ops.guarded import ClearForbidden
from ecotui.ops.journal import Journal
from ecotui.ops.outcome import Outcome, Plan, Preview, Target
from ecotui.ops.rollout import plan_pause, plan_restart, plan_resume, plan_undo
from ecotui.ops.rollout_info import rollout_history, rollout_status
from ecotui.ops.scale import parse_replicas, plan_scale
from ecotui.textsafe import one_line
from ecotui.ui.screens.confirm import ConfirmScreen, Field, FormScreen
from ecotui.ui.screens.text_view import TextScreen
from ecotui.workspace import WorkspaceAPI

PANEL_EVERY = 0.25  # seconds between task panel updates
CANCEL = object()   # a form closed with escape


class Host(Protocol):
    """What the controller needs of the App."""

    workspace: WorkspaceAPI

    def screen_class(self, base: type[Any]) -> type[Any]: ...

    def hints(self, ids: Sequence[str], labels: Mapping[str, str]) -> str: ...

    def say(self, message: str, *, severity: Any = "information", title: str = "",
            timeout: float | None = None) -> None: ...

    def task_panels_show(self, progress: DrainProgress | None) -> None: ...


class RolloutStatusScreen(TextScreen):
    """`kubectl rollout status`, refreshed every 2 s while open."""

    def __init__(self, title: str, text: str, hints: str, load: Callable[[], Any]) -> None:
        super().__init__(title, text, hints)
        self._load = load

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(2.0, self._reload)

    def _reload(self) -> None:
        self.run_worker(self._load(), group="rollout-status", exclusive=True, exit_on_error=False)


def _drain_form() -> list[Field]:
    d = DrainOptions()
    return [Field("ignore_daemonsets", "ignore DaemonSet-managed pods (y/n)", "y"),
            Field("delete_emptydir_data", "delete emptyDir data (y/n)", "y"),
            Field("force", "force: also delete pods no controller manages (y/n)", "n"),
            Field("grace_period", "grace period in seconds (-1: each pod's own)", str(d.grace_period)),
            Field("timeout", "timeout in seconds for the whole drain (0: none)", f"{d.timeout:g}"),
            Field("pod_selector", "pod selector (label selector, empty: all pods)", "")]


def parse_drain_options(v: Mapping[str, str]) -> DrainOptions:
    """The drain form's values → DrainOptions; ValueError with one line for anything malformed."""
    def yes(key: str) -> bool:
        s = v.get(key, "").strip().lower()
        if s in ("y", "yes", "true", "1"):
            return True
        if s in ("n", "no", "false", "0", ""):
            return False
        raise ValueError(f"{key.replace('_', ' ')}: answer y or n, got {s!r}")
    try:
        grace = int(v.get("grace_period", "-1").strip() or "-1")
    except ValueError:
        raise ValueError(f"grace period must be a whole number of seconds, got {v.get('grace_period')!r}") from None
    if grace < -1:
        raise ValueError("grace period must be -1 (each pod's own) or ≥ 0")
    try:
        timeout = float(v.get("timeout", "300").strip() or "0")
    except ValueError:
        raise ValueError(f"timeout must be a number of seconds, got {v.get('timeout')!r}") from None
    if timeout < 0:
        raise ValueError("timeout must be ≥ 0 (0: no limit)")
    return DrainOptions(ignore_daemonsets=yes("ignore_daemonsets"), delete_emptydir_data=yes("delete_emptydir_data"),
                        force=yes("force"), grace_period=grace, timeout=timeout,
                        pod_selector=v.get("pod_selector", "").strip())


def _check(parse: Callable[[Mapping[str, str]], Any]) -> Callable[[dict[str, str]], str]:
    def validate(v: dict[str, str]) -> str:
        try:
            parse(v)
        except ValueError as exc:
            return str(exc)
        return ""
    return validate


class Remedy:
    def __init__(self, host: Host, app: App[Any], journal: Journal) -> None:
        self.host, self.app, self.journal = host, app, journal
        self.drain: DrainRun | None = None
        self.drain_progress: DrainProgress | None = None
        self._drain_task: asyncio.Task[None] | None = None
        self.last_outcome: Outcome | None = None   # tests read it

    # ---- entry ---------------------------------------------------------------------------------

    def request(self, action: str, kind: str, keys: list[str]) -> None:
        try:
            spec = by_id(kind)
        except KeyError:
            self.host.say(f"{action}: not available here", severity="warning")
            return
        if not applies(action, spec):
            self.host.say(self._where(action), severity="warning")
            return
        if not keys:
            self.host.say(f"{LABELS.get(action, action)}: no row selected", severity="warning")
            return
        self.app.run_worker(self._flow(action, spec, list(keys)), group="remedy", exclusive=False,
                            exit_on_error=False)

    @staticmethod
    def _where(action: str) -> str:
        if action in ("cordon", "uncordon", "drain"):
            return f"{LABELS[action]} works on nodes: go to the nodes pane"
        if action in ("rollout_pause", "rollout_resume"):
            return f"{LABELS[action]} works on Deployments (:deploy)"
        if action == "scale":
            return "scale works on Deployments and StatefulSets (:deploy, :sts)"
        if action.startswith("rollout_"):
            return f"rollout {LABELS[action]} works on Deployments, StatefulSets and DaemonSets (:deploy, :sts, :ds)"
        return f"{LABELS.get(action, action)} is not available for this kind"

    def _who(self, user: str) -> dict[str, Any]:
        ws = self.host.workspace
        return {"context": ws.profile.context, "namespace": ws.session.namespace, "user": user}

    async def _flow(self, action: str, spec: KindSpec, keys: list[str]) -> None:
        ws = self.host.workspace
        targets = tuple(Target(spec.id, name, ns) for ns, name in (spec.split_key(k) for k in keys))
        user = await ws.access.user()
        who = self._who(user)
        if action in MUTATING_ACTIONS and ws.readonly:
            self.journal.append("refused", action, targets=targets, reason="read-only", **who)
            self.host.say(f"read-only: {LABELS[action]} {self._names(targets)} not sent "
                          f"(context {ws.profile.context!r} is read-only)", severity="warning")
            return
        namespaces: list[str | None] = [*sorted({t.namespace for t in targets if t.namespace})] or [None]
        denied = await ws.access.first_denied(verbs(action, spec, namespaces))
        if denied:
            self.journal.append("refused", action, targets=targets, reason=denied, **who)
            self.host.say(denied, severity="error")
            return
        api: KubeAPI = ClearForbidden(ws.api, user)
        try:
            if action == "rollout_status":
                await self._show_status(api, spec, targets[0])
                return
            if action == "rollout_history":
                await self._show_history(api, spec, targets[0])
                return
            if action == "drain":
                await self._drain(api, targets, who)
                return
            plan = await self._plan(api, action, spec, targets)
        except ValueError as exc:
            self.host.say(str(exc), severity="error")
            return
        except EcotuiError as exc:
            self.host.say(exc.message, severity="error")
            return
        if plan is None:
            return
        if not await self._confirm(plan.preview):
            self.journal.append("cancelled", action, targets=targets, params=plan.preview.params, **who)
            self.host.say(f"{LABELS[action]}: cancelled, nothing sent", timeout=3)
            return
        self.journal.requested(plan.preview, **who)
        try:
            outcome = await plan.apply(api)
        except EcotuiError as exc:
            outcome = Outcome(action, False, exc.message, plan.preview.targets)
        self._done(plan.preview, outcome, who)

    def _done(self, preview: Preview, outcome: Outcome, who: dict[str, Any]) -> None:
        self.last_outcome = outcome
        if not self.journal.outcome(preview, outcome, **who):
            self.host.say(f"could not write the journal: {self.journal.last_error}", severity="error")
        self.host.say(outcome.message, severity="information" if outcome.ok else "error",
                      timeout=6 if outcome.ok else 12)

    @staticmethod
    def _names(targets: Sequence[Target]) -> str:
        names = ", ".join(t.key for t in targets[:3])
        return names + (f" (+{len(targets) - 3})" if len(targets) > 3 else "")

    # ---- dialogs -------------------------------------------------------------------------------

    async def _form(self, title: str, fields: list[Field], parse: Callable[[Mapping[str, str]], Any]) -> Any:
        """The parsed form values, or CANCEL."""
        got = await self.app.push_screen_wait(self.host.screen_class(FormScreen)(title, fields, _check(parse)))
        if got is None:
            return CANCEL
        return parse(got)

    async def _confirm(self, preview: Preview) -> bool:
        ws = self.host.workspace
        hints = self.host.hints(("confirm", "back"), {"confirm": "confirm", "back": "cancel"})
        screen = self.host.screen_class(ConfirmScreen)(
            preview, context=ws.profile.context, namespace=ws.session.namespace,
            critical=ws.profile.critical, hints=hints)
        return bool(await self.app.push_screen_wait(screen))

    # ---- plans ---------------------------------------------------------------------------------

    async def _plan(self, api: KubeAPI, action: str, spec: KindSpec, targets: tuple[Target, ...]) -> Plan | None:
        names = [t.name for t in targets]
        if action in ("cordon", "uncordon"):
            return await plan_cordon(api, names, action == "cordon")
        if action == "delete":
            kind = spec.kind.lower()
            grace = await self._form(f"Delete {len(targets)} {kind}" + ("" if len(targets) == 1 else "s"),
                                     [Field("grace", "grace period in seconds (empty: the object's own)", "")],
                                     lambda v: parse_grace(v["grace"]))
            if grace is CANCEL:
                return None
            return await plan_delete(api, spec, [t.key for t in targets], grace)
        t = targets[0]
        ns = t.namespace or ""
        if len(targets) > 1:
            self.host.say(f"{LABELS[action]} applies to one {spec.kind} at a time: using {t.key}", severity="warning")
        if action == "scale":
            current = self._replicas(spec, t.key)
            n = await self._form(f"Scale {spec.kind.lower()} {t.key}",
                                 [Field("replicas", "replicas (a whole number ≥ 0)", current)],
                                 lambda v: (parse_replicas(v["replicas"]), v["replicas"])[1])
            if n is CANCEL:
                return None
            return await plan_scale(api, spec.id, ns, t.name, n)
        if action == "rollout_undo":
            rev = await self._form(f"Undo rollout of {spec.kind.lower()} {t.key}",
                                   [Field("revision", "to revision (0: the previous one; see history with "
                                                      f"{self.host.hints(('rollout_history',), {}) or 'history'})",
                                          "0")],
                                   _parse_revision)
            if rev is CANCEL:
                return None
            return await plan_undo(api, spec.id, ns, t.name, rev)
        if action == "rollout_restart":
            return await plan_restart(api, spec.id, ns, t.name)
        if action == "rollout_pause":
            return await plan_pause(api, spec.id, ns, t.name)
        if action == "rollout_resume":
            return await plan_resume(api, spec.id, ns, t.name)
        raise ValueError(f"{action}: not an action ecotui knows")

    def _replicas(self, spec: KindSpec, key: str) -> str:
        obj = self.host.workspace.session.snapshot(spec.id).items.get(key)
        n = getattr(getattr(obj, "spec", None), "replicas", None)
        return str(n) if isinstance(n, int) else ""

    # ---- read-only views -------------------------------------------------------------------------

    async def _show_status(self, api: KubeAPI, spec: KindSpec, t: Target) -> None:
        title = f"rollout status {spec.kind.lower()} {t.key}"

        async def text() -> str:
            try:
                st = await rollout_status(api, spec.id, t.namespace or "", t.name)
            except EcotuiError as exc:
                return f"(could not read the rollout: {exc.message})"
            head = "STUCK: " if st.stuck else ("done: " if st.done else "in progress: ")
            return head + "\n".join(st.lines)

        screen: RolloutStatusScreen

        async def reload() -> None:
            screen.set_text(await text())

        hints = self.host.hints(TextScreen.HINT_IDS, {"back": "back", "scroll_down": "down", "scroll_up": "up",
                                                      "quit": "quit"})
        screen = self.host.screen_class(RolloutStatusScreen)(title, await text(), hints, reload)
        await self.app.push_screen(screen)

    async def _show_history(self, api: KubeAPI, spec: KindSpec, t: Target) -> None:
        revs = await rollout_history(api, spec.id, t.namespace or "", t.name)
        lines = [f"{'REVISION':<9} {'CHANGE-CAUSE':<40} IMAGES"]
        for r in revs:
            mark = "*" if r.current else " "
            lines.append(f"{mark}{r.number:<8} {(r.change_cause or '<none>'):<40} {', '.join(r.images)}"
                         + (f"   ({r.created})" if r.created else ""))
        if not revs:
            lines.append("no rollout history found")
        lines.append("")
        lines.append("* = current revision; undo with the rollout_undo key (0 = previous revision)")
        hints = self.host.hints(TextScreen.HINT_IDS, {"back": "back", "scroll_down": "down", "scroll_up": "up",
                                                      "quit": "quit"})
        await self.app.push_screen(self.host.screen_class(TextScreen)(
            f"rollout history {spec.kind.lower()} {t.key}", "\n".join(lines), hints))

    # ---- drain ---------------------------------------------------------------------------------

    async def _drain(self, api: KubeAPI, targets: tuple[Target, ...], who: dict[str, Any]) -> None:
        if self._drain_task is not None and not self._drain_task.done():
            self.host.say(f"a drain of {self.drain_progress.node if self.drain_progress else 'a node'} is running: "
                          f"cancel it first ({self.host.hints(('cancel_drain',), {}) or 'cancel_drain'})",
                          severity="warning")
            return
        opts = await self._form(f"Drain {self._names(targets)}", _drain_form(), parse_drain_options)
        if opts is CANCEL:
            return
        plans: list[DrainPlan] = [await plan_drain(api, t.name, opts) for t in targets]
        ns = {ref.namespace for p in plans for ref in p.evict}
        denied = await self.host.workspace.access.first_denied(eviction_verbs(ns))
        lines: list[str] = []
        warnings: list[str] = []
        blocked = [f"{p.node}: {p.preview.blocked}" for p in plans if p.preview.blocked]
        for p in plans:
            if len(plans) > 1:
                lines.append(f"── node {p.node}")
            lines.extend(p.preview.lines)
            warnings.extend(p.preview.warnings)
        preview = Preview("drain", targets, tuple(lines), tuple(warnings),
                          blocked=denied or "; ".join(blocked), params=dict(plans[0].preview.params))
        if not await self._confirm(preview):
            if not preview.blocked:
                self.journal.append("cancelled", "drain", targets=targets, params=preview.params, **who)
            self.host.say("drain: cancelled, nothing sent", timeout=3)
            return
        self._drain_task = asyncio.create_task(self._run_drains(api, plans, opts, who))

    async def _run_drains(self, api: KubeAPI, plans: list[DrainPlan], opts: DrainOptions,
                          who: dict[str, Any]) -> None:
        ticker = asyncio.create_task(self._tick())
        try:
            for plan in plans:
                run = DrainRun(api, plan, opts)
                self.drain = run
                self.journal.requested(plan.preview, **who)
                try:
                    outcome = await run.run()
                except EcotuiError as exc:
                    outcome = Outcome("drain", False, exc.message, plan.preview.targets)
                self.drain_progress = run.snapshot()
                self._done(plan.preview, outcome, who)
                if self.drain_progress.phase == "cancelled":
                    break
        finally:
            ticker.cancel()
            self.drain = None
            self.host.task_panels_show(self.drain_progress)

    async def _tick(self) -> None:
        while True:
            if self.drain is not None:
                self.drain_progress = self.drain.snapshot()
                self.host.task_panels_show(self.drain_progress)
            await asyncio.sleep(PANEL_EVERY)

    def cancel_drain(self) -> bool:
        """Cancel the running drain; when none runs, close the finished drain's panel. False if neither."""
        if self.drain is not None:
            self.drain.cancel()
            self.host.say("cancelling the drain (the node stays cordoned; drain again to resume)", timeout=4)
            return True
        if self.drain_progress is not None:
            self.drain_progress = None
            self.host.task_panels_show(None)
            return True
        return False

    @property
    def drain_running(self) -> bool:
        return self._drain_task is not None and not self._drain_task.done()


def _parse_revision(v: Mapping[str, str]) -> int:
    s = v.get("revision", "").strip() or "0"
    if not s.isdigit():
        raise ValueError(f"revision must be a whole number ≥ 0 (0: the previous one), got {s!r}")
    return int(s)
