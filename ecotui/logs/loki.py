"""`LokiSource`: a LogSource over Loki — backfill with query_range, then follow the /tail WebSocket.

Guarantees (against REAL Loki, whose tail is best-effort: /work/shared/research/loki-contract.md):
- exactly once across reconnects and renewals: every line passes a de-duplication window keyed by
  (stream labels, timestamp, line) that keeps the keys of the last `dedup_window_s` seconds of timestamps;
- nothing lost at a reconnect: the new tail starts at the last timestamp seen (inclusive) and, once it is open,
  the span [last seen, tail opened] is filled with query_range (Loki opens the live tail before it reads the
  history, so the fill and the tail overlap rather than leave a hole; the overlap is dropped);
- the tail is renewed before Loki's tail max duration (default 1 h, close 1011) the same way, new tail first;
- `dropped_entries` (a slow client) → a GAP marker line and the dropped span refilled with query_range;
- a span that could not be filled (limit reached, query failed) → a GAP marker line saying which;
- connection loss (1006, 1011, EOF, transport errors): backoff 1, 2, 4, 8, 10 s … (`RECONNECTING` with the
  reason), after `fast_retries` tries every `slow_retry_s` (`ERROR` with the reason and "retrying every N s"),
  and after `give_up_s` of continuous failure it stops (`ERROR`, "gave up"). A refused query, rejected
  credentials or a wrong URL stop at once with `ERROR`.
Limits: each (re)opened tail's gap fill starts `REFILL_LOOKBACK_S` (10 s) before the last line seen, so an entry
that reaches Loki late with an older timestamp (a retried push) is recovered only within those 10 s; de-duplication
covers `dedup_window_s` of timestamps.
"""
from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection

from ..errors import EcotuiError
from ..textsafe import one_line
from .loki_client import (LokiClient, LokiConfig, LokiError, LokiQueryError, decode_tail_frame, fmt_ts, gap_line,
                          is_fatal)
from .loki_query import quote, render_labels, selection_query
from .model import NS, Kind, LogLine, LogSource, Sink, SourceState, SourceStatus

__all__ = ["LokiClient", "LokiConfig", "LokiError", "LokiQueryError", "LokiSource", "quote", "render_labels",
           "selection_query"]


REFILL_LOOKBACK_S = 10.0    # a (re)opened tail's gap fill starts this long before the last line seen
DROPPED_REPORT_CAP = 1000   # Loki's querier reports at most this many dropped entries in one tail response


class _Dedup:
    """Keys (stream, ts, line) of the newest `window_ns` of timestamps, at most `max_keys` of them (when over, the
    oldest timestamps are forgotten first, down to 3/4 of it)."""

    def __init__(self, window_ns: int, max_keys: int = 50_000) -> None:
        self.window_ns = window_ns
        self.max_keys = max_keys
        self.by_ts: dict[int, set[tuple[str, str]]] = {}
        self._order: list[int] = []   # a min-heap of the timestamps in by_ts
        self.count = 0
        self.newest = 0

    def add(self, ln: LogLine) -> bool:
        """True when the line was not seen before (and remembers it)."""
        return bool(self.new_of([ln]))

    def new_of(self, lines: Sequence[LogLine]) -> list[LogLine]:
        """The lines not seen before, in order (markers always pass); remembers those that are log lines."""
        by_ts = self.by_ts
        order = self._order
        out: list[LogLine] = []
        newest = self.newest
        n = 0
        line_kind = Kind.LINE
        for ln in lines:
            if ln.kind is not line_kind:
                out.append(ln)
                continue
            ts = ln.ts_ns
            keys = by_ts.get(ts)
            key = (ln.stream, ln.text)
            if keys is None:
                by_ts[ts] = {key}
                heapq.heappush(order, ts)
            elif key in keys:
                continue
            else:
                keys.add(key)
            n += 1
            if ts > newest:
                newest = ts
            out.append(ln)
        self.newest = newest
        if n:
            before = self.count
            self.count += n
            if self.count > self.max_keys or (before >> 12) != (self.count >> 12):
                self._prune()
        return out

    def _prune(self) -> None:
        by_ts, order = self.by_ts, self._order
        floor = self.newest - self.window_ns
        while order and order[0] < floor:
            self.count -= len(by_ts.pop(heapq.heappop(order)))
        if self.count > self.max_keys:
            while order and self.count > self.max_keys * 3 // 4:
                self.count -= len(by_ts.pop(heapq.heappop(order)))


@dataclass
class _Closed:
    code: int
    reason: str
    renew: bool = False


