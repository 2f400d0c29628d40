"""`GET /loki/api/v1/tail`: WebSocket live tail with Loki's frame format and delivery semantics.

Frame: {"streams":[{"stream":{labels},"values":[["<ns>","<line>"]]}, ...]} -- one stream object per entry (the same
label set may repeat in one frame), at most 100 entries per frame, "dropped_entries" only when non-empty.
Like Loki's querier: history is the newest `limit` entries in [start, now); live entries are subscribed *before*
the history is read, and entries that arrived in the last `overlap_s` seconds (the newest `limit` of them) are replayed
into the live side, so some entries can arrive twice (Loki opens the live tail before the history query). An entry is sent once
now > its timestamp + delay_for (so future-timestamped entries wait for their time), in timestamp order of what is
ready. A push finding 10,000 or more entries waiting for a client is dropped whole for it (reported as
dropped_entries), as Loki's ingester tailer drops a pushed stream when its buffer is full. The server pings
every second, closes with 1011 `reached tail max duration limit` after the max duration, 1011 with the error for
query/limit errors (after the upgrade, as Loki does) and 1001 on shutdown.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import time

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from .logql import LogQuery
from .store import Meta, Pushed, Store

MAX_PER_FRAME = 100
MAX_DROPPED_REPORTED = 1000
QUEUE_LIMIT = 10_000
TICK = 0.05
PING_EVERY = 1.0
MAX_DURATION_REASON = "reached tail max duration limit"


class Subscription:
    """Matching entries waiting to be sent, as a heap by timestamp (bounded; overflow becomes dropped_entries)."""

    def __init__(self, query: LogQuery, delay_s: float):
        self.query = query
        self.delay_ns = int(delay_s * 1e9)
        self.pending: list[tuple[int, int, dict[str, str], str, Meta]] = []
        self.dropped: list[dict] = []
        self.wakeup = asyncio.Event()
        self._label_ok: dict[tuple, bool] = {}
        self._n = itertools.count()

    def offer(self, entries: list[Pushed]) -> None:
        """One push's entries: the matching ones are queued whole when fewer than QUEUE_LIMIT entries wait for
        this client, else dropped whole (Loki's ingester tailer likewise drops a pushed stream at once when its
        buffer is full) — so a big push is not cut by the server's own single-threadedness."""
        label_ok, query = self._label_ok, self.query
        filters = bool(query.filters)
        full = len(self.pending) >= QUEUE_LIMIT
        pending, n = self.pending, self._n
        for labels, key, ts, line, meta in entries:
            ok = label_ok.get(key)
            if ok is None:
                ok = label_ok[key] = query.matches_labels(labels)
            if ok and (not filters or query.matches_line(line)):
                if full:
                    self._drop(labels, ts)
                else:
                    heapq.heappush(pending, (ts, next(n), labels, line, meta))
        self.wakeup.set()

    def add(self, labels: dict[str, str], ts: int, line: str, meta: Meta) -> None:
        if len(self.pending) >= QUEUE_LIMIT:
            self._drop(labels, ts)
            return
        heapq.heappush(self.pending, (ts, next(self._n), labels, line, meta))

    def _drop(self, labels: dict[str, str], ts: int) -> None:
        if len(self.dropped) < MAX_DROPPED_REPORTED:
            self.dropped.append({"labels": dict(labels), "timestamp": str(ts)})

    def take_ready(self, now_ns: int | None = None) -> list[tuple[dict[str, str], int, str, Meta]]:
        """Entries with now > ts + delay_for, oldest first."""
        cutoff = (time.time_ns() if now_ns is None else now_ns) - self.delay_ns
        out = []
        while self.pending and self.pending[0][0] < cutoff:
            ts, _, labels, line, meta = heapq.heappop(self.pending)
            out.append((labels, ts, line, meta))
        return out


def _json(obj: object) -> bytes:
    """JSON as UTF-8 bytes: msgspec (fast); the stdlib for what UTF-8 cannot carry (lone surrogates: \\udcXX)."""
    try:
        return _encode(obj)
    except UnicodeEncodeError:
        return json.dumps(obj).encode()


_encode = msgspec.json.Encoder().encode


