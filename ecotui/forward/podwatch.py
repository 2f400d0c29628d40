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


async def get_pod(api: Any, res: Resolved) -> dict:
    """The pod now; PodGone when it no longer exists."""
    try:
        pod = await api.get(object_path("pod", res.namespace, res.pod))
    except HttpStatusError as e:
        if e.status == 404:
            raise PodGone() from None
        raise
    return pod if isinstance(pod, dict) else {}


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
    "is being deleted", "is Pending", "is not ready"). 410 and lost watches: GET the pod and watch on."""
    path = object_path("pod", res.namespace)
    rv, was_ready, failures = res.resource_version, res.ready, 0
    while True:
        try:
            if not rv:
                raise Relist()
            params = {"fieldSelector": f"metadata.name={res.pod}", "resourceVersion": rv,
                      "allowWatchBookmarks": "true"}
            async with api.watch(path, params=params, timeout_seconds=WATCH_SECONDS) as events:
                failures = 0
                async for ev in events:
                    if ev.type == "ERROR":
                        raise Relist()
                    obj = msgspec.json.decode(ev.object)
                    if not isinstance(obj, dict):
                        continue
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if ev.type == "BOOKMARK":
                        continue
                    if ev.type == "DELETED":
                        return "was deleted"
                    why = verdict(obj, movable, was_ready)
                    if why:
                        return why
                    was_ready = was_ready or is_ready(obj)
        except asyncio.CancelledError:
            raise
        except (Relist, HttpStatusError, EcotuiError, msgspec.DecodeError) as e:
            if not isinstance(e, (Relist, HttpStatusError)) or (isinstance(e, HttpStatusError)
                                                                  and e.status != 410):
                failures += 1
                await asyncio.sleep(min(0.5 * failures, 3.0))
            try:
                pod = await get_pod(api, res)
            except PodGone:
                return "was deleted"
            except EcotuiError:
                rv = ""
                continue
            rv = (pod.get("metadata") or {}).get("resourceVersion", "")
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
