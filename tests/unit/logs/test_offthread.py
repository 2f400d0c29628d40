"""ThreadedSource: a source on its own thread and loop delivering to the UI loop — every line once and in order,
on the UI loop's thread, coalesced while that loop is busy; cancellation stops the thread and closes its client;
an inner exception surfaces from run(); a finite source ends after its last line. KubeClient.sibling(): its
credentials are loaded on the owner's loop. And the whole Kubernetes path (open.kube_opened) on a fake API."""
from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from typing import Any

import httpx
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_logs import T0, FakeCluster, pod  # noqa: E402

from ecotui.errors import AuthError  # noqa: E402
from ecotui.kube.auth import Authenticator, Credentials, LoopAuthProxy  # noqa: E402
from ecotui.kube.client import KubeClient  # noqa: E402
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo  # noqa: E402
from ecotui.logs.model import Kind, LogLine, Selection, Sink, SourceState, SourceStatus  # noqa: E402
from ecotui.logs.offthread import ThreadedSource  # noqa: E402
from ecotui.logs.open import kube_opened  # noqa: E402


class NumberedSource:
    """Emits `batches` batches of `per` numbered lines from its own loop (a yield between batches), then ends
    (or, `forever`, keeps emitting one line every 5 ms, at most 10 s); `fail` raises after the lines."""

    name = "fake"

    def __init__(self, batches: int = 200, per: int = 5, *, forever: bool = False, fail: bool = False) -> None:
        self.batches, self.per, self.forever, self.fail = batches, per, forever, fail
        self._status = SourceStatus(SourceState.CONNECTING, "starting")
        self.threads: set[int] = set()
        self.cancelled = False
        self.emitted = 0
        self.sink_calls = 0

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def description(self) -> str:
        return f"numbers ({self.emitted})"

    def _emit(self, sink: Sink, n: int) -> None:
        sink([LogLine(0, str(self.emitted + i), "s") for i in range(n)])
        self.emitted += n
        self.sink_calls += 1

    async def run(self, sink: Sink) -> None:
        self.threads.add(threading.get_ident())
        self._status = SourceStatus(SourceState.LIVE, "", 1)
        try:
            for _ in range(self.batches):
                self._emit(sink, self.per)
                await asyncio.sleep(0)
            if self.fail:
                raise ValueError("boom")
            for _ in range(2000 if self.forever else 0):  # bounded: 10 s
                self._emit(sink, 1)
                await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self._status = SourceStatus(SourceState.DONE)


class Closer:
    def __init__(self) -> None:
        self.calls: list[int] = []

    async def __call__(self) -> None:
        self.calls.append(threading.get_ident())


class Collect:
    def __init__(self) -> None:
        self.batches: list[list[LogLine]] = []
        self.threads: set[int] = set()

    def __call__(self, lines: Any) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(list(lines))

    @property
    def numbers(self) -> list[int]:
        return [int(ln.text) for b in self.batches for ln in b]


def our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ecotui-logs")]


async def test_every_line_once_in_order_on_the_ui_thread_and_a_finite_run_returns_after_the_last():
    inner, closer, got = NumberedSource(batches=400, per=7), Closer(), Collect()
    src = ThreadedSource(inner, on_close=closer)
    await asyncio.wait_for(src.run(got), 10)
    assert got.numbers == list(range(400 * 7))               # all, once, in order, before run returned
    assert got.threads == {threading.get_ident()}            # delivered on the UI loop's thread
    assert inner.threads and threading.get_ident() not in inner.threads   # the source ran elsewhere
    assert closer.calls == list(inner.threads)               # its client closed on its own thread
    assert src.thread is not None and not src.thread.is_alive()
    assert our_threads() == []
    assert src.status.state is SourceState.DONE and src.description == "numbers (2800)"


