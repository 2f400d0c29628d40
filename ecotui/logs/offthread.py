"""`ThreadedSource`: a log source run on a thread of its own, with its own asyncio loop, so its per-line work
(reading, splitting, timestamps, de-dup, LogLine) never queues in front of the UI loop's key handling.

    source = ThreadedSource(KubeLogSource(client.sibling(), selection), on_close=sibling.aclose)
    await source.run(sink)        # on the UI loop; `sink` is called there, with batches in order

`run(sink)` starts a daemon thread that runs `inner.run(thread_sink)` on a new event loop. `thread_sink`
appends each batch to a pending list under a lock and, when no delivery is scheduled yet, schedules one
`deliver` on the UI loop (`call_soon_threadsafe`); `deliver` takes the pending list and calls `sink` once
(batches arriving while the UI loop is busy are coalesced; order is kept, nothing is dropped or repeated) —
with at most `max_batch` lines, the rest in the next `deliver`, queued behind what is ready meanwhile. At most
`max_pending` lines wait for the UI loop: above that the thread waits for room (backpressure onto the server;
memory stays bounded when the viewer is the slower side).
`status`, `description` and `name` read through to the inner source (its status is an immutable object
replaced atomically).

Ending: a finite inner source (previous / no follow) makes `run` return after its last line was delivered;
an exception of the inner source is delivered after its lines and raised from `run` on the UI loop;
cancelling `run` cancels the inner task on the thread's loop and waits (without blocking the UI loop) for
the thread to finish. In every case `on_close()` (e.g. the thread's KubeClient.aclose) is awaited on the
thread's loop before it closes, and nothing reaches `sink` once `run` has returned (lines still pending
when `run` is cancelled are not delivered: the viewer asked to stop)."""
from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .model import LogLine, LogSource, Sink, SourceStatus

__all__ = ["ThreadedSource"]

MAX_BATCH = 5000  # lines per sink call: a big backlog is handed over in pieces, key events in between
MAX_PENDING = 5_000  # lines waiting for the UI loop: above it the thread waits (its loop stops reading, so the
                     # server holds the rest: the kube stream's TCP window, Loki's tail → dropped_entries → the
                     # source reads them back from history) — memory stays bounded when the UI is the slower side
                     # (10,000 kept ~20k lines in flight during a Loki catch-up: RSS +5 MiB after it)
SWITCH_S = 0.001  # the GIL switch interval while a threaded source runs (Python's default 5 ms): the UI thread,
                  # waking from select() for a key, waits at most this long for a thread busy parsing lines
STOP_WAIT = 10.0  # s: how long a cancelled `run` waits for the thread (it is a daemon thread either way)