class FrameEncoder:
    """Encodes ready entries as Loki tail frames (JSON text as UTF-8 bytes): one stream object per entry, at most
    MAX_PER_FRAME per frame. The JSON of a stream object's labels is cached per (label set, metadata)."""

    def __init__(self, categorize: bool = False) -> None:
        self.categorize = categorize
        self._streams: dict[tuple[int, Meta], tuple[dict[str, str], bytes]] = {}  # keeps the labels dict alive
        self._metas: dict[Meta, bytes] = {}

    def _stream(self, labels: dict[str, str], meta: Meta) -> bytes:
        key = (id(labels), () if self.categorize else meta)
        hit = self._streams.get(key)
        if hit is None or hit[0] is not labels:
            if len(self._streams) >= 4096:
                self._streams.clear()
            merged = dict(labels) if self.categorize or not meta else {**dict(meta), **labels}
            hit = self._streams[key] = (labels, _json(merged))
        return hit[1]

    def _meta(self, meta: Meta) -> bytes:
        hit = self._metas.get(meta)
        if hit is None:
            if len(self._metas) >= 4096:
                self._metas.clear()
            hit = self._metas[meta] = _json({"structuredMetadata": dict(meta)})
        return hit

    def frames(self, entries: list[tuple[dict[str, str], int, str, Meta]],
               dropped: list[dict] | None = None) -> list[bytes]:
        out = []
        categorize = self.categorize
        for i in range(0, max(len(entries), 1), MAX_PER_FRAME):
            chunk = entries[i:i + MAX_PER_FRAME]
            if not chunk and not (dropped and i == 0):
                continue
            parts = []
            for labels, ts, line, meta in chunk:
                try:
                    text = _encode(line)
                except UnicodeEncodeError:
                    text = json.dumps(line).encode()
                if categorize and meta:
                    parts.append(b'{"stream":%s,"values":[["%d",%s,%s]]}' % (self._stream(labels, meta), ts, text,
                                                                            self._meta(meta)))
                else:
                    parts.append(b'{"stream":%s,"values":[["%d",%s]]}' % (self._stream(labels, meta), ts, text))
            frame = b'{"streams":[' + b",".join(parts) + b"]"
            if dropped and i == 0:
                frame += b',"dropped_entries":' + _json(dropped)
            if categorize:
                frame += b',"encodingFlags":["categorize-labels"]'
            out.append(frame + b"}")
        return out


def frames(entries: list[tuple[dict[str, str], int, str, Meta]], dropped: list[dict] | None = None,
           categorize: bool = False) -> list[str]:
    """Ready entries as Loki tail frames (str), see FrameEncoder."""
    return [f.decode() for f in FrameEncoder(categorize).frames(entries, dropped)]


async def serve_tail(request: web.Request, store: Store, query: LogQuery | None, start: int, limit: int,
                     delay_s: float, max_duration_s: float, sockets, *, error: str = "", categorize: bool = False,
                     overlap_s: float = 0.5) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    if error or query is None:
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=_reason(error or "invalid query"))
        return ws
    sub = Subscription(query, delay_s)
    unsubscribe = store.subscribe(sub.offer)  # live first, as Loki: what arrives meanwhile may come twice
    sockets.add(ws)
    now = time.time_ns()
    for labels, ts, line, meta in store.select_meta(query, start, now, limit, "backward"):
        sub.add(labels, ts, line, meta)
    # replay the newest `limit` of them at most: Loki's duplicates come from a history of `limit` entries racing the
    # live side, so they are bounded by `limit` (a whole window at 60k lines/s would overflow the queue at once)
    sub.offer(store.recent(overlap_s)[-max(1, limit):])

    async def reader() -> None:
        async for _ in ws:  # we ignore client messages; the loop ends on close
            pass

    encoder = FrameEncoder(categorize)

    async def writer() -> None:
        deadline = time.monotonic() + max_duration_s
        next_ping = time.monotonic() + PING_EVERY
        while not ws.closed:
            t = time.monotonic()
            if t >= deadline:
                await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=MAX_DURATION_REASON.encode())
                return
            if t >= next_ping:
                await ws.ping()
                next_ping = t + PING_EVERY
            ready, dropped = sub.take_ready(), sub.dropped
            sub.dropped = []
            for frame in encoder.frames(ready, dropped):
                await ws.send_frame(frame, WSMsgType.TEXT)  # JSON text, valid UTF-8
            sub.wakeup.clear()
            wait = min(TICK if sub.pending else PING_EVERY, deadline - t, max(next_ping - t, 0.0))
            try:
                await asyncio.wait_for(sub.wakeup.wait(), timeout=max(wait, 0.0))
            except asyncio.TimeoutError:
                pass

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


def _reason(msg: str) -> bytes:
    """A WebSocket close reason is at most 123 bytes."""
    b = msg.encode("utf-8", "replace")
    return b if len(b) <= 123 else b[:120].decode("utf-8", "ignore").encode() + b"..."