async def test_batches_are_coalesced_while_the_ui_loop_is_busy():
    inner, got = NumberedSource(batches=300, per=3), Collect()
    src = ThreadedSource(inner)
    task = asyncio.ensure_future(src.run(got))
    await asyncio.sleep(0)                    # the thread starts
    time.sleep(0.3)                           # the UI loop is busy (a long repaint, a GC pause)
    await asyncio.wait_for(task, 10)
    assert got.numbers == list(range(900))
    assert inner.sink_calls == 300
    assert src.deliveries == len(got.batches) < 300 / 2


async def test_a_backlog_is_handed_over_in_pieces_with_other_callbacks_in_between():
    inner, got = NumberedSource(batches=100, per=10), Collect()
    src = ThreadedSource(inner, max_batch=64)
    order: list[str] = []

    def sink(lines: Any) -> None:
        got(lines)
        order.append("sink")
        if len(order) == 1:
            asyncio.get_running_loop().call_soon(order.append, "key")   # a keypress arriving meanwhile

    task = asyncio.ensure_future(src.run(sink))
    await asyncio.sleep(0)
    time.sleep(0.3)                           # the whole backlog piles up
    await asyncio.wait_for(task, 10)
    assert got.numbers == list(range(1000))
    assert max(len(b) for b in got.batches) <= 64 and len(got.batches) >= 1000 // 64
    assert order.index("key") <= 2            # handled between two pieces, not after the whole backlog


async def test_cancel_stops_the_thread_closes_its_client_and_delivers_nothing_after():
    inner, closer, got = NumberedSource(batches=1, per=1, forever=True), Closer(), Collect()
    src = ThreadedSource(inner, on_close=closer)
    task = asyncio.ensure_future(src.run(got))
    end = time.monotonic() + 5
    while len(got.numbers) < 20 and time.monotonic() < end:
        await asyncio.sleep(0.01)
    assert len(got.numbers) >= 20 and src.status.state is SourceState.LIVE
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert inner.cancelled
    assert closer.calls == list(inner.threads) and closer.calls[0] != threading.get_ident()
    assert our_threads() == [] and src.thread is not None and not src.thread.is_alive()
    n = len(got.numbers)
    await asyncio.sleep(0.05)
    assert len(got.numbers) == n
    assert got.numbers == list(range(n))      # what arrived is in order, no duplicate
    await src.aclose()                        # Opened.close afterwards: nothing more to do
    assert len(closer.calls) == 1