class ThreadedSource:
    """A LogSource running `inner` on its own thread and event loop (see the module docstring)."""

    def __init__(self, inner: LogSource, *, on_close: Callable[[], Awaitable[None]] | None = None,
                 thread_name: str = "", max_batch: int = MAX_BATCH, max_pending: int = MAX_PENDING) -> None:
        self.inner = inner
        self.max_batch = max_batch
        self.max_pending = max(max_pending, 1)
        self.name = inner.name
        self._on_close = on_close
        self._thread_name = thread_name or f"ecotui-logs-{inner.name}"
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)               # signalled when pending lines were taken
        self._pending: collections.deque[list[LogLine]] = collections.deque()   # batches, in order
        self._pending_lines = 0
        self._stopping = False                                     # no more waiting for room (cancel / exit)
        self.waits = 0                                             # times the thread waited for room (tests)
        self._scheduled = False
        self._sink: Sink | None = None
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None       # the thread's loop, while it exists
        self._task: asyncio.Task[None] | None = None              # inner.run on the thread's loop
        self._cancel_requested = False                            # only read/written on the thread's loop
        self._done: asyncio.Future[BaseException | None] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False                                      # on_close has run (or was not needed)
        self.deliveries = 0                                       # sink calls (diagnostics, tests)

    # ---- LogSource ----------------------------------------------------------------------------

    @property
    def status(self) -> SourceStatus:
        return self.inner.status

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    async def run(self, sink: Sink) -> None:
        if self._thread is not None or self._closed:
            raise RuntimeError("a ThreadedSource runs once")
        ui_loop = asyncio.get_running_loop()
        self._ui_loop, self._sink = ui_loop, sink
        done: asyncio.Future[BaseException | None] = ui_loop.create_future()
        self._done = done
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, args=(loop, ui_loop, done),
                                        name=self._thread_name, daemon=True)
        _switch.enter()
        self._thread.start()
        try:
            error = await asyncio.shield(done)
        except asyncio.CancelledError:
            self._sink = None            # nothing more reaches the viewer
            try:
                await self._stopped()
            finally:
                _switch.leave()
            raise
        try:
            await self._joined()
            await self._deliver_all()    # what the thread emitted last (a scheduled deliver then finds nothing)
        finally:
            self._sink = None
            _switch.leave()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Stop the thread if it runs (waiting for it without blocking this loop) and make sure `on_close`
        ran. For `Opened.close`; safe to call more than once and when `run` never started."""
        self._sink = None
        if self._done is not None:
            await self._stopped()
            return
        if not self._closed:
            self._closed = True
            if self._on_close is not None:  # never ran: close on a loop of its own, as the thread would
                close = self._on_close
                await asyncio.to_thread(lambda: asyncio.run(_call(close)))

    async def _stopped(self) -> None:
        """Cancel the inner source and wait until the thread has ended (at most STOP_WAIT s)."""
        done = self._done
        if done is not None and not done.done():
            self._stop_thread()
            await asyncio.wait({done}, timeout=STOP_WAIT)
        await self._joined()

    async def _joined(self) -> None:
        """The thread resolves `done` as its last act: it ends a moment later (waited for without blocking)."""
        t, done = self._thread, self._done
        if t is None or done is None or not done.done():
            return
        end = time.monotonic() + STOP_WAIT
        while t.is_alive() and time.monotonic() < end:
            await asyncio.sleep(0.001)

    # ---- the thread ---------------------------------------------------------------------------

    def _thread_main(self, loop: asyncio.AbstractEventLoop, ui_loop: asyncio.AbstractEventLoop,
                     done: asyncio.Future[BaseException | None]) -> None:
        asyncio.set_event_loop(loop)
        error: BaseException | None = None
        try:
            try:
                loop.run_until_complete(self._inner_main())
            except asyncio.CancelledError:
                pass
            except BaseException as e:  # noqa: BLE001 - handed to the UI loop, raised from run()
                error = e
            finally:
                try:
                    if self._on_close is not None:
                        loop.run_until_complete(_call(self._on_close))
                except BaseException as e:  # noqa: BLE001 - a failed close must not hide the source's error
                    error = error or e
                finally:
                    self._closed = True
                    try:
                        _cancel_leftovers(loop)
                        loop.run_until_complete(loop.shutdown_asyncgens())
                        loop.run_until_complete(loop.shutdown_default_executor())
                    finally:
                        asyncio.set_event_loop(None)
                        loop.close()
        finally:
            try:
                ui_loop.call_soon_threadsafe(_resolve, done, error)
            except RuntimeError:  # the UI loop is closed: nobody waits
                pass

    async def _inner_main(self) -> None:
        self._task = asyncio.current_task()
        if self._cancel_requested:
            return
        await self.inner.run(self._thread_sink)

    def _cancel_inner(self) -> None:  # on the thread's loop
        self._cancel_requested = True
        if self._task is not None:
            self._task.cancel()

    def _stop_thread(self) -> None:
        with self._lock:             # a sink waiting for room returns, so the thread's loop can run the cancel
            self._stopping = True
            self._room.notify_all()
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._cancel_inner)
        except RuntimeError:  # its loop is closed already: the thread is ending on its own
            pass

    def _thread_sink(self, lines: Sequence[LogLine]) -> None:  # on the thread
        if not lines:
            return
        with self._lock:
            self._pending.append(list(lines))
            self._pending_lines += len(lines)
            schedule = not self._scheduled
            self._scheduled = True
        ui = self._ui_loop
        assert ui is not None
        if schedule:
            try:
                ui.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the UI loop is closed: ecotui is exiting
                self._stopping = True
        with self._lock:   # backpressure: wait (this thread's loop with it) until the UI loop took enough
            waited = False
            for _ in range(1 << 30):
                if self._pending_lines <= self.max_pending or self._stopping or self._sink is None:
                    break
                if not waited:
                    waited = True
                    self.waits += 1
                self._room.wait(0.5)

    # ---- the UI loop --------------------------------------------------------------------------

    def _deliver(self) -> None:
        """Hand what is pending to the sink, at most `max_batch` lines per call: the rest goes to the back of
        the UI loop's ready queue (one delivery scheduled at a time, so order holds) and a keypress that came
        in meanwhile is handled first."""
        with self._lock:
            batch = self._take()
            more = bool(self._pending)
            self._scheduled = more
        if more:
            assert self._ui_loop is not None
            self._ui_loop.call_soon(self._deliver)
        sink = self._sink
        if batch and sink is not None:
            self.deliveries += 1
            sink(batch)

    def _take(self) -> list[LogLine]:
        """Up to `max_batch` pending lines, oldest first (under the lock); wakes a thread waiting for room."""
        out: list[LogLine] = []
        pending = self._pending
        while pending and len(out) < self.max_batch:
            room = self.max_batch - len(out)
            head = pending[0]
            if len(head) <= room:
                out.extend(pending.popleft())
            else:
                out.extend(head[:room])
                pending[0] = head[room:]
        self._pending_lines -= len(out)
        if out:
            self._room.notify_all()
        return out

    async def _deliver_all(self) -> None:
        """Everything still pending (the thread has ended: `run` returns after this), in pieces as `_deliver`."""
        for _ in range(1 << 30):
            with self._lock:
                batch = self._take()
            if not batch or self._sink is None:
                return
            self.deliveries += 1
            self._sink(batch)
            await asyncio.sleep(0)


class _SwitchInterval:
    """sys.setswitchinterval(SWITCH_S) while at least one threaded source runs; the previous value after."""

    def __init__(self) -> None:
        self.users = 0
        self.saved = 0.0

    def enter(self) -> None:
        if self.users == 0:
            self.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(self.saved, SWITCH_S))
        self.users += 1

    def leave(self) -> None:
        self.users = max(0, self.users - 1)
        if self.users == 0 and self.saved:
            sys.setswitchinterval(self.saved)


_switch = _SwitchInterval()   # entered and left on the UI loop's thread only


def streams_running() -> bool:
    """True while at least one ThreadedSource runs (the UI's garbage-collection rules ask)."""
    return _switch.users > 0


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Tasks the inner source left behind (it should not): cancelled and awaited, as asyncio.run does."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def _call(fn: Callable[[], Awaitable[Any]]) -> None:
    await fn()


def _resolve(fut: asyncio.Future[BaseException | None], error: BaseException | None) -> None:
    if not fut.done():
        fut.set_result(error)