class LokiSource:
    """Lines of one LogQL query: the last `since_s` seconds, then (follow=True) live."""

    name = "loki"

    def __init__(self, client: LokiClient, query: str, since_s: int = 900, follow: bool = True, *,
                 backfill_limit: int = 5000, gap_fill_limit: int = 20_000, batch_size: int = 1000,
                 tail_limit: int = 100, delay_for: int = 0, tail_max_duration_s: float | None = None,
                 dedup_window_s: float = 60.0, backoff_s: Sequence[float] = (1, 2, 4, 8, 10),
                 fast_retries: int = 6, slow_retry_s: float = 30.0, give_up_s: float = 6 * 3600,
                 stable_s: float = 10.0, now_ns: Callable[[], int] = time.time_ns) -> None:
        self.client = client
        self.query = query
        self.since_s = since_s
        self.follow = follow
        self.backfill_limit = backfill_limit
        self.gap_fill_limit = gap_fill_limit
        self.batch_size = max(1, batch_size)
        self.tail_limit = tail_limit
        self.delay_for = delay_for
        max_s = tail_max_duration_s if tail_max_duration_s is not None else client.config.tail_max_duration_s
        self.renew_after_s = max(0.05, max_s - min(60.0, max_s * 0.1))  # before Loki closes it (1011)
        self.backoff_s = tuple(backoff_s) or (1.0,)
        self.fast_retries = fast_retries
        self.slow_retry_s = slow_retry_s
        self.give_up_s = give_up_s
        self.stable_s = stable_s
        self._now_ns = now_ns
        self._dedup = _Dedup(int(dedup_window_s * NS))
        self._status = SourceStatus(SourceState.CONNECTING, "")
        self._sink: Sink | None = None
        self.watermark = 0          # newest timestamp delivered
        self.reconnects = 0         # tails opened after the first (renewals included)

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def description(self) -> str:
        return one_line(self.query, 200)

    def _set(self, state: SourceState, message: str = "", streams: int = 0) -> None:
        self._status = SourceStatus(state, one_line(message, 200), streams)

    def _deliver(self, lines: Sequence[LogLine]) -> int:
        """De-duplicate, send in batches; returns how many were new."""
        assert self._sink is not None
        new = self._dedup.new_of(lines)
        if not new:
            return 0
        if self._dedup.newest > self.watermark:  # the newest timestamp of a line delivered
            self.watermark = self._dedup.newest
        for i in range(0, len(new), self.batch_size):
            self._sink(new[i:i + self.batch_size])
        line = Kind.LINE
        return sum(1 for ln in new if ln.kind is line)

    async def _fill(self, start_ns: int, end_ns: int, limit: int) -> int:
        """Lines in [start_ns, end_ns), newest `limit` of them, delivered oldest first. A GAP marker first
        when the limit cut older ones off. Raises EcotuiError."""
        lines = await self.client.query_range(self.query, start_ns, end_ns, limit, "backward")
        lines.reverse()
        if len(lines) >= limit and lines:
            lines.insert(0, gap_line(lines[0].ts_ns, f"lines before {fmt_ts(lines[0].ts_ns)} not loaded "
                                     f"(more than {limit} since {fmt_ts(start_ns)})"))
        return self._deliver(lines)

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        end = self._now_ns()
        start = end - int(self.since_s * NS)
        self._set(SourceState.BACKFILL, f"loading the last {_dur(self.since_s)}")
        resume_from = start
        try:
            await self._fill(start, end, self.backfill_limit)
            resume_from = end
        except EcotuiError as e:
            if is_fatal(e) or not self.follow:
                self._set(SourceState.ERROR, _explain(e))
                return
            # the tail's first fill retries it: from `start`
            self._deliver([gap_line(start, f"history not loaded yet (retried once the tail is open): {e.message}")])
        if not self.follow:
            self._set(SourceState.DONE, f"{_dur(self.since_s)} of history")
            return
        await self._follow(resume_from)

    async def _follow(self, resume_from: int) -> None:
        fails = 0
        failing_since: float | None = None
        ws: ClientConnection | None = None
        last_reason = ""
        first = True
        for _ in range(10_000_000):  # bounded by give_up_s in practice; cancellation ends it
            if ws is None:
                self._set(SourceState.CONNECTING if first else SourceState.RECONNECTING,
                          "opening the live tail" if first else f"reconnecting: {last_reason}")
                try:
                    ws = await self.client.open_tail(self.query, resume_from, self.tail_limit, self.delay_for)
                except EcotuiError as e:
                    if is_fatal(e):
                        self._set(SourceState.ERROR, _explain(e))
                        return
                    last_reason = e.message
                    fails += 1
                    failing_since = failing_since if failing_since is not None else time.monotonic()
                    if not await self._backoff(fails, failing_since, last_reason):
                        return
                    continue
            if not first:
                self.reconnects += 1
            opened_ns = self._now_ns()
            opened = time.monotonic()
            recovered = 0
            try:
                # from a little before the last line seen: an entry that reached Loki late (a client's retried
                # push) can carry an older timestamp than what the tail already sent; the de-dup drops repeats
                lookback = min(int(REFILL_LOOKBACK_S * NS), self._dedup.window_ns // 2)
                recovered = await self._fill(max(resume_from - lookback, 0), opened_ns + 1, self.gap_fill_limit)
            except EcotuiError as e:
                self._deliver([gap_line(resume_from, f"lines between {fmt_ts(resume_from)} and {fmt_ts(opened_ns)} "
                                                     f"could not be loaded: {e.message}")])
            if not first and last_reason:
                self._deliver([LogLine(opened_ns, f"reconnected ({last_reason}); {recovered} lines recovered",
                                       "loki", kind=Kind.INFO)])
            first = False
            self._set(SourceState.LIVE, f"following since {fmt_ts(opened_ns)}", 1)
            closed = await self._read(ws, opened)
            lived = time.monotonic() - opened
            if lived >= self.stable_s:
                fails, failing_since = 0, None
            resume_from = min(max(resume_from, self.watermark), self._now_ns())
            if closed.renew:
                try:
                    new_ws = await self.client.open_tail(self.query, resume_from, self.tail_limit, self.delay_for)
                except EcotuiError as e:
                    new_ws = None
                    last_reason = f"renewing the tail failed: {e.message}"
                await _close(ws)
                ws = new_ws
                if ws is not None:
                    last_reason = ""
                continue
            await _close(ws)
            ws = None
            last_reason = _close_reason(closed)
            if closed.code == 1011 and "max duration" in closed.reason and lived >= self.stable_s:
                continue  # Loki's normal end of a tail: reconnect at once
            fails += 1
            failing_since = failing_since if failing_since is not None else time.monotonic()
            if not await self._backoff(fails, failing_since, last_reason):
                return

    async def _backoff(self, fails: int, failing_since: float, reason: str) -> bool:
        """Wait before the next try, saying so in the status. False when it is time to give up."""
        down = time.monotonic() - failing_since
        if down >= self.give_up_s:
            self._set(SourceState.ERROR, f"gave up after {_dur(down)}: {reason}")
            return False
        if fails <= self.fast_retries:
            delay = self.backoff_s[min(fails - 1, len(self.backoff_s) - 1)]
            self._set(SourceState.RECONNECTING, f"retry {fails}/{self.fast_retries} in {_dur(delay)}: {reason}")
        else:
            delay = self.slow_retry_s
            self._set(SourceState.ERROR, f"{reason} — retrying every {_dur(delay)} (down {_dur(down)})")
        await asyncio.sleep(delay)
        return True

    async def _read(self, ws: ClientConnection, opened: float) -> _Closed:
        deadline = opened + self.renew_after_s
        for _ in range(100_000_000):  # one frame per turn; ends on close/error/renewal
            left = deadline - time.monotonic()
            if left <= 0:
                return _Closed(1000, "renew", renew=True)
            try:
                async with asyncio.timeout(left):  # no task per frame (wait_for makes one)
                    data = await ws.recv()
            except TimeoutError:
                return _Closed(1000, "renew", renew=True)
            except websockets.ConnectionClosed as e:
                rcvd = e.rcvd
                return _Closed(rcvd.code, rcvd.reason) if rcvd is not None else _Closed(1006, "connection lost")
            except OSError as e:
                return _Closed(1006, one_line(str(e), 120) or type(e).__name__)
            try:
                lines, dropped = decode_tail_frame(data)
            except LokiError as e:
                self._deliver([gap_line(self.watermark, e.message)])
                continue
            self._deliver(lines)
            if dropped:
                await self._refill_dropped(dropped)
        return _Closed(1000, "renew", renew=True)

    async def _refill_dropped(self, dropped: list[tuple[str, int]]) -> None:
        lo = min(ts for _, ts in dropped)
        hi = max(ts for _, ts in dropped)
        if len(dropped) >= DROPPED_REPORT_CAP:
            # Loki reports at most 1,000 dropped entries per response: more were lost after the last one
            # reported, up to what the tail sends next — refill up to now (the de-dup drops the overlap)
            hi = max(hi, self._now_ns())
        try:
            n = await self._fill(lo, hi + 1, self.gap_fill_limit)
            text = (f"Loki dropped {len(dropped)} entries between {fmt_ts(lo)} and {fmt_ts(hi)} (slow client); "
                    f"{n} refilled from history")
        except EcotuiError as e:
            text = (f"Loki dropped {len(dropped)} entries between {fmt_ts(lo)} and {fmt_ts(hi)}; "
                    f"could not refill: {e.message}")
        self._deliver([gap_line(hi, text)])


async def _close(ws: ClientConnection) -> None:
    try:
        await asyncio.wait_for(ws.close(), 3)
    except (OSError, TimeoutError, websockets.WebSocketException):
        pass


def _explain(e: EcotuiError) -> str:
    return f"{e.message} — {e.hint}" if e.hint else e.message


def _close_reason(c: _Closed) -> str:
    return f"tail closed {c.code}" + (f": {c.reason}" if c.reason else "")


def _dur(s: float) -> str:
    if s < 1:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.0f} h"


def _satisfies_protocol(src: LokiSource) -> LogSource:  # mypy checks LokiSource against LogSource here
    return src
