"""LokiSource against an in-test real-Loki-like server: exactly-once delivery across 1011/1006 drops, a killed and
restarted server, Loki's max-duration close and our own renewal; gap markers; dropped_entries refilled; status."""
from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from loki_fake import FakeLoki, TailSpec  # noqa: E402

from ecotui.logs.loki import DEDUP_KEYS, REFILL_LOOKBACK_LINES, LokiSource, _Dedup  # noqa: E402
from ecotui.logs.loki_client import LokiClient, LokiConfig  # noqa: E402
from ecotui.logs.model import NS, Kind, LogLine, SourceState, SourceStatus  # noqa: E402

A = {"app": "a", "namespace": "ns", "pod": "a-1", "container": "c"}
B = {"app": "b", "namespace": "ns", "pod": "b-1", "container": "c"}


class Rec(LokiSource):
    """Records every status it sets."""

    def __init__(self, *a, **kw) -> None:
        self.history: list[SourceStatus] = []
        super().__init__(*a, **kw)

    def _set(self, state: SourceState, message: str = "", streams: int = 0) -> None:
        super()._set(state, message, streams)
        self.history.append(self.status)


class Feed:
    def __init__(self, fake: FakeLoki) -> None:
        self.fake = fake
        self.n = 0
        self.last = 0
        self.texts: list[str] = []

    def push(self, live: bool = True, ts: int | None = None) -> str:
        self.n += 1
        if ts is None:
            ts = self.last = max(self.last + 1, time.time_ns())
        text = f"line {self.n}"
        self.fake.add(A if self.n % 2 else B, ts, text, live=live)
        self.texts.append(text)
        return text


