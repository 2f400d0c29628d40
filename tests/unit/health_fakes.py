"""A fake ForwardManager for the health and forwards tests: start/wait_ready/restart/stop/remove/views/version
with scripted failures; each forward's URL is http://127.0.0.1:<fake port> (an httpx MockTransport answers)."""
from __future__ import annotations

import asyncio
import itertools

from ecotui.errors import EcotuiError
from ecotui.forward.model import ForwardSpec, ForwardState, ForwardView


class FakeForwardError(EcotuiError):
    pass


class FakeManager:
    def __init__(self) -> None:
        self._views: dict[str, ForwardView] = {}
        self._ports = itertools.count(41000)
        self._ids = itertools.count(1)
        self.version = 0
        self.start_errors: dict[str, str] = {}      # target name -> ForwardError at start (port in use ...)
        self.ready_errors: dict[str, str] = {}      # target name -> ForwardError from wait_ready
        self.calls: list[tuple[str, str]] = []
        self.ready_delay = 0.0

    def _bump(self) -> None:
        self.version += 1

    def start(self, spec: ForwardSpec) -> str:
        self.calls.append(("start", spec.target.name))
        if spec.target.name in self.start_errors:
            raise FakeForwardError(self.start_errors[spec.target.name])
        for v in self._views.values():
            if v.spec == spec and v.state not in (ForwardState.STOPPED, ForwardState.FAILED):
                return v.id
        fid = f"f{next(self._ids)}"
        port = spec.local_port or next(self._ports)
        self._views[fid] = ForwardView(fid, spec, ForwardState.STARTING, f"{spec.address}:{port}", None, None,
                                       0, 0, 0, 0, 1000.0,
                                       warning="" if spec.address.startswith("127.") else "not loopback")
        self._bump()
        return fid

    async def wait_ready(self, id: str, timeout: float = 10.0) -> ForwardView:
        if self.ready_delay:
            await asyncio.sleep(self.ready_delay)
        v = self._views[id]
        err = self.ready_errors.get(v.spec.target.name)
        if err:
            self._views[id] = ForwardView(**{**v.__dict__, "state": ForwardState.FAILED, "error": err})
            self._bump()
            raise FakeForwardError(err)
        pod = f"{v.spec.target.namespace}/{v.spec.target.name}-abc12"
        self._views[id] = ForwardView(**{**v.__dict__, "state": ForwardState.ACTIVE, "pod": pod, "pod_port": 8080})
        self._bump()
        return self._views[id]

    def set(self, id: str, **kw) -> None:
        self._views[id] = ForwardView(**{**self._views[id].__dict__, **kw})
        self._bump()

    def stop(self, id: str) -> None:
        self.calls.append(("stop", id))
        self.set(id, state=ForwardState.STOPPED, connections=0)

    def restart(self, id: str) -> None:
        self.calls.append(("restart", id))
        self.set(id, state=ForwardState.STARTING, error="")

    def remove(self, id: str) -> None:
        self.calls.append(("remove", id))
        self._views.pop(id, None)
        self._bump()

    def views(self) -> list[ForwardView]:
        return list(self._views.values())

    def view(self, id: str) -> ForwardView | None:
        return self._views.get(id)

    async def close(self) -> None:
        for fid in list(self._views):
            self.stop(fid)
