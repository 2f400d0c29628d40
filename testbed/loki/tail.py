"""`GET /loki/api/v1/tail`: WebSocket live tail with Loki's frame format.

Frame: {"streams":[{"stream":{labels},"values":[["<ns>","<line>"],...]}],"dropped_entries":null}
History (entries with ts >= start, the newest `limit`) is sent first in ascending order, then every matching entry
pushed after the connection was accepted, exactly once. Subscription and history snapshot happen in one synchronous
step, so nothing falls between them. At most 100 entries per frame (as Loki). With delay_for=N an entry is held N
seconds after arrival and frames are sorted by timestamp, letting late pushes slot in.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import deque

from aiohttp import WSCloseCode, web

from .logql import LogQuery
from .store import Pushed, Store

MAX_PER_FRAME = 100
MAX_DROPPED_REPORTED = 1000
QUEUE_LIMIT = 10_000
TICK = 0.05


class Subscription:
    """Collects matching pushed entries for one tail connection (bounded; overflow becomes dropped_entries)."""

    def __init__(self, query: LogQuery, delay_s: float):
        self.query = query
        self.delay_s = delay_s
        self.pending: deque[tuple[float, dict[str, str], int, str]] = deque()
        self.dropped: list[dict] = []
        self.wakeup = asyncio.Event()
        self._label_ok: dict[tuple, bool] = {}

    def offer(self, entries: list[Pushed]) -> None:
        arrived = time.monotonic()
        for labels, key, ts, line in entries:
            ok = self._label_ok.get(key)
            if ok is None:
                ok = self._label_ok[key] = self.query.matches_labels(labels)
            if not ok or not self.query.matches_line(line):
                continue
            if len(self.pending) >= QUEUE_LIMIT:
                if len(self.dropped) < MAX_DROPPED_REPORTED:
                    self.dropped.append({"labels": dict(labels), "timestamp": str(ts)})
                continue
            self.pending.append((arrived, labels, ts, line))
        self.wakeup.set()

    def take_ready(self) -> list[tuple[dict[str, str], int, str]]:
        cutoff = time.monotonic() - self.delay_s
        out = []
        while self.pending and self.pending[0][0] <= cutoff:
            _, labels, ts, line = self.pending.popleft()
            out.append((labels, ts, line))
        out.sort(key=lambda e: e[1])
        return out


def frames(entries: list[tuple[dict[str, str], int, str]], dropped: list[dict] | None = None) -> list[str]:
    """Encode time-ordered entries as Loki tail frames of at most MAX_PER_FRAME entries."""
    out = []
    for i in range(0, max(len(entries), 1), MAX_PER_FRAME):
        chunk = entries[i:i + MAX_PER_FRAME]
        streams: dict[tuple, dict] = {}
        for labels, ts, line in chunk:
            key = tuple(sorted(labels.items()))
            streams.setdefault(key, {"stream": dict(labels), "values": []})["values"].append([str(ts), line])
        drop = dropped if (dropped and i == 0) else None
        if chunk or drop:
            out.append(json.dumps({"streams": list(streams.values()), "dropped_entries": drop}))
    return out


async def serve_tail(request: web.Request, store: Store, query: LogQuery, start: int, limit: int,
                     delay_s: float, max_duration_s: float, sockets: set) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    sub = Subscription(query, delay_s)
    # snapshot + subscribe without an await in between: no gap, no duplicate
    history = store.select(query, start, 2**63 - 1, limit, "backward")
    unsubscribe = store.subscribe(sub.offer)
    sockets.add(ws)
    backlog = sorted(((labels, ts, line) for labels, entries in history for ts, line in entries), key=lambda e: e[1])

    async def reader() -> None:
        async for _ in ws:  # we ignore client messages; the loop ends on close
            pass

    async def writer() -> None:
        for frame in frames(backlog):
            await ws.send_str(frame)
        deadline = time.monotonic() + max_duration_s
        while not ws.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await ws.close(code=WSCloseCode.OK, message=b"reached tail max duration limit")
                return
            try:
                await asyncio.wait_for(sub.wakeup.wait(), timeout=min(TICK if sub.pending else 1.0, remaining))
            except asyncio.TimeoutError:
                pass
            sub.wakeup.clear()
            ready, dropped = sub.take_ready(), sub.dropped
            sub.dropped = []
            for frame in frames(ready, dropped):
                await ws.send_str(frame)

    tasks = [asyncio.ensure_future(reader()), asyncio.ensure_future(writer())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if not t.cancelled() and t.exception() and not isinstance(t.exception(), ConnectionError):
                request.app.logger.warning("tail connection ended: %r", t.exception())
    finally:
        unsubscribe()
        sockets.discard(ws)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not ws.closed:
            await ws.close()
    return ws
