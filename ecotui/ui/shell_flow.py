"""[shell] on a table row: an interactive shell in a container, the cockpit suspended meanwhile.

    request_shell(app, kind, keys)      # the App calls it on StreamRequested("shell", …)

pods row (or a workload/Service row → one of its ready pods) → refused in read-only (exec starts a process:
one line, nothing sent) → SelfSubjectAccessReview `create pods/exec` (denied: one line) → the pod's containers
(a picker when there are several; the `kubectl.kubernetes.io/default-container` annotation preselected) →
`App.suspend()` with every repaint held (`batch_update`) → `ecotui.podexec.shell.interactive_shell` on the
app's own event loop (port-forwards and informers keep running) → the app resumes and repaints; how the shell
ended is said in one line. Every step is journalled like the other actions that start something in the cluster.
"""
from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from ecotui.errors import EcotuiError
from ecotui.kinds.registry import by_id
from ecotui.ops.outcome import Target
from ecotui.podexec.run import exec_verbs
from ecotui.podexec.checks import resolve_pod
from ecotui.podexec.shell import ShellResult, Terminal, interactive_shell
from ecotui.textsafe import one_line
from ecotui.ui.screens.pickers import PickerScreen

RESOLVED = {"deployments": "deploy", "statefulsets": "sts", "daemonsets": "ds", "replicasets": "rs",
            "services": "svc"}
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def request_shell(app: Any, kind: str, keys: list[str]) -> None:
    if not keys:
        app.say("shell: no row selected", severity="warning")
        return
    if kind != "pods" and kind not in RESOLVED:
        app.say("shell works on pods (and on a Deployment, StatefulSet, DaemonSet or Service: one of its ready pods)",
                severity="warning")
        return
    namespace, name = by_id(kind).split_key(keys[0])
    if namespace is None:
        app.say("shell: this row has no namespace", severity="warning")
        return
    app.run_worker(_flow(app, kind, namespace, name), group="shell", exclusive=True, exit_on_error=False)


async def _flow(app: Any, kind: str, namespace: str, name: str) -> None:
    ws = app.workspace
    target = Target(kind, name, namespace)
    user = await ws.access.user()

    def journal(event: str, t: Target, **extra: Any) -> None:
        app.journal.append(event, "shell", context=ws.profile.context, namespace=namespace, user=user,
                           targets=[t], **extra)

    if ws.readonly:
        journal("refused", target, reason="read-only")
        app.say(f"read-only: shell into {namespace}/{name} refused, nothing sent (exec starts a process in the "
                f"cluster; context {ws.profile.context!r} is read-only)", severity="warning")
        return
    try:
        denied = await ws.access.first_denied(exec_verbs(namespace))
        if denied:
            journal("refused", target, reason=denied)
            app.say(denied, severity="error")
            return
        pod = name if kind == "pods" else await resolve_pod(ws.api, namespace, f"{RESOLVED[kind]}/{name}")
        obj = await ws.api.get(f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}")
    except (EcotuiError, ValueError) as exc:
        app.say(f"shell: {exc.message if isinstance(exc, EcotuiError) else exc}", severity="error")
        return
    containers = [str(c.get("name", "")) for c in ((obj or {}).get("spec") or {}).get("containers") or ()]
    container: str | None = containers[0] if containers else None
    if len(containers) > 1:
        preferred = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER)
        chosen = await app.push_screen_wait(app.screen_class(PickerScreen)(
            f"Shell: container of {one_line(pod, 60)}", containers,
            preferred if preferred in containers else containers[0]))
        if not chosen:
            return
        container = chosen
    where = f"{namespace}/{pod}" + (f" [{container}]" if container else "")
    journal("requested", Target("pods", pod, namespace), params={"container": container})
    try:
        banner = f"ecotui: shell in {where} (context {ws.profile.context}); exit or Ctrl-D returns to ecotui"
        result = await run_suspended(app, lambda: interactive_shell(ws.api, namespace, pod, container,
                                                                     Terminal.stdio(), banner=banner))
    except EcotuiError as exc:
        journal("failed", Target("pods", pod, namespace), reason=exc.message)
        app.say(f"shell in {where}: {exc.message}", severity="error")
        return
    except Exception as exc:  # noqa: BLE001 - the terminal is back; say it in one line, never a traceback
        why = one_line(str(exc), 200) or type(exc).__name__
        journal("failed", Target("pods", pod, namespace), reason=why)
        app.say(f"shell in {where} failed: {why}", severity="error")
        return
    journal("done", Target("pods", pod, namespace), exit_code=result.exit_code, message=result.message)
    app.say(outcome_line(where, result), severity="warning" if result.message else "information", timeout=6)


def outcome_line(where: str, result: ShellResult) -> str:
    if result.message:
        return result.message
    shell = " ".join(result.command)
    return f"shell ({shell}) in {where} ended" + (f" with exit code {result.exit_code}" if result.exit_code else "")


async def run_suspended(app: Any, run: Callable[[], Awaitable[ShellResult]]) -> ShellResult:
    """Run the shell with the app suspended (the terminal back in its original mode, Textual's input thread
    stopped) and nothing drawn until it is resumed; the event loop keeps running. Raises EcotuiError when this
    terminal cannot be suspended (a headless or web driver)."""
    from textual.app import SuspendNotSupported
    with app.batch_update():        # outermost: repaints resume only once the driver is back
        try:
            suspended = app.suspend()
            suspended.__enter__()
        except (SuspendNotSupported, RuntimeError):   # RuntimeError: no driver at all
            raise EcotuiError("a shell needs ecotui running in a terminal (this one cannot be suspended)") from None
        try:
            return await run()
        finally:
            with contextlib.suppress(Exception):
                suspended.__exit__(None, None, None)
            app.refresh(layout=True)
            with contextlib.suppress(Exception):
                app.screen.refresh(layout=True)
