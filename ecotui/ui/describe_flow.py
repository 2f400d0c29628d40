"""[describe] on a table row: a text screen built from the cache at once, then from a fresh GET.

    describe(app, pane, key)      # the App calls it on DescribeRequested

The caches keep only what the tables show, so the description is built from a fresh GET of the full object (a pod
with its events; a node with the pods scheduled on it and its events, and EC2 details for an EC2 node); until that
answers, and if it fails, it is built from the cached struct (saying so). Event rows describe the pod or node they
are about when it is cached. The GETs run in workers of the app (group "describe"); a failure is a line in the text.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.kinds.describing import describe_fresh
from ecotui.kinds.registry import by_id
from ecotui.kube.describe import describe_node, describe_pod
from ecotui.textsafe import one_line
from ecotui.ui.help_text import event_text
from ecotui.ui.screens.text_view import DescribeScreen

LOADING = "(loading the full description…)\n"


def describe(app: Any, pane: str, key: str) -> None:
    now = app.clock()
    obj = app.session.snapshot(pane).items.get(key)
    if obj is None:
        return
    if pane not in ("events", "nodes", "pods"):
        spec = by_id(pane)
        screen = _show(app, f"{spec.kind.lower()} {key}", LOADING)
        _load(app, lambda: describe_fresh(app.session, spec, key, app.clock()), screen)
        return
    if pane == "events":
        ref = obj.involvedObject
        ns = ref.namespace or obj.metadata.namespace
        if ref.kind == "Pod" and f"{ns}/{ref.name}" in app.session.snapshot("pods").items:
            describe(app, "pods", f"{ns}/{ref.name}")
        elif ref.kind == "Node" and ref.name in app.session.snapshot("nodes").items:
            describe(app, "nodes", ref.name)
        else:
            _show(app, f"event {key}", event_text(obj, now))
        return
    if pane == "nodes":
        screen = _show(app, f"node {key}", LOADING + describe_node(obj, _cached_pods_on(app, key), now))
        _load(app, lambda: _node_text(app, screen, obj), screen)
        return
    screen = _show(app, f"pod {key}", LOADING + describe_pod(obj, [], now))
    _load(app, lambda: _pod_text(app, obj), screen)


def _cached_pods_on(app: Any, node: str) -> list[Any]:
    return [p for p in app.session.snapshot("pods").items.values() if p.spec.nodeName == node]


def _show(app: Any, title: str, text: str) -> DescribeScreen:
    hints = app.hints(DescribeScreen.HINT_IDS, {"back": "back", "scroll_down": "down", "scroll_up": "up",
                                                "quit": "quit"})
    screen = app.screen_class(DescribeScreen)(title, text, hints)
    app.push_screen(screen)
    return screen


def _load(app: Any, text: Callable[[], Awaitable[str]], screen: DescribeScreen) -> None:
    """Set the screen's text to what `text()` returns, in a worker."""
    async def run() -> None:
        screen.set_text(await text())
    app.run_worker(run(), group="describe", exit_on_error=False)


async def _fetch(app: Any, method: str, *args: str) -> tuple[Any, str]:
    """(result, "") or (None, why not) for one describe GET of the session (if it has `method`)."""
    fn = getattr(app.session, method, None)
    if fn is None:
        return None, "not supported by this session"
    try:
        return await fn(*args), ""
    except EcotuiError as exc:
        return None, exc.message
    except Exception as exc:  # noqa: BLE001 - shown in the description, never a crash
        return None, f"{type(exc).__name__}: {exc}"


async def _pod_text(app: Any, cached: Any) -> str:
    md = cached.metadata
    (pod, why), (events, events_why) = await asyncio.gather(_fetch(app, "get_pod", md.namespace, md.name),
                                                            _fetch(app, "pod_events", md.namespace, md.name))
    text = describe_pod(pod if pod is not None else cached, list(events or []), app.clock())
    if pod is None:
        text = f"(showing cached data: the pod could not be loaded: {one_line(why, 200)})\n" + text
    if events is None:
        text += f"\nEvents could not be loaded: {one_line(events_why, 200)}\n"
    return text


async def _node_text(app: Any, screen: DescribeScreen, cached: Any) -> str:
    name = cached.metadata.name
    (node, why), (pods, pods_why), (events, _) = await asyncio.gather(
        _fetch(app, "get_node", name), _fetch(app, "node_pods", name), _fetch(app, "node_events", name))
    text = describe_node(node if node is not None else cached,
                         pods if pods is not None else _cached_pods_on(app, name), app.clock(), events)
    notes = []
    if node is None:
        notes.append(f"the node could not be loaded: {one_line(why, 200)}")
    if pods is None:
        notes.append(f"its pods could not be listed: {one_line(pods_why, 200)}")
    if notes:
        text = f"(showing cached data: {'; '.join(notes)})\n" + text
    provider = getattr(getattr(node, "spec", None), "providerID", "") if node is not None else ""
    if provider.startswith("aws://"):   # EC2 details (issue 12), after the rest is shown; never for other nodes
        screen.set_text(text)
        from ecotui.ui.aws_flow import ec2_section
        text += "\n" + (await ec2_section(app, provider) or "EC2:\n  (not an EC2 instance)\n")
    return text
