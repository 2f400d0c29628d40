"""`LokiSource`: a LogSource over Loki — backfill with query_range, then follow the /tail WebSocket.

Guarantees (against REAL Loki, whose tail is best-effort: /work/shared/research/loki-contract.md):
- exactly once across reconnects and renewals: every line passes a de-duplication window keyed by
  (stream labels, timestamp, line) that keeps the keys of the last `dedup_window_s` seconds of timestamps;
- nothing lost at a reconnect: the new tail starts at the last timestamp seen (inclusive) and, once it is open,
  the span [last seen, tail opened] is filled with query_range (Loki opens the live tail before it reads the
  history, so the fill and the tail overlap rather than leave a hole; the overlap is dropped);
- the tail is renewed before Loki's tail max duration (default 1 h, close 1011) the same way, new tail first;
- `dropped_entries` (a slow client; Loki reports at most 1,000 and may drop more silently) → the tail is closed, the
  lines from the oldest dropped one on are read with forward query_range pages until near now (the de-dup drops what
  the tail had sent), then the tail is reopened from there; an INFO line says how many were recovered. At high rates
  this is how every line still arrives once: Loki's tail is best-effort, query_range is not;
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
import time
from array import array
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


REFILL_LOOKBACK_LINES = 5_000   # ... or this many lines back, when that is shorter
REFILL_LOOKBACK_S = 10.0    # a (re)opened tail's gap fill starts this long before the last line seen
CATCH_UP_ROUNDS = 50        # query_range passes of a catch-up (each from the newest line of the previous one)
CAUGHT_UP_NS = NS           # a catch-up pass whose newest line is this close to now ends it
FILL_SLICE = 5000           # lines delivered between two yields to the event loop during a fill
FORWARD_PAGE = 5000         # lines per query_range page of a gap fill / catch-up (Loki's max_entries_limit_per_query):
                            # each request costs the server ~30-250 ms whatever its size, so 2,500-line pages made a
                            # catch-up during a 60k lines/s burst crawl at 9-18k lines/s
DEDUP_KEYS = 50_000         # lines the de-dup remembers: ≥ 10x REFILL_LOOKBACK_LINES (a refill re-reads at most
                            # those); each key is an int object, so the set stops growing after this many lines


class _Dedup:
    """The last `max_keys` lines delivered, as hashes of (timestamp, stream, line) in a set plus a ring that says
    which to forget next — fixed memory once `max_keys` lines went by (~6 MB at 50k: the set's table, the rings,
    the keys' int objects), so RSS stays flat while lines stream, and no reference to the lines themselves
    (evicted lines are not kept alive here). Two different lines would have to share a 64-bit hash to be
    confused. `floor` is one past the newest timestamp forgotten: a refill starting before it could repeat lines.
    `window_ns` only sizes the reconnect look-back."""

    def __init__(self, window_ns: int, max_keys: int = DEDUP_KEYS) -> None:
        self.window_ns = window_ns
        self.max_keys = max(16, max_keys)
        self.seen: set[int] = set()   # its table settles at 4x max_keys slots once full (CPython's set resizing)
        self._ring = array("q", bytes(8 * self.max_keys))
        self._ring_ts = array("q", bytes(8 * self.max_keys))
        self._i = 0
        self.count = 0
        self.newest = 0
        self.floor = 0

    def add(self, ln: LogLine) -> bool:
        """True when the line was not seen before (and remembers it)."""
        return bool(self.new_of([ln]))

    def recent_ts(self, n: int) -> int:
        """The timestamp of the line delivered `n` lines ago (of the oldest remembered one when fewer; 0: none)."""
        if self.count == 0:
            return 0
        n = min(n, self.count)
        return self._ring_ts[(self._i - n) % self.max_keys]

    def new_of(self, lines: Sequence[LogLine]) -> list[LogLine]:
        """The lines not seen before, in order (markers always pass); remembers those that are log lines."""
        seen, ring, ring_ts, cap = self.seen, self._ring, self._ring_ts, self.max_keys
        i, count, newest, floor = self._i, self.count, self.newest, self.floor
        out: list[LogLine] = []
        line_kind = Kind.LINE
        for ln in lines:
            if ln.kind is not line_kind:
                out.append(ln)
                continue
            ts = ln.ts_ns
            key = hash((ts, ln.stream, ln.text))
            if key in seen:
                continue
            if count >= cap:
                seen.discard(ring[i])
                if ring_ts[i] >= floor:
                    floor = ring_ts[i] + 1
            else:
                count += 1
            seen.add(key)
            ring[i] = key
            ring_ts[i] = ts
            i += 1
            if i == cap:
                i = 0
            if ts > newest:
                newest = ts
            out.append(ln)
        self._i, self.count, self.newest, self.floor = i, count, newest, floor
        return out


@dataclass
class _Closed:
    code: int
    reason: str
    renew: bool = False
    dropped_from: int | None = None   # Loki dropped entries from this timestamp on: catch up from history
    dropped_n: int = 0


class LokiSource:
    """Lines of one LogQL query: the last `since_s` seconds, then (follow=True) live."""

    name = "loki"

    def __init__(self, client: LokiClient, query: str, since_s: int = 900, follow: bool = True, *,
                 backfill_limit: int = 5000, gap_fill_limit: int = 20_000, batch_size: int = 1000,
                 catch_up_limit: int = 2_000_000,
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
        self.catch_up_limit = catch_up_limit
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
        self.catch_ups = 0          # times the tail dropped entries and history was read instead (tests read it)

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
        n = 0
        for i in range(0, len(lines), FILL_SLICE):  # a big fill in slices: the tail and the UI run in between
            if i:
                await asyncio.sleep(0)
            n += self._deliver(lines[i:i + FILL_SLICE])
        return n

    async def _fill_forward(self, start_ns: int, end_ns: int, limit: int) -> tuple[int, int, int]:
        """Lines in [start_ns, end_ns), oldest first, delivered page by page as they arrive (little memory; the
        UI runs between pages). Returns (lines read, new lines delivered, newest timestamp read or start_ns).
        Raises EcotuiError."""
        got = n = 0
        last = start_ns
        async for page in self.client.query_range_pages(self.query, start_ns, end_ns, max(1, limit), "forward",
                                                        page_limit=FORWARD_PAGE):
            got += len(page)
            if page:
                last = max(last, page[-1].ts_ns)
            n += self._deliver(page)
        return got, n, last

    async def run(self, sink: Sink) -> None:
        await self._run(sink)

    async def _run(self, sink: Sink) -> None:
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
                          "opening the live tail" if first else
                          f"reconnecting: {last_reason}" if last_reason else "reopening the live tail")
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
                # — 10 s, or the last REFILL_LOOKBACK_LINES lines when that is shorter (at high rates), read forward
                # page by page: everything in [resume_from, opened] arrives, however many lines that is
                lookback = min(int(REFILL_LOOKBACK_S * NS), self._dedup.window_ns // 2)
                start = max(resume_from - lookback, min(resume_from, self._dedup.recent_ts(REFILL_LOOKBACK_LINES)), 0)
                got, recovered, last = await self._fill_forward(start, opened_ns + 1, self.catch_up_limit)
                if got >= self.catch_up_limit:
                    self._deliver([gap_line(last, f"lines after {fmt_ts(last)} not loaded (more than "
                                                  f"{self.catch_up_limit} since {fmt_ts(start)})")])
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
            if closed.dropped_from is not None:
                _abort(ws)  # not a close handshake: with frames still queued it can only time out (2 s)
                ws = None
                # from the newest line received, not the oldest dropped one: the tail sends in timestamp order,
                # and the entries Loki still held for it (older than the dropped ones) are gone with the socket
                await self._catch_up(min(closed.dropped_from, self.watermark or closed.dropped_from),
                                     closed.dropped_n)
                resume_from = min(max(resume_from, self.watermark), self._now_ns())
                last_reason = ""
                continue
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
                return _Closed(1000, "dropped", dropped_from=min(ts for _, ts in dropped), dropped_n=len(dropped))
        return _Closed(1000, "renew", renew=True)

    async def _catch_up(self, lo: int, reported: int) -> None:
        """After Loki dropped tail entries (a slow client): read [lo, now) with forward query_range pages instead,
        again while the newest page is still far from now, then the caller reopens the tail from there. The
        de-dup drops what the tail had already sent. Bounded by `catch_up_limit` lines (then a GAP marker)."""
        self.catch_ups += 1
        self._set(SourceState.BACKFILL, f"Loki dropped {reported} entries (slow client): catching up from history")
        if self._dedup.floor > lo:
            # the de-dup no longer remembers all of [lo, floor): reading it again could repeat lines — say so
            self._deliver([gap_line(lo, f"lines from {fmt_ts(lo)} to {fmt_ts(self._dedup.floor)} that Loki "
                                        f"dropped are not recovered (too far behind)")])
            lo = self._dedup.floor
        start, total, new = lo, 0, 0
        try:
            for _ in range(CATCH_UP_ROUNDS):
                end = self._now_ns()
                got, n, last = await self._fill_forward(start, end, self.catch_up_limit - total)
                total, new = total + got, new + n
                if total >= self.catch_up_limit:
                    self._deliver([gap_line(last, f"lines after {fmt_ts(last)} not recovered (more than "
                                                  f"{self.catch_up_limit} to catch up since {fmt_ts(lo)})")])
                    break
                if got == 0 or end - last < CAUGHT_UP_NS:
                    break
                start = last
        except EcotuiError as e:
            self._deliver([gap_line(start, f"Loki dropped {reported} entries from {fmt_ts(lo)}; could not read "
                                           f"them from history: {e.message}")])
            return
        self._deliver([LogLine(self.watermark or lo, f"Loki dropped {reported}+ entries from {fmt_ts(lo)} (slow "
                                                      f"client); {new} recovered from history", "loki",
                               kind=Kind.INFO)])


def _abort(ws: ClientConnection) -> None:
    """Drop the connection at once (the server sees it end)."""
    try:
        ws.transport.abort()
    except Exception:  # noqa: BLE001 - already gone
        pass


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
