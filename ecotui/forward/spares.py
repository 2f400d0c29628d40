"""Pre-opened port-forward streams of one forward, so a new local connection does not wait for a WebSocket
handshake through the API server (~25 ms on the testbed; kubectl opens an SPDY stream on its one connection).

Adaptive: the pool wants 1 spare; a connection that finds none ready doubles that (up to MAX_SPARES — a client
opening connections back to back needs handshake time / request time of them in flight); every spare unused for
`ttl` seconds is closed and lowers it by one. An idle forward therefore holds no stream after `ttl` seconds and
opens none until the next connection. Spares are for one pod: asking for another pod drops the others.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..kube.channels import ChannelStream
from .resolve import Resolved

SPARE_TTL = 5.0
MAX_SPARES = 8

Opened = tuple[ChannelStream, bool]   # the stream, and whether its port headers were already read


@dataclass(eq=False)
class _Spare:
    fut: asyncio.Future[Opened]
    pod: str
    timer: asyncio.TimerHandle | None = None


def _quiet(t: asyncio.Future[Any]) -> None:
    if not t.cancelled():
        t.exception()


class SparePool:
    def __init__(self, open_stream: Callable[[Resolved], Awaitable[ChannelStream]], *, ttl: float = SPARE_TTL,
                 max_size: int = MAX_SPARES) -> None:
        self._open = open_stream
        self.ttl = ttl
        self.max_size = max_size
        self.want = 1
        self._spares: list[_Spare] = []
        self._closers: set[asyncio.Task[None]] = set()
        self.opened = 0      # streams opened ahead (tests, diagnostics)
        self.hits = 0        # connections served by a ready spare

    def __len__(self) -> int:
        return len(self._spares)

    def keep(self, res: Resolved, stream: ChannelStream, headers_seen: bool = True) -> None:
        """Hold an already open stream (the readiness probe's) as a spare."""
        fut: asyncio.Future[Opened] = asyncio.get_running_loop().create_future()
        fut.set_result((stream, headers_seen))
        self._add(res.pod, fut)

    async def take(self, res: Resolved) -> Opened:
        """A stream to res's pod port: a ready spare, else the oldest one still opening, else a new one. Raises
        what opening raises (EcotuiError kinds)."""
        for sp in [s for s in self._spares if s.pod != res.pod]:
            self._remove(sp)
        ready = next((s for s in self._spares if s.fut.done() and not s.fut.cancelled()
                      and s.fut.exception() is None and not s.fut.result()[0].closed), None)
        got: Opened | None = None
        if ready is not None:
            self._spares.remove(ready)
            self._stop_timer(ready)
            got = ready.fut.result()
            self.hits += 1
        else:
            self.want = min(self.want * 2, self.max_size)
            pending = next((s for s in self._spares if not s.fut.done()), None)
            for sp in [s for s in self._spares if s.fut.done()]:   # failed or closed: useless
                self._remove(sp)
            if pending is not None:
                self._spares.remove(pending)
                self._stop_timer(pending)
                self.refill(res)
                await asyncio.wait({pending.fut})   # our own cancellation still raises here
                fut = pending.fut
                if not fut.cancelled() and fut.exception() is None and not fut.result()[0].closed:
                    got = fut.result()
        self.refill(res)
        if got is None:
            got = (await self._open(res), False)
        return got

    def refill(self, res: Resolved) -> None:
        while len(self._spares) < self.want:
            self.opened += 1
            self._add(res.pod, asyncio.ensure_future(self._opening(res)))

    async def _opening(self, res: Resolved) -> Opened:
        return await self._open(res), False

    def clear(self) -> None:
        """Close every spare (the pod changed, the forward stopped)."""
        for sp in list(self._spares):
            self._remove(sp)
        self.want = 1

    async def aclose(self) -> None:
        self.clear()
        if self._closers:
            await asyncio.wait(list(self._closers), timeout=3)

    # ---- internals ----

    def _add(self, pod: str, fut: asyncio.Future[Opened]) -> None:
        fut.add_done_callback(_quiet)
        sp = _Spare(fut, pod)
        sp.timer = asyncio.get_running_loop().call_later(self.ttl, self._expire, sp)
        self._spares.append(sp)

    def _expire(self, sp: _Spare) -> None:
        if sp in self._spares:
            self._remove(sp)
            self.want = max(1, self.want - 1)

    @staticmethod
    def _stop_timer(sp: _Spare) -> None:
        if sp.timer is not None:
            sp.timer.cancel()
            sp.timer = None

    def _remove(self, sp: _Spare) -> None:
        if sp in self._spares:
            self._spares.remove(sp)
        self._stop_timer(sp)
        fut = sp.fut
        if not fut.done():
            fut.cancel()

        async def closing() -> None:
            try:
                stream, _ = await fut
            except BaseException:  # noqa: BLE001 - failed or cancelled: nothing to close
                return
            await stream.close()

        c = asyncio.ensure_future(closing())
        self._closers.add(c)
        c.add_done_callback(self._closers.discard)
