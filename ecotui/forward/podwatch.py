"""Watching the pod a forward uses (fieldSelector metadata.name=POD, from the resourceVersion it was resolved at):
why a forward should move to another pod. Used by the manager's supervisor."""
from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from ..errors import EcotuiError
from ..kube.client import HttpStatusError
from .resolve import Resolved, is_ready, object_path

WATCH_SECONDS = 240


class PodGone(Exception):
    pass


class Relist(Exception):
    pass


async def get_pod(api: Any, res: Resolved) -> tuple[dict, str]:
    """The pod now and a resourceVersion to watch it from; PodGone when it no longer exists. A LIST by name, not
    a GET: the list's resourceVersion is current, while the object's own is that of its last change — an hour-old
    one is outside the API server's watch window and every watch from it would end at once in 410."""
    body = await api.get(object_path("pod", res.namespace), params={"fieldSelector": f"metadata.name={res.pod}"})
    items = body.get("items") if isinstance(body, dict) else None
    if not items or not isinstance(items[0], dict):
        raise PodGone()
    return items[0], str((body.get("metadata") or {}).get("resourceVersion") or "")


def verdict(pod: dict, movable: bool, was_ready: bool) -> str | None:
    """Why a forward should leave this pod (None: stay). A pod target (not movable) never leaves it."""
    if not movable:
        return None
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "is being deleted"
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        return f"is {phase or 'not running'}"
    if was_ready and not is_ready(pod):
        return "is not ready"
    return None


async def watch_pod(api: Any, res: Resolved, movable: bool) -> str:
    """Watch the pod in use from the resourceVersion it was read at; return why to leave it ("was deleted",
    "is being deleted", "is Pending", "is not ready"). 410 and lost watches: LIST the pod by name and watch on
    from the list's resourceVersion; repeated relists and empty watches back off (0.5 s steps, at most 3 s)."""
    path = object_path("pod", res.namespace)
    rv, was_ready, failures, relists = res.resource_version, res.ready, 0, 0
    while True:
        try:
            if not rv:
                raise Relist()
            params = {"fieldSelector": f"metadata.name={res.pod}", "resourceVersion": rv,
                      "allowWatchBookmarks": "true"}
            async with api.watch(path, params=params, timeout_seconds=WATCH_SECONDS) as events:
                failures = 0
                got_event = False
                async for ev in events:
                    if ev.type == "ERROR":
                        raise Relist()
                    obj = msgspec.json.decode(ev.object)
                    if not isinstance(obj, dict):
                        continue
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if not got_event:
                        got_event, relists = True, 0
                    if ev.type == "BOOKMARK":
                        continue
                    if ev.type == "DELETED":
                        return "was deleted"
                    why = verdict(obj, movable, was_ready)
                    if why:
                        return why
                    was_ready = was_ready or is_ready(obj)
            if not got_event:     # ended without a single event (a proxy cutting it): never a tight loop
                relists += 1
                await asyncio.sleep(min(0.5 * relists, 3.0))
        except asyncio.CancelledError:
            raise
        except (Relist, HttpStatusError, EcotuiError, msgspec.DecodeError) as e:
            if not isinstance(e, (Relist, HttpStatusError)) or (isinstance(e, HttpStatusError)
                                                                  and e.status != 410):
                failures += 1
                await asyncio.sleep(min(0.5 * failures, 3.0))
            else:
                relists += 1      # a watch that keeps ending at once never spins: the second relist in a row waits
                if relists > 1:
                    await asyncio.sleep(min(0.5 * relists, 3.0))
            try:
                pod, rv = await get_pod(api, res)
            except PodGone:
                return "was deleted"
            except EcotuiError:
                rv = ""
                continue
            why = verdict(pod, movable, was_ready)
            if why:
                return why
            was_ready = was_ready or is_ready(pod)


async def watch_or_kick(api: Any, res: Resolved, movable: bool, kick: asyncio.Event) -> str:
    """`watch_pod`, or sooner when a connection found the pod gone (`kick`): why to leave the pod (a pod target:
    only once it is really deleted)."""
    watch = asyncio.ensure_future(watch_pod(api, res, movable))
    kicked = asyncio.ensure_future(kick.wait())
    try:
        await asyncio.wait({watch, kicked}, return_when=asyncio.FIRST_COMPLETED)
        if watch.done():
            return watch.result()
        if movable:
            return "could not be reached (not found)"
        try:
            await get_pod(api, res)
        except PodGone:
            return "was deleted"
        return await watch
    finally:
        for t in (watch, kicked):
            t.cancel()
        await asyncio.gather(watch, kicked, return_exceptions=True)
