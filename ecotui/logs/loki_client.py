"""Loki HTTP client: `LokiConfig`, `LokiClient.query_range` (logcli's paging), `ready()`, the tail WebSocket.

Written against REAL Loki (see /work/shared/research/loki-contract.md), not the testbed's kinder server:
- error bodies are `text/plain` (the testbed's are JSON): they are shown as text, never parsed;
- 401 `no org id` means a multi-tenant Loki wants `X-Scope-OrgID`: the error says to set the tenant;
- 429 and 502/503/504 (and transport errors) are retried with a short bounded backoff, honouring Retry-After;
- query_range pages like logcli (pkg/logcli/query/query.go): start inclusive, end exclusive, at most 5000 per
  request; backward pages end at `oldest + 1ns` and the entries already returned at that boundary timestamp are
  dropped (keyed by stream labels, timestamp and line), forward pages start at `newest` likewise;
- result values may have a third element (structured metadata): accepted and ignored;
- the tail frames (`decode_tail_frame`) are read stream object by stream object (Loki sends one per entry, the
  same label set may repeat) and `dropped_entries` is optional.
"""
from __future__ import annotations

import asyncio
import base64
import ipaddress
import ssl
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection

from ..errors import ApiError, AuthError, ConnectError, EcotuiError, ForbiddenError
from ..httpclient import AsyncClient
from ..textsafe import one_line
from .loki_query import render_labels
from .model import NS, Kind, LogLine

TAIL_QUEUE_FRAMES = 50             # frames read ahead of the consumer (websockets' max_queue). Loki sends at most 100 entries
                                   # a frame, so this is ≤ 5k entries (~1.5 MB): slack for a moment of GIL or CPU contention
                                   # at 50k lines/s. With 4 (400 entries) the socket stalled at once, Loki's per-tail queue
                                   # overflowed (dropped_entries) and the source caught up from history: 42–45k lines/s
MAX_LIMIT = 5000                     # Loki's default max_entries_limit_per_query
_RETRY_STATUS = (429, 500, 502, 503, 504)
_TENANT_HINT = "this Loki is multi-tenant: set the tenant (X-Scope-OrgID) in the context's Loki settings"


class LokiError(ApiError):
    """Loki answered with an error (the body, as text, is in the message)."""


class LokiQueryError(LokiError):
    """400: Loki refused the query or its parameters; retrying will not help."""


def is_fatal(err: BaseException) -> bool:
    """Errors that retrying cannot fix: a refused query, rejected credentials, a wrong URL."""
    if isinstance(err, (LokiQueryError, AuthError, ForbiddenError)):
        return True
    return isinstance(err, LokiError) and err.status in (404, 405)


@dataclass(frozen=True)
class LokiConfig:
    """How to reach one Loki. `token` (bearer) wins over `username`/`password` (basic)."""

    url: str
    token: str = ""
    username: str = ""
    password: str = ""
    tenant: str = ""                   # X-Scope-OrgID
    verify: bool = True                # TLS verification
    ca_file: str = ""                  # PEM bundle to verify against (instead of the system store)
    timeout: float = 15.0              # seconds, per request / WebSocket open
    tail_max_duration_s: float = 3600.0  # Loki's -querier.tail-max-duration: the tail is renewed before it
    retries: int = 3                   # attempts per query_range request on 429/5xx/transport errors

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def headers(self) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        elif self.username or self.password:
            raw = f"{self.username}:{self.password}".encode()
            h["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        if self.tenant:
            h["X-Scope-OrgID"] = self.tenant
        return h

    def ssl_context(self) -> ssl.SSLContext | None:
        """None for plain http; a context honouring verify / ca_file for https. Raises ConnectError."""
        if not self.base.startswith("https://"):
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file or None)
        except (OSError, ssl.SSLError, ValueError) as e:
            raise ConnectError(f"loki: CA file {self.ca_file!r} cannot be used: {one_line(str(e), 120)}",
                               "check the Loki CA file setting") from None
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    @property
    def loopback(self) -> bool:
        host = urllib.parse.urlsplit(self.base).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


# ---- wire structs -------------------------------------------------------------------------------------------

class _Stream(msgspec.Struct):
    stream: msgspec.Raw = msgspec.Raw(b"{}")  # the label set's JSON: decoded once per distinct set (_Labels)
    values: list[list[str | dict[str, Any]]] = []


