"""Bounded streams of object events: merge-patches of one annotation at a fixed rate, on bench pods
(`PodEventStream`) or on deployments (`DeploymentEventStream`, for the `:deploy` view).

Runs in its own thread with its own event loop, authenticates with the testbed's admin certificate (so the
generator's own requests stay out of the audited user's log), and stops at `stop()` or after `max_seconds`
(at most rate × max_seconds patches). An annotation patch changes only metadata: no new ReplicaSet, no new
pod, no generation bump. `clear_annotation` removes the annotation from the deployments afterwards.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

import httpx

from .toolenv import paths, ports

ANNOTATION = "ecotui.bench/tick"


def pick_pods(namespace: str, n: int = 500) -> list[str]:
    from testbed.kube import get_json
    items = get_json(f"/api/v1/namespaces/{namespace}/pods", limit=n)["items"]
    return [p["metadata"]["name"] for p in items]


@dataclass
class StreamStats:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def pick_deployments(prefer_namespace: str = "bench", n: int = 200) -> list[str]:
    """API paths of deployments to patch: those in `prefer_namespace` if it has any, else all namespaces'."""
    from testbed.kube import get_json
    items = get_json(f"/apis/apps/v1/namespaces/{prefer_namespace}/deployments", limit=n)["items"]
    if not items:
        items = get_json("/apis/apps/v1/deployments", limit=n)["items"]
    return [f"/apis/apps/v1/namespaces/{d['metadata']['namespace']}/deployments/{d['metadata']['name']}"
            for d in items]


def clear_annotation(paths_: list[str], key: str = ANNOTATION) -> int:
    """Remove the bench annotation from the objects again (bounded: one patch each). Returns failures."""
    from testbed.components import admin_ssl
    body = json.dumps({"metadata": {"annotations": {key: None}}})
    failed = 0
    with httpx.Client(base_url=f"https://{ports.HOST}:{ports.APISERVER}", timeout=10,
                      verify=admin_ssl(paths.pki_dir())) as c:
        for p in paths_[:1000]:
            try:
                r = c.patch(p, content=body, headers={"Content-Type": "application/merge-patch+json"})
                failed += r.status_code >= 300 and r.status_code != 404
            except httpx.HTTPError:
                failed += 1
    return failed


class PatchStream:
    """Merge-patch ANNOTATION on the objects at `paths_` (round robin) at `rate` per second."""

    def __init__(self, paths_: list[str], rate: float = 50.0, max_seconds: float = 90.0,
                 concurrency: int = 16) -> None:
        if not paths_:
            raise ValueError("no objects to patch")
        self.paths, self.rate = list(paths_), rate
        self.max_seconds, self.concurrency = max_seconds, concurrency
        self.stats = StreamStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> "PatchStream":
        self._thread.start()
        return self

    def stop(self) -> StreamStats:
        self._stop.set()
        self._thread.join(timeout=self.max_seconds + 30)
        return self.stats

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    async def _main(self) -> None:
        from testbed.components import admin_ssl
        sem = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task] = set()
        async with httpx.AsyncClient(base_url=f"https://{ports.HOST}:{ports.APISERVER}", timeout=10,
                                     verify=admin_ssl(paths.pki_dir()),
                                     limits=httpx.Limits(max_connections=self.concurrency)) as c:
            async def one(i: int) -> None:
                path = self.paths[i % len(self.paths)]
                body = json.dumps({"metadata": {"annotations": {ANNOTATION: str(i)}}})
                async with sem:
                    try:
                        r = await c.patch(path, content=body,
                                          headers={"Content-Type": "application/merge-patch+json"})
                        if r.status_code < 300:
                            self.stats.ok += 1
                        else:
                            self.stats.failed += 1
                    except httpx.HTTPError:
                        self.stats.failed += 1

            t0 = time.monotonic()
            max_n = int(self.rate * self.max_seconds)
            for i in range(max_n):
                if self._stop.is_set():
                    break
                due = t0 + i / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.stats.sent += 1
                task = asyncio.create_task(one(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks, timeout=15)
            self.stats.seconds = time.monotonic() - t0


class PodEventStream(PatchStream):
    def __init__(self, namespace: str, pods: list[str], rate: float = 50.0, max_seconds: float = 90.0,
                 concurrency: int = 16) -> None:
        if not pods:
            raise ValueError(f"no pods to patch in namespace {namespace!r}")
        self.namespace, self.pods = namespace, pods
        super().__init__([f"/api/v1/namespaces/{namespace}/pods/{p}" for p in pods], rate, max_seconds, concurrency)


class DeploymentEventStream(PatchStream):
    """Annotation patches on deployments (API paths from `pick_deployments`)."""
