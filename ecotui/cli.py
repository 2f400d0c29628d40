"""Command line: `ecotui [--kubeconfig PATH] [--context NAME] [-n NS | -A] [--readonly] [--theme NAME]
[--keymap PATH] [--config PATH] [--version]`.

Everything that can fail because of the user's files or the cluster is checked before the TUI takes
the terminal: config, kubeconfig, context, theme name, then a short preflight (connect, GET /version,
first list of each kind) inside the same event loop the app will run in, so the session started
here is the one the app uses. A problem prints one line (`ecotui: <message>`, plus an optional
`  hint: ...` line) on stderr and exits with status 2. An unexpected exception prints one line and
the path of a crash log, never a traceback.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ecotui import __version__
from ecotui.errors import ConnectError, EcotuiError

EXIT_USAGE = 2
EXIT_CRASH = 1
PREFLIGHT_TIMEOUT = 5.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecotui", description="Terminal cockpit for on-call Kubernetes (EKS).")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current-context)")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", metavar="NS", help="show one namespace")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="show all namespaces")
    p.add_argument("--readonly", action="store_true", help="read-only mode (no actions that change the cluster)")
    p.add_argument("--theme", metavar="NAME", help="colour theme (dark, light, high-contrast, ansi16, ...)")
    p.add_argument("--keymap", metavar="PATH", help="user keymap YAML (overrides keymaps.yaml per action id)")
    p.add_argument("--config", metavar="PATH", help="config file (default: ~/.config/ecotui/config.yaml)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def fail(err: EcotuiError, stream: Any = None) -> int:
    stream = stream or sys.stderr
    print(f"ecotui: {err.message}", file=stream)
    if err.hint:
        print(f"  hint: {err.hint}", file=stream)
    return EXIT_USAGE


async def preflight(session: Any, timeout: float = PREFLIGHT_TIMEOUT,
                    meanwhile: Callable[[], object] | None = None) -> None:
    """Start the session and wait (up to `timeout` in all) for the first answer of its informers.
    `meanwhile` (blocking work such as importing the UI) runs once the first LIST requests are on their way,
    so it overlaps with the API server's answer instead of delaying it.

    Raises EcotuiError when the server cannot be reached, rejects the credentials, or forbids
    listing pods. Other kinds failing (e.g. nodes forbidden for a namespace-scoped user) is left
    to the header inside the app.
    """
    from ecotui.kube.store import ConnState

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        await asyncio.wait_for(session.start(), timeout)
    except asyncio.TimeoutError:
        raise ConnectError(f"{session.server}: no answer within {timeout:g} s",
                           "check the network or VPN, and the server URL in the kubeconfig") from None
    if meanwhile is not None:
        await asyncio.sleep(0.01)  # the informers send their first LIST
        meanwhile()
    while loop.time() < deadline:
        informers = getattr(session, "informers", None)
        pods = informers.get("pods") if isinstance(informers, dict) else None
        conn = pods.connection if pods is not None else session.connection
        if conn.state is ConnState.ERROR:
            raise EcotuiError(conn.message or "cannot list pods",
                              "check RBAC (kubectl auth can-i list pods), or pick another namespace with -n")
        if conn.state is not ConnState.CONNECTING:
            return
        await asyncio.sleep(0.01)


async def _run(factory: Any, context: str, app_kwargs: dict[str, Any]) -> int:
    workspace = factory.build(context)

    def import_ui() -> None:
        import ecotui.ui.app  # noqa: F401 - ~0.3 s of imports, while the server builds the first page

    try:
        await preflight(workspace.session, meanwhile=import_ui)
    except BaseException:
        await workspace.stop()
        raise
    from ecotui.ui.app import EcotuiApp

    app = EcotuiApp(workspace, workspace_factory=factory.build, start_workspace=False, contexts=factory.contexts,
                    **app_kwargs)
    try:
        await app.run_async()
    finally:
        await app.workspace.stop()
    return app.return_code or 0


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        print(f"ecotui {__version__}")
        return 0
    from ecotui import malloc_tune

    malloc_tune.tune()  # memory stays flat under a long log stream (see the module)
    from ecotui.config import load_config
    from ecotui.keymap import load_keymap
    from ecotui.kube.kubeconfig import load_kubeconfig
    from ecotui.themes import load_themes_with_problems

    config = load_config(args.config)
    kubeconfig = load_kubeconfig(args.kubeconfig)
    ctx = kubeconfig.context(args.context)
    themes, theme_problems = load_themes_with_problems(None)
    if args.theme and args.theme not in themes:
        raise EcotuiError(f"unknown theme {args.theme!r}; available: {', '.join(themes) or '(none)'}",
                          "pick one of those with --theme")
    theme = args.theme or config.theme
    keymap, keymap_problems = load_keymap(args.keymap or config.keymap)
    from ecotui.workspace import WorkspaceFactory

    factory = WorkspaceFactory(kubeconfig, config, first_context=ctx.name, namespace=args.namespace,
                               all_namespaces=args.all_namespaces, readonly=args.readonly)
    from ecotui.ops.journal import Journal

    app_kwargs: dict[str, Any] = dict(
        keymap=keymap, keymap_problems=keymap_problems, themes=themes, theme_problems=theme_problems, theme=theme,
        journal=Journal(Path(config.journal) if config.journal else None), log_buffer_lines=config.log_buffer_lines,
        incident=config.incident)
    return asyncio.run(_run(factory, ctx.name, app_kwargs))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except EcotuiError as err:
        return fail(err)
    except KeyboardInterrupt:
        print("ecotui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns a crash into one line
        from ecotui.ui.crash import crash_message, write_crash_log

        print(crash_message(exc, write_crash_log(exc)), file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
