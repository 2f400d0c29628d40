"""A periodic refresh that never overlaps itself and can be paused (a pane that is not visible).

`Refresher(fn, interval)`: `start()` runs `await fn()` every `interval` seconds in an asyncio task — the next
run starts `interval` after the previous one *started*, or at once after it ends if it overran; never two at
once. `pause()` / `resume()` (no run while paused; resume runs at once if a run is due), `kick()` runs now
(still never overlapping), `stop()` cancels. `fn` errors are kept in `last_error` and never stop the loop —
the fn is expected to turn failures into readings itself. Runs are counted (`runs`) for the benchmarks.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Refresher:
    def __init__(self, fn: Callable[[], Awaitable[None]], interval: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fn, self.interval, self.clock = fn, interval, clock
        self.runs = 0
        self.running = False
        self.last_error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._paused = False
        self._last_start = -1e18

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._wake.set()

    def kick(self) -> None:
        """Run as soon as the current run (if any) ends."""
        self._last_start = -1e18
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    async def _loop(self) -> None:
        while True:
            due = self._last_start + self.interval - self.clock()
            if self._paused or due > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), None if self._paused else due)
                except asyncio.TimeoutError:
                    pass
                continue
            self._last_start = self.clock()
            self.running = True
            try:
                await self.fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - kept for the pane; the loop goes on
                self.last_error = exc
            finally:
                self.running = False
                self.runs += 1
