"""kubectl's port-forward transport: one SPDY/3.1 session tunnelled through one WebSocket
(`SPDY/3.1+portforward.k8s.io`, KEP-4006; on by default since Kubernetes 1.31), carrying a pair of streams
(error + data) per local TCP connection. Opening a connection is then one SYN_STREAM pair on an open session
instead of a WebSocket handshake through the API server (~25 ms on the testbed), which is what lets a client that
opens a connection per request go as fast as `kubectl port-forward`.

The API server relays the WebSocket's binary messages as a byte stream to the kubelet's SPDY port-forward
endpoint, so the messages carry SPDY frames cut anywhere. Only what port-forward needs is implemented
(moby/spdystream, which the kubelet uses, does no flow control): SYN_STREAM with zlib-compressed headers (the
SPDY/3 dictionary), DATA with FIN (a real half-close: the local EOF is passed on), RST_STREAM, PING (answered),
GOAWAY; SYN_REPLY/HEADERS blocks are decompressed (to keep the shared zlib state) and ignored.

Streams per connection, as kubectl: error stream {streamtype: error, port, requestid} closed for writing at once,
then data stream {streamtype: data, port, requestid}. Error-stream text ("no forward found for port 9999 …") ends
the connection with that line. A session that closes (GOAWAY, WebSocket closed) ends its connections; the manager
opens a new one for the next connection.
"""
from __future__ import annotations

import asyncio
import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import EcotuiError
from ..kube.channels import ChannelStream
from ..textsafe import one_line
from .tunnel import CHUNK, Counters
from .wsraw import RawWebSocket

TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
PING_EVERY = 30.0

_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
          "age allow authorization cache-control connection content-base content-encoding content-language "
          "content-length content-location content-md5 content-range content-type date etag expect expires from "
          "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
          "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
          "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status 200_OK version "
          "HTTP/1.1 url public set-cookie keep-alive origin")
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 "
         "Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 "
         "Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr "
         "May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,"
         "image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,public"
         "privatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(len(w).to_bytes(4, "big") + w.replace("_", " ").encode() for w in _WORDS.split(" ")) + \
    _TAIL.encode()

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
CANCEL = 5
_VERSION = b"\x80\x03"


class TunnelClosed(EcotuiError):
    """The SPDY session ended (the WebSocket closed, GOAWAY)."""


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return _VERSION + kind.to_bytes(2, "big") + bytes([flags]) + len(payload).to_bytes(3, "big") + payload


def data_frame(stream_id: int, flags: int, data: bytes | memoryview) -> bytes:
    return stream_id.to_bytes(4, "big") + bytes([flags]) + len(data).to_bytes(3, "big") + data


def header_block(headers: dict[str, str]) -> bytes:
    out = [len(headers).to_bytes(4, "big")]
    for k, v in headers.items():
        kb, vb = k.lower().encode(), v.encode()
        out += [len(kb).to_bytes(4, "big"), kb, len(vb).to_bytes(4, "big"), vb]
    return b"".join(out)


@dataclass(eq=False)
class _Pair:
    writer: asyncio.StreamWriter
    counters: Counters
    error: list[bytes] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)    # data stream finished by the pod, or reset
    error_done: asyncio.Event = field(default_factory=asyncio.Event)
    why: str = ""


class _LocalUp(asyncio.Protocol):
    """Takes a local connection's transport over: every chunk it reads becomes a SPDY data frame at once, its
    end a FIN (half-close, like kubectl). Write flow control is handed on to the StreamWriter's own protocol (so
    `writer.drain()` keeps working); reading pauses while the session's WebSocket has over 1 MiB unsent."""

    def __init__(self, tunnel: SpdyTunnel, data_id: int, counters: Counters, transport: Any) -> None:
        self._tunnel, self._id, self._counters, self._transport = tunnel, data_id, counters, transport
        self._old = transport.get_protocol()
        self._resuming: asyncio.Task[None] | None = None
        self._eof = False
        transport.set_protocol(self)

    def data_received(self, data: bytes) -> None:
        t = self._tunnel
        if t.closed or self._eof:
            return
        t._raw.send(data_frame(self._id, 0, data))
        self._counters.bytes_out += len(data)
        self._counters.ticks += 1
        raw_transport = t._raw.transport
        if raw_transport.get_write_buffer_size() > 1 << 20 and self._resuming is None:
            self._transport.pause_reading()
            self._resuming = asyncio.ensure_future(self._resume())

    async def _resume(self) -> None:
        try:
            await self._tunnel._raw.drain()
        except Exception:  # noqa: BLE001 - the session ended: _end_all wakes the connection
            pass
        finally:
            self._resuming = None
            if not self._transport.is_closing():
                self._transport.resume_reading()

    def eof_received(self) -> bool:
        if not self._eof and not self._tunnel.closed:
            self._eof = True
            self._tunnel._raw.send(data_frame(self._id, FLAG_FIN, b""))
        return True   # keep the transport open: the pod's answer is still to come

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        pair = self._tunnel._data.get(self._id)
        if pair is not None:
            pair.done.set()
        self._old.connection_lost(exc)

    def pause_writing(self) -> None:
        self._old.pause_writing()

    def resume_writing(self) -> None:
        self._old.resume_writing()

    def release(self) -> None:
        if self._resuming is not None:
            self._resuming.cancel()