class _Dropped(msgspec.Struct):
    labels: dict[str, str] = {}
    timestamp: str = "0"


class _Frame(msgspec.Struct):
    streams: list[_Stream] | None = None
    dropped_entries: list[_Dropped] | None = None


class _Data(msgspec.Struct):
    resultType: str = ""
    result: msgspec.Raw = msgspec.Raw(b"[]")


class _Response(msgspec.Struct):
    status: str = ""
    data: _Data | None = None


_decode_frame = msgspec.json.Decoder(_Frame).decode
_decode_response = msgspec.json.Decoder(_Response).decode
_decode_streams = msgspec.json.Decoder(list[_Stream]).decode
_decode_labels = msgspec.json.Decoder(dict[str, str]).decode


class _Labels:
    """Rendered label sets, cached (a tail sends the same few label sets again and again)."""

    def __init__(self, cap: int = 20_000) -> None:
        self._cache: dict[tuple[tuple[str, str], ...], tuple[str, str, str, str]] = {}
        self._by_raw: dict[bytes, tuple[str, str, str, str]] = {}
        self._cap = cap

    def get_raw(self, raw: msgspec.Raw) -> tuple[str, str, str, str]:
        """By the label set's JSON text (a tail repeats the same bytes for every entry); raises
        msgspec.DecodeError when it is not an object of strings."""
        text = bytes(raw)
        hit = self._by_raw.get(text)
        if hit is None:
            if len(self._by_raw) >= self._cap:
                self._by_raw.clear()
            hit = self._by_raw[text] = self.get(_decode_labels(text))
        return hit

    def get(self, labels: Mapping[str, str]) -> tuple[str, str, str, str]:
        key = tuple(sorted(labels.items()))
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= self._cap:
                self._cache.clear()
            hit = (render_labels(labels), labels.get("pod", ""), labels.get("container", ""),
                   labels.get("namespace", ""))
            self._cache[key] = hit
        return hit


_LABELS = _Labels()


def _lines(streams: list[_Stream] | None) -> list[LogLine]:
    """Raises msgspec.DecodeError when a stream's labels are not an object of strings."""
    out: list[LogLine] = []
    labels = _LABELS.get_raw
    for s in streams or ():
        stream, pod, container, namespace = labels(s.stream)
        for v in s.values:
            if len(v) < 2 or not isinstance(v[0], str) or not isinstance(v[1], str):
                continue  # malformed entry: skipped (2- and 3-element values are both fine)
            try:
                ts = int(v[0])
            except ValueError:
                continue
            out.append(LogLine(ts, v[1], stream, pod, container, namespace))
    return out


def decode_tail_frame(data: str | bytes) -> tuple[list[LogLine], list[tuple[str, int]]]:
    """One tail message → (lines in timestamp order, dropped entries as (stream, ts)). Raises LokiError."""
    try:
        frame = _decode_frame(data)
        lines = _lines(frame.streams)
    except msgspec.DecodeError as e:
        raise LokiError(f"loki tail: malformed message ({one_line(str(e), 120)})") from None
    lines.sort(key=lambda ln: ln.ts_ns)
    dropped: list[tuple[str, int]] = []
    for d in frame.dropped_entries or ():
        try:
            dropped.append((_LABELS.get(d.labels)[0], int(d.timestamp)))
        except ValueError:
            continue
    return lines, dropped


def gap_line(ts_ns: int, text: str) -> LogLine:
    return LogLine(ts_ns, text, "loki", kind=Kind.GAP)


def fmt_ts(ts_ns: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts_ns / NS)) + f".{(ts_ns // 1_000_000) % 1000:03d}"


def _key(ln: LogLine) -> tuple[str, str]:
    return (ln.stream, ln.text)


# ---- client ---------------------------------------------------------------------------------------------------

