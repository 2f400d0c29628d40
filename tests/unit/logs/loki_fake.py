"""A small Loki that behaves like REAL Loki where it matters to a client (aiohttp, 127.0.0.1, port 0).

- query_range: [start, end), `limit` newest (backward) or oldest (forward), one stream object per entry
  (optionally 3-element values), errors as text/plain;
- tail: subscribes before it reads the history (duplicates possible, as in Loki), history from `start`
  (inclusive) oldest first, one stream object per entry, `dropped_entries` only when set; per-connection
  behaviour from `tail_specs` (close with a code after N live entries or T seconds, HTTP error before the
  upgrade, extra raw frames first);
- `require_tenant`: 401 `no org id` without X-Scope-OrgID; `hard_stop()` kills every socket (1006).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Entry:
    labels: dict[str, str]
    ts: int
    line: str


@dataclass
class TailSpec:
    http_status: int = 0                 # answer this status (text/plain) instead of upgrading
    http_body: str = ""
    close_after_entries: int | None = None  # live entries sent before closing
    close_after_s: float | None = None
    close_code: int = 1011
    close_reason: str = "internal error"
    abort: bool = False                  # close the TCP connection without a close frame (1006)
    frames: list[Any] = field(default_factory=list)  # raw frames (dicts) sent before the history
    history: bool = True


class FakeLoki:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.query_errors: list[tuple[int, str, dict[str, str]]] = []  # consumed one per query_range
        self.tail_specs: list[TailSpec] = []                            # consumed one per tail connection
        self.tail_starts: list[int] = []
        self.require_tenant = False
        self.three_element = False
        self.query_delay_s = 0.0
        self.subs: set[asyncio.Queue[Entry]] = set()
        self.open_ws: list[web.Request] = []
        self.port = 0
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeLoki:
        app = web.Application()
        app.router.add_get("/loki/api/v1/query_range", self._query_range)
        app.router.add_get("/loki/api/v1/tail", self._tail)
        app.router.add_get("/ready", self._ready)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def hard_stop(self) -> None:
        """Like a killed process: every tail connection drops without a close frame."""
        for req in list(self.open_ws):
            if req.transport is not None:
                req.transport.abort()
        self.open_ws.clear()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    # -- data

    def add(self, labels: dict[str, str], ts: int, line: str, live: bool = True) -> Entry:
        """Store an entry; `live=False` keeps it from the open tails (a tail drop loses it)."""
        e = Entry(labels, ts, line)
        self.entries.append(e)
        if live:
            for q in list(self.subs):
                q.put_nowait(e)
        return e

    def _value(self, e: Entry) -> list[Any]:
        return [str(e.ts), e.line, {"trace_id": "abc"}] if self.three_element else [str(e.ts), e.line]

    def _record(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.path, dict(request.query), dict(request.headers)))
        if self.require_tenant and "X-Scope-OrgID" not in request.headers:
            return web.Response(status=401, text="no org id\n", content_type="text/plain")
        return None

    # -- handlers

    async def _ready(self, request: web.Request) -> web.Response:
        return web.Response(text="ready\n", content_type="text/plain")

    async def _query_range(self, request: web.Request) -> web.Response:
        denied = self._record(request)
        if denied is not None:
            return denied
        if self.query_delay_s:
            await asyncio.sleep(self.query_delay_s)
        if self.query_errors:
            status, body, headers = self.query_errors.pop(0)
            return web.Response(status=status, text=body, content_type="text/plain", headers=headers)
        q = request.query
        if "since" in q and not q["since"][-1:].isalpha():
            return web.Response(status=400, text=f'invalid duration "{q["since"]}"', content_type="text/plain")
        start, end, limit = int(q["start"]), int(q["end"]), int(q.get("limit", "100"))
        if limit > 5000:
            return web.Response(status=400, text="max entries limit per query exceeded, limit > max_entries_limit "
                                "(%d > 5000)" % limit, content_type="text/plain")
        backward = q.get("direction", "backward") == "backward"
        hits = sorted((e for e in self.entries if start <= e.ts < end), key=lambda e: e.ts, reverse=backward)
        hits = hits[:limit]
        result = [{"stream": e.labels, "values": [self._value(e)]} for e in hits]
        return web.json_response({"status": "success", "data": {"resultType": "streams", "result": result,
                                                                 "stats": {"summary": {}}}})

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        denied = self._record(request)
        if denied is not None:
            return denied
        spec = self.tail_specs.pop(0) if self.tail_specs else TailSpec()
        if spec.http_status:
            return web.Response(status=spec.http_status, text=spec.http_body, content_type="text/plain")
        start = int(request.query.get("start", "0"))
        limit = int(request.query.get("limit", "100"))
        self.tail_starts.append(start)
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        q: asyncio.Queue[Entry] = asyncio.Queue()
        self.subs.add(q)  # subscribe first, history after: like Loki, duplicates are possible
        self.open_ws.append(request)
        opened = time.monotonic()

        async def read_until_closed() -> None:  # Loki reads the client side to notice it closing
            async for _ in ws:
                pass

        reader = asyncio.ensure_future(read_until_closed())
        try:
            for frame in spec.frames:
                await ws.send_str(json.dumps(frame))
            if spec.history:
                hist = sorted((e for e in self.entries if e.ts >= start), key=lambda e: e.ts)[:limit]
                if hist:
                    await ws.send_str(json.dumps({"streams": [{"stream": e.labels, "values": [self._value(e)]}
                                                             for e in hist]}))
            sent = 0
            for _ in range(100_000):
                if spec.close_after_entries is not None and sent >= spec.close_after_entries:
                    break
                timeout = None if spec.close_after_s is None else spec.close_after_s - (time.monotonic() - opened)
                if timeout is not None and timeout <= 0:
                    break
                getter = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({getter, reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                e = getter.result()
                await ws.send_str(json.dumps({"streams": [{"stream": e.labels, "values": [self._value(e)]}]}))
                sent += 1
            if spec.abort and request.transport is not None:
                request.transport.abort()
            else:
                await ws.close(code=spec.close_code, message=spec.close_reason.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            reader.cancel()
            self.subs.discard(q)
            if request in self.open_ws:
                self.open_ws.remove(request)
        return ws
