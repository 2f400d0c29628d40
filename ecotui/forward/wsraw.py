"""A WebSocket used as a plain byte pipe, for the SPDY tunnel's hot path.

The `websockets` library does the upgrade (TLS, credentials, subprotocol, errors as one line — `kube/channels.py`);
then this protocol takes the connection's transport over: server frames (unmasked) are parsed here and every
binary/continuation payload is handed on as it arrives, without reassembling messages or an await per message
(the API server cuts the kubelet's stream into ~8 KiB messages: 13,000 per 100 MB); frames to the server are
masked binary frames written straight to the transport. Pings are answered, a close frame is answered and ends it.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Callable

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the pure-Python fallback of the same library
    from websockets.utils import apply_mask

_BINARY, _CLOSE, _PING = 0x2, 0x8, 0x9


def _header(opcode: int, n: int) -> bytes:
    if n < 126:
        return bytes((0x80 | opcode, 0x80 | n))
    if n < 65536:
        return bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    return bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")


def masked(opcode: int, payload: bytes | bytearray | memoryview) -> bytes:
    key = os.urandom(4)
    return _header(opcode, len(payload)) + key + apply_mask(payload, key)


class RawWebSocket(asyncio.Protocol):
    """Owns the transport of an upgraded connection. `on_bytes(view)` gets payload pieces in order (the view is
    only valid during the call unless kept: it points into an immutable bytes object); `on_close(why)` once."""

    def __init__(self, transport: Any, on_bytes: Callable[[memoryview], None],
                 on_close: Callable[[str], None]) -> None:
        self.transport = transport
        self._on_bytes = on_bytes
        self._on_close = on_close
        self._head = b""          # an incomplete frame header / control frame
        self._left = 0            # payload bytes of the current data frame still to come
        self._closed = False
        self._can_write: asyncio.Future[None] | None = None
        self._early: list[bytes] = []
        self._early_raw = b""
        transport.set_protocol(self)

    @classmethod
    def take_over(cls, ws: Any, on_bytes: Callable[[memoryview], None],
                  on_close: Callable[[str], None]) -> RawWebSocket:
        """Take a websockets ClientConnection's transport (right after its handshake, nothing received yet)."""
        task = getattr(ws, "keepalive_task", None)
        if task is not None:
            task.cancel()
        raw = cls(ws.transport, on_bytes, on_close)
        # what websockets already read past the handshake (sent with the 101, or before this call): messages
        # it queued, then bytes it had not parsed yet — handed on by replay(), once the caller is ready
        queued = getattr(getattr(getattr(ws, "recv_messages", None), "frames", None), "queue", ())
        raw._early = [bytes(f.data) for f in queued if getattr(f, "data", None)]
        buffered = getattr(getattr(getattr(ws, "protocol", None), "reader", None), "buffer", b"")
        raw._early_raw = bytes(buffered)
        return raw

    def replay(self) -> None:
        """Hand on what arrived before the take-over (see take_over)."""
        early, self._early = self._early, []
        for data in early:
            self._on_bytes(memoryview(data))
        rest, self._early_raw = self._early_raw, b""
        if rest:
            self.data_received(rest)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- sending ----

    def send(self, payload: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise ConnectionError("the WebSocket is closed")
        self.transport.write(masked(_BINARY, payload))

    async def drain(self) -> None:
        if self._can_write is not None:
            await asyncio.shield(self._can_write)
        if self._closed:
            raise ConnectionError("the WebSocket is closed")

    def pause_writing(self) -> None:
        if self._can_write is None:
            self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        fut, self._can_write = self._can_write, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def close(self, why: str = "closed") -> None:
        if not self._closed:
            try:
                self.transport.write(masked(_CLOSE, (1000).to_bytes(2, "big")))
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self.transport.close()
            self._finish(why)

    # ---- receiving ----

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        if not self._closed:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._head:
            data, self._head = self._head + data, b""
        mv = memoryview(data)
        off, n = 0, len(data)
        on_bytes = self._on_bytes
        while off < n:
            if self._left:
                take = min(self._left, n - off)
                self._left -= take
                on_bytes(mv[off:off + take])
                off += take
                continue
            if n - off < 2:
                self._head = bytes(mv[off:])
                return
            b0, b1 = data[off], data[off + 1]
            size, hlen = b1 & 0x7F, 2
            if size == 126:
                hlen = 4
            elif size == 127:
                hlen = 10
            if b1 & 0x80:
                hlen += 4     # a masked server frame is a protocol error, but read it correctly anyway
            if n - off < hlen:
                self._head = bytes(mv[off:])
                return
            if size == 126:
                size = int.from_bytes(data[off + 2:off + 4], "big")
            elif size == 127:
                size = int.from_bytes(data[off + 2:off + 10], "big")
            opcode = b0 & 0x0F
            if opcode < 8:             # continuation, text, binary: the byte stream
                off += hlen
                self._left = size
                continue
            if n - off < hlen + size:  # control frames are small: wait for all of it
                self._head = bytes(mv[off:])
                return
            payload = bytes(mv[off + hlen:off + hlen + size])
            off += hlen + size
            if opcode == _PING:
                self.transport.write(masked(0xA, payload))
            elif opcode == _CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.close(f"the server closed the WebSocket ({code})")
                return

    def eof_received(self) -> bool:
        self._finish("the server ended the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(f"the connection was lost ({type(exc).__name__})" if exc else "the connection was closed")

    def _finish(self, why: str) -> None:
        if not self._closed:
            self._closed = True
            self.resume_writing()
            self._on_close(why)