class LokiClient:
    """One Loki endpoint. Use as `async with LokiClient(cfg) as c:` or call `aclose()`."""

    def __init__(self, config: LokiConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                 retry_base_s: float = 0.5) -> None:
        self.config = config
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._retry_base_s = retry_base_s

    async def __aenter__(self) -> LokiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            cfg = self.config
            verify: Any = cfg.ssl_context() or True
            self._http = AsyncClient(
                base_url=cfg.base, headers=cfg.headers(), verify=verify, timeout=httpx.Timeout(cfg.timeout),
                transport=self._transport, trust_env=not cfg.loopback, follow_redirects=False)
        return self._http

    # -- errors

    def _http_error(self, status: int, body: str, what: str) -> EcotuiError:
        text = one_line(body, 300) or f"HTTP {status}"
        where = f"loki {what}"
        if status == 400:
            return LokiQueryError(f"{where}: {text}", "check the LogQL query", status=status)
        if status == 401:
            hint = _TENANT_HINT if "org id" in body.lower() else "check the Loki token or user/password"
            return AuthError(f"{where}: unauthorized (401): {text}", hint)
        if status == 403:
            return ForbiddenError(f"{where}: forbidden (403): {text}", "check the Loki credentials and tenant")
        if status == 404:
            return LokiError(f"{where}: not found (404) at {self.config.base}: {text}",
                             "is loki_url the Loki base URL (without /loki/api/v1)?", status=status)
        if status == 429:
            return LokiError(f"{where}: rate limited (429): {text}", "narrow the query or wait", status=status)
        return LokiError(f"{where}: HTTP {status}: {text}", status=status)

    def _connect_error(self, exc: BaseException, what: str) -> ConnectError:
        text = one_line(str(exc), 200) or type(exc).__name__
        if isinstance(exc, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return ConnectError(f"loki {what}: TLS failed at {self.config.base}: {text}",
                                "check the Loki CA file or the verify setting")
        return ConnectError(f"loki {what}: cannot reach {self.config.base}: {text}",
                            "is Loki up and reachable from here (port-forward, VPN)?")

    async def _get(self, path: str, params: Mapping[str, str], what: str) -> httpx.Response:
        attempts = max(1, self.config.retries)
        last: EcotuiError | None = None
        for attempt in range(attempts):
            delay = self._retry_base_s * (2 ** attempt)
            try:
                resp = await self._client().get(path, params=dict(params))
            except httpx.TransportError as e:
                last = self._connect_error(e, what)
            else:
                if resp.status_code == 200:
                    return resp
                last = self._http_error(resp.status_code, resp.content.decode("utf-8", "replace"), what)
                if resp.status_code not in _RETRY_STATUS:
                    raise last
                try:
                    delay = max(delay, float(resp.headers.get("Retry-After", "0")))
                except ValueError:
                    pass
            if attempt + 1 < attempts:
                await asyncio.sleep(min(delay, 10.0))
        assert last is not None
        raise last

    # -- API

    async def ready(self) -> bool:
        """GET /ready: True when Loki says ready; False while it answers otherwise (Loki: 503 for ~15 s
        after start). Raises ConnectError when unreachable, AuthError/ForbiddenError on 401/403."""
        try:
            resp = await self._client().get("/ready")
        except httpx.TransportError as e:
            raise self._connect_error(e, "ready") from None
        if resp.status_code in (401, 403):
            raise self._http_error(resp.status_code, resp.content.decode("utf-8", "replace"), "ready")
        return resp.status_code == 200

    async def _query_page(self, query: str, start_ns: int, end_ns: int, limit: int,
                          direction: str) -> list[LogLine]:
        resp = await self._get("/loki/api/v1/query_range", {
            "query": query, "start": str(start_ns), "end": str(end_ns), "limit": str(limit),
            "direction": direction}, "query")
        try:
            body = _decode_response(resp.content)
            if body.status != "success" or body.data is None:
                raise LokiError(f"loki query: unexpected answer (status {body.status!r})")
            if body.data.resultType != "streams":
                raise LokiQueryError(f"loki query: a {body.data.resultType or 'non-log'} query cannot be shown "
                                     "as log lines", "use a log query (a stream selector and line filters)")
            streams = _decode_streams(body.data.result)
            lines = _lines(streams)
        except msgspec.DecodeError as e:
            raise LokiError(f"loki query: malformed response ({one_line(str(e), 120)})") from None
        lines.sort(key=lambda ln: ln.ts_ns, reverse=direction == "backward")
        return lines

    async def query_range_pages(self, query: str, start_ns: int, end_ns: int, limit: int = 1000,
                                direction: str = "backward",
                                page_limit: int = MAX_LIMIT) -> AsyncIterator[list[LogLine]]:
        """Pages of at most `limit` lines in all, in `direction` order, in [start_ns, end_ns).

        Pipelined: the next page is requested (its bounds follow from the page just read) before this page is
        handed to the caller, so Loki works on page k+1 while the caller delivers page k — one request in flight
        at a time, as any client may have; order and the boundary de-dup are those of the sequential paging."""
        if direction not in ("backward", "forward"):
            raise ValueError(f"direction must be backward or forward, not {direction!r}")
        page_limit = max(1, min(page_limit, MAX_LIMIT))
        remaining = limit
        lo, hi = start_ns, end_ns
        edge_ts = -1
        edge_keys: set[tuple[str, str]] = set()
        if remaining <= 0 or lo >= hi:
            return
        batch = min(page_limit, remaining)
        nxt: asyncio.Task[list[LogLine]] | None = None
        try:
            page = await self._query_page(query, lo, hi, batch, direction)
            for _ in range(limit + 1):  # each page makes progress or ends the loop; this only bounds it
                new = [ln for ln in page if ln.ts_ns != edge_ts or _key(ln) not in edge_keys][:remaining]
                out = new
                remaining -= len(new)
                more = len(page) >= batch
                if more:
                    last_ts = page[-1].ts_ns
                    keys = {_key(ln) for ln in page if ln.ts_ns == last_ts}
                    if last_ts == edge_ts and not new:
                        # a whole page at one timestamp: page past it, saying some lines are not shown
                        out = [gap_line(last_ts, f"more than {batch} lines at {fmt_ts(last_ts)}: some not shown")]
                        edge_ts, edge_keys = -1, set()
                        if direction == "backward":
                            hi = last_ts
                        else:
                            lo = last_ts + 1
                    else:
                        if last_ts == edge_ts:
                            keys |= edge_keys
                        edge_ts, edge_keys = last_ts, keys
                        if direction == "backward":
                            hi = last_ts + 1
                        else:
                            lo = last_ts
                    if remaining > 0 and lo < hi:
                        batch = min(page_limit, remaining + len(edge_keys))
                        nxt = asyncio.ensure_future(self._query_page(query, lo, hi, batch, direction))
                if out:
                    yield out
                if nxt is None:
                    return
                page = await nxt
                nxt = None
        finally:
            if nxt is not None and not nxt.done():
                nxt.cancel()
                await asyncio.gather(nxt, return_exceptions=True)
            elif nxt is not None and not nxt.cancelled():
                nxt.exception()  # retrieved: an error of an abandoned prefetch is not logged as unhandled

    async def query_range(self, query: str, start_ns: int, end_ns: int, limit: int = 1000,
                          direction: str = "backward") -> list[LogLine]:
        """At most `limit` lines in [start_ns, end_ns) in `direction` order (backward = newest first)."""
        out: list[LogLine] = []
        async for page in self.query_range_pages(query, start_ns, end_ns, limit, direction):
            out.extend(page)
        return out

    async def open_tail(self, query: str, start_ns: int, limit: int = 100, delay_for: int = 0) -> ClientConnection:
        """Open /loki/api/v1/tail. Raises the same errors as a query (400 before the upgrade → LokiQueryError)."""
        cfg = self.config
        params = {"query": query, "start": str(start_ns), "limit": str(max(1, min(limit, MAX_LIMIT)))}
        if delay_for:
            params["delay_for"] = str(max(0, min(delay_for, 5)))
        scheme, rest = cfg.base.split("://", 1) if "://" in cfg.base else ("http", cfg.base)
        url = ("wss" if scheme == "https" else "ws") + "://" + rest + "/loki/api/v1/tail?" + \
            urllib.parse.urlencode(params)
        try:
            return await websockets.connect(
                url, additional_headers=cfg.headers(), ssl=cfg.ssl_context(), open_timeout=cfg.timeout,
                proxy=None if cfg.loopback else True, max_size=32 * 1024 * 1024, compression=None,
                # frames queued before reading from the socket pauses: Loki drops a tail's entries once ~1,000
                # wait on its side, so a UI frame that keeps the loop busy must not stop the socket being read
                max_queue=TAIL_QUEUE_FRAMES,
                ping_interval=20, ping_timeout=20, close_timeout=2)
        except websockets.InvalidStatus as e:
            body = e.response.body.decode("utf-8", "replace") if e.response.body else ""
            raise self._http_error(e.response.status_code, body, "tail") from None
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as e:
            raise self._connect_error(e, "tail") from None