async def until(cond, timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def loki():
    fake = await FakeLoki().start()
    yield fake
    await fake.hard_stop()


class Run:
    def __init__(self, src: Rec) -> None:
        self.src = src
        self.got: list[LogLine] = []
        self.task = asyncio.create_task(src.run(self.got.extend))

    def lines(self) -> list[str]:
        return [ln.text for ln in self.got if ln.kind is Kind.LINE]

    def kinds(self, kind: Kind) -> list[str]:
        return [ln.text for ln in self.got if ln.kind is kind]

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self.src.client.aclose()


def start(fake: FakeLoki, **kw) -> Run:
    cfg = {k: kw.pop(k) for k in ("tenant", "token", "tail_max_duration_s") if k in kw}
    client = LokiClient(LokiConfig(fake.url, timeout=2, **cfg), retry_base_s=0.01)
    kw.setdefault("since_s", 60)
    kw.setdefault("backoff_s", (0.2,))
    return Run(Rec(client, '{namespace="ns"}', **kw))


async def test_backfill_then_live_exactly_once(loki):
    feed = Feed(loki)
    old = time.time_ns() - 30 * NS
    for i in range(5):
        feed.push(ts=old + i * 1000)
    loki.add(A, time.time_ns() - 120 * NS, "too old")  # outside since_s
    run = start(loki, tenant="team", token="tok")
    await until(lambda: run.src.status.state is SourceState.LIVE)
    for _ in range(5):
        feed.push()
    await until(lambda: len(run.lines()) == 10)
    await asyncio.sleep(0.2)
    assert run.lines() == feed.texts
    states = [s.state for s in run.src.history]
    assert states[:3] == [SourceState.BACKFILL, SourceState.CONNECTING, SourceState.LIVE]
    assert run.src.status.streams == 1 and run.src.name == "loki"
    assert all(h["X-Scope-OrgID"] == "team" and h["Authorization"] == "Bearer tok" for _, _, h in loki.requests)
    assert {p for p, _, _ in loki.requests} == {"/loki/api/v1/query_range", "/loki/api/v1/tail"}
    assert all("since" not in q for _, q, _ in loki.requests)
    await run.stop()


async def test_reconnect_after_1011_recovers_the_gap_and_drops_the_replay(loki):
    feed = Feed(loki)
    loki.tail_specs = [TailSpec(close_after_entries=3, close_code=1011, close_reason="internal error")]
    run = start(loki, backoff_s=(0.3,))
    await until(lambda: run.src.status.state is SourceState.LIVE)
    for _ in range(3):
        feed.push()
    await until(lambda: len(run.lines()) == 3)
    boundary = loki.entries[-1].ts
    feed.push(live=False)  # reach Loki while the tail is down: only the gap fill can find them
    feed.push(live=False)
    await until(lambda: len(loki.tail_starts) == 2 and run.src.status.state is SourceState.LIVE)
    feed.push()
    feed.push()
    await until(lambda: len(run.lines()) == 7)
    await asyncio.sleep(0.2)
    assert run.lines() == feed.texts  # each exactly once, in order
    assert loki.tail_starts[1] == boundary  # resumed at the last timestamp seen (inclusive: replayed, dropped)
    assert any(s.state is SourceState.RECONNECTING and "1011" in s.message for s in run.src.history)
    assert any("reconnected" in t and "2 lines recovered" in t for t in run.kinds(Kind.INFO))
    assert run.kinds(Kind.GAP) == []
    await run.stop()


async def test_repeated_label_sets_in_one_frame_and_three_element_values(loki):
    t = time.time_ns() + 5 * NS  # beyond the gap fill: only the frame brings them
    frame = {"streams": [{"stream": A, "values": [[str(t), "one", {"trace_id": "x"}]]},
                         {"stream": A, "values": [[str(t + 1), "two"]]},
                         {"stream": A, "values": [[str(t), "one", {"trace_id": "x"}]]}]}
    loki.tail_specs = [TailSpec(frames=[frame, frame], history=False)]
    run = start(loki)
    await until(lambda: len(run.lines()) == 2)
    await asyncio.sleep(0.1)
    assert run.lines() == ["one", "two"]
    assert run.got[-1].stream == '{app="a",container="c",namespace="ns",pod="a-1"}' and run.got[-1].pod == "a-1"
    await run.stop()


async def test_dropped_entries_are_caught_up_from_history_and_the_tail_reopened(loki):
    feed = Feed(loki)
    t = time.time_ns() - 30 * NS   # before the backfill and the tail's 10 s look-back
    feed.push(live=False, ts=t)
    feed.push(live=False, ts=t + 10)
    dropped = {"streams": [], "dropped_entries": [{"labels": A, "timestamp": str(t)},
                                                  {"labels": B, "timestamp": str(t + 10)}]}
    loki.tail_specs = [TailSpec(frames=[dropped], history=False)]
    run = start(loki, since_s=1)   # the backfill (last second) does not reach them: only the catch-up can
    await until(lambda: len(run.lines()) == 2 and run.kinds(Kind.INFO))
    assert run.lines() == feed.texts
    [info] = run.kinds(Kind.INFO)
    assert "dropped 2+ entries" in info and "2 recovered" in info
    assert run.kinds(Kind.GAP) == []
    await until(lambda: len(loki.tail_starts) >= 2, what="the tail reopened")
    assert run.src.catch_ups == 1
    later = feed.push()                      # and the reopened tail goes on
    await until(lambda: later in run.lines(), what="a line after the catch-up")
    assert run.lines() == feed.texts
    await run.stop()


async def test_a_capped_drop_report_catches_up_to_now(loki):
    """Loki reports at most 1,000 dropped entries per response and may drop more silently: the catch-up reads
    everything from the oldest reported one up to now, so the unreported ones arrive too, each once."""
    feed = Feed(loki)
    t = time.time_ns() - 30 * NS   # before the backfill and the tail's 10 s look-back
    for i in range(1003):
        feed.push(live=False, ts=t + i)
    dropped = {"streams": [], "dropped_entries": [{"labels": A, "timestamp": str(t + i)} for i in range(1000)]}
    loki.tail_specs = [TailSpec(frames=[dropped], history=False)]
    run = start(loki, since_s=1)   # the backfill (last second) does not reach them: only the catch-up can
    await until(lambda: run.kinds(Kind.INFO) and len(run.lines()) >= 1003, timeout=10)
    assert "1003 recovered" in run.kinds(Kind.INFO)[0]
    assert run.lines() == feed.texts          # the 3 unreported ones too, each once
    await run.stop()


def test_dedup_memory_stops_growing_after_its_key_count():
    """The de-dup's keys are int objects: after `max_keys` lines it forgets one for each it learns, so its memory
    (the set's table, the rings) stays the same however long the stream runs; what it forgot moves `floor`."""
    d = _Dedup(60 * NS, max_keys=1000)
    lines = [LogLine(1_000 + i, f"line {i}", "{a=\"1\"}") for i in range(20_000)]
    assert len(d.new_of(lines[:2000])) == 2000
    sizes = set()
    for i in range(2000, 20_000, 500):
        assert len(d.new_of(lines[i:i + 500])) == 500
        assert len(d.seen) == 1000
        sizes.add(sys.getsizeof(d.seen))
    assert len(sizes) == 1                    # the same table all along
    assert d.floor == 1_000 + 18_999 + 1      # the newest forgotten timestamp + 1
    assert d.new_of(lines[-1000:]) == []      # the last 1,000 are remembered: a refill of them repeats nothing
    assert DEDUP_KEYS >= 10 * REFILL_LOOKBACK_LINES


async def test_renewal_before_tail_max_duration_loses_and_repeats_nothing(loki):
    feed = Feed(loki)
    loki.query_delay_s = 0.05  # the fill is slow while the new tail already sends
    run = start(loki, tail_max_duration_s=1.0)  # renewed every 0.9 s
    await until(lambda: run.src.status.state is SourceState.LIVE)
    for _ in range(100):
        feed.push()
        await asyncio.sleep(0.025)
    await until(lambda: len(run.lines()) == 100, what="all lines")
    await asyncio.sleep(0.2)
    assert run.lines() == feed.texts
    assert run.src.reconnects >= 2 and len(loki.tail_starts) >= 3
    assert run.kinds(Kind.GAP) == [] and run.kinds(Kind.INFO) == []
    assert not any(s.state is SourceState.RECONNECTING for s in run.src.history)
    await run.stop()


async def test_loki_max_duration_close_reconnects_at_once(loki):
    feed = Feed(loki)
    reason = "reached tail max duration limit"
    loki.tail_specs = [TailSpec(close_after_s=0.4, close_code=1011, close_reason=reason),
                       TailSpec(close_after_s=0.4, close_code=1011, close_reason=reason)]
    run = start(loki, backoff_s=(30,), stable_s=0.1)  # a backoff would fail the test
    await until(lambda: run.src.status.state is SourceState.LIVE)
    for _ in range(60):
        feed.push()
        await asyncio.sleep(0.02)
    await until(lambda: len(run.lines()) == 60, what="all lines")
    assert run.lines() == feed.texts and len(loki.tail_starts) >= 3
    await run.stop()


async def test_status_backs_off_then_retries_slower_then_recovers(loki):
    loki.tail_specs = [TailSpec(http_status=503, http_body="too many outstanding requests")] * 4
    run = start(loki, backoff_s=(0.05, 0.1), fast_retries=2, slow_retry_s=0.2)
    await until(lambda: run.src.status.state is SourceState.LIVE, what="live")
    msgs = [(s.state, s.message) for s in run.src.history]
    assert (SourceState.RECONNECTING, "retry 1/2 in 0.1 s: loki tail: HTTP 503: too many outstanding requests") \
        in msgs
    assert any(st is SourceState.ERROR and "retrying every" in m and "503" in m for st, m in msgs)
    assert msgs[-1][0] is SourceState.LIVE
    await run.stop()


async def test_gives_up_after_give_up_s(loki):
    loki.tail_specs = [TailSpec(http_status=502, http_body="bad gateway")] * 50
    run = start(loki, backoff_s=(0.02,), fast_retries=1, slow_retry_s=0.05, give_up_s=0.3)
    await asyncio.wait_for(run.task, 5)
    assert run.src.status.state is SourceState.ERROR and run.src.status.message.startswith("gave up after")
    await run.stop()


@pytest.mark.parametrize("where", ["backfill", "tail"])
async def test_fatal_errors_stop_with_one_line(loki, where):
    if where == "backfill":
        loki.require_tenant = True
    else:
        loki.tail_specs = [TailSpec(http_status=400, http_body="parse error at line 1, col 2: syntax error\n")]
    run = start(loki)
    await asyncio.wait_for(run.task, 5)
    st = run.src.status
    assert st.state is SourceState.ERROR and "\n" not in st.message
    if where == "backfill":
        assert "no org id" in st.message and "tenant" in st.message
    else:
        assert "parse error at line 1, col 2" in st.message
    await run.stop()


async def test_killed_and_restarted_server_mid_tail(loki):
    feed = Feed(loki)
    run = start(loki, backoff_s=(0.2,))
    await until(lambda: run.src.status.state is SourceState.LIVE)
    feed.push()
    feed.push()
    await until(lambda: len(run.lines()) == 2)
    await loki.hard_stop()
    await until(lambda: run.src.status.state is SourceState.RECONNECTING, what="reconnecting")
    feed.push(live=False)  # stored while the server is down (kept by the restarted one)
    await asyncio.sleep(0.5)
    await loki.start()  # same port
    await until(lambda: run.src.status.state is SourceState.LIVE, what="live again")
    feed.push()
    await until(lambda: len(run.lines()) == 4)
    await asyncio.sleep(0.2)
    assert run.lines() == feed.texts
    await run.stop()


async def test_no_follow_is_done_oldest_first_with_a_gap_when_limited(loki):
    feed = Feed(loki)
    old = time.time_ns() - 30 * NS
    for i in range(10):
        feed.push(ts=old + i)
    run = start(loki, follow=False, backfill_limit=4, batch_size=3)
    await asyncio.wait_for(run.task, 5)
    assert run.src.status.state is SourceState.DONE
    assert run.lines() == feed.texts[-4:]
    assert run.got[0].kind is Kind.GAP and "not loaded" in run.got[0].text
    assert [p for p, _, _ in loki.requests] == ["/loki/api/v1/query_range"]
    await run.stop()
