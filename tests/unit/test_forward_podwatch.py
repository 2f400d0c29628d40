"""The forward's pod watch: an old pod's own resourceVersion is outside the API server's watch window (410 at
once); the watch then goes on from a LIST's current resourceVersion, and nothing ever spins."""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from types import SimpleNamespace

from ecotui.forward.podwatch import watch_pod
from ecotui.forward.resolve import Resolved
from ecotui.kube.client import HttpStatusError

POD = {"metadata": {"name": "p", "namespace": "ns", "resourceVersion": "5"},
       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


class FakeAPI:
    def __init__(self, window_from: int, end: str = "deleted") -> None:
        self.window_from, self.end = window_from, end
        self.gets: list[dict] = []
        self.watches: list[str] = []

    async def get(self, path, type_=None, *, params=None):
        assert path == "/api/v1/namespaces/ns/pods" and params == {"fieldSelector": "metadata.name=p"}
        self.gets.append(params)
        return {"metadata": {"resourceVersion": "900"}, "items": [POD]}

    @asynccontextmanager
    async def watch(self, path, *, params, timeout_seconds):
        self.watches.append(params["resourceVersion"])
        if int(params["resourceVersion"]) < self.window_from:
            raise HttpStatusError("too old resource version", status=410)

        async def events():
            if self.end == "deleted":
                yield SimpleNamespace(type="DELETED", object=json.dumps(POD).encode())
        yield events()


def res() -> Resolved:
    return Resolved("ns", "p", 8080, None, resource_version="5", ready=True)


async def test_an_old_pods_410_goes_on_from_the_lists_resource_version():
    api = FakeAPI(window_from=800)
    why = await asyncio.wait_for(watch_pod(api, res(), True), 5)
    assert why == "was deleted"
    assert api.watches == ["5", "900"] and len(api.gets) == 1


async def test_watches_that_keep_failing_or_ending_at_once_back_off():
    for api in (FakeAPI(window_from=10_000), FakeAPI(window_from=0, end="nothing")):
        t0 = time.monotonic()
        task = asyncio.ensure_future(watch_pod(api, res(), True))
        await asyncio.sleep(2.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert time.monotonic() - t0 < 3
        assert 2 <= len(api.watches) <= 6, api.watches     # a tight loop would make thousands
