"""What the e2e tests that drive the real app share: the app on the testbed (all namespaces) and a bounded
wait on the pilot."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ecotui.config import Config
from ecotui.keymap import load_keymap
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.ui.app import EcotuiApp
from ecotui.workspace import WorkspaceFactory


def make_app(tb, config: Config | None = None, **kw: Any) -> EcotuiApp:
    keymap, problems = load_keymap()
    assert not problems
    factory = WorkspaceFactory(load_kubeconfig(str(tb.kubeconfig)), config or Config(), first_context=tb.context,
                               all_namespaces=True)
    return EcotuiApp(factory.build(tb.context), keymap=keymap, **kw)


async def wait(pilot, pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `pred` every 0.1 s (letting the app run) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {timeout}s: {what}")


async def until(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """The same bounded wait without an app: poll `pred` every `interval` seconds until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {what}")
