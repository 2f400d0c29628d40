"""A bounded stream of pod events: merge-patches of one annotation on bench pods at a fixed rate.

Runs in its own thread with its own event loop, authenticates with the testbed's admin certificate (so the
generator's own requests stay out of the audited user's log), and stops at `stop()` or after `max_seconds`.
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


class PodEventStream:
    def __init__(self, namespace: str, pods: list[str], rate: float = 50.0, max_seconds: float = 90.0,
                 concurrency: int = 16) -> None:
        if not pods:
            raise ValueError(f"no pods to patch in namespace {namespace!r}")
        self.namespace, self.pods, self.rate = namespace, pods, rate
        self.max_seconds, self.concurrency = max_seconds, concurrency
        self.stats = StreamStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> "PodEventStream":
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
                name = self.pods[i % len(self.pods)]
                body = json.dumps({"metadata": {"annotations": {ANNOTATION: str(i)}}})
                async with sem:
                    try:
                        r = await c.patch(f"/api/v1/namespaces/{self.namespace}/pods/{name}", content=body,
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