class SpdyTunnel:
    """One SPDY session over one WebSocket to a pod's portforward endpoint."""

    def __init__(self, stream: ChannelStream, pod: str) -> None:
        self._stream = stream
        self.pod = pod
        self._ids = itertools.count(1, 2)       # client streams are odd
        self._requests = itertools.count(0)
        self._zout = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                      DICTIONARY)
        self._zin = zlib.decompressobj(zdict=DICTIONARY)
        self._syn_lock = asyncio.Lock()
        self._data: dict[int, _Pair] = {}      # data stream id → pair
        self._errors: dict[int, _Pair] = {}    # error stream id → pair
        self.closed = False
        self.why = ""
        # the SPDY byte stream as it arrives: an incomplete header or control frame, the data frame whose
        # payload is arriving (stream, bytes to come, flags) and its pieces so far
        self._head = b""
        self._sid = self._left = self._flags = 0
        self._parts: list[memoryview] = []
        self._resuming: asyncio.Task[None] | None = None
        self._pinger = asyncio.ensure_future(self._keepalive())
        self._raw = RawWebSocket.take_over(stream.ws, self._feed, self._end_all)
        self._raw.replay()

    @property
    def active(self) -> int:
        return len(self._data)

    async def _keepalive(self) -> None:
        """A PING every PING_EVERY seconds, like kubectl: idle sessions survive proxies and load balancers that
        cut quiet connections (an EKS endpoint's NLB after 350 s)."""
        ids = itertools.count(1, 2)
        while not self.closed:
            await asyncio.sleep(PING_EVERY)
            if not self.closed:
                self._raw.send(control_frame(PING, 0, next(ids).to_bytes(4, "big")))

    async def close(self) -> None:
        self._pinger.cancel()
        self._raw.close()
        self._end_all("the port-forward session was closed")

    def _end_all(self, why: str) -> None:
        self.closed = True
        if not self._pinger.done():
            self._pinger.cancel()
        self.why = self.why or why
        for p in list(self._data.values()):
            p.why = p.why or why
            p.done.set()
            p.error_done.set()

    async def _send(self, frame: bytes) -> None:
        try:
            self._raw.send(frame)
            await self._raw.drain()
        except Exception as e:  # noqa: BLE001 - any failure to write ends the session
            self._end_all(f"the port-forward session was lost ({type(e).__name__})")
            raise TunnelClosed(self.why) from None

    async def _open_pair(self, port: int, pair: _Pair) -> tuple[int, int]:
        if self.closed:
            raise TunnelClosed(self.why or "the port-forward session is closed")
        rid = str(next(self._requests))
        async with self._syn_lock:   # header blocks share one zlib stream: compress and send in order
            err_id, data_id = next(self._ids), next(self._ids)
            self._errors[err_id] = pair
            self._data[data_id] = pair
            frames = []
            for sid, kind in ((err_id, "error"), (data_id, "data")):
                block = self._zout.compress(header_block({"streamtype": kind, "port": str(port), "requestid": rid}))
                block += self._zout.flush(zlib.Z_SYNC_FLUSH)
                frames.append(control_frame(SYN_STREAM, 0, sid.to_bytes(4, "big") + b"\x00\x00\x00\x00\x00\x00"
                                            + block))
                if kind == "error":   # we never write to the error stream
                    frames.append(data_frame(err_id, FLAG_FIN, b""))
            await self._send(b"".join(frames))
        return err_id, data_id

    async def _reset(self, *ids: int) -> None:
        for sid in ids:
            self._data.pop(sid, None)
            self._errors.pop(sid, None)
        if not self.closed:
            try:
                await self._send(b"".join(control_frame(RST_STREAM, 0, sid.to_bytes(4, "big") + CANCEL.to_bytes(4, "big"))
                                          for sid in ids))
            except TunnelClosed:
                pass

    async def probe(self, port: int, wait: float) -> str:
        """Open a stream pair and listen `wait` seconds for an error ("no forward found for port …"): the error
        line, or "" when none came."""
        pair = _Pair(None, Counters())  # type: ignore[arg-type]
        err_id, data_id = await self._open_pair(port, pair)
        try:
            await asyncio.wait_for(pair.error_done.wait(), wait)
        except TimeoutError:
            pass
        await self._reset(err_id, data_id)
        text = b"".join(pair.error).decode("utf-8", "replace")
        return one_line(text, 300) if text else (pair.why if self.closed else "")

    async def forward(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      counters: Counters) -> str:
        """Relay one local connection over a new stream pair until the pod ends it; "" or the error line."""
        pair = _Pair(writer, counters)
        err_id, data_id = await self._open_pair(port, pair)
        # the local side's bytes go out from the transport's own callback (no task wake-up per read): the
        # connection's protocol is taken over; what the StreamReader already holds goes first
        up = _LocalUp(self, data_id, counters, writer.transport)
        buffered = bytes(getattr(reader, "_buffer", b""))
        if buffered:
            up.data_received(buffered)
        if reader.at_eof():
            up.eof_received()
        try:
            done = asyncio.ensure_future(pair.done.wait())
            try:
                await done
            finally:
                if not done.done():
                    done.cancel()
        finally:
            up.release()
            await self._reset(err_id, data_id)
        if pair.error:
            return one_line(b"".join(pair.error).decode("utf-8", "replace"), 300)
        return pair.why

    # ---- reading the session ----

    def _feed(self, mv: memoryview) -> None:
        """The next piece of the session's byte stream (any size, cut anywhere)."""
        try:
            self._parse(mv)
        except Exception as e:  # noqa: BLE001 - a malformed session ends cleanly, with one line
            self._end_all(f"the port-forward session failed: {one_line(str(e), 120) or type(e).__name__}")
            self._raw.close()

    def _parse(self, mv: memoryview) -> None:
        if self._head:
            mv = memoryview(self._head + mv)
            self._head = b""
        off, n = 0, len(mv)
        while off < n:
            if self._left:
                take = min(self._left, n - off)
                self._left -= take
                piece = mv[off:off + take]
                off += take
                if self._left:                 # more of this frame comes later: keep the piece
                    self._parts.append(piece)
                    continue
                if self._parts:                # one write per frame
                    self._parts.append(piece)
                    piece = memoryview(b"".join(self._parts))
                    self._parts.clear()
                self._on_data(self._sid, self._flags, piece)
                continue
            if n - off < 8:
                self._head = bytes(mv[off:])
                return
            length = int.from_bytes(mv[off + 5:off + 8], "big")
            if mv[off] & 0x80:
                end = off + 8 + length
                if end > n:
                    self._head = bytes(mv[off:])
                    return
                self._control(int.from_bytes(mv[off + 2:off + 4], "big"), mv[off + 4], bytes(mv[off + 8:end]))
                off = end
                continue
            self._sid = int.from_bytes(mv[off:off + 4], "big") & 0x7FFFFFFF
            self._flags = mv[off + 4]
            off += 8
            self._left = length
            if not length:
                self._on_data(self._sid, self._flags, mv[off:off])

    def _on_data(self, sid: int, flags: int, payload: memoryview) -> None:
        pair = self._data.get(sid)
        if pair is not None:
            if payload:
                w = pair.writer
                if w.is_closing():     # the local client went away: drop the rest (no warnings per write)
                    pair.done.set()
                    return
                try:
                    w.write(payload)
                except (ConnectionError, OSError, RuntimeError):
                    pair.done.set()
                pair.counters.bytes_in += len(payload)
                pair.counters.ticks += 1
                if w.transport.get_write_buffer_size() > 1 << 20 and self._resuming is None:
                    self._raw.pause_reading()   # a slow local reader holds the session (no SPDY flow control)
                    self._resuming = asyncio.ensure_future(self._resume_after(pair))
            if flags & FLAG_FIN:
                pair.done.set()
            return
        pair = self._errors.get(sid)
        if pair is not None:
            if payload:
                pair.error.append(bytes(payload))
            if flags & FLAG_FIN:
                pair.error_done.set()
                if pair.error:
                    pair.done.set()

    async def _resume_after(self, pair: _Pair) -> None:
        try:
            await pair.writer.drain()
        except (ConnectionError, OSError):
            pair.done.set()
        finally:
            self._resuming = None
            self._raw.resume_reading()

    def _control(self, kind: int, flags: int, payload: bytes) -> None:
        if kind in (SYN_REPLY, HEADERS):
            self._zin.decompress(payload[4:])
        elif kind == RST_STREAM:
            sid = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            pair: Any = self._data.get(sid) or self._errors.get(sid)
            if pair is not None:
                pair.why = pair.why or "the pod reset the stream"
                pair.done.set()
                pair.error_done.set()
        elif kind == PING and not self._raw.closed and int.from_bytes(payload[:4], "big") % 2 == 0:
            self._raw.send(control_frame(PING, 0, payload))   # the server's (even ids); ours come back odd
        elif kind == GOAWAY:
            self.closed = True
            self.why = "the server ended the port-forward session (GOAWAY)"
        elif kind == SYN_STREAM:   # the server does not open streams in port-forward
            self._zin.decompress(payload[10:])