async def test_cancel_right_after_start_still_closes():
    inner, closer = NumberedSource(forever=True), Closer()
    src = ThreadedSource(inner, on_close=closer)
    task = asyncio.ensure_future(src.run(Collect()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert len(closer.calls) == 1 and our_threads() == []


async def test_an_exception_of_the_inner_source_surfaces_from_run_after_its_lines():
    inner, closer, got = NumberedSource(batches=3, per=2, fail=True), Closer(), Collect()
    src = ThreadedSource(inner, on_close=closer)
    with pytest.raises(ValueError, match="boom"):
        await asyncio.wait_for(src.run(got), 5)
    assert got.numbers == list(range(6))
    assert len(closer.calls) == 1 and our_threads() == []


async def test_close_when_never_run_and_run_only_once():
    closer = Closer()
    src = ThreadedSource(NumberedSource(), on_close=closer)
    assert src.name == "fake" and src.status.message == "starting"
    await src.aclose()
    assert len(closer.calls) == 1 and closer.calls[0] != threading.get_ident()
    await src.aclose()
    assert len(closer.calls) == 1
    with pytest.raises(RuntimeError):
        await src.run(Collect())


# ---- KubeClient.sibling(): credentials on the owner's loop ------------------------------------------


class CountingAuth:
    """Stands in for an Authenticator: counts loads and remembers on which thread they ran."""

    def __init__(self) -> None:
        self.user = UserInfo(name="u", token="t")
        self.refreshable = True
        self.method = "token"
        self.threads: list[int] = []
        self.reloads = 0
        self._lock = asyncio.Lock()   # bound to the first loop that uses it, as the Authenticator's
        self.serial = 1

    async def credentials(self) -> Credentials:
        async with self._lock:
            self.threads.append(threading.get_ident())
            return Credentials(f"Bearer t{self.serial}", serial=self.serial)

    async def reload(self, rejected: Credentials) -> Credentials:
        async with self._lock:
            self.threads.append(threading.get_ident())
            self.reloads += 1
            if rejected.serial == self.serial:
                self.serial += 1
            return Credentials(f"Bearer t{self.serial}", serial=self.serial)


async def test_sibling_loads_credentials_on_the_owner_loop_and_reloads_after_401():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") == "Bearer t1":
            return httpx.Response(401, json={"kind": "Status", "message": "expired", "code": 401})
        return httpx.Response(200, json={"gitVersion": "v1.31.0"})

    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    auth = CountingAuth()
    owner = KubeClient(cluster, auth, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    sib = owner.sibling()
    assert isinstance(sib.auth, LoopAuthProxy) and sib.gate is owner.gate and sib.timeout == owner.timeout
    assert sib.auth.user.name == "u" and sib.auth.refreshable and sib.auth.method == "token"
    assert sib._http is None                                   # made on the loop that uses it

    def elsewhere() -> tuple[Any, Any, int]:
        async def go() -> tuple[Any, Any]:
            try:
                return await sib.get("/version"), await sib.get("/version")
            finally:
                await sib.aclose()
        a, b = asyncio.run(go())
        return a, b, threading.get_ident()

    a, b, tid = await asyncio.wait_for(asyncio.to_thread(elsewhere), 10)
    assert a["gitVersion"] == b["gitVersion"] == "v1.31.0"
    assert seen == ["Bearer t1", "Bearer t2", "Bearer t2"]      # one 401, one reload, then the new token
    assert auth.reloads == 1 and len(auth.threads) == 3
    assert set(auth.threads) == {threading.get_ident()} != {tid}  # every load on the owner's loop thread
    assert owner.sibling().auth.loop is sib.auth.loop           # type: ignore[union-attr]
    await owner.aclose()


async def test_a_cancelled_caller_does_not_cancel_the_load_on_the_owner_loop():
    class Slow(CountingAuth):
        def __init__(self) -> None:
            super().__init__()
            self.finished = 0

        async def credentials(self) -> Credentials:
            await asyncio.sleep(0.3)            # an exec plugin running
            self.finished += 1
            return await super().credentials()

    auth = Slow()
    proxy = LoopAuthProxy(auth, asyncio.get_running_loop())  # type: ignore[arg-type]

    def elsewhere() -> bool:
        async def go() -> bool:
            t = asyncio.ensure_future(proxy.credentials())
            await asyncio.sleep(0.05)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                return True
            return False
        return asyncio.run(go())

    assert await asyncio.wait_for(asyncio.to_thread(elsewhere), 5)
    end = time.monotonic() + 3
    while not auth.finished and time.monotonic() < end:
        await asyncio.sleep(0.02)
    assert auth.finished == 1 and auth.threads == [threading.get_ident()]


async def test_sibling_auth_after_the_owner_loop_closed_is_one_line():
    auth = Authenticator(UserInfo(name="u", token="t"), ClusterInfo(name="c", server="http://127.0.0.1:9"))
    dead = asyncio.new_event_loop()
    dead.close()
    with pytest.raises(AuthError, match="ecotui is closing"):
        await LoopAuthProxy(auth, dead).credentials()


# ---- the Kubernetes path: open.kube_opened ---------------------------------------------------------


async def test_kube_source_on_its_own_thread_follows_and_closes_its_client():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    fake.add("ns/a/app", T0 + 1, "a1")
    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    owner = KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster),
                       transport=httpx.MockTransport(fake.handler))
    opened = kube_opened(owner, Selection(workload=("deployments", "ns/web")), "using the Kubernetes API")
    src = opened.source
    assert isinstance(src, ThreadedSource) and src.name == "kubernetes" and opened.note
    client = src.inner.client                                   # type: ignore[attr-defined]
    got = Collect()
    task = asyncio.ensure_future(src.run(got))

    async def until(cond: Any, what: str) -> None:
        end = time.monotonic() + 5
        while not cond():
            assert time.monotonic() < end, f"timed out: {what}; {src.status}"
            assert not task.done(), task
            await asyncio.sleep(0.01)

    def texts() -> list[str]:
        return [ln.text for b in got.batches for ln in b if ln.kind is Kind.LINE]

    await until(lambda: texts() == ["a1"], "backfill")
    for i in range(2, 200):
        fake.add("ns/a/app", T0 + i, f"a{i}")
    await until(lambda: len(texts()) == 199, "live lines")
    assert texts() == [f"a{i}" for i in range(1, 200)]
    assert got.threads == {threading.get_ident()}
    assert "ns/web" in src.description and src.status.state in (SourceState.LIVE, SourceState.BACKFILL)
    assert client._logs_http is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    await opened.close()
    assert client._logs_http is None and our_threads() == []   # the sibling was closed on its thread
    assert fake.n_open() == 0
    await owner.aclose()


async def test_tasks_an_inner_source_leaves_behind_are_cancelled_on_its_thread():
    class Leaky(NumberedSource):
        def __init__(self) -> None:
            super().__init__(batches=2, per=1)
            self.left: list[asyncio.Task[None]] = []
            self.stopped = False

        async def run(self, sink: Sink) -> None:
            async def forever() -> None:
                try:
                    await asyncio.sleep(60)
                finally:
                    self.stopped = True
            self.left.append(asyncio.ensure_future(forever()))
            await super().run(sink)

    inner, got = Leaky(), Collect()
    await asyncio.wait_for(ThreadedSource(inner).run(got), 5)
    assert got.numbers == [0, 1] and inner.stopped and inner.left[0].cancelled()
    assert our_threads() == []


async def test_pending_lines_stay_bounded_when_the_ui_is_slower_and_nothing_is_lost():
    """A source far faster than the UI loop: the thread waits for room (its loop with it), the lines waiting
    for the UI never exceed max_pending + one batch, and every line still arrives once, in order."""
    inner = NumberedSource(batches=400, per=500)            # 200,000 lines as fast as the thread can make them
    src = ThreadedSource(inner, max_batch=2000, max_pending=10_000)
    got: list[str] = []
    peak = 0

    def sink(lines: Any) -> None:
        nonlocal peak
        peak = max(peak, src._pending_lines)
        got.extend(x.text for x in lines)
        time.sleep(0.002)                                  # a slow viewer: 2 ms per 2,000 lines

    await asyncio.wait_for(src.run(sink), 60)
    assert got == [str(i) for i in range(200_000)]
    assert src.waits > 0
    assert peak <= 10_000 + 500


async def test_cancel_while_the_thread_waits_for_room_stops_it():
    inner = NumberedSource(batches=400, per=500)
    src = ThreadedSource(inner, max_batch=100, max_pending=1_000)
    seen: list[int] = []
    blocked = threading.Event()

    def sink(lines: Any) -> None:
        seen.append(len(lines))
        if len(seen) == 3:
            blocked.set()
            time.sleep(0.3)                                # the UI is busy: the thread fills up and waits

    task = asyncio.ensure_future(src.run(sink))
    for _ in range(500):
        if blocked.is_set() and src.waits:
            break
        await asyncio.sleep(0.01)
    assert src.waits > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert src.thread is not None and not src.thread.is_alive()
    assert inner.cancelled


async def test_the_gil_switch_interval_is_short_while_a_source_runs_and_restored_after():
    before = sys.getswitchinterval()
    inner = NumberedSource(batches=5, per=1, forever=True)
    src = ThreadedSource(inner)
    seen: list[float] = []
    task = asyncio.ensure_future(src.run(lambda lines: seen.append(sys.getswitchinterval())))
    for _ in range(500):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen and max(seen) <= 0.001
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sys.getswitchinterval() == before
